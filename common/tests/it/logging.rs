//! Installing the global subscriber: JSON lines to an owner-only file that can be reopened
//! after a rotation, and a second install being reported instead of panicking. One test,
//! because a process has one global subscriber.

use std::os::unix::fs::PermissionsExt;

use tgc_common::logging::{self, LogFormat, LoggingError};

#[test]
fn json_lines_go_to_the_log_file_and_a_second_init_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("logs").join("tgc.log");

    let installed =
        logging::init_with("info", LogFormat::Json, Some(&path), None).expect("first install");
    assert_eq!(installed.file(), Some(path.as_path()));
    tracing::info!(account = "demo1", "account connected");
    tracing::debug!("filtered out at info");

    let text = std::fs::read_to_string(&path).expect("log file written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "only the info event passes the filter:\n{text}"
    );
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["fields"]["message"], "account connected");
    assert_eq!(lines[0]["fields"]["account"], "demo1");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "log lines name chats and accounts: owner only");

    // logrotate moves the file away, then the daemon is told to reopen it.
    let rotated = path.with_extension("log.1");
    std::fs::rename(&path, &rotated).unwrap();
    tracing::info!("still going to the moved file");
    installed.reopen().expect("reopened");
    tracing::info!("in the new file");
    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = std::fs::read_to_string(&path).expect("a new file under the old name");
    assert_eq!(old.lines().count(), 2, "{old}");
    assert!(old.contains("still going to the moved file"), "{old}");
    assert_eq!(new.lines().count(), 1, "{new}");
    assert!(new.contains("in the new file"), "{new}");

    let again = logging::init_with("info", LogFormat::Text, None, None);
    assert!(
        matches!(again, Err(LoggingError::AlreadyInstalled)),
        "{again:?}"
    );

    let bad = logging::init_with("info", LogFormat::Text, None, Some("tgc=loud"));
    assert!(
        matches!(
            bad,
            Err(LoggingError::BadFilter {
                from: "RUST_LOG",
                ..
            })
        ),
        "{bad:?}"
    );
}
