//! Loading `Settings`: every kind of configuration error, environment overrides, secret
//! files, masked rendering, and the shipped `config.properties`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tgc_common::config::{KNOWN_KEYS, MediaKind, MediaStorage, Origin, Settings};
use tgc_common::logging::LogFormat;
use tgc_common::properties::Properties;
use tgc_common::{ConfigError, ConfigErrors};

/// A config file in its own temporary directory.
struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Fixture {
    fn new(text: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tgc.properties");
        std::fs::write(&path, text).expect("write config");
        Fixture { dir, path }
    }

    fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    fn load(&self) -> Result<Settings, ConfigErrors> {
        Settings::load(&self.path, &|_| None)
    }

    fn load_with_env(&self, vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&self.path, &|name| env.get(name).cloned())
    }

    /// The single error of a load that must fail with exactly one.
    fn only_error(&self) -> String {
        let errors = self.load().expect_err("configuration must be rejected");
        assert_eq!(errors.len(), 1, "expected one error, got: {errors}");
        errors
            .iter()
            .next()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The directory relative paths resolve against, as the loader sees it.
    fn base(&self) -> PathBuf {
        std::fs::canonicalize(self.dir.path()).expect("canonical temp dir")
    }

    /// `path:line`, as errors name a place in the file.
    fn at(&self, line: usize) -> String {
        format!("{}:{line}", self.path.display())
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "error message should mention {part:?}:\n{message}"
        );
    }
}

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.properties")
}

#[test]
fn shipped_config_loads_without_error() {
    let settings = Settings::load(&shipped_config(), &|_| None)
        .unwrap_or_else(|errors| panic!("shipped config.properties must load: {errors}"));
    assert_eq!(settings.telegram.api_id, 2040);
    assert!(matches!(settings.media.storage, MediaStorage::Local { .. }));
}

#[test]
fn shipped_config_documents_every_key_with_a_comment_above_it() {
    let text = std::fs::read_to_string(shipped_config()).expect("read config.properties");
    let properties = Properties::parse(&text).expect("config.properties parses");
    let lines: Vec<&str> = text.lines().collect();
    for key in KNOWN_KEYS {
        let property = properties
            .get(key)
            .unwrap_or_else(|| panic!("config.properties does not set `{key}`"));
        let above = lines[property.line - 2].trim_start();
        assert!(
            above.starts_with('#'),
            "`{key}` (line {}) has no comment right above it",
            property.line
        );
    }
    for property in properties.iter() {
        assert!(
            KNOWN_KEYS.contains(&property.key.as_str()),
            "config.properties sets unknown key `{}`",
            property.key
        );
    }
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let fixture = Fixture::new("");
    let settings = fixture.load().expect("defaults are valid");
    let base = fixture.base();
    assert_eq!(settings.telegram.api_id, 2040);
    assert_eq!(
        settings.telegram.api_hash.expose(),
        "b18441a1ff607e10a989891a5462e627"
    );
    assert_eq!(settings.telegram.device_model, "tgcollector");
    assert!(settings.telegram.proxy.is_none());
    assert_eq!(settings.sessions.dir, base.join("sessions"));
    assert_eq!(settings.data.dir, base.join("data"));
    assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        settings.server.operator_listen.to_string(),
        "127.0.0.1:9090"
    );
    assert_eq!(settings.server.max_body_bytes, 16 * 1024);
    assert_eq!(settings.server.max_connections, 4096);
    assert_eq!(settings.server.header_timeout, Duration::from_secs(10));
    assert_eq!(settings.server.idle_timeout, Duration::from_secs(60));
    assert_eq!(settings.server.max_body_bytes_in_flight, 64 * 1024 * 1024);
    assert_eq!(settings.server.request_timeout, Duration::from_secs(30));
    assert_eq!(settings.server.max_concurrency, 256);
    assert!(settings.crypto.keys.is_empty());
    assert_eq!(settings.crypto.clock_window, Duration::from_secs(60));
    assert_eq!(settings.pool.resolve_budget_per_hour, 30);
    assert_eq!(settings.pool.requests_per_second, 5.0);
    assert_eq!(settings.pool.username_ttl, Duration::from_secs(86_400));
    assert_eq!(
        settings.pool.reconnect_max_backoff,
        Duration::from_secs(300)
    );
    match &settings.media.storage {
        MediaStorage::Local { dir } => assert_eq!(dir, &base.join("data").join("media")),
        other => panic!("default storage must be local, got {other:?}"),
    }
    assert_eq!(settings.media.max_size, 2 * 1024 * 1024 * 1024);
    assert_eq!(settings.media.kinds.len(), 8);
    assert_eq!(settings.media.downloads_per_account, 2);
    assert_eq!(settings.media.downloads_total, 16);
    assert_eq!(settings.media.chunk_size, 512 * 1024);
    assert!(settings.rabbitmq.enabled);
    assert_eq!(
        settings.rabbitmq.url.expose().as_str(),
        "amqp://guest:guest@127.0.0.1:5672/%2f"
    );
    assert_eq!(settings.rabbitmq.exchange, "tgcollector.messages");
    assert!(!settings.rabbitmq.sealed);
    assert_eq!(settings.rabbitmq.outbox_max_events, 1_000_000);
    assert_eq!(settings.rabbitmq.queue.as_deref(), Some("tgc.messages"));
    assert_eq!(settings.log.level, "info");
    assert_eq!(settings.log.format, LogFormat::Text);
    assert!(settings.log.file.is_none());
}

#[test]
fn bad_int_names_file_line_key_value_and_expectation() {
    let fixture = Fixture::new("# comment\ntelegram.api_id = abc\n");
    let message = fixture.only_error();
    assert_mentions(
        &message,
        &[
            &fixture.at(2),
            "telegram.api_id",
            "\"abc\"",
            "expected a whole number greater than 0",
        ],
    );
    let fixture = Fixture::new("server.max_concurrency = 0\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            &fixture.at(1),
            "server.max_concurrency",
            "\"0\"",
            "from 1 to 1000000",
        ],
    );
}

#[test]
fn values_that_would_panic_or_exhaust_the_server_later_are_refused_now() {
    for (line, expected) in [
        ("pool.requests_per_second = 1e-300", "from 0.001 to 100000"),
        (
            "server.max_connections = 18446744073709551615",
            "from 1 to 1000000",
        ),
        ("server.max_concurrency = 100000000000", "from 1 to 1000000"),
        ("media.uploads = 1000000000", "from 1 to 1000"),
        ("media.downloads_total = 99999999", "from 1 to 10000"),
        ("server.request_timeout = 1000000000years", "at most a year"),
        (
            "rabbitmq.outbox_max_events = 99999999999999",
            "from 1 to 1000000000",
        ),
    ] {
        let fixture = Fixture::new(&format!("{line}\n"));
        let key = line.split(' ').next().unwrap();
        assert_mentions(&fixture.only_error(), &[&fixture.at(1), key, expected]);
    }
}

#[test]
fn bad_duration_names_file_line_key_value_and_expectation() {
    let fixture = Fixture::new("\n\nserver.request_timeout = 30 seconds-ish\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            &fixture.at(3),
            "server.request_timeout",
            "\"30 seconds-ish\"",
            "expected a duration",
            "500ms, 30s, 5m or 1h",
        ],
    );
}

#[test]
fn bad_byte_size_names_file_line_key_value_and_expectation() {
    let fixture = Fixture::new("server.max_body_bytes = 1 megabyte\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            &fixture.at(1),
            "server.max_body_bytes",
            "\"1 megabyte\"",
            "expected a size in bytes",
            "512KiB",
        ],
    );
}

#[test]
fn rabbitmq_queue_may_be_emptied_but_not_reserved() {
    let none = Fixture::new("rabbitmq.queue =\n")
        .load()
        .expect("an empty queue is valid");
    assert_eq!(none.rabbitmq.queue, None);
    let fixture = Fixture::new("rabbitmq.queue = amq.mine\n");
    assert_mentions(
        &fixture.only_error(),
        &[&fixture.at(1), "rabbitmq.queue", "reserved by RabbitMQ"],
    );
}

#[test]
fn bad_enum_names_the_choices() {
    let fixture = Fixture::new("log.format = yaml\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            &fixture.at(1),
            "log.format",
            "\"yaml\"",
            "expected one of text, json",
        ],
    );
    let fixture = Fixture::new("media.storage = ftp\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            &fixture.at(1),
            "media.storage",
            "\"ftp\"",
            "one of local, s3, http",
        ],
    );
}

#[test]
fn bad_socket_addr_names_file_line_key_value_and_expectation() {
    let fixture = Fixture::new("server.listen = localhost:8080\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            &fixture.at(1),
            "server.listen",
            "\"localhost:8080\"",
            "expected an IP address and port",
        ],
    );
}

#[test]
fn unknown_key_suggests_the_nearest_known_key() {
    let fixture = Fixture::new("server.listn = 127.0.0.1:8080\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            &fixture.at(1),
            "unknown key `server.listn`",
            "did you mean `server.listen`?",
        ],
    );
}

#[test]
fn unknown_key_far_from_any_known_key_gets_no_suggestion() {
    let fixture = Fixture::new("a = 1\nfavourite.colour = blue\n");
    let errors = fixture.load().expect_err("unknown keys are rejected");
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{errors}");
    assert_mentions(
        &messages[1],
        &[
            &fixture.at(2),
            "`favourite.colour`",
            "expected one of the keys",
        ],
    );
    assert!(!messages[1].contains("did you mean"), "{}", messages[1]);
}

#[test]
fn duplicate_key_names_both_lines() {
    let fixture = Fixture::new("log.level = info\nlog.format = text\nlog.level = debug\n");
    let message = fixture.only_error();
    assert_mentions(
        &message,
        &[
            &fixture.at(3),
            "duplicate key `log.level`",
            "first set on line 1",
        ],
    );
}

#[test]
fn malformed_escape_names_file_and_line() {
    let fixture = Fixture::new("telegram.device_model = caf\\u00g9\n");
    assert_mentions(
        &fixture.only_error(),
        &[&fixture.at(1), "\\u00g9", "four hex digits"],
    );
}

#[test]
fn env_override_wins_over_the_file() {
    let fixture =
        Fixture::new("telegram.api_id = 1234\nlog.level = info\nserver.listen = 127.0.0.1:1\n");
    let settings = fixture
        .load_with_env(&[
            ("TGC_TELEGRAM_API_ID", "99"),
            ("TGC_LOG_LEVEL", " debug "),
            ("TGC_MEDIA_STORAGE_LOCAL_DIR", "/srv/media"),
            ("TGC_UNRELATED", "ignored"),
        ])
        .expect("valid overrides");
    assert_eq!(settings.telegram.api_id, 99);
    assert_eq!(settings.log.level, "debug");
    assert_eq!(settings.server.listen.to_string(), "127.0.0.1:1");
    match &settings.media.storage {
        MediaStorage::Local { dir } => assert_eq!(dir, Path::new("/srv/media")),
        other => panic!("expected local storage, got {other:?}"),
    }
    let origin_of = |key: &str| {
        settings
            .effective()
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.origin.clone())
    };
    assert_eq!(
        origin_of("telegram.api_id"),
        Some(Origin::Env {
            var: "TGC_TELEGRAM_API_ID".into()
        })
    );
    assert_eq!(
        origin_of("server.listen"),
        Some(Origin::File {
            path: fixture.path.clone(),
            line: 3
        })
    );
}

#[test]
fn bad_env_value_names_the_variable_not_the_file() {
    let fixture = Fixture::new("server.listen = 127.0.0.1:8080\n");
    let errors = fixture
        .load_with_env(&[("TGC_SERVER_LISTEN", "nowhere")])
        .expect_err("bad override");
    assert_eq!(errors.len(), 1, "{errors}");
    let message = errors.to_string();
    assert_mentions(
        &message,
        &[
            "environment variable TGC_SERVER_LISTEN",
            "server.listen",
            "\"nowhere\"",
            "expected an IP address and port",
        ],
    );
    assert!(!message.contains(&fixture.at(1)), "{message}");
}

#[test]
fn secret_is_read_from_a_file_relative_to_the_config_directory() {
    let fixture = Fixture::new("telegram.api_hash_file = secrets/api_hash\ntelegram.api_hash =\n");
    fixture.write("secrets/api_hash", "  0123456789abcdef0123456789ABCDEF\n");
    let secret_path = fixture.base().join("secrets/api_hash");
    let settings = fixture.load().expect("secret file is readable");
    assert_eq!(
        settings.telegram.api_hash.expose(),
        "0123456789abcdef0123456789abcdef"
    );
    let rendered = settings.render_masked();
    assert_mentions(
        &rendered,
        &[
            &format!("secret file {}", secret_path.display()),
            "telegram.api_hash_file",
        ],
    );
    let line = rendered
        .lines()
        .find(|l| l.starts_with("telegram.api_hash "))
        .expect("api_hash rendered");
    assert!(line.contains("*** (32 chars)"), "{line}");
}

#[test]
fn missing_secret_file_is_an_error_naming_it() {
    let fixture = Fixture::new("crypto.keys_file = keys.txt\n");
    let message = fixture.only_error();
    assert_mentions(
        &message,
        &[
            &fixture.at(1),
            "crypto.keys_file",
            &fixture.base().join("keys.txt").display().to_string(),
            "cannot read secret file",
            "crypto.keys",
        ],
    );
}

#[test]
fn inline_and_file_forms_together_are_an_error() {
    let fixture = Fixture::new(&format!(
        "crypto.keys = 1:{KEY_A}\ncrypto.keys_file = keys.txt\n"
    ));
    fixture.write("keys.txt", &format!("2:{KEY_B}"));
    let message = fixture.only_error();
    assert_mentions(
        &message,
        &[
            "crypto.keys",
            &fixture.at(1),
            "crypto.keys_file",
            &fixture.at(2),
            "expected only one of them",
        ],
    );
    assert!(!message.contains(KEY_A), "{message}");
}

#[test]
fn env_secret_file_replaces_the_inline_value_of_the_file() {
    let fixture = Fixture::new(&format!("crypto.keys = 1:{KEY_A}\n"));
    fixture.write("env-keys.txt", &format!("7:{KEY_B},8:{KEY_A}\n"));
    let settings = fixture
        .load_with_env(&[("TGC_CRYPTO_KEYS_FILE", "env-keys.txt")])
        .expect("env layer replaces the file layer");
    let ids: Vec<u32> = settings.crypto.keys.iter().map(|k| k.id).collect();
    assert_eq!(ids, vec![7, 8]);
    assert!(
        settings
            .render_masked()
            .contains("environment variable TGC_CRYPTO_KEYS_FILE")
    );
}

#[test]
fn bad_secret_value_is_masked_in_the_error() {
    let fixture = Fixture::new("telegram.api_hash = not-a-real-hash-but-secret\n");
    let message = fixture.only_error();
    assert_mentions(
        &message,
        &[
            &fixture.at(1),
            "telegram.api_hash",
            "*** (26 chars)",
            "32 hexadecimal",
        ],
    );
    assert!(!message.contains("not-a-real-hash-but-secret"), "{message}");
}

#[test]
fn s3_storage_without_bucket_is_an_error() {
    let fixture = Fixture::new(
        "media.storage = s3\n\
         media.storage.s3.endpoint = http://127.0.0.1:9000\n\
         media.storage.s3.region = us-east-1\n\
         media.storage.s3.access_key = minio\n\
         media.storage.s3.secret_key = minio-secret\n\
         media.storage.s3.bucket =\n",
    );
    let message = fixture.only_error();
    assert_mentions(
        &message,
        &[
            "media.storage.s3.bucket is not set",
            "media.storage = s3",
            &fixture.at(1),
        ],
    );
}

#[test]
fn complete_s3_storage_loads_and_s3_keys_are_ignored_for_local() {
    let s3 = "media.storage.s3.endpoint = http://127.0.0.1:9000\n\
              media.storage.s3.bucket = media\n\
              media.storage.s3.region = us-east-1\n\
              media.storage.s3.access_key = minio\n\
              media.storage.s3.secret_key = minio-secret\n";
    let fixture = Fixture::new(&format!("media.storage = S3\n{s3}"));
    let settings = fixture.load().expect("complete s3 settings");
    match &settings.media.storage {
        MediaStorage::S3(s3) => {
            assert_eq!(s3.bucket, "media");
            assert_eq!(s3.endpoint.as_str(), "http://127.0.0.1:9000/");
            assert_eq!(s3.secret_key.expose(), "minio-secret");
        }
        other => panic!("expected s3 storage, got {other:?}"),
    }
    let fixture = Fixture::new("media.storage.s3.bucket = media\n");
    assert!(matches!(
        fixture
            .load()
            .expect("s3 keys alone are fine")
            .media
            .storage,
        MediaStorage::Local { .. }
    ));
}

#[test]
fn http_storage_requires_a_url() {
    let fixture = Fixture::new("media.storage = http\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            "media.storage.http.url is not set",
            "media.storage = http",
            &fixture.at(1),
        ],
    );
}

#[test]
fn line_continuation_and_unicode_escapes_reach_the_settings() {
    let fixture = Fixture::new(
        "media.kinds = photo,\\\n    video,\\\n\tvoice\n\
         telegram.device_model = caf\\u00e9 \\u0431\\u043e\\u0442\n\
         log.level = info\n",
    );
    let settings = fixture.load().expect("valid config");
    assert_eq!(
        settings.media.kinds,
        vec![MediaKind::Photo, MediaKind::Video, MediaKind::Voice]
    );
    assert_eq!(settings.telegram.device_model, "café бот");
    let origin = settings
        .effective()
        .iter()
        .find(|s| s.key == "telegram.device_model")
        .map(|s| s.origin.clone());
    assert_eq!(
        origin,
        Some(Origin::File {
            path: fixture.path.clone(),
            line: 4
        })
    );
}

#[test]
fn several_errors_are_reported_together() {
    let fixture = Fixture::new(
        "telegram.api_id = -5\n\
         server.listn = 127.0.0.1:1\n\
         crypto.clock_window = forever\n\
         media.chunk_size = 3KiB\n",
    );
    let errors = fixture
        .load_with_env(&[("TGC_RABBITMQ_ENABLED", "perhaps")])
        .expect_err("five bad settings");
    assert_eq!(errors.len(), 5, "{errors}");
    let all = errors.to_string();
    assert_mentions(
        &all,
        &[
            "invalid configuration (5 errors)",
            &format!("{}: telegram.api_id = \"-5\"", fixture.at(1)),
            "unknown key `server.listn`",
            &format!("{}: crypto.clock_window = \"forever\"", fixture.at(3)),
            &format!("{}: media.chunk_size = \"3KiB\"", fixture.at(4)),
            "environment variable TGC_RABBITMQ_ENABLED: rabbitmq.enabled = \"perhaps\"",
        ],
    );
}

#[test]
fn downloads_per_account_above_total_is_an_error() {
    let fixture = Fixture::new("media.downloads_per_account = 20\nmedia.downloads_total = 4\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            "media.downloads_per_account = 20",
            &fixture.at(1),
            "media.downloads_total = 4",
            &fixture.at(2),
            "expected media.downloads_per_account <= media.downloads_total",
        ],
    );
}

#[test]
fn same_address_for_api_and_operator_is_an_error() {
    let fixture = Fixture::new("server.operator_listen = 127.0.0.1:8080\n");
    assert_mentions(
        &fixture.only_error(),
        &[
            "server.listen (default)",
            "server.operator_listen",
            &fixture.at(1),
            "127.0.0.1:8080",
        ],
    );
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let fixture = Fixture::new(
        "sessions.dir = accounts\ndata.dir = ./state\nlog.file = logs/tgc.log\nmedia.storage.local.dir = /abs/media\n",
    );
    let settings = fixture.load().expect("valid paths");
    let base = fixture.base();
    assert_eq!(settings.sessions.dir, base.join("accounts"));
    assert_eq!(settings.data.dir, base.join("state"));
    assert_eq!(settings.log.file, Some(base.join("logs/tgc.log")));
    assert!(settings.sessions.dir.is_absolute());
    match &settings.media.storage {
        MediaStorage::Local { dir } => assert_eq!(dir, Path::new("/abs/media")),
        other => panic!("expected local storage, got {other:?}"),
    }
}

#[test]
fn missing_config_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.properties");
    let errors = Settings::load(&path, &|_| None).expect_err("no such file");
    assert!(matches!(
        errors.iter().next(),
        Some(ConfigError::ReadFile { .. })
    ));
    assert_mentions(
        &errors.to_string(),
        &["cannot read config file", &path.display().to_string()],
    );
}

#[test]
fn masked_rendering_and_debug_never_contain_secrets() {
    let fixture = Fixture::new(&format!(
        "telegram.api_hash = 5ec2e75ec2e75ec2e75ec2e75ec2e7aa\n\
         telegram.proxy = socks5://proxyuser:pr0xy-pass@10.1.2.3:1080\n\
         crypto.keys = 1:{KEY_A},2:{KEY_B}\n\
         media.storage = s3\n\
         media.storage.s3.endpoint = https://s3.example.test\n\
         media.storage.s3.bucket = media\n\
         media.storage.s3.region = eu-west-1\n\
         media.storage.s3.access_key = AKIAEXAMPLE\n\
         media.storage.s3.secret_key = s3-very-secret-key\n\
         rabbitmq.url = amqp://collector:amqp-pa55word@10.0.0.5:5672/prod\n"
    ));
    let settings = fixture.load().expect("valid config");
    let rendered = settings.render_masked();
    let debug = format!("{settings:?}");
    for secret in [
        "5ec2e75ec2e75ec2e75ec2e75ec2e7aa",
        "pr0xy-pass",
        KEY_A,
        KEY_B,
        "s3-very-secret-key",
        "amqp-pa55word",
    ] {
        assert!(
            !rendered.contains(secret),
            "rendering leaks {secret}:\n{rendered}"
        );
        assert!(!debug.contains(secret), "Debug leaks {secret}:\n{debug}");
    }
    assert_mentions(
        &rendered,
        &[
            "telegram.api_hash = *** (32 chars)",
            "crypto.keys = *** (2 key(s), ids 1, 2; sealing with 1)",
            "media.storage.s3.secret_key = *** (18 chars)",
            "rabbitmq.url = amqp://collector:***@10.0.0.5:5672/prod",
            "telegram.proxy = socks5://proxyuser:***@10.1.2.3:1080",
        ],
    );
}

#[test]
fn rendering_lists_every_setting_once_in_a_stable_order_with_its_origin() {
    let fixture = Fixture::new("\nlog.level = debug\n");
    let settings = fixture
        .load_with_env(&[("TGC_SERVER_MAX_CONCURRENCY", "8")])
        .expect("valid config");
    let rendered = settings.render_masked();
    let keys: Vec<&str> = rendered
        .lines()
        .map(|line| line.split(" = ").next().unwrap_or_default())
        .collect();
    let expected: Vec<&str> = KNOWN_KEYS
        .iter()
        .copied()
        .filter(|key| !key.ends_with("_file"))
        .collect();
    assert_eq!(keys, expected);
    let line_of = |key: &str| {
        rendered
            .lines()
            .find(|line| line.starts_with(&format!("{key} = ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line_of("log.level").ends_with(&format!("# {}", fixture.at(2))));
    assert!(
        line_of("server.max_concurrency")
            .ends_with("# environment variable TGC_SERVER_MAX_CONCURRENCY")
    );
    assert!(line_of("server.request_timeout").contains("= 30s"));
    assert!(line_of("server.request_timeout").ends_with("# default"));
    assert!(line_of("media.chunk_size").contains("= 512KiB"));
    assert_eq!(
        settings.render_masked(),
        rendered,
        "rendering is deterministic"
    );
}
