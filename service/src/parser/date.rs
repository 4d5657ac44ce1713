//! Dates as the schema shows them: Telegram's unix seconds, and the same instant in RFC 3339
//! UTC (`2023-11-14T22:13:20Z`) so a consumer never has to guess a time zone.
//!
//! `jiff` does the formatting; a unix time outside its range (impossible for Telegram's
//! 32-bit dates, but the parser takes nothing for granted) gives `None`, shown as `null`.

/// The RFC 3339 UTC form of a unix time in seconds.
pub(crate) fn iso(unix_seconds: i32) -> Option<String> {
    jiff::Timestamp::from_second(i64::from(unix_seconds))
        .ok()
        .map(|t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_format_as_rfc3339_utc() {
        assert_eq!(iso(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(iso(1_700_000_000).as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(iso(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(iso(i32::MAX).as_deref(), Some("2038-01-19T03:14:07Z"));
    }
}
