//! The hang guard: one policy for every test.
//!
//! A test that waits forever tells nothing and holds CI until its own limit; every await on
//! something outside the test (a server, telesim, the broker, a child process) goes through
//! [`guarded`], which fails it with what was awaited. The bound is generous: it is never a
//! measurement, and no test asserts on time.

use std::future::Future;
use std::time::Duration;

/// How long any one awaited step may take before the test is failed as hung.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Awaits `future`, failing the test (instead of hanging it) if it never completes.
pub async fn guarded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not complete within {HANG_GUARD:?}"),
    }
}
