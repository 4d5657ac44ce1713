//! What the live-stream tests share: a telesim world of two accounts in two channels,
//! their session files, a pool and a publisher over them, a consumer on a fresh exchange of
//! the real RabbitMQ on 127.0.0.1:5672; the proxy that cuts the broker is [`crate::proxy`].
//!
//! Every test uses its own exchange (the test name and a per-process nonce), so tests that
//! run at once never see each other's messages.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::sessions::SimSessions;
use telesim::Sim;
use telesim::world::{Chat, ChatKind, User, World};
use tgc_model::directory::Directory;
use tgc_model::joinmap::{JoinHow, JoinMap};
use tgc_model::teleclient::{AccountId, ClientConfig, PeerId, TeleClients};
use tgc_service::parser::MediaRefs;
use tgc_service::publisher::{Publisher, PublisherConfig, PublisherHandle, Tail, TailEvent};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::broker::{amqp_url, delete_exchange, exchange};
use crate::guard::{HANG_GUARD, guarded};

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

pub fn client_config() -> ClientConfig {
    crate::pool_setup::client_config(Duration::from_secs(5))
}

/// A simulator, its sessions on disk, and the join map recording both accounts in
/// [`JOINED`] (as the `join` method would).
pub struct Setup {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    pub exchange: String,
}

impl Setup {
    pub async fn new(test: &str) -> Setup {
        crate::logging::from_env();
        let sim = Sim::start(world()).await.expect("telesim starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        sim.write_sessions(&dir.path().join("sessions"))
            .expect("session files");
        let setup = Setup {
            sim,
            dir,
            exchange: exchange(test),
        };
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

    pub fn sessions(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub async fn pool(&self) -> Arc<TeleClients> {
        let directory =
            Directory::open_in(&self.data(), Duration::from_secs(24 * 3600)).expect("directory");
        let (pool, report) = guarded(
            "pool start",
            TeleClients::start_from_dir(&self.sessions(), directory, &client_config()),
        )
        .await;
        assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        Arc::new(pool)
    }

    pub fn config(&self, url: &str) -> PublisherConfig {
        Setup::config_for(&self.data(), &self.exchange, url)
    }

    /// A publisher configuration for `exchange` at `url` keeping its files in `data`.
    pub fn config_for(data: &std::path::Path, exchange: &str, url: &str) -> PublisherConfig {
        PublisherConfig {
            url: url.to_owned(),
            exchange: exchange.to_owned(),
            data_dir: data.to_owned(),
            outbox_max_events: 1_000_000,
            catch_up: true,
            media: Arc::new(MediaRefs),
            seal: None,
        }
    }

    /// A pool and a publisher to `url`.
    pub async fn publisher(&self, url: &str) -> (Arc<TeleClients>, PublisherHandle) {
        self.publisher_with(self.config(url)).await
    }

    /// A pool and a publisher configured by `config`.
    pub async fn publisher_with(
        &self,
        config: PublisherConfig,
    ) -> (Arc<TeleClients>, PublisherHandle) {
        let pool = self.pool().await;
        let joinmap = Arc::new(JoinMap::open_in(&config.data_dir).expect("the join map"));
        let handle = Publisher::start(config, joinmap, Arc::clone(&pool), CancellationToken::new())
            .await
            .expect("publisher starts");
        (pool, handle)
    }

    /// A consumer of every event of this test's exchange.
    pub async fn tail(&self) -> Tail {
        guarded(
            "consumer connects",
            Tail::connect(&amqp_url(), &self.exchange, None),
        )
        .await
        .expect("RabbitMQ on 127.0.0.1:5672 (run ./test.sh to start it)")
    }

    /// Closes the consumer and deletes the test's exchange, so test runs leave nothing
    /// behind in the broker.
    pub async fn finish(&self, tail: Tail) {
        tail.close().await;
        delete_exchange(&self.exchange).await;
    }

    /// Posts `count` messages to `chat`, returning their ids.
    pub fn post(&self, chat: i64, count: usize, label: &str) -> Vec<i32> {
        (0..count)
            .map(|i| {
                self.sim
                    .telegram
                    .post_message(chat, telesim::api::NewMessage::text(format!("{label} {i}")))
                    .expect("posting")
            })
            .collect()
    }
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
