//! Parsers for the kinds of value a setting can hold.
//!
//! Each returns the typed value or the description of what was expected, which the
//! loader puts into an error next to the file, line, key and bad value. Durations come
//! from `humantime` and byte sizes from `bytesize`; the rest are small enough to be here.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;

/// What a parser reports on failure: the expectation, to follow "expected".
pub type Expected = String;

pub fn positive_int<T>(text: &str) -> Result<T, Expected>
where
    T: FromStr + PartialOrd + Default,
{
    match text.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err("a whole number greater than 0".into()),
    }
}

pub fn non_negative_int<T: FromStr>(text: &str) -> Result<T, Expected> {
    text.parse::<T>()
        .map_err(|_| "a whole number, 0 or more".into())
}

/// A whole number from 1 to `most`: sizes of semaphores and worker pools, which the server
/// builds at start (a huge one would panic or exhaust memory there, not here).
pub fn count_up_to<T>(most: T) -> impl Fn(&str) -> Result<T, Expected>
where
    T: FromStr + PartialOrd + From<u8> + std::fmt::Display + Copy,
{
    move |text| match text.parse::<T>() {
        Ok(n) if n >= T::from(1) && n <= most => Ok(n),
        _ => Err(format!("a whole number from 1 to {most}")),
    }
}

/// A request rate, per second: from one request in 1,000 s up to 100,000 a second (a
/// smaller one would make waits too long to represent).
pub fn request_rate(text: &str) -> Result<f64, Expected> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.001..=100_000.0).contains(&x) => Ok(x),
        _ => Err("a number from 0.001 to 100000, such as 5 or 0.5".into()),
    }
}

/// The longest duration a setting takes: a year. Longer ones would overflow the clock
/// arithmetic of deadlines.
const LONGEST: Duration = Duration::from_secs(365 * 24 * 3600);

pub fn duration(text: &str) -> Result<Duration, Expected> {
    const EXPECTED: &str =
        "a duration greater than 0 and at most a year, such as 500ms, 30s, 5m or 1h";
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() && d <= LONGEST => Ok(d),
        Ok(_) => Err(EXPECTED.into()),
        Err(error) => Err(format!("{EXPECTED} ({error})")),
    }
}

/// A byte count: a plain number of bytes, or a number with a unit where `KiB`, `MiB`,
/// `GiB` are powers of 1024 and `KB`, `MB`, `GB` powers of 1000.
pub fn byte_size(text: &str) -> Result<u64, Expected> {
    const EXPECTED: &str = "a size in bytes such as 1048576, 512KiB, 1MiB, 10MB or 2GiB (KiB/MiB/GiB are 1024-based, KB/MB/GB 1000-based)";
    match text.parse::<bytesize::ByteSize>() {
        Ok(size) if size.as_u64() > 0 => Ok(size.as_u64()),
        _ => Err(EXPECTED.into()),
    }
}

pub fn boolean(text: &str) -> Result<bool, Expected> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err("a boolean: true/false, yes/no, on/off or 1/0".into()),
    }
}

pub fn socket_addr(text: &str) -> Result<SocketAddr, Expected> {
    text.parse::<SocketAddr>().map_err(|_| {
        "an IP address and port such as 127.0.0.1:8080 or [::1]:8080 (no host names)".into()
    })
}

pub fn non_empty(text: &str) -> Result<String, Expected> {
    if text.is_empty() {
        Err("a non-empty text".into())
    } else {
        Ok(text.to_string())
    }
}

/// A queue name RabbitMQ lets a client declare (at most 255 bytes, not `amq.`-prefixed), or
/// empty for none.
pub fn amqp_queue(text: &str) -> Result<Option<String>, Expected> {
    if text.is_empty() {
        Ok(None)
    } else if text.len() > 255 || text.starts_with("amq.") || text.chars().any(char::is_control) {
        Err("a queue name of at most 255 bytes, not starting with `amq.` (reserved by RabbitMQ), or empty for none".into())
    } else {
        Ok(Some(text.to_string()))
    }
}

/// One of `choices`, compared case-insensitively.
pub fn one_of<T: Copy>(text: &str, choices: &[(&str, T)]) -> Result<T, Expected> {
    choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            format!("one of {}", names.join(", "))
        })
}

/// A URL whose scheme is one of `schemes` and which names a host.
pub fn url_with_scheme(text: &str, schemes: &[&str]) -> Result<url::Url, Expected> {
    let expected = || {
        format!(
            "a URL with scheme {} and a host, such as {}://host:port/",
            schemes.join(" or "),
            schemes.first().copied().unwrap_or("http")
        )
    };
    match url::Url::parse(text) {
        Ok(url) if schemes.contains(&url.scheme()) && url.host_str().is_some() => Ok(url),
        Ok(_) => Err(expected()),
        Err(error) => Err(format!("{} ({error})", expected())),
    }
}

/// A SOCKS5 proxy URL, `socks5://[user:pass@]host:port`, the port being required.
pub fn socks5_url(text: &str) -> Result<url::Url, Expected> {
    const EXPECTED: &str = "a proxy URL socks5://[user:pass@]host:port";
    match url::Url::parse(text) {
        Ok(url)
            if url.scheme() == "socks5"
                && url.host_str().is_some()
                && url.port().is_some()
                && matches!(url.path(), "" | "/") =>
        {
            Ok(url)
        }
        Ok(_) => Err(EXPECTED.into()),
        Err(error) => Err(format!("{EXPECTED} ({error})")),
    }
}

/// A log filter in `tracing_subscriber::EnvFilter` syntax.
pub fn log_filter(text: &str) -> Result<String, Expected> {
    tracing_subscriber::EnvFilter::builder()
        .parse(text)
        .map(|_| text.to_string())
        .map_err(|error| {
            format!("a log filter such as info, debug or tgc_service=debug,info ({error})")
        })
}

/// One sealing key of the keyring: `key_id:base64(32 bytes)`.
#[derive(Clone, PartialEq, Eq)]
pub struct CryptoKey {
    pub id: u32,
    pub key: crate::Secret<[u8; 32]>,
}

impl std::fmt::Debug for CryptoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CryptoKey")
            .field("id", &self.id)
            .field("key", &self.key)
            .finish()
    }
}

/// A comma-separated keyring, `id:base64,id:base64`; the first key seals, all open.
/// Empty text is an empty keyring. Error messages never repeat key material.
pub fn crypto_keys(text: &str) -> Result<Vec<CryptoKey>, Expected> {
    const EXPECTED: &str = "a comma-separated list of key_id:base64 where key_id is a number from 0 to 4294967295 and base64 decodes to 32 bytes (make one with `tgcollector keygen`)";
    let mut keys: Vec<CryptoKey> = Vec::new();
    for (position, item) in text.split(',').map(str::trim).enumerate() {
        if item.is_empty() && text.trim().is_empty() {
            break;
        }
        let problem = |what: &str| format!("{EXPECTED}; item {} {what}", position + 1);
        let Some((id, encoded)) = item.split_once(':') else {
            return Err(problem("has no `:`"));
        };
        let id: u32 = id
            .trim()
            .parse()
            .map_err(|_| problem("has a key_id that is not a number"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| problem("is not valid base64"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| problem(&format!("decodes to {} bytes", bytes.len())))?;
        if keys.iter().any(|known| known.id == id) {
            return Err(problem(&format!("repeats key_id {id}")));
        }
        keys.push(CryptoKey {
            id,
            key: crate::Secret::new(key),
        });
    }
    Ok(keys)
}

/// The kinds of media the pipeline may download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MediaKind {
    Photo,
    Video,
    Audio,
    Voice,
    Sticker,
    Document,
    Animation,
    Round,
}

impl MediaKind {
    pub const ALL: [(&'static str, MediaKind); 8] = [
        ("photo", MediaKind::Photo),
        ("video", MediaKind::Video),
        ("audio", MediaKind::Audio),
        ("voice", MediaKind::Voice),
        ("sticker", MediaKind::Sticker),
        ("document", MediaKind::Document),
        ("animation", MediaKind::Animation),
        ("round", MediaKind::Round),
    ];

    pub fn name(self) -> &'static str {
        MediaKind::ALL
            .iter()
            .find(|(_, kind)| *kind == self)
            .map(|(name, _)| *name)
            .unwrap_or("unknown")
    }
}

/// A comma-separated list of media kinds, or `all`; no repeats, at least one.
pub fn media_kinds(text: &str) -> Result<Vec<MediaKind>, Expected> {
    let names: Vec<&str> = MediaKind::ALL.iter().map(|(name, _)| *name).collect();
    let expected = format!("`all` or a comma-separated list of {}", names.join(", "));
    if text.eq_ignore_ascii_case("all") {
        return Ok(MediaKind::ALL.iter().map(|(_, kind)| *kind).collect());
    }
    let mut kinds = Vec::new();
    for item in text.split(',').map(str::trim) {
        let kind = one_of(item, &MediaKind::ALL)
            .map_err(|_| format!("{expected}; `{item}` is not one of them"))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// A download chunk size Telegram accepts: a multiple of 1 KiB that divides 1 MiB, so no
/// request crosses a 1 MiB boundary.
pub fn chunk_size(text: &str) -> Result<u64, Expected> {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const EXPECTED: &str = "a power of two from 4KiB to 512KiB: 4KiB, 8KiB, … 256KiB or 512KiB";
    let size = byte_size(text).map_err(|_| EXPECTED.to_string())?;
    // Aligned chunks of such a size never cross a 1 MiB boundary (Telegram's rule), and
    // 512 KiB is the largest request Telegram's own clients make.
    if size.is_power_of_two() && (4 * KIB..=MIB / 2).contains(&size) {
        Ok(size)
    } else {
        Err(EXPECTED.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_the_documented_forms() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("24h"), Ok(Duration::from_secs(86400)));
        assert!(duration("0s").is_err());
        assert!(duration("30").is_err());
        assert!(duration("soon").is_err());
    }

    #[test]
    fn byte_sizes_in_the_documented_forms() {
        assert_eq!(byte_size("1048576"), Ok(1_048_576));
        assert_eq!(byte_size("1MiB"), Ok(1_048_576));
        assert_eq!(byte_size("512KiB"), Ok(524_288));
        assert_eq!(byte_size("10MB"), Ok(10_000_000));
        assert_eq!(byte_size("2GiB"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(byte_size("1 MiB"), Ok(1_048_576));
        assert!(byte_size("0").is_err());
        assert!(byte_size("lots").is_err());
        assert!(byte_size("5 parsecs").is_err());
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        for yes in ["true", "YES", "on", "1"] {
            assert_eq!(boolean(yes), Ok(true), "{yes}");
        }
        for no in ["false", "No", "off", "0"] {
            assert_eq!(boolean(no), Ok(false), "{no}");
        }
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn chunk_size_must_divide_one_mebibyte() {
        assert_eq!(chunk_size("512KiB"), Ok(524_288));
        assert!(chunk_size("1MiB").is_err());
        assert!(chunk_size("2KiB").is_err());
        assert_eq!(chunk_size("4KiB"), Ok(4096));
        assert!(chunk_size("3KiB").is_err());
        assert!(chunk_size("1000").is_err());
        assert!(chunk_size("2MiB").is_err());
    }

    #[test]
    fn crypto_keys_parse_and_reject_without_echoing() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let keys = crypto_keys(&format!("1:{key}, 2:{key}")).expect("valid keyring");
        assert_eq!(keys.iter().map(|k| k.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(keys[0].key.expose(), &[7u8; 32]);
        assert_eq!(crypto_keys(""), Ok(Vec::new()));
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let error = crypto_keys(&format!("1:{short}")).expect_err("short key");
        assert!(error.contains("16 bytes"), "{error}");
        assert!(!error.contains(&short), "{error}");
        assert!(crypto_keys(&format!("x:{key}")).is_err());
        assert!(crypto_keys(&format!("1:{key},1:{key}")).is_err());
        assert!(crypto_keys("1:not base64!").is_err());
    }

    #[test]
    fn media_kinds_accept_lists_and_all() {
        assert_eq!(
            media_kinds("photo, video"),
            Ok(vec![MediaKind::Photo, MediaKind::Video])
        );
        assert_eq!(media_kinds("all").map(|k| k.len()), Ok(8));
        let error = media_kinds("photo,hologram").expect_err("unknown kind");
        assert!(error.contains("hologram"), "{error}");
    }

    #[test]
    fn proxy_urls_need_socks5_host_and_port() {
        assert!(socks5_url("socks5://user:pass@10.0.0.1:1080").is_ok());
        assert!(socks5_url("socks5://10.0.0.1").is_err());
        assert!(socks5_url("http://10.0.0.1:1080").is_err());
    }

    #[test]
    fn log_filters_are_checked() {
        assert!(log_filter("info").is_ok());
        assert!(log_filter("tgc_service=debug,info").is_ok());
        assert!(log_filter("info,=[[[").is_err());
    }
}
