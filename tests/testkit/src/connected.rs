//! A grammers client connected to telesim as one of its accounts, through the preset session (no
//! DH handshake), exactly as production code builds its clients.
//!
//! Clients retry I/O errors (a dropped connection is re-dialled, as in production) but never sleep
//! on a flood wait, so a test sees `FLOOD_WAIT_X` the way the gateway will.

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

/// Connects a grammers client to `sim` as `user_id`.
pub fn connect(sim: &Sim, user_id: i64) -> Connected {
    crate::logging::from_env();
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
