//! What the grammers end-to-end tests share: a simulator with a grammers client connected as one
//! of its accounts, through the preset session (no DH handshake), exactly as production code
//! builds its clients.
//!
//! Clients retry I/O errors (a dropped connection is re-dialled, as in production) but never sleep
//! on a flood wait, so a test sees `FLOOD_WAIT_X` the way the gateway will.

#![allow(dead_code)]

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use grammers_client::Client;
use grammers_client::SenderPool;
use grammers_client::sender::{AutoSleep, ConnectionParams, SenderPoolHandle};
use grammers_client::session::updates::UpdatesLike;
use telesim::Sim;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Any value works: the simulator does not check api ids.
pub const API_ID: i32 = 1;

/// A guard against a hang: generous, never a measurement. A test that hits it has failed.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// A grammers client logged in as one account of a simulator.
pub struct Connected {
    pub client: Client,
    /// The raw update channel, for `client.stream_updates`.
    pub updates: Option<mpsc::Receiver<UpdatesLike>>,
    handle: SenderPoolHandle,
    runner: JoinHandle<()>,
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.handle.quit();
        self.runner.abort();
    }
}

/// Logs to the test output when `RUST_LOG` asks for it (e.g. `RUST_LOG=telesim=debug`).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Connects a grammers client to `sim` as `user_id`.
pub fn connect(sim: &Sim, user_id: i64) -> Connected {
    init_logging();
    let session = Arc::new(sim.grammers_session(user_id));
    let params = ConnectionParams {
        retry_policy: Box::new(AutoSleep {
            tries: NonZeroU32::new(5).expect("5 is not zero"),
            threshold: Duration::ZERO,
            io_errors_as_flood_of: Some(Duration::from_millis(20)),
        }),
        ..Default::default()
    };
    let pool = SenderPool::with_configuration(session, API_ID, params);
    let client = Client::new(pool.handle.clone());
    let handle = pool.handle.thin.clone();
    let runner = tokio::spawn(pool.runner.run());
    Connected {
        client,
        updates: Some(pool.updates),
        handle,
        runner,
    }
}

/// Awaits `future`, failing the test (instead of hanging it) if it never completes.
pub async fn guarded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not complete within {HANG_GUARD:?}"),
    }
}

/// The rpc error of a failed call, as (code, name, value): grammers splits `FLOOD_WAIT_30` into
/// the name `FLOOD_WAIT` and the value 30.
pub fn rpc_error<T: std::fmt::Debug>(
    result: Result<T, grammers_client::InvocationError>,
) -> (i32, String, Option<u32>) {
    match result {
        Err(grammers_client::InvocationError::Rpc(e)) => (e.code, e.name, e.value),
        other => panic!("expected an rpc error, got {other:?}"),
    }
}
