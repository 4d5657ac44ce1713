//! Installs the process-wide tracing subscriber from the logging settings.
//!
//! Text for people at a terminal, JSON lines for log collectors; to stderr or appended
//! to a file. The filter comes from `log.level` unless `RUST_LOG` is set, because an
//! operator chasing a problem expects `RUST_LOG` to work without editing the config.
//! A bad filter is an error, not a panic, and installing twice reports that rather
//! than failing, so tests can call `init` freely.
//!
//! A log file is opened for appending (never truncated), owner-only (log lines name chats
//! and accounts), and can be reopened under its name ([`Logging::reopen`], which `serve`
//! calls on SIGHUP), so logrotate can move it away and the next line starts a new file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
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

/// The installed logging: what can still be done to it.
#[derive(Debug, Clone, Default)]
pub struct Logging {
    file: Option<LogFile>,
}

impl Logging {
    /// Opens the log file again under its name (after logrotate moved it away); the lines
    /// written before stay in the moved file. Nothing to do when logging to stderr. On
    /// failure the old file stays in use.
    pub fn reopen(&self) -> Result<(), LoggingError> {
        match &self.file {
            Some(file) => file.reopen(),
            None => Ok(()),
        }
    }

    /// The log file, if logging goes to one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_ref().map(|file| file.inner.path.as_path())
    }
}

/// The log file, shared by the subscriber (which writes through it) and [`Logging`] (which
/// reopens it).
#[derive(Debug, Clone)]
struct LogFile {
    inner: Arc<LogFileInner>,
}

#[derive(Debug)]
struct LogFileInner {
    path: PathBuf,
    file: Mutex<File>,
}

impl LogFile {
    fn open(path: &Path) -> Result<LogFile, LoggingError> {
        Ok(LogFile {
            inner: Arc::new(LogFileInner {
                path: path.to_owned(),
                file: Mutex::new(open_log_file(path)?),
            }),
        })
    }

    fn reopen(&self) -> Result<(), LoggingError> {
        let fresh = open_log_file(&self.inner.path)?;
        *self.lock() = fresh;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        // A panic mid-write leaves at worst a partial line; the file is still good.
        self.inner
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One log event's writes, to the file open at the time.
struct LogFileWriter<'a>(MutexGuard<'a, File>);

impl Write for LogFileWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogFileWriter<'a>;

    fn make_writer(&'a self) -> LogFileWriter<'a> {
        LogFileWriter(self.lock())
    }
}

/// Installs the subscriber: `level` unless `RUST_LOG` is set, `format`, and `file`
/// (appended, parent directories created) or stderr.
pub fn init(level: &str, format: LogFormat, file: Option<&Path>) -> Result<Logging, LoggingError> {
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
) -> Result<Logging, LoggingError> {
    let filter = build_filter(level, rust_log)?;
    let file = file.map(LogFile::open).transpose()?;
    let (writer, ansi) = match &file {
        Some(file) => (BoxMakeWriter::new(file.clone()), false),
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
    installed.map_err(|_| LoggingError::AlreadyInstalled)?;
    Ok(Logging { file })
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
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
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
