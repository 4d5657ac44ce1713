//! Where the Python cross-checks find the workspace and their interpreter.
//!
//! Every crate's tests that run a script under `tests/py` (Telethon against telesim, the
//! independent envelope client against the gateway) need the same two answers, and telesim is
//! the test-support crate they already share. A missing interpreter fails the test, never skips
//! it: the cross-checks are the proof of compatibility, and `./test.sh` prepares the venv.

use std::path::{Path, PathBuf};

/// The workspace root (where `README.md`, `tests/py` and `.venv` live).
pub fn workspace() -> PathBuf {
    let telesim = Path::new(env!("CARGO_MANIFEST_DIR"));
    telesim
        .ancestors()
        .nth(2)
        .map_or_else(|| telesim.join("../.."), Path::to_path_buf)
}

/// `TGC_TEST_PYTHON`, else the workspace venv's Python (with Telethon and `cryptography`).
pub fn python() -> PathBuf {
    let path = std::env::var_os("TGC_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "no Python interpreter at {} (set TGC_TEST_PYTHON or run ./test.sh, which prepares .venv from tests/py/requirements.txt)",
        path.display()
    );
    path
}
