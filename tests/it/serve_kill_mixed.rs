//! `tgcollector serve` killed with SIGKILL at 20 random moments of a mixed workload — live
//! messages (some with media) streaming to RabbitMQ, media downloading and uploading, sealed
//! `history` requests in flight — and started again each time: nothing is lost. Every posted
//! message reaches the consumer, in order, repeats unchanged; every media of a live message
//! and every media a reply named is stored once, byte-exact.
//!
//! The moments are random (a random pause after each round's work begins), so each run kills
//! the gateway somewhere else: mid-publish, mid-download, mid-upload, mid-reply, at start-up.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::gateway_support::{Options, ServedGateway, Stream, json};
use crate::media_serve::{media_digest, stored};
use rand::Rng;
use telesim::api::NewMessage;
use telesim::world::demo::{DEMO_SEED, TECH_DIGEST};
use telesim::world::{Media, MediaKind, World};
use testkit::stream_setup::Received;
use tgc_service::parser::storage_key;

const KILLS: usize = 20;
/// Until each kill, a live message is posted every [`POST_EVERY`]; every
/// [`DOCUMENT_EVERY`]th carries a document.
const POST_EVERY: Duration = Duration::from_millis(5);
const DOCUMENT_EVERY: usize = 15;
/// Live messages posted while the gateway is down.
const WHILE_DOWN: usize = 10;
/// `history` requests sent in each round, concurrently.
const REQUESTS_PER_ROUND: usize = 3;
/// The demo channel whose own messages carry media, read whole by requests.
const MEDIA_CHANNEL: &str = "@telesim_news";
/// Downloads slowed so that kills land while files are moving.
const GET_FILE_LATENCY: Duration = Duration::from_millis(20);

/// The pipeline's settings: the default local storage (`data/media`), small limits.
const EXTRA: &str = "media.downloads_per_account = 2\n\
                     media.downloads_total = 4\n\
                     media.chunk_size = 128KiB\n\
                     media.parallel_chunks = 2\n";

/// What the workload asked of the gateway, to check against what came out.
#[derive(Default)]
struct Asked {
    /// Live message ids, in posting order.
    posted: Vec<i32>,
    /// Every media a live message carried or a reply named, by id.
    media: BTreeMap<i64, Media>,
}

/// Posts `texts` text messages and `documents` messages with a document of a random size to
/// the demo's Tech Digest.
fn post(gateway: &ServedGateway, asked: &mut Asked, texts: usize, documents: usize, label: &str) {
    let mut rng = rand::thread_rng();
    for i in 0..texts + documents {
        let mut message = NewMessage::text(format!("{label} {i}"));
        if i >= texts {
            let id = 9_800_000 + asked.media.len() as i64;
            let media = Media::document(id, MediaKind::File, rng.gen_range(1..2_500_000));
            asked.media.insert(id, media.clone());
            message = message.with_media(media);
        }
        let id = gateway
            .sim
            .telegram
            .post_message(TECH_DIGEST, message)
            .expect("posting");
        asked.posted.push(id);
    }
}

/// Sends `history` for the live channel (a random page of its newest messages) or, with
/// `all_of` a chat, for that chat's first 100 messages, and records the ids of the media the
/// reply says are pending or stored; a request the kill cuts off names nothing.
async fn read_history(
    gateway: &ServedGateway,
    all_of: Option<&str>,
    named: Arc<Mutex<BTreeSet<i64>>>,
) {
    let Ok(mut client) = tgc_service::handler::gateway_client::GatewayClient::connect(
        gateway.api,
        gateway.cryptor(),
    )
    .await
    else {
        return;
    };
    let (chat, limit) = match all_of {
        Some(chat) => (chat, 100),
        None => ("@tech_digest", rand::thread_rng().gen_range(5..60)),
    };
    let Ok(reply) = client
        .query(
            "history",
            &json(&format!(r#"{{"chat": "{chat}", "limit": {limit}}}"#)),
        )
        .await
    else {
        return;
    };
    let mut named = named.lock().expect("the named set");
    for message in reply["messages"].as_array().expect("messages") {
        let storage = &message["media"]["storage"];
        if storage["status"] == "pending" || storage["status"] == "stored" {
            named.insert(message["media"]["id"].as_i64().expect("a media id"));
        }
    }
}

/// Waits until the `media` method reports every id stored; a media that failed fails the
/// test. Between looks it waits for the next "media stored" line of the log.
async fn until_stored(gateway: &mut ServedGateway, ids: &BTreeSet<i64>) {
    loop {
        let mut client = gateway.client().await;
        let mut missing = 0;
        for id in ids {
            let reply = client
                .query("media", &json(&format!(r#"{{"media_id": {id}}}"#)))
                .await
                .expect("media");
            let status = &reply["storage"]["status"];
            assert_ne!(status, "failed", "{reply}");
            missing += usize::from(status != "stored");
        }
        if missing == 0 {
            return;
        }
        gateway
            .log
            .wait_for("the next media stored", |line| {
                line.contains("media stored")
            })
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sigkills_at_random_moments_of_a_mixed_workload_lose_nothing() {
    let mut stream = Stream::bind("kill_mixed").await;
    let mut gateway = stream
        .gateway_with(Options {
            extra: EXTRA,
            ..Options::default()
        })
        .await;
    gateway
        .sim
        .faults
        .method_latency("upload.getFile", GET_FILE_LATENCY);
    gateway.join_tech_digest().await;

    let mut asked = Asked::default();
    let named = Arc::new(Mutex::new(BTreeSet::new()));
    let mut received = Received::default();
    let mut rng = rand::thread_rng();
    for round in 0..KILLS {
        let gateway_ref = &gateway;
        let asked_ref = &mut asked;
        let requests = futures_util::future::join_all((0..REQUESTS_PER_ROUND).map(|i| {
            let all_of = (i % 2 == 1).then_some(MEDIA_CHANNEL);
            read_history(gateway_ref, all_of, Arc::clone(&named))
        }));
        let posting = async move {
            for i in 0.. {
                let document = usize::from(i % DOCUMENT_EVERY == DOCUMENT_EVERY - 1);
                let label = format!("round {round} #{i}");
                post(gateway_ref, asked_ref, 1 - document, document, &label);
                tokio::time::sleep(POST_EVERY).await;
            }
        };
        let moment = Duration::from_millis(rng.gen_range(0..1_500));
        // The kill comes at the moment, whatever runs then: posts keep coming until it, and
        // unfinished requests are cut off.
        let _ = tokio::time::timeout(moment, async {
            futures_util::join!(requests, posting);
        })
        .await;
        gateway.kill();
        println!(
            "round {round}: killed {} ms in; {} posted so far",
            moment.as_millis(),
            asked.posted.len()
        );
        post(
            &gateway,
            &mut asked,
            WHILE_DOWN,
            0,
            &format!("down {round}"),
        );
        gateway.restart().await;
        // Read what arrived so far, so the broker's queue stays short.
        while let Ok(()) = tokio::time::timeout(
            Duration::from_millis(10),
            received.read_one(&mut stream.tail),
        )
        .await
        {}
    }
    post(&gateway, &mut asked, 30, 2, "last");
    read_history(&gateway, None, Arc::clone(&named)).await;
    read_history(&gateway, Some(MEDIA_CHANNEL), Arc::clone(&named)).await;

    received
        .read_until(&mut stream.tail, |r| r.distinct() >= asked.posted.len())
        .await;
    assert_eq!(
        received.new_ids(TECH_DIGEST),
        asked.posted,
        "every live message, in order"
    );
    assert!(
        received.changed_repeats.is_empty(),
        "repeats carry the same id and body: {:?}",
        received.changed_repeats
    );

    // Media: those of live messages, and those a reply named (the news channel's too).
    let demo = World::demo();
    let named = named.lock().expect("the named set").clone();
    let live_media: BTreeSet<i64> = asked.media.keys().copied().collect();
    for id in &named {
        if asked.media.contains_key(id) {
            continue;
        }
        let media = demo
            .chats
            .values()
            .flat_map(|chat| chat.messages.iter().filter_map(|m| m.media.as_ref()))
            .find(|media| media.id == *id)
            .unwrap_or_else(|| panic!("a reply named media {id}, which no message holds"));
        asked.media.insert(*id, media.clone());
    }
    assert!(
        named.iter().any(|id| !live_media.contains(id)),
        "the replies named the news channel's media: {named:?}"
    );
    let ids: BTreeSet<i64> = asked.media.keys().copied().collect();
    until_stored(&mut gateway, &ids).await;
    let want: BTreeMap<String, (u64, [u8; 32])> = asked
        .media
        .values()
        .map(|media| (storage_key(media.id), media_digest(DEMO_SEED, media)))
        .collect();
    let media_dir = gateway.dir.path().join("data").join("media");
    let have = stored(&media_dir);
    assert_eq!(
        have, want,
        "every media stored once, byte-exact, nothing else"
    );
    for entry in std::fs::read_dir(&media_dir).expect("the media directory") {
        let path = entry.expect("an entry").path();
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{} is its owner's alone", path.display());
    }
    let mode = std::fs::metadata(&media_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the media directory is its owner's alone");
    println!(
        "{KILLS} SIGKILLs: {} live messages ({} repeats), {} media stored",
        asked.posted.len(),
        received.duplicates(),
        want.len()
    );
    stream.finish().await;
}
