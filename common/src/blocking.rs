//! [`offload`]: blocking work run from async code without stalling the tokio worker it
//! happens on.
//!
//! An fsync, or a wait of up to five seconds for a lock another process holds on a session
//! file, takes a worker thread for as long as it lasts; every other task queued on that
//! worker waits with it. The callers are synchronous code deep inside async tasks (grammers'
//! session trait, the parser's media hook, the live stream's state save), where a
//! `spawn_blocking` would need owned, `'static` data they do not have. `block_in_place`
//! hands the worker's other tasks to another thread instead, and needs nothing owned.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `work` here, first handing this worker's other tasks to another thread when it runs
/// on a multi-threaded tokio runtime. On a current-thread runtime (where that is impossible,
/// and tokio would panic) and outside any runtime it simply runs `work`.
pub fn offload<T>(work: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// With one worker thread, a task that blocks inside `offload` until another task has
    /// run proves that the other task ran meanwhile: without the hand-over it never would,
    /// and the blocked task gives up waiting.
    #[test]
    fn other_tasks_of_the_worker_run_while_offloaded_work_blocks() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (ran, other_ran) = mpsc::channel::<()>();
        let other_ran_first = runtime.block_on(async move {
            tokio::spawn(async move {
                // Spawned from this worker, the other task waits in this worker's own
                // queue: only a hand-over lets it run before this task yields.
                tokio::spawn(async move { ran.send(()) });
                offload(|| other_ran.recv_timeout(Duration::from_secs(10)).is_ok())
            })
            .await
            .unwrap()
        });
        assert!(other_ran_first, "the other task ran while the work blocked");
    }

    #[test]
    fn runs_inline_outside_a_runtime_and_on_a_current_thread_runtime() {
        assert_eq!(offload(|| 7), 7);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(async { offload(|| 8) }), 8);
    }
}
