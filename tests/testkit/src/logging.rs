//! Logs for the test that asks: with `RUST_LOG` set, the code under test logs through
//! libtest's captured writer (shown for failing tests, or with `--nocapture`); without it,
//! nothing is installed and tests stay quiet.

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
