//! Loading a whole `sessions/` directory at startup.
//!
//! One unreadable or foreign file must never keep the other accounts from serving, so
//! every failure is collected, logged and returned beside the files that did open.

use std::fs;
use std::path::Path;

use super::error::SessionError;
use super::file::SessionFile;

/// Opens every `*.session` file in `dir`, in name order. A bad file is reported in the
/// error list and never stops the others from loading.
pub fn load_dir(dir: &Path) -> (Vec<SessionFile>, Vec<SessionError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            errors.push(SessionError::Directory {
                path: dir.to_owned(),
                source,
            });
            return (files, errors);
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                if path.extension().is_some_and(|ext| ext == "session") {
                    paths.push(path);
                }
            }
            Err(source) => errors.push(SessionError::Directory {
                path: dir.to_owned(),
                source,
            }),
        }
    }
    paths.sort();
    for path in paths {
        match SessionFile::open(&path) {
            Ok(file) => files.push(file),
            Err(error) => {
                tracing::warn!(%error, "session file skipped");
                errors.push(error);
            }
        }
    }
    (files, errors)
}
