//! Installing the global subscriber: JSON lines to a file, and a second install being
//! reported instead of panicking. One test, because a process has one global subscriber.

use tgc_common::logging::{self, LogFormat, LoggingError};

#[test]
fn json_lines_go_to_the_log_file_and_a_second_init_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("logs").join("tgc.log");

    logging::init_with("info", LogFormat::Json, Some(&path), None).expect("first install");
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
