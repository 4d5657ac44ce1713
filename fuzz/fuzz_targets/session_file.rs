//! Any bytes as a session file: opened, read and listed, or refused with an error, never a
//! panic (a corrupt or hostile file must not take the server down).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgc_model::session::SessionFile;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fuzz.session");
    std::fs::write(&path, data).expect("written");
    if let Ok(file) = SessionFile::open(&path) {
        let _ = file.entities();
        let _ = file.lookup_username("telesim_news");
        let _ = file.update_states();
    }
});
