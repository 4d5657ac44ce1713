//! The names of every configuration key, and how each maps to an environment variable.
//!
//! One list serves three purposes: rejecting unknown keys (with a suggestion), finding
//! the environment override of each key, and checking that `config.properties`
//! documents every key. Environment names are computed from this list rather than
//! parsed back into keys, because keys themselves may contain `_`.

/// Every key the configuration understands, in the order settings are rendered.
pub const KNOWN_KEYS: &[&str] = &[
    "telegram.api_id",
    "telegram.api_hash",
    "telegram.api_hash_file",
    "telegram.device_model",
    "telegram.proxy",
    "sessions.dir",
    "data.dir",
    "server.listen",
    "server.operator_listen",
    "server.max_body_bytes",
    "server.request_timeout",
    "server.max_concurrency",
    "server.max_connections",
    "server.header_timeout",
    "server.idle_timeout",
    "server.max_body_bytes_in_flight",
    "crypto.keys",
    "crypto.keys_file",
    "crypto.clock_window",
    "pool.resolve_budget_per_hour",
    "pool.requests_per_second",
    "pool.method_rates",
    "pool.max_queue_wait",
    "pool.username_ttl",
    "pool.reconnect_max_backoff",
    "media.storage",
    "media.storage.local.dir",
    "media.storage.s3.endpoint",
    "media.storage.s3.bucket",
    "media.storage.s3.region",
    "media.storage.s3.access_key",
    "media.storage.s3.secret_key",
    "media.storage.s3.secret_key_file",
    "media.storage.http.url",
    "media.max_size",
    "media.kinds",
    "media.downloads_per_account",
    "media.downloads_total",
    "media.chunk_size",
    "media.parallel_chunks",
    "media.uploads",
    "media.staging_max",
    "media.verify_hashes",
    "media.enabled",
    "rabbitmq.enabled",
    "rabbitmq.url",
    "rabbitmq.exchange",
    "rabbitmq.queue",
    "rabbitmq.sealed",
    "rabbitmq.outbox_max_events",
    "log.level",
    "log.format",
    "log.file",
];

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "TGC_";

/// The environment variable that overrides `key`: `TGC_` + the key upper-cased with
/// dots as underscores (`log.level` → `TGC_LOG_LEVEL`).
pub fn env_var_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase().replace('.', "_"))
}

pub fn is_known(key: &str) -> bool {
    KNOWN_KEYS.contains(&key)
}

/// The known key closest to a misspelt one, when one is close enough to be a likely typo.
pub fn nearest_known_key(unknown: &str) -> Option<&'static str> {
    const CLOSE_ENOUGH: f64 = 0.75;
    KNOWN_KEYS
        .iter()
        .map(|known| {
            (
                strsim::normalized_damerau_levenshtein(unknown, known),
                *known,
            )
        })
        .filter(|(score, _)| *score >= CLOSE_ENOUGH)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_upper_case_and_replace_dots() {
        assert_eq!(env_var_name("log.level"), "TGC_LOG_LEVEL");
        assert_eq!(env_var_name("telegram.api_id"), "TGC_TELEGRAM_API_ID");
        assert_eq!(
            env_var_name("media.storage.s3.secret_key_file"),
            "TGC_MEDIA_STORAGE_S3_SECRET_KEY_FILE"
        );
    }

    #[test]
    fn env_names_are_unique() {
        let mut names: Vec<String> = KNOWN_KEYS.iter().map(|k| env_var_name(k)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KNOWN_KEYS.len());
    }

    #[test]
    fn typos_get_a_suggestion_and_nonsense_does_not() {
        assert_eq!(nearest_known_key("server.listn"), Some("server.listen"));
        assert_eq!(nearest_known_key("log.levle"), Some("log.level"));
        assert_eq!(nearest_known_key("completely.unrelated"), None);
    }
}
