//! The live stream end to end: telesim → two accounts' update streams → outbox → the real
//! RabbitMQ → a consumer. Each event once, in order per chat, with the right routing keys
//! and properties; chats nobody joined stay out.

use std::sync::{Arc, Mutex};

use telesim::api::NewMessage;
use telesim::world::Media;
use testkit::broker::amqp_url;
use testkit::stream_setup::{self, ALICE, BOB, JOINED, NOT_JOINED, Received, marked};
use tgc_service::parser::{MediaFile, MediaHook, StorageRef, StorageStatus, storage_key};

/// What the pipeline was handed: account, media id, chat, message.
type Handed = (i64, i64, Option<i64>, i32);

/// A media pipeline stand-in: records what it is handed, names it like the real one.
#[derive(Default)]
struct RecordingPipeline {
    handed: Mutex<Vec<Handed>>,
}

impl MediaHook for RecordingPipeline {
    fn storage(&self, media: &MediaFile<'_>) -> StorageRef {
        self.handed.lock().unwrap().push((
            media.account.0,
            media.id,
            media.chat_id,
            media.message_id,
        ));
        StorageRef {
            key: storage_key(media.id),
            status: StorageStatus::Pending,
        }
    }
}

/// How many messages the exactly-once test posts (the issue asks for 10,000).
const MESSAGES: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_in_one_channel_publish_each_message_exactly_once_in_order() {
    let setup = stream_setup::start("exactly_once").await;
    let mut tail = setup.tail().await;
    let (_pool, publisher) = setup.publisher(&amqp_url()).await;

    let posted = setup.post(JOINED, MESSAGES, "message");
    let received = Received::until(&mut tail, |r| r.distinct() >= MESSAGES).await;

    assert_eq!(
        received.new_ids(JOINED),
        posted,
        "every message, in posting order"
    );
    assert_eq!(
        received.duplicates(),
        0,
        "both accounts saw each message; one event each"
    );
    let stats = publisher.stats();
    assert_eq!(stats.accepted, MESSAGES as u64);
    assert!(
        stats.duplicates >= MESSAGES as u64 / 2,
        "the second account's copies were recognised: {stats:?}"
    );
    publisher.shutdown().await;
    setup.finish(tail).await;
}

#[tokio::test]
async fn events_carry_routing_keys_ids_and_properties_consumers_can_rely_on() {
    let setup = stream_setup::start("edits_deletes").await;
    let mut tail = setup.tail().await;
    let (_pool, publisher) = setup.publisher(&amqp_url()).await;

    // A post in a chat nobody joined goes first: had it been published, it would arrive
    // before the joined chat's first event.
    setup.post(NOT_JOINED, 1, "ignored");
    let ids = setup.post(JOINED, 3, "original");
    setup
        .sim
        .telegram
        .edit_message(JOINED, ids[0], "edited")
        .unwrap();
    setup
        .sim
        .telegram
        .delete_messages(JOINED, &[ids[1]])
        .unwrap();
    let received = Received::until(&mut tail, |r| r.distinct() >= 5).await;

    let chat = marked(JOINED);
    let keys: Vec<&str> = received
        .order
        .iter()
        .map(|e| e.routing_key.as_str())
        .collect();
    let new = format!("message.new.{chat}");
    let edit = format!("message.edit.{chat}");
    let delete = format!("message.delete.{chat}");
    assert_eq!(keys, [&new, &new, &new, &edit, &delete]);

    for event in &received.order {
        assert_eq!(event.content_type.as_deref(), Some("application/json"));
        assert_eq!(event.delivery_mode, Some(2), "persistent delivery");
    }
    let edited = &received.order[3];
    let body: serde_json::Value = serde_json::from_slice(&edited.body).unwrap();
    assert_eq!(body["id"], ids[0]);
    assert_eq!(body["chat"]["id"], chat);
    assert_eq!(body["text"], "edited");
    let edit_date = body["edit_date"].as_i64().expect("an edit date");
    let edit_id = edited.message_id.as_deref().expect("an id");
    let prefix = format!("{chat}:{}:edit:{edit_date}:", ids[0]);
    assert!(
        edit_id.starts_with(&prefix)
            && edit_id[prefix.len()..].len() == 16
            && edit_id[prefix.len()..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit()),
        "<chat>:<message>:edit:<edit_date>:<16 hex digits>, not {edit_id}"
    );
    let deleted = &received.order[4];
    assert_eq!(
        deleted.message_id.as_deref(),
        Some(format!("{chat}:{}:delete:0", ids[1]).as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&deleted.body).unwrap();
    assert_eq!(body["event"], "delete");
    assert_eq!(body["id"], ids[1]);

    assert!(
        publisher.stats().ignored >= 1,
        "the other chat's post was seen and left out"
    );
    publisher.shutdown().await;
    setup.finish(tail).await;
}

#[tokio::test]
async fn two_edits_within_one_second_are_both_published() {
    let setup = stream_setup::start("same_second_edits").await;
    let mut tail = setup.tail().await;
    let (_pool, publisher) = setup.publisher(&amqp_url()).await;
    let ids = setup.post(JOINED, 1, "original");
    // telesim's clock stands still a minute ahead: both edits carry the same edit date.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i32;
    setup.sim.telegram.hold_clock_at(now + 60);
    for text in ["first edit", "second edit"] {
        setup
            .sim
            .telegram
            .edit_message(JOINED, ids[0], text)
            .unwrap();
    }
    // A last post: anything published before it has arrived when it does.
    setup.post(JOINED, 1, "after");
    let received = Received::until(&mut tail, |r| {
        r.order.iter().any(|e| {
            e.routing_key.starts_with("message.new") && e.body.windows(5).any(|w| w == b"after")
        })
    })
    .await;
    let edits: Vec<serde_json::Value> = received
        .order
        .iter()
        .filter(|e| e.routing_key.starts_with("message.edit"))
        .map(|e| serde_json::from_slice(&e.body).unwrap())
        .collect();
    let texts: Vec<&str> = edits.iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["first edit", "second edit"], "both edits, in order");
    assert_eq!(
        edits[0]["edit_date"], edits[1]["edit_date"],
        "within one second"
    );
    publisher.shutdown().await;
    setup.finish(tail).await;
}

#[tokio::test]
async fn a_live_message_hands_its_media_to_the_pipeline_and_carries_its_storage_key() {
    let setup = stream_setup::start("media").await;
    let mut tail = setup.tail().await;
    let pipeline = Arc::new(RecordingPipeline::default());
    let config = setup
        .publisher_config(&amqp_url())
        .with_media_hook(Arc::clone(&pipeline) as Arc<dyn MediaHook>);
    let (_pool, publisher) = setup.publisher_with(config).await;

    let id = setup
        .sim
        .telegram
        .post_message(
            JOINED,
            NewMessage::text("a photo").with_media(Media::photo(77_001, 50_000)),
        )
        .unwrap();
    let received = Received::until(&mut tail, |r| r.distinct() >= 1).await;

    let body: serde_json::Value = serde_json::from_slice(&received.order[0].body).unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["media"]["id"], 77_001);
    assert_eq!(body["media"]["storage"]["key"], storage_key(77_001));
    assert_eq!(body["media"]["storage"]["status"], "pending");
    let handed = pipeline.handed.lock().unwrap().clone();
    assert!(!handed.is_empty(), "the pipeline got the media");
    for (account, media, chat, message) in handed {
        assert!(
            [ALICE, BOB].contains(&account),
            "bound to the account that saw it"
        );
        assert_eq!((media, chat, message), (77_001, Some(marked(JOINED)), id));
    }
    publisher.shutdown().await;
    setup.finish(tail).await;
}
