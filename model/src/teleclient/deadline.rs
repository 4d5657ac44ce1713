//! The deadline of the API request a pool call serves, carried in a task-local so the pool
//! can refuse at once work that could not start before it, instead of waiting past it.
//!
//! The HTTP gateway runs every handler inside [`within`]; calls made outside one (the media
//! pipeline, the live stream, the account commands) have no deadline and always wait their turn.

use std::future::Future;
use std::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as the deadline of every pool call it makes.
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// The deadline of the request being served, if any.
pub(crate) fn current() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}
