//! The sending half of a connection: numbering, batching, sealing and framing server messages.
//!
//! Every server message gets a msg_id that is time-based, strictly increasing and odd (≡ 1 mod 4
//! for responses, ≡ 3 mod 4 for messages the server starts, as Telegram does), and a seq_no that
//! is odd for content-related messages and even otherwise. Whatever is queued at the same moment
//! goes out in one `msg_container`, like Telegram's batching, which also keeps frame counts low when
//! a client pipelines requests. One task owns the socket's write half, so order is the queue's.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::AsyncWrite;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::crypto::AuthKey;
use super::messages::MSG_CONTAINER;
use super::transport::FrameWriter;

/// The most bytes a container of several messages may hold. grammers refuses (with a panic
/// in its connection task) containers near 1 MiB (`MessageContainer::MAXIMUM_SIZE`), and
/// Telegram itself never sends two 512 KiB file parts in one container.
const MAX_CONTAINER_BYTES: usize = 1_000_000;
/// What each message adds to a container besides its body: msg_id, seq_no, length.
const MESSAGE_OVERHEAD: usize = 16;
/// The container's own constructor and count.
const CONTAINER_OVERHEAD: usize = 8;
/// Telegram's salt as the simulator hands it out (see docs/design.md §9: a non-zero salt makes grammers
/// ask for future salts before sending anything else).
pub const SERVER_SALT: i64 = 0;

/// One message for the writer to number, seal and send.
#[derive(Debug)]
pub struct OutMessage {
    pub body: Vec<u8>,
    /// Content-related messages (results, updates, pongs) get odd seq_no and are acked by clients.
    pub content_related: bool,
    /// A response to a client message (msg_id ≡ 1 mod 4) rather than server-initiated (≡ 3).
    pub response: bool,
}

impl OutMessage {
    pub fn response(body: Vec<u8>) -> OutMessage {
        OutMessage {
            body,
            content_related: true,
            response: true,
        }
    }

    pub fn service(body: Vec<u8>) -> OutMessage {
        OutMessage {
            body,
            content_related: false,
            response: false,
        }
    }

    pub fn update(body: Vec<u8>) -> OutMessage {
        OutMessage {
            body,
            content_related: true,
            response: false,
        }
    }
}

/// Numbers server messages for one session.
#[derive(Debug, Default)]
pub struct Numbering {
    last_msg_id: i64,
    content_sent: i32,
}

impl Numbering {
    pub fn next_msg_id(&mut self, response: bool) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let low_bits = if response { 1 } else { 3 };
        let timed = ((now.as_secs() as i64) << 32) | ((now.subsec_nanos() as i64) << 2);
        let mut msg_id = (timed & !3) | low_bits;
        if msg_id <= self.last_msg_id {
            msg_id = ((self.last_msg_id & !3) + 4) | low_bits;
        }
        self.last_msg_id = msg_id;
        msg_id
    }

    pub fn next_seq_no(&mut self, content_related: bool) -> i32 {
        if content_related {
            self.content_sent += 1;
            self.content_sent * 2 - 1
        } else {
            self.content_sent * 2
        }
    }
}

/// Runs the writer until the queue closes, the token is cancelled, or the socket fails.
pub async fn run<W: AsyncWrite + Unpin>(
    mut writer: FrameWriter<W>,
    key: AuthKey,
    session_id: Arc<AtomicI64>,
    mut queue: mpsc::UnboundedReceiver<OutMessage>,
    cancel: CancellationToken,
) {
    let mut numbering = Numbering::default();
    // A message that did not fit in the last container; it opens the next one.
    let mut held: Option<OutMessage> = None;
    loop {
        // Biased: once the connection is closed nothing more may go out, not even queued updates.
        let first = match held.take() {
            Some(message) if !cancel.is_cancelled() => message,
            Some(_) => break,
            None => tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                next = queue.recv() => match next {
                    Some(message) => message,
                    None => break,
                },
            },
        };
        let batch = fill_batch(first, &mut queue, &mut held);
        let plaintext = seal_batch(&mut numbering, session_id.load(Ordering::Relaxed), batch);
        let envelope = key.encrypt_from_server(&plaintext);
        if let Err(e) = writer.write_frame(&envelope).await {
            tracing::debug!(error = %e, "writing to client failed; closing connection");
            break;
        }
    }
    cancel.cancel();
    let _ = writer.shutdown().await;
}

/// `first` and whatever else is queued now, as long as it fits in one container; the first
/// message that does not fit is left in `held`. A message goes alone whatever its size.
fn fill_batch(
    first: OutMessage,
    queue: &mut mpsc::UnboundedReceiver<OutMessage>,
    held: &mut Option<OutMessage>,
) -> Vec<OutMessage> {
    let mut size = CONTAINER_OVERHEAD + MESSAGE_OVERHEAD + first.body.len();
    let mut batch = vec![first];
    while let Ok(message) = queue.try_recv() {
        let cost = MESSAGE_OVERHEAD + message.body.len();
        if size + cost > MAX_CONTAINER_BYTES {
            *held = Some(message);
            break;
        }
        size += cost;
        batch.push(message);
    }
    batch
}

/// `salt | session_id | message` where message is the only message or a container of all.
pub fn seal_batch(numbering: &mut Numbering, session_id: i64, batch: Vec<OutMessage>) -> Vec<u8> {
    let mut plaintext = Vec::new();
    plaintext.extend_from_slice(&SERVER_SALT.to_le_bytes());
    plaintext.extend_from_slice(&session_id.to_le_bytes());
    if batch.len() == 1 {
        for m in batch {
            let msg_id = numbering.next_msg_id(m.response);
            let seq_no = numbering.next_seq_no(m.content_related);
            push_message(&mut plaintext, msg_id, seq_no, &m.body);
        }
        return plaintext;
    }
    let mut container = Vec::new();
    container.extend_from_slice(&MSG_CONTAINER.to_le_bytes());
    container.extend_from_slice(&(batch.len() as i32).to_le_bytes());
    for m in batch {
        let msg_id = numbering.next_msg_id(m.response);
        let seq_no = numbering.next_seq_no(m.content_related);
        push_message(&mut container, msg_id, seq_no, &m.body);
    }
    // The container's msg_id must exceed those of the messages inside it.
    let msg_id = numbering.next_msg_id(false);
    let seq_no = numbering.next_seq_no(false);
    push_message(&mut plaintext, msg_id, seq_no, &container);
    plaintext
}

fn push_message(out: &mut Vec<u8>, msg_id: i64, seq_no: i32, body: &[u8]) {
    out.extend_from_slice(&msg_id.to_le_bytes());
    out.extend_from_slice(&seq_no.to_le_bytes());
    out.extend_from_slice(&(body.len() as i32).to_le_bytes());
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_ids_are_increasing_and_odd_with_the_right_remainder() {
        let mut n = Numbering::default();
        let mut last = 0;
        for i in 0..1000 {
            let response = i % 3 == 0;
            let id = n.next_msg_id(response);
            assert!(id > last);
            assert_eq!(id % 4, if response { 1 } else { 3 });
            last = id;
        }
    }

    #[test]
    fn seq_no_is_odd_for_content_and_even_otherwise() {
        let mut n = Numbering::default();
        assert_eq!(n.next_seq_no(false), 0);
        assert_eq!(n.next_seq_no(true), 1);
        assert_eq!(n.next_seq_no(true), 3);
        assert_eq!(n.next_seq_no(false), 4);
    }

    #[test]
    fn two_file_parts_never_share_a_container() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..3 {
            tx.send(OutMessage::response(vec![0; 512 * 1024])).unwrap();
        }
        tx.send(OutMessage::response(vec![0; 16])).unwrap();
        let mut held = None;
        let mut sizes = Vec::new();
        let mut next = rx.try_recv().ok();
        while let Some(first) = next {
            let batch = fill_batch(first, &mut rx, &mut held);
            sizes.push(batch.iter().map(|m| m.body.len()).collect::<Vec<_>>());
            next = held.take().or_else(|| rx.try_recv().ok());
        }
        assert_eq!(
            sizes,
            vec![vec![512 * 1024], vec![512 * 1024], vec![512 * 1024, 16]]
        );
    }

    #[test]
    fn a_batch_of_several_goes_in_one_container_with_a_larger_msg_id() {
        let mut n = Numbering::default();
        let batch = vec![
            OutMessage {
                body: vec![1, 0, 0, 0],
                content_related: true,
                response: true,
            },
            OutMessage {
                body: vec![2, 0, 0, 0],
                content_related: false,
                response: false,
            },
        ];
        let plain = seal_batch(&mut n, 99, batch);
        assert_eq!(&plain[8..16], &99i64.to_le_bytes());
        let outer_id = i64::from_le_bytes(plain[16..24].try_into().unwrap());
        assert_eq!(&plain[32..36], &MSG_CONTAINER.to_le_bytes());
        assert_eq!(&plain[36..40], &2i32.to_le_bytes());
        let first_id = i64::from_le_bytes(plain[40..48].try_into().unwrap());
        assert!(first_id < outer_id);
        assert_eq!(outer_id % 2, 1);
    }
}
