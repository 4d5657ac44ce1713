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

/// How fast one account may call one Telegram method: `per_second` on average, `burst`
/// calls at once after a quiet spell.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodRate {
    pub method: String,
    pub per_second: f64,
    pub burst: u32,
}

/// The built-in per-method rates (`pool.method_rates`), per account. Telegram publishes no
/// limits, so these are the conservative side of what clients and incident reports show;
/// the pool then lowers a method's rate for an account at its first `FLOOD_WAIT` and raises
/// it slowly while Telegram stays quiet, so they are starting points, not promises:
///
/// - history: Telethon's `iter_messages` reads 3,000 messages (30 pages) at full speed and
///   then waits 1 s between pages to stay clear of flood waits: 1/s with a burst of 30;
/// - search: a server-side query, heavier than a page of history; global search more so;
/// - resolving: bursts of `contacts.resolveUsername` are what gets accounts banned for
///   15–18 hours (the hourly `pool.resolve_budget_per_hour` is the real limit; this
///   spaces the calls within it);
/// - joining: `channels.joinChannel` answers flood waits of minutes after a handful of
///   joins, and an account may be in at most 500 channels;
/// - recommendations, full channel info and message lookups: occasional calls, paced well
///   below history.
///
/// Methods not listed are paced by `pool.requests_per_second` alone (which also caps these).
pub const BUILTIN_METHOD_RATES: &[(&str, f64, u32)] = &[
    ("messages.getHistory", 1.0, 30),
    ("messages.search", 0.5, 5),
    ("messages.searchGlobal", 0.2, 3),
    ("contacts.resolveUsername", 0.1, 3),
    ("channels.joinChannel", 1.0 / 60.0, 2),
    ("channels.getChannelRecommendations", 0.2, 3),
    ("channels.getFullChannel", 0.5, 5),
    ("channels.getMessages", 1.0, 10),
    ("messages.getMessages", 1.0, 10),
];

/// The built-in table as settings.
pub fn builtin_method_rates() -> Vec<MethodRate> {
    BUILTIN_METHOD_RATES
        .iter()
        .map(|(method, per_second, burst)| MethodRate {
            method: (*method).to_owned(),
            per_second: *per_second,
            burst: *burst,
        })
        .collect()
}

/// `method=rate` or `method=rate/burst` entries, comma-separated, laid over the built-in
/// table (an entry replaces the table's for its method); a leading `none` starts from an
/// empty table instead, so `none` alone turns per-method pacing off.
pub fn method_rates(text: &str) -> Result<Vec<MethodRate>, Expected> {
    const EXPECTED: &str = "`none`, or comma-separated `method=rate` or `method=rate/burst` entries such as messages.getHistory=2/20 (rate: per second, from 0.001 to 100000; burst: a whole number from 1 to 1000), optionally after a leading `none`";
    let mut items = text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .peekable();
    let mut rates = if items
        .peek()
        .is_some_and(|first| first.eq_ignore_ascii_case("none"))
    {
        items.next();
        Vec::new()
    } else {
        builtin_method_rates()
    };
    for item in items {
        let bad = |why: &str| format!("{EXPECTED}; `{item}` {why}");
        let (method, value) = item.split_once('=').ok_or_else(|| bad("has no `=`"))?;
        let method = method.trim();
        let well_formed = method.contains('.')
            && method.len() <= 64
            && method
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if !well_formed {
            return Err(bad("does not name a method like messages.getHistory"));
        }
        let (rate, burst) = match value.split_once('/') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (value, None),
        };
        let per_second = request_rate(rate.trim()).map_err(|_| bad("has a bad rate"))?;
        let burst = match burst {
            Some(burst) => {
                count_up_to(1000u32)(burst.trim()).map_err(|_| bad("has a bad burst"))?
            }
            // Without one, a burst of one second's worth (at least one call).
            None => per_second.ceil().clamp(1.0, 1000.0) as u32,
        };
        let rate = MethodRate {
            method: method.to_owned(),
            per_second,
            burst,
        };
        match rates.iter_mut().find(|known| known.method == rate.method) {
            Some(known) => *known = rate,
            None => rates.push(rate),
        }
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_rates_lay_entries_over_the_builtin_table() {
        let rates = method_rates("messages.getHistory=2/20, help.getConfig=0.5").unwrap();
        assert_eq!(rates.len(), BUILTIN_METHOD_RATES.len() + 1);
        let history = rates
            .iter()
            .find(|r| r.method == "messages.getHistory")
            .unwrap();
        assert_eq!((history.per_second, history.burst), (2.0, 20));
        let config = rates.iter().find(|r| r.method == "help.getConfig").unwrap();
        assert_eq!((config.per_second, config.burst), (0.5, 1));
        assert_eq!(method_rates("").unwrap(), builtin_method_rates());
    }

    #[test]
    fn method_rates_none_empties_the_table() {
        assert_eq!(method_rates("none").unwrap(), Vec::new());
        let only = method_rates("none, messages.search=3").unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!((only[0].per_second, only[0].burst), (3.0, 3));
    }

    #[test]
    fn method_rates_refuse_what_would_not_pace() {
        for bad in [
            "messages.getHistory",
            "messages.getHistory=0",
            "messages.getHistory=1/0",
            "messages.getHistory=1/5000",
            "getHistory=1",
            "messages.get History=1",
            "messages.getHistory=fast",
        ] {
            let error = method_rates(bad).unwrap_err();
            assert!(error.contains("messages.getHistory=2/20"), "{bad}: {error}");
        }
    }

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
