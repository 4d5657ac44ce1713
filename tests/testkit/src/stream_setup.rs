//! What the live-stream tests share: a telesim world of two accounts in two channels, on the
//! common [`Setup`] (pool, publisher, a consumer on the test's own exchange of the real
//! RabbitMQ on 127.0.0.1:5672), and what reads what the consumer received; the proxy that
//! cuts the broker is [`crate::proxy`].
//!
//! Every test uses its own exchange (the test name and a per-process nonce), so tests that
//! run at once never see each other's messages.

use std::collections::HashMap;
use std::time::Duration;

use telesim::world::{Chat, ChatKind, User, World};
use tgc_model::joinmap::{JoinHow, JoinMap};
use tgc_model::teleclient::{AccountId, PeerId};
use tgc_service::publisher::{PublisherHandle, Tail, TailEvent};
use tokio::sync::watch;

use crate::guard::{HANG_GUARD, guarded};
pub use crate::setup::Setup;

/// The two accounts, both members of both channels.
pub const ALICE: i64 = 7001;
pub const BOB: i64 = 7002;
/// The channel the tests join.
pub const JOINED: i64 = 800_001;
/// A channel the accounts are in but the gateway never joined.
pub const NOT_JOINED: i64 = 800_002;

/// A public channel nobody is in at first.
pub const JOIN_LATER: i64 = 800_003;

/// The marked id of a channel, as in routing keys and `chat.id`.
pub fn marked(channel: i64) -> i64 {
    PeerId::channel_unchecked(channel).bot_api_dialog_id_unchecked()
}

pub fn world() -> World {
    let mut joined = Chat::new(JOINED, ChatKind::Channel, "Stream News");
    joined.username = Some("stream_news".into());
    joined.members = vec![ALICE, BOB];
    joined.messages = vec![telesim::world::Message::text(1, 1_600_000_000, "hello")];
    let mut other = Chat::new(NOT_JOINED, ChatKind::Channel, "Not Joined");
    other.username = Some("not_joined".into());
    other.members = vec![ALICE, BOB];
    other.messages = vec![telesim::world::Message::text(1, 1_600_000_000, "hello")];
    let mut later = Chat::new(JOIN_LATER, ChatKind::Channel, "Join Later");
    later.username = Some("join_later".into());
    later.messages = vec![telesim::world::Message::text(1, 1_600_000_000, "hello")];
    World::builder(11)
        .account(User::new(ALICE, "Alice"), "+15552000001")
        .account(User::new(BOB, "Bob"), "+15552000002")
        .chat(joined)
        .chat(other)
        .chat(later)
        .build()
        .expect("a consistent world")
}

/// The two accounts in their channels, on the common [`Setup`] (reconnecting within 5 s),
/// with the join map recording both accounts in [`JOINED`] (as the `join` method would).
/// `test` names the test's own exchange.
pub async fn start(test: &str) -> Setup {
    let setup = Setup::start(test, world())
        .await
        .reconnecting_within(Duration::from_secs(5));
    let joinmap = JoinMap::open_in(&setup.data()).expect("join map");
    for account in [ALICE, BOB] {
        joinmap
            .record_join(
                PeerId::channel_unchecked(JOINED),
                AccountId(account),
                JoinHow::Api,
            )
            .expect("recording a join");
    }
    setup
}

/// What a consumer received, by event id, in order of first arrival.
#[derive(Debug, Default)]
pub struct Received {
    pub order: Vec<TailEvent>,
    pub copies: HashMap<String, usize>,
    /// Ids delivered again with a different body or routing key (must stay empty).
    pub changed_repeats: Vec<String>,
    first: HashMap<String, usize>,
}

impl Received {
    /// Reads from `tail` until `done` says the set is complete.
    pub async fn until(tail: &mut Tail, done: impl FnMut(&Received) -> bool) -> Received {
        let mut received = Received::default();
        received.read_until(tail, done).await;
        received
    }

    /// Goes on reading from `tail` until `done` says the set is complete.
    pub async fn read_until(&mut self, tail: &mut Tail, mut done: impl FnMut(&Received) -> bool) {
        guarded("the expected events", async {
            while !done(self) {
                self.read_one(tail).await;
            }
        })
        .await;
    }

    /// Reads the next delivery from `tail` and records it (unguarded: the caller bounds it).
    pub async fn read_one(&mut self, tail: &mut Tail) {
        let event = tail
            .next()
            .await
            .expect("the consumer stays open")
            .expect("a delivery");
        let id = event
            .message_id
            .clone()
            .expect("every event has a message_id");
        let copies = self.copies.entry(id.clone()).or_insert(0);
        *copies += 1;
        match self.first.get(&id) {
            None => {
                self.first.insert(id, self.order.len());
                self.order.push(event);
            }
            Some(&index) => {
                let first = &self.order[index];
                if first.body != event.body || first.routing_key != event.routing_key {
                    self.changed_repeats.push(id);
                }
            }
        }
    }

    pub fn distinct(&self) -> usize {
        self.order.len()
    }

    pub fn duplicates(&self) -> usize {
        self.copies.values().map(|c| c - 1).sum()
    }

    /// The message ids of the `new` events of `chat`, in order of arrival.
    pub fn new_ids(&self, chat: i64) -> Vec<i32> {
        let key = format!("message.new.{}", marked(chat));
        self.order
            .iter()
            .filter(|e| e.routing_key == key)
            .map(|e| {
                let body: serde_json::Value = serde_json::from_slice(&e.body).expect("JSON bodies");
                body["id"].as_i64().expect("an id") as i32
            })
            .collect()
    }
}

/// Waits until the publisher's counter `value` satisfies `ready`; a hang fails the test
/// with the publisher's counters.
pub async fn wait_for(
    what: &str,
    publisher: &PublisherHandle,
    mut value: watch::Receiver<u64>,
    ready: impl Fn(u64) -> bool,
) {
    match tokio::time::timeout(HANG_GUARD, value.wait_for(|v| ready(*v))).await {
        Ok(result) => {
            result.expect("the publisher is running");
        }
        Err(_) => panic!(
            "{what} did not happen within {HANG_GUARD:?}: {:?}",
            publisher.stats()
        ),
    }
}
