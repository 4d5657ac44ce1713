//! The Python cross-checks: where the workspace is, its venv's interpreter, and the scripts of
//! `tests/py`, each of which prints one JSON object.
//!
//! A missing interpreter fails the test, never skips it: the cross-checks (Telethon, Pyrogram,
//! `cryptography`, moto) are the proof of compatibility, and `./test.sh` prepares the venv.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (where `README.md`, `tests/py` and `.venv` live).
pub fn workspace() -> PathBuf {
    let testkit = Path::new(env!("CARGO_MANIFEST_DIR"));
    testkit
        .ancestors()
        .nth(2)
        .map_or_else(|| testkit.join("../.."), Path::to_path_buf)
}

/// `TGC_TEST_PYTHON`, else the workspace venv's Python.
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

/// The path of the cross-check script `tests/py/<name>`.
pub fn script_path(name: &str) -> PathBuf {
    workspace().join("tests/py").join(name)
}

/// Runs the cross-check script `tests/py/<name>` with `args` and parses the one JSON object
/// it prints; a failing script fails the test with its stderr.
pub fn script(name: &str, args: &[&str]) -> serde_json::Value {
    let script = script_path(name);
    let output = Command::new(python())
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{name} {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
