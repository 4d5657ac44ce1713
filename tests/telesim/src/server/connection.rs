//! One client connection: from the first frame to the socket's close.
//!
//! The first frame names the auth key; an unknown key gets Telegram's transport error -404 and
//! the connection closes (as does an unencrypted frame: the simulator has no DH handshake, keys
//! are preset). After that each frame is decrypted, its messages are answered in order, and the
//! account's live updates are forwarded as they come. Anything malformed ends this connection and
//! nothing else: errors are logged at debug level and the task returns.
//!
//! Calls are answered inline, except when a fault holds the answer back (latency, bandwidth):
//! those answers are sent from a task of their own so the connection keeps serving meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grammers_tl_types as tl;
use rand::Rng;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::crypto::{AuthKey, envelope_key_id};
use super::messages::{self, Inbound, InboundKind};
use super::outbox::{self, OutMessage, SERVER_SALT};
use super::transport::{FrameError, FrameReader, FrameWriter};
use super::unwrap::unwrap_call;
use crate::api::CallContext;
use crate::counters::InFlight;

/// The layer assumed for a connection that has not announced one (grammers 0.11's).
const DEFAULT_LAYER: i32 = tl::LAYER;

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
enum ConnectionEnd {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("frame of {0} bytes is too short to carry an auth key id")]
    NoKeyId(usize),
    #[error("unencrypted message: the simulator has no DH handshake, auth keys are preset")]
    Unencrypted,
    #[error("auth key {0} is unknown to this world")]
    UnknownKey(i64),
    #[error("could not decrypt: {0}")]
    Decrypt(#[from] super::crypto::DecryptError),
    #[error("could not read the messages: {0}")]
    Message(#[from] messages::MessageError),
    #[error("closed by the server")]
    Closed,
}

/// Serves one accepted socket until it closes or `cancel` fires.
pub async fn serve(stream: TcpStream, shared: Arc<Shared>, cancel: CancellationToken) {
    let peer = stream.peer_addr().ok();
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let mut reader = FrameReader::new(read);
    let cancel = cancel.child_token();

    let first = tokio::select! {
        _ = cancel.cancelled() => return,
        frame = reader.read_frame() => frame,
    };
    let (key, first) = match identify(first, &shared) {
        Ok(found) => found,
        Err(end) => {
            tracing::debug!(?peer, reason = %end, "closing connection");
            let mut writer = FrameWriter::new(write);
            if matches!(
                end,
                ConnectionEnd::UnknownKey(_) | ConnectionEnd::Unencrypted
            ) {
                let _ = writer.write_transport_error(404).await;
            }
            let _ = writer.shutdown().await;
            return;
        }
    };
    let _registration = shared.registry.register(key.id(), cancel.clone());
    let session_id = Arc::new(AtomicI64::new(0));
    let (queue, outbox_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(outbox::run(
        FrameWriter::new(write),
        key.clone(),
        Arc::clone(&session_id),
        outbox_rx,
        cancel.clone(),
    ));
    let mut connection = Connection {
        shared,
        key,
        session_id,
        queue,
        layer: None,
        updates: None,
        cancel: cancel.clone(),
    };

    let mut frame = Ok(first);
    let end = loop {
        let result = match frame {
            Ok(payload) => connection.handle_frame(&payload),
            Err(e) => Err(e),
        };
        if let Err(end) = result {
            break end;
        }
        frame = tokio::select! {
            _ = cancel.cancelled() => Err(ConnectionEnd::Closed),
            frame = reader.read_frame() => frame.map_err(ConnectionEnd::from),
        };
    };
    match &end {
        ConnectionEnd::Frame(FrameError::Closed) | ConnectionEnd::Closed => {
            tracing::debug!(?peer, reason = %end, "connection closed")
        }
        _ => tracing::debug!(?peer, reason = %end, "closing connection on bad input"),
    }
    drop(connection);
    let _ = writer.await;
}

/// Finds the auth key the first frame was sealed with.
fn identify(
    frame: Result<Vec<u8>, FrameError>,
    shared: &Shared,
) -> Result<(AuthKey, Vec<u8>), ConnectionEnd> {
    let frame = frame?;
    let key_id = envelope_key_id(&frame).ok_or(ConnectionEnd::NoKeyId(frame.len()))?;
    if key_id == 0 {
        return Err(ConnectionEnd::Unencrypted);
    }
    let key = shared
        .telegram
        .auth_key(key_id)
        .ok_or(ConnectionEnd::UnknownKey(key_id))?;
    Ok((AuthKey::new(key), frame))
}

struct Connection {
    shared: Arc<Shared>,
    key: AuthKey,
    session_id: Arc<AtomicI64>,
    queue: mpsc::UnboundedSender<OutMessage>,
    layer: Option<i32>,
    updates: Option<JoinHandle<()>>,
    cancel: CancellationToken,
}

impl Drop for Connection {
    /// Runs on every exit, a panic in the Telegram layer included: the writer and the update
    /// forwarder must not outlive the connection and keep its socket open.
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(updates) = self.updates.take() {
            updates.abort();
        }
    }
}

impl Connection {
    fn handle_frame(&mut self, frame: &[u8]) -> Result<(), ConnectionEnd> {
        let plaintext = self.key.decrypt_from_client(frame)?;
        let payload = messages::parse_payload(&plaintext)?;
        let Some(first) = payload.messages.first() else {
            return Ok(());
        };
        if self.session_id.swap(payload.session_id, Ordering::Relaxed) != payload.session_id
            && self.shared.open_session(self.key.id(), payload.session_id)
        {
            let unique_id = rand::thread_rng().r#gen();
            self.send(OutMessage::service(messages::new_session_created(
                first.msg_id,
                unique_id,
                SERVER_SALT,
            )));
        }
        for message in payload.messages {
            self.handle_message(message)?;
        }
        Ok(())
    }

    fn send(&self, outgoing: OutMessage) {
        // The writer only goes away with the connection, when nobody is left to tell.
        let _ = self.queue.send(outgoing);
    }

    fn handle_message(&mut self, message: Inbound) -> Result<(), ConnectionEnd> {
        let Inbound { msg_id, kind, .. } = message;
        match kind {
            InboundKind::Rpc(call) => self.handle_call(msg_id, &call)?,
            InboundKind::Ping { ping_id } | InboundKind::PingDelayDisconnect { ping_id } => {
                self.send(OutMessage::response(messages::pong(msg_id, ping_id)))
            }
            InboundKind::GetFutureSalts { num } => self.send(OutMessage::response(
                messages::future_salts(msg_id, unix_now(), num, SERVER_SALT),
            )),
            InboundKind::DestroySession { session_id } => {
                let existed = self.shared.close_session(self.key.id(), session_id);
                self.send(OutMessage::response(messages::rpc_result(
                    msg_id,
                    &messages::destroy_session_result(session_id, existed),
                )))
            }
            InboundKind::RpcDropAnswer { .. } => self.send(OutMessage::response(
                messages::rpc_result(msg_id, &messages::rpc_answer_unknown()),
            )),
            InboundKind::Ignored(constructor) => {
                tracing::trace!(constructor = format!("{constructor:#010x}"), "ignored")
            }
        }
        Ok(())
    }

    fn handle_call(&mut self, msg_id: i64, call: &[u8]) -> Result<(), ConnectionEnd> {
        let unwrapped = unwrap_call(call)?;
        if let Some(layer) = unwrapped.layer {
            self.layer = Some(layer);
        }
        let layer = self.layer.unwrap_or(DEFAULT_LAYER);
        let auth_key_id = self.key.id();
        self.subscribe(layer);

        let method = match unwrapped.constructor() {
            Some(id) => tl::name_for_id(id),
            None => "(empty)",
        };
        let telegram = &self.shared.telegram;
        let user_id = telegram.account_of(auth_key_id);
        let counted_as = user_id.unwrap_or(crate::counters::NO_ACCOUNT);
        self.shared.counters.record(counted_as, method);
        let in_flight = self.shared.counters.begin(counted_as, method);
        let verdict = self.shared.faults.check(user_id, method);
        let result = match verdict.error {
            Some(error) => Err(error),
            None => telegram.call(&CallContext { auth_key_id, layer }, &unwrapped.query),
        };
        tracing::debug!(
            user_id,
            method,
            ok = result.is_ok(),
            error = result.as_ref().err().map(|e| e.message.as_str()),
            "call"
        );
        let mut delay = verdict.delay;
        let body = match result {
            Ok(bytes) => {
                if method == "upload.getFile" {
                    delay += self.shared.faults.download_delay(user_id, bytes.len());
                }
                messages::rpc_result(msg_id, &bytes)
            }
            Err(error) => {
                messages::rpc_result(msg_id, &messages::rpc_error(error.code, &error.message))
            }
        };
        self.send_after(delay, OutMessage::response(body), in_flight);
        Ok(())
    }

    /// Sends now, or from a task of its own once `delay` has passed; the call stops being
    /// in flight once its answer is queued.
    fn send_after(&self, delay: Duration, outgoing: OutMessage, in_flight: InFlight) {
        if delay.is_zero() {
            self.send(outgoing);
            drop(in_flight);
            return;
        }
        let queue = self.queue.clone();
        let cancel = self.cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(delay) => { let _ = queue.send(outgoing); }
            }
            drop(in_flight);
        });
    }

    /// Starts forwarding the account's live updates, once per connection.
    fn subscribe(&mut self, layer: i32) {
        if self.updates.is_some() {
            return;
        }
        let mut updates = self.shared.telegram.subscribe(self.key.id(), layer);
        let queue = self.queue.clone();
        let key_id = self.key.id();
        self.updates = Some(tokio::spawn(async move {
            while let Some(update) = updates.recv().await {
                tracing::debug!(auth_key_id = key_id, bytes = update.len(), "pushing update");
                if queue.send(OutMessage::update(update)).is_err() {
                    break;
                }
            }
        }));
    }
}

fn unix_now() -> i32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i32)
        .unwrap_or_default()
}
