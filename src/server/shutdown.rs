//! The shutdown signal shared by the listeners and every connection they serve.
//!
//! A `watch` channel rather than a broadcast: a connection accepted in the instant the
//! signal fires subscribes after it, and a broadcast would never tell it, while a watch
//! receiver sees the current value whenever it subscribes.

use tokio::sync::watch;

/// The sending side, held by the server.
pub struct Trigger {
    sender: watch::Sender<bool>,
}

impl Trigger {
    pub fn new() -> Trigger {
        Trigger {
            sender: watch::Sender::new(false),
        }
    }

    pub fn watch(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }

    /// Tells every [`Shutdown`] to stop; idempotent.
    pub fn fire(&self) {
        self.sender.send_replace(true);
    }
}

/// One listener's or connection's view of the signal.
#[derive(Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    /// Resolves once the server is shutting down (at once if it already is). A dropped
    /// trigger counts as a shutdown: nobody is left to keep the server running.
    pub async fn wait(mut self) {
        let _ = self.receiver.wait_for(|stopping| *stopping).await;
    }
}
