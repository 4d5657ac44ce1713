//! The configuration a test or bench runs the gateway with, written as an operator would write
//! `config.properties`: the demo's API credentials, `sessions/` and `data/` beside the file,
//! both listeners on free loopback ports (apart, as the configuration requires), the given
//! key as the keyring, generous pacing, the live stream off, `info` logs. A test changes what
//! it is about and nothing else.

use tgc_common::config::CryptoKey;
use tgc_service::cryptor::keygen;

/// The default lines with `overrides` (`key = value` lines) replacing or adding keys.
pub fn gateway_properties(key: &CryptoKey, overrides: &str) -> String {
    let mut lines: Vec<(String, String)> = [
        ("telegram.api_id", "2040".to_owned()),
        (
            "telegram.api_hash",
            "b18441a1ff607e10a989891a5462e627".to_owned(),
        ),
        ("sessions.dir", "sessions".to_owned()),
        ("data.dir", "data".to_owned()),
        ("server.listen", "127.0.0.1:0".to_owned()),
        ("server.operator_listen", "127.0.0.2:0".to_owned()),
        ("crypto.keys", keygen::config_value(key)),
        ("pool.requests_per_second", "1000".to_owned()),
        ("pool.method_rates", "none".to_owned()),
        ("rabbitmq.enabled", "false".to_owned()),
        ("log.level", "info".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    for line in overrides.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("an override is `key = value`, not {line:?}"));
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        match lines.iter_mut().find(|(known, _)| *known == name) {
            Some(line) => line.1 = value,
            None => lines.push((name, value)),
        }
    }
    lines
        .iter()
        .map(|(name, value)| format!("{name} = {value}\n"))
        .collect()
}
