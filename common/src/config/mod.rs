//! Typed, validated settings of the gateway, loaded from `config.properties` and the
//! environment.
//!
//! Every key has a built-in default that works for the demo (telesim on loopback, local
//! storage), may be set in the properties file, and may be overridden by an environment
//! variable `TGC_<KEY>` (upper-cased, dots as underscores). Secrets can instead be read
//! from a file named by `<key>_file`. Relative paths resolve against the config file's
//! directory, so the gateway behaves the same from any working directory.
//!
//! Loading never stops at the first problem: it returns every error at once, each naming
//! the file and line (or the environment variable), the key, the bad value and what was
//! expected. The environment is passed in as a lookup function so that tests never touch
//! the process environment.

mod error;
mod keys;
mod origin;
mod reader;
mod sections;
mod values;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, ConfigErrors};
pub use keys::{ENV_PREFIX, KNOWN_KEYS, env_var_name};
pub use origin::Origin;
pub use reader::{EffectiveSetting, EnvLookup};
pub use values::{BUILTIN_METHOD_RATES, CryptoKey, MediaKind, MethodRate};

use crate::logging::LogFormat;
use crate::secret::Secret;
use reader::Reader;

/// Every setting of the gateway, grouped as in `config.properties`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub telegram: TelegramSettings,
    pub sessions: SessionsSettings,
    pub data: DataSettings,
    pub server: ServerSettings,
    pub crypto: CryptoSettings,
    pub pool: PoolSettings,
    pub media: MediaSettings,
    pub rabbitmq: RabbitMqSettings,
    pub log: LogSettings,
    /// The config file the settings were loaded from.
    pub config_path: PathBuf,
    effective: Vec<EffectiveSetting>,
}

#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub api_id: i32,
    pub api_hash: Secret<String>,
    pub device_model: String,
    /// `socks5://[user:pass@]host:port`, for every account without its own proxy.
    pub proxy: Option<Secret<url::Url>>,
}

#[derive(Debug, Clone)]
pub struct SessionsSettings {
    /// Where the account session files live (absolute).
    pub dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct DataSettings {
    /// Our own SQLite files: username directory, media tasks, outbox (absolute).
    pub dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub operator_listen: SocketAddr,
    pub max_body_bytes: u64,
    pub request_timeout: Duration,
    pub max_concurrency: usize,
    /// Most connections open at once on the API listener; past it new ones are closed.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (HTTP/1.1).
    pub header_timeout: Duration,
    /// A connection with no request in flight and no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Request body bytes being read at once, over all connections, reserved before
    /// reading (a request's declared length, or `max_body_bytes`).
    pub max_body_bytes_in_flight: u64,
}

#[derive(Debug, Clone)]
pub struct CryptoSettings {
    /// The keyring; the first key seals replies, any key opens requests. May be empty.
    pub keys: Vec<CryptoKey>,
    pub clock_window: Duration,
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub resolve_budget_per_hour: u32,
    pub requests_per_second: f64,
    /// Per-method rates of each account (`pool.method_rates`): the starting points of its
    /// adaptive per-method pacing.
    pub method_rates: Vec<MethodRate>,
    /// How long a request may wait for its account's turn before another account that can
    /// read the chat takes it.
    pub max_queue_wait: Duration,
    pub username_ttl: Duration,
    pub reconnect_max_backoff: Duration,
}

#[derive(Debug, Clone)]
pub struct MediaSettings {
    pub storage: MediaStorage,
    pub max_size: u64,
    pub kinds: Vec<MediaKind>,
    pub downloads_per_account: usize,
    pub downloads_total: usize,
    pub chunk_size: u64,
    /// Chunks of one file in flight at once.
    pub parallel_chunks: usize,
    /// Uploads to storage at once.
    pub uploads: usize,
    /// Bytes of downloaded files waiting in `media-staging/` for their upload; past it new
    /// downloads pause (a storage outage must not fill the disk).
    pub staging_max: u64,
    /// Whether a downloaded file is checked against the SHA-256 hashes Telegram gives for
    /// its parts before it is stored.
    pub verify_hashes: bool,
    /// Whether media is downloaded at all.
    pub enabled: bool,
}

/// Where downloaded media is stored.
#[derive(Debug, Clone)]
pub enum MediaStorage {
    Local { dir: PathBuf },
    S3(S3Storage),
    Http { url: url::Url },
}

#[derive(Debug, Clone)]
pub struct S3Storage {
    pub endpoint: url::Url,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: Secret<String>,
}

#[derive(Debug, Clone)]
pub struct RabbitMqSettings {
    pub enabled: bool,
    /// `amqp://user:pass@host:port/vhost`; a secret because of its password.
    pub url: Secret<url::Url>,
    pub exchange: String,
    /// The durable queue declared and bound to the exchange with `#`, so that events reach
    /// a queue before any consumer has bound one; None declares none.
    pub queue: Option<String>,
    /// Whether published messages are sealed like API replies.
    pub sealed: bool,
    pub outbox_max_events: u64,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    /// An `EnvFilter` directive; `RUST_LOG`, when set, wins over it.
    pub level: String,
    pub format: LogFormat,
    /// `None` logs to stderr.
    pub file: Option<PathBuf>,
}

impl Settings {
    /// Loads `path`, with overrides from the process environment.
    pub fn load_with_process_env(path: &Path) -> Result<Settings, ConfigErrors> {
        let env =
            |name: &str| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned());
        Settings::load(path, &env)
    }

    /// Loads `path`, with overrides looked up through `env` (variable name → value).
    pub fn load(path: &Path, env: EnvLookup<'_>) -> Result<Settings, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::from_text(&text, path, env)
    }

    /// Loads settings from properties `text` as if read from `path`, which names the
    /// file in errors and anchors relative paths.
    pub fn from_text(
        text: &str,
        path: &Path,
        env: EnvLookup<'_>,
    ) -> Result<Settings, ConfigErrors> {
        let mut r = Reader::new(path, text, env);
        let telegram = sections::telegram(&mut r);
        let sessions = sections::sessions(&mut r);
        let data = sections::data(&mut r);
        let server = sections::server(&mut r);
        let crypto = sections::crypto(&mut r);
        let pool = sections::pool(&mut r);
        let media = sections::media(&mut r);
        let rabbitmq = sections::rabbitmq(&mut r);
        let log = sections::log(&mut r);
        sections::check_cross_field_rules(&mut r, &server, &media);

        let (config_path, effective) = r.finish().map_err(ConfigErrors)?;
        Ok(Settings {
            telegram,
            sessions,
            data,
            server,
            crypto,
            pool,
            media,
            rabbitmq,
            log,
            config_path,
            effective,
        })
    }

    /// Every effective setting, in a stable order, secrets masked, with its origin.
    pub fn effective(&self) -> &[EffectiveSetting] {
        &self.effective
    }

    /// The files a secret was read from (the config file itself for an inline secret, or a
    /// `<key>_file`) that other users may read, with their permission bits: the gateway
    /// reports them at start and `config check` lists them.
    pub fn secrets_readable_by_others(&self) -> Vec<(PathBuf, u32)> {
        use std::os::unix::fs::PermissionsExt;
        let mut files: Vec<PathBuf> = Vec::new();
        for setting in &self.effective {
            let secret = reader::SECRET_KEYS.contains(&setting.key)
                || (reader::URL_KEYS_WITH_PASSWORD.contains(&setting.key)
                    && setting.shown.contains('@'));
            let file = match &setting.origin {
                Origin::File { path, .. } if secret => path,
                Origin::SecretFile { path, .. } => path,
                _ => continue,
            };
            if !files.contains(file) {
                files.push(file.clone());
            }
        }
        files
            .into_iter()
            .filter_map(|path| {
                let mode = std::fs::metadata(&path).ok()?.permissions().mode() & 0o777;
                (mode & 0o077 != 0).then_some((path, mode))
            })
            .collect()
    }

    /// Every effective setting as `key = value  # origin`, one per line, in a stable
    /// order, with secrets masked: safe to log or print.
    pub fn render_masked(&self) -> String {
        let width = self
            .effective
            .iter()
            .map(|setting| setting.key.len() + setting.shown.len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for setting in &self.effective {
            let pad = width - (setting.key.len() + setting.shown.len());
            let _ = writeln!(
                out,
                "{} = {}{:pad$}  # {}",
                setting.key, setting.shown, "", setting.origin
            );
        }
        out
    }
}
