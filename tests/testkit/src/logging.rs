//! Logs for the test that asks: with `RUST_LOG` set, the code under test logs through
//! libtest's captured writer (shown for failing tests, or with `--nocapture`); without it,
//! nothing is installed and tests stay quiet. And reading a served binary's log lines.

/// Installs the test subscriber once per process when `RUST_LOG` is set; later calls and
/// a subscriber already installed are fine.
pub fn from_env() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// The text of a log line without terminal colour codes (a served binary's stderr).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The address in a log line's `name=<addr>` field (after [`strip_ansi`]), as the served
/// binary's "listening" line gives its listeners.
pub fn address_field(line: &str, name: &str) -> std::net::SocketAddr {
    let prefix = format!("{name}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&prefix))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= address in {line:?}"))
}
