//! Installs the process-wide tracing subscriber from the logging settings.
//!
//! Text for people at a terminal, JSON lines for log collectors; to stderr or appended
//! to a file. The filter comes from `log.level` unless `RUST_LOG` is set, because an
//! operator chasing a problem expects `RUST_LOG` to work without editing the config.
//! A bad filter is an error, not a panic, and installing twice reports that rather
//! than failing, so tests can call `init` freely.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error(
        "invalid log filter {directive:?} from {from}: {reason}; expected a tracing EnvFilter directive such as info or tgc_service=debug,info"
    )]
    BadFilter {
        directive: String,
        /// `log.level` or `RUST_LOG`.
        from: &'static str,
        reason: String,
    },
    #[error("cannot open log file {}: {source}", path.display())]
    OpenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a global tracing subscriber is already installed; logging settings not applied")]
    AlreadyInstalled,
}

/// Installs the subscriber: `level` unless `RUST_LOG` is set, `format`, and `file`
/// (appended, parent directories created) or stderr.
pub fn init(level: &str, format: LogFormat, file: Option<&Path>) -> Result<(), LoggingError> {
    let rust_log = std::env::var("RUST_LOG").ok();
    init_with(level, format, file, rust_log.as_deref())
}

/// [`init`] with the value of `RUST_LOG` given explicitly, so tests need not touch the
/// process environment.
pub fn init_with(
    level: &str,
    format: LogFormat,
    file: Option<&Path>,
    rust_log: Option<&str>,
) -> Result<(), LoggingError> {
    let filter = build_filter(level, rust_log)?;
    let (writer, ansi) = match file {
        Some(path) => (BoxMakeWriter::new(Mutex::new(open_log_file(path)?)), false),
        None => (BoxMakeWriter::new(std::io::stderr), true),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|_| LoggingError::AlreadyInstalled)
}

/// The filter in force: `RUST_LOG` when set and non-blank, else `level`.
pub fn build_filter(level: &str, rust_log: Option<&str>) -> Result<EnvFilter, LoggingError> {
    let (directive, from) = match rust_log {
        Some(value) if !value.trim().is_empty() => (value, "RUST_LOG"),
        _ => (level, "log.level"),
    };
    EnvFilter::builder()
        .parse(directive)
        .map_err(|error| LoggingError::BadFilter {
            directive: directive.to_string(),
            from,
            reason: error.to_string(),
        })
}

fn open_log_file(path: &Path) -> Result<File, LoggingError> {
    let open = || -> std::io::Result<File> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        OpenOptions::new().create(true).append(true).open(path)
    };
    open().map_err(|source| LoggingError::OpenFile {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_over_level() {
        let filter = build_filter("info", Some("debug")).expect("valid filter");
        assert_eq!(filter.to_string(), "debug");
        let filter = build_filter("warn", None).expect("valid filter");
        assert_eq!(filter.to_string(), "warn");
        let filter = build_filter("warn", Some("  ")).expect("valid filter");
        assert_eq!(filter.to_string(), "warn");
    }

    #[test]
    fn bad_filter_is_an_error_naming_its_source() {
        let error = build_filter("info", Some("tgc=loud")).expect_err("bad RUST_LOG");
        let message = error.to_string();
        assert!(message.contains("RUST_LOG"), "{message}");
        assert!(message.contains("tgc=loud"), "{message}");
        let error = build_filter("tgc=loud", None).expect_err("bad level");
        assert!(error.to_string().contains("log.level"), "{error}");
    }

    #[test]
    fn unopenable_log_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"").expect("write blocker");
        let path = blocker.join("tgc.log");
        let error = open_log_file(&path).expect_err("parent is a file");
        assert!(error.to_string().contains("tgc.log"), "{error}");
    }
}
