//! The wall clock as unix time, the one way every store and envelope reads it.
//!
//! Session files, the username directory, the join map and the outbox stamp rows in unix
//! seconds, and envelopes carry unix milliseconds; reading the clock in one place keeps them
//! consistent and keeps the (theoretical) clock-before-1970 case from panicking anywhere.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in whole unix seconds; 0 if the clock reads before 1970.
pub fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Now, in unix milliseconds; 0 if the clock reads before 1970.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_agree() {
        let ms = unix_ms();
        let secs = unix_secs();
        assert!(secs > 1_600_000_000, "a clock after 2020: {secs}");
        assert!((ms / 1000 - secs).abs() <= 1, "{ms} ms vs {secs} s");
    }
}
