//! Reads each section of the configuration into its typed struct, with the defaults,
//! and checks the rules that span several settings.
//!
//! One function per section keeps the default, the parser and the rendering of each
//! key side by side, in the order `config.properties` documents them (which is also the
//! order of the masked rendering).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::ConfigError;
use super::reader::{Reader, mask_url_password, resolve};
use super::values::{self, CryptoKey, Expected, MediaKind, MethodRate};
use super::{
    CryptoSettings, DataSettings, LogSettings, MediaSettings, MediaStorage, PoolSettings,
    RabbitMqSettings, S3Storage, ServerSettings, SessionsSettings, TelegramSettings,
};
use crate::logging::LogFormat;
use crate::secret::Secret;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Telegram Desktop's public application pair: fine for the demo, and telesim accepts any.
const DEFAULT_API_ID: i32 = 2040;
const DEFAULT_API_HASH: &str = "b18441a1ff607e10a989891a5462e627";

pub fn telegram(r: &mut Reader<'_>) -> TelegramSettings {
    TelegramSettings {
        api_id: r.value(
            "telegram.api_id",
            DEFAULT_API_ID,
            values::positive_int,
            show,
        ),
        api_hash: Secret::new(r.value(
            "telegram.api_hash",
            DEFAULT_API_HASH.to_string(),
            api_hash,
            show,
        )),
        device_model: r.value(
            "telegram.device_model",
            "tgcollector".to_string(),
            values::non_empty,
            show,
        ),
        proxy: r
            .optional("telegram.proxy", values::socks5_url, show_url)
            .map(Secret::new),
    }
}

pub fn sessions(r: &mut Reader<'_>) -> SessionsSettings {
    let default = r.base_dir().join("sessions");
    SessionsSettings {
        dir: read_dir(r, "sessions.dir", default),
    }
}

pub fn data(r: &mut Reader<'_>) -> DataSettings {
    let default = r.base_dir().join("data");
    DataSettings {
        dir: read_dir(r, "data.dir", default),
    }
}

pub fn server(r: &mut Reader<'_>) -> ServerSettings {
    ServerSettings {
        listen: r.value(
            "server.listen",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            values::socket_addr,
            show,
        ),
        operator_listen: r.value(
            "server.operator_listen",
            SocketAddr::from(([127, 0, 0, 1], 9090)),
            values::socket_addr,
            show,
        ),
        max_body_bytes: r.value(
            "server.max_body_bytes",
            16 * KIB,
            values::byte_size,
            show_bytes,
        ),
        request_timeout: r.value(
            "server.request_timeout",
            Duration::from_secs(30),
            values::duration,
            show_duration,
        ),
        max_concurrency: r.value(
            "server.max_concurrency",
            256,
            values::count_up_to(1_000_000),
            show,
        ),
        max_connections: r.value(
            "server.max_connections",
            4096,
            values::count_up_to(1_000_000),
            show,
        ),
        header_timeout: r.value(
            "server.header_timeout",
            Duration::from_secs(10),
            values::duration,
            show_duration,
        ),
        idle_timeout: r.value(
            "server.idle_timeout",
            Duration::from_secs(60),
            values::duration,
            show_duration,
        ),
        max_body_bytes_in_flight: r.value(
            "server.max_body_bytes_in_flight",
            64 * MIB,
            values::byte_size,
            show_bytes,
        ),
    }
}

pub fn crypto(r: &mut Reader<'_>) -> CryptoSettings {
    CryptoSettings {
        keys: r.value("crypto.keys", Vec::new(), values::crypto_keys, show_keyring),
        clock_window: r.value(
            "crypto.clock_window",
            Duration::from_secs(60),
            values::duration,
            show_duration,
        ),
    }
}

pub fn pool(r: &mut Reader<'_>) -> PoolSettings {
    PoolSettings {
        resolve_budget_per_hour: r.value(
            "pool.resolve_budget_per_hour",
            30,
            values::non_negative_int,
            show,
        ),
        requests_per_second: r.value("pool.requests_per_second", 5.0, values::request_rate, show),
        method_rates: r.value(
            "pool.method_rates",
            values::builtin_method_rates(),
            values::method_rates,
            show_method_rates,
        ),
        max_queue_wait: r.value(
            "pool.max_queue_wait",
            Duration::from_secs(1),
            values::duration,
            show_duration,
        ),
        username_ttl: r.value(
            "pool.username_ttl",
            Duration::from_secs(24 * 3600),
            values::duration,
            show_duration,
        ),
        reconnect_max_backoff: r.value(
            "pool.reconnect_max_backoff",
            Duration::from_secs(300),
            values::duration,
            show_duration,
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StorageKind {
    Local,
    S3,
    Http,
}

const STORAGE_KINDS: [(&str, StorageKind); 3] = [
    ("local", StorageKind::Local),
    ("s3", StorageKind::S3),
    ("http", StorageKind::Http),
];

pub fn media(r: &mut Reader<'_>) -> MediaSettings {
    let storage = media_storage(r);
    MediaSettings {
        storage,
        max_size: r.value("media.max_size", 2 * GIB, values::byte_size, show_bytes),
        kinds: r.value(
            "media.kinds",
            MediaKind::ALL.iter().map(|(_, kind)| *kind).collect(),
            values::media_kinds,
            show_media_kinds,
        ),
        downloads_per_account: r.value(
            "media.downloads_per_account",
            2,
            values::count_up_to(1_000),
            show,
        ),
        downloads_total: r.value(
            "media.downloads_total",
            16,
            values::count_up_to(10_000),
            show,
        ),
        chunk_size: r.value(
            "media.chunk_size",
            512 * KIB,
            values::chunk_size,
            show_bytes,
        ),
        parallel_chunks: r.value("media.parallel_chunks", 4, values::count_up_to(64), show),
        uploads: r.value("media.uploads", 4, values::count_up_to(1_000), show),
        staging_max: r.value(
            "media.staging_max",
            4 * 1024 * MIB,
            values::byte_size,
            show_bytes,
        ),
        verify_hashes: r.value("media.verify_hashes", true, values::boolean, show),
        enabled: r.value("media.enabled", true, values::boolean, show),
    }
}

/// Reads every storage key (all are rendered, whichever backend is chosen) and
/// requires the ones the chosen backend needs, and only those.
fn media_storage(r: &mut Reader<'_>) -> MediaStorage {
    let kind = r.value(
        "media.storage",
        StorageKind::Local,
        |text| values::one_of(text, &STORAGE_KINDS),
        |kind| format!("{kind:?}").to_ascii_lowercase(),
    );
    let default_local = r.base_dir().join("data").join("media");
    let local_dir = read_dir(r, "media.storage.local.dir", default_local);
    let endpoint = r.optional("media.storage.s3.endpoint", web_url, show_url);
    let bucket = r.optional("media.storage.s3.bucket", values::non_empty, show);
    let region = r.optional("media.storage.s3.region", values::non_empty, show);
    let access_key = r.optional("media.storage.s3.access_key", values::non_empty, show);
    let secret_key = r.optional("media.storage.s3.secret_key", values::non_empty, show);
    let http_url = r.optional("media.storage.http.url", web_url, show_url);

    let needed: &[(&str, bool)] = match kind {
        StorageKind::Local => &[],
        StorageKind::S3 => &[
            ("media.storage.s3.endpoint", endpoint.is_some()),
            ("media.storage.s3.bucket", bucket.is_some()),
            ("media.storage.s3.region", region.is_some()),
            ("media.storage.s3.access_key", access_key.is_some()),
            ("media.storage.s3.secret_key", secret_key.is_some()),
        ],
        StorageKind::Http => &[("media.storage.http.url", http_url.is_some())],
    };
    for (key, given) in needed {
        // A key that could not be read has its own error already.
        if !given && r.read_ok(key) {
            let because = format!(
                "media.storage = {} ({})",
                format!("{kind:?}").to_ascii_lowercase(),
                r.origin_of("media.storage")
            );
            r.error(ConfigError::Missing {
                key: key.to_string(),
                because,
            });
        }
    }

    match (
        kind, endpoint, bucket, region, access_key, secret_key, http_url,
    ) {
        (
            StorageKind::S3,
            Some(endpoint),
            Some(bucket),
            Some(region),
            Some(access_key),
            Some(secret_key),
            _,
        ) => MediaStorage::S3(S3Storage {
            endpoint,
            bucket,
            region,
            access_key,
            secret_key: Secret::new(secret_key),
        }),
        (StorageKind::Http, .., Some(url)) => MediaStorage::Http { url },
        // For s3 or http with settings missing, the errors are recorded and these
        // settings are never handed out.
        _ => MediaStorage::Local { dir: local_dir },
    }
}

pub fn rabbitmq(r: &mut Reader<'_>) -> RabbitMqSettings {
    RabbitMqSettings {
        enabled: r.value("rabbitmq.enabled", true, values::boolean, show),
        url: Secret::new(r.value(
            "rabbitmq.url",
            default_amqp_url(),
            |text| values::url_with_scheme(text, &["amqp", "amqps"]),
            show_url,
        )),
        exchange: r.value(
            "rabbitmq.exchange",
            "tgcollector.messages".to_string(),
            values::non_empty,
            show,
        ),
        queue: r.value(
            "rabbitmq.queue",
            Some("tgc.messages".to_string()),
            values::amqp_queue,
            |queue| queue.clone().unwrap_or_else(|| "(none)".into()),
        ),
        sealed: r.value("rabbitmq.sealed", false, values::boolean, show),
        outbox_max_events: r.value(
            "rabbitmq.outbox_max_events",
            1_000_000,
            values::count_up_to(1_000_000_000),
            show,
        ),
    }
}

pub fn log(r: &mut Reader<'_>) -> LogSettings {
    let base = r.base_dir().to_path_buf();
    LogSettings {
        level: r.value("log.level", "info".to_string(), values::log_filter, show),
        format: r.value(
            "log.format",
            LogFormat::Text,
            |text| {
                values::one_of(
                    text,
                    &[("text", LogFormat::Text), ("json", LogFormat::Json)],
                )
            },
            |format| format!("{format:?}").to_ascii_lowercase(),
        ),
        file: r.optional("log.file", |text| Ok(resolve(&base, text)), show_path),
    }
}

/// Rules between settings that are each valid on their own.
pub fn check_cross_field_rules(r: &mut Reader<'_>, server: &ServerSettings, media: &MediaSettings) {
    if media.downloads_per_account > media.downloads_total {
        let settings = format!(
            "media.downloads_per_account = {} ({}) is greater than media.downloads_total = {} ({})",
            media.downloads_per_account,
            r.origin_of("media.downloads_per_account"),
            media.downloads_total,
            r.origin_of("media.downloads_total"),
        );
        r.error(ConfigError::Inconsistent {
            settings,
            expected: "media.downloads_per_account <= media.downloads_total".into(),
        });
    }
    if server.max_body_bytes_in_flight < server.max_body_bytes {
        let settings = format!(
            "server.max_body_bytes_in_flight = {} ({}) is less than server.max_body_bytes = {} ({})",
            server.max_body_bytes_in_flight,
            r.origin_of("server.max_body_bytes_in_flight"),
            server.max_body_bytes,
            r.origin_of("server.max_body_bytes"),
        );
        r.error(ConfigError::Inconsistent {
            settings,
            expected: "server.max_body_bytes_in_flight >= server.max_body_bytes (else the largest request could never be read)".into(),
        });
    }
    if server.listen == server.operator_listen {
        let settings = format!(
            "server.listen ({}) and server.operator_listen ({}) are both {}",
            r.origin_of("server.listen"),
            r.origin_of("server.operator_listen"),
            server.listen,
        );
        r.error(ConfigError::Inconsistent {
            settings,
            expected: "two different addresses (the operator endpoints are served apart)".into(),
        });
    }
}

/// A directory setting: relative paths start at the config file's directory.
fn read_dir(r: &mut Reader<'_>, key: &'static str, default: PathBuf) -> PathBuf {
    let base = r.base_dir().to_path_buf();
    let parse = |text: &str| -> Result<PathBuf, Expected> {
        if text.is_empty() {
            Err("a directory path (relative paths start at the config file's directory)".into())
        } else {
            Ok(resolve(&base, text))
        }
    };
    r.value(key, default, parse, show_path)
}

fn api_hash(text: &str) -> Result<String, Expected> {
    if text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err("32 hexadecimal characters, as shown at my.telegram.org".into())
    }
}

fn web_url(text: &str) -> Result<url::Url, Expected> {
    values::url_with_scheme(text, &["https", "http"])
}

/// The demo broker: RabbitMQ's default user on loopback, default vhost.
fn default_amqp_url() -> url::Url {
    url::Url::parse("amqp://guest:guest@127.0.0.1:5672/%2f")
        .expect("the built-in rabbitmq.url default is a valid URL")
}

fn show<T: std::fmt::Display>(value: &T) -> String {
    value.to_string()
}

fn show_path(path: &impl AsRef<Path>) -> String {
    path.as_ref().display().to_string()
}

fn show_duration(duration: &Duration) -> String {
    humantime::format_duration(*duration).to_string()
}

fn show_url(url: &url::Url) -> String {
    mask_url_password(url.as_str())
}

/// Shows a byte count in the largest binary unit that divides it exactly, so the
/// rendered value reads back to the same number.
fn show_bytes(bytes: &u64) -> String {
    match *bytes {
        0 => "0".into(),
        n if n.is_multiple_of(GIB) => format!("{}GiB", n / GIB),
        n if n.is_multiple_of(MIB) => format!("{}MiB", n / MIB),
        n if n.is_multiple_of(KIB) => format!("{}KiB", n / KIB),
        n => n.to_string(),
    }
}

/// The keyring shows how many keys and their ids (not secret: they travel in every
/// envelope), never key material.
fn show_keyring(keys: &impl AsRef<[CryptoKey]>) -> String {
    let keys = keys.as_ref();
    match keys {
        [] => "(empty)".into(),
        [first, ..] => {
            let ids: Vec<String> = keys.iter().map(|key| key.id.to_string()).collect();
            format!(
                "*** ({} key(s), ids {}; sealing with {})",
                keys.len(),
                ids.join(", "),
                first.id
            )
        }
    }
}

/// The whole table, `none` first: what it shows reads back to the same table.
fn show_method_rates(rates: &impl AsRef<[MethodRate]>) -> String {
    let entries = rates
        .as_ref()
        .iter()
        .map(|rate| format!("{}={}/{}", rate.method, rate.per_second, rate.burst));
    std::iter::once("none".to_owned())
        .chain(entries)
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_media_kinds(kinds: &impl AsRef<[MediaKind]>) -> String {
    let names: Vec<&str> = kinds.as_ref().iter().map(|kind| kind.name()).collect();
    names.join(",")
}
