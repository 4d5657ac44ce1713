//! The media pipeline inside the real `tgcollector serve` process: a reply that names media
//! leaves once their tasks are on disk; killed with SIGKILL at random points and restarted,
//! it still stores every media exactly once; and a 1 GiB file moves through it with bounded
//! memory.
//!
//! The gateway reads history through its sealed API, as a client would; the media it meets
//! becomes tasks in `data/media.sqlite`; storage is the local backend in the test's
//! directory, checked byte by byte against telesim's deterministic media bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::gateway_support::{Endpoints, Serve, json};
use rand::Rng;
use sha2::{Digest, Sha256};
use telesim::world::{
    Chat, ChatKind, Media, MediaKind, Message, User, World, media_bytes, photo_sizes,
};
use testkit::Setup;
use tgc_service::cryptor::keygen;
use tgc_service::parser::storage_key;

/// Waiting for a pipeline that makes progress: generous, never a measurement.
const HANG_GUARD: Duration = Duration::from_secs(600);

const ALICE: i64 = 7201;
const BOB: i64 = 7202;
const CHANNEL: i64 = 820_001;

/// Pipeline settings for the served gateway: small parallelism so a kill lands mid-file.
const MEDIA_CONFIG: &str = "media.storage = local\n\
                            media.storage.local.dir = media\n\
                            media.downloads_per_account = 2\n\
                            media.downloads_total = 4\n\
                            media.parallel_chunks = 2\n\
                            rabbitmq.enabled = false\n";

/// One channel of 30 media messages, 3 B to 24 MB, both accounts members.
fn kill_world() -> World {
    let mut chat = Chat::new(CHANNEL, ChatKind::Channel, "Kill Test");
    chat.username = Some("kill_test_media".into());
    chat.members = vec![ALICE, BOB];
    for m in 1..=30 {
        let id = 9_500_000 + i64::from(m);
        let size = if m % 10 == 0 {
            24_000_000 + u64::from(m as u32)
        } else {
            3u64 * 4u64.pow((m % 10) as u32)
        };
        let media = if m % 3 == 0 {
            Media::photo(id, size)
        } else {
            Media::document(id, MediaKind::Video, size)
        };
        chat.messages
            .push(Message::text(m, 1_600_000_000 + m, format!("m{m}")).with_media(media));
    }
    World::builder(707)
        .account(User::new(ALICE, "Alice"), "+15554000001")
        .account(User::new(BOB, "Bob"), "+15554000002")
        .chat(chat)
        .build()
        .expect("a consistent world")
}

/// Every media of the world: storage key → (size, SHA-256).
fn expected(world: &World) -> BTreeMap<String, (u64, [u8; 32])> {
    world
        .chats
        .values()
        .flat_map(|chat| chat.messages.iter().filter_map(|m| m.media.as_ref()))
        .map(|media| (storage_key(media.id), media_digest(world.seed, media)))
        .collect()
}

/// The size and SHA-256 of what telesim serves for `media` (a photo's largest size) in a
/// world of `seed`: what storage must hold under its key.
pub(crate) fn media_digest(seed: u64, media: &Media) -> (u64, [u8; 32]) {
    let thumb = if media.kind == MediaKind::Photo {
        photo_sizes(media).last().map(|s| s.kind).unwrap_or("")
    } else {
        ""
    };
    let mut hasher = Sha256::new();
    let mut offset = 0u64;
    while offset < media.size {
        let len = (media.size - offset).min(8 << 20) as usize;
        hasher.update(media_bytes(seed, media.id, thumb, offset, len));
        offset += len as u64;
    }
    (media.size, hasher.finalize().into())
}

/// What the local storage directory holds: key → (size, SHA-256), streamed.
pub(crate) fn stored(dir: &Path) -> BTreeMap<String, (u64, [u8; 32])> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let entry = entry.expect("a directory entry");
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let mut file = std::fs::File::open(&path).expect("a stored object opens");
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buffer).expect("a stored object reads");
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            size += n as u64;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        out.insert(name, (size, hasher.finalize().into()));
    }
    out
}

/// Asks the gateway for the channel's history (which queues its media) and returns the
/// media statuses it reported.
async fn read_history(serve: &Serve, key: &tgc_common::config::CryptoKey) -> Vec<String> {
    let mut client = serve.client(key).await;
    let reply = client
        .query(
            "history",
            &json(r#"{"chat": "@kill_test_media", "limit": 100}"#),
        )
        .await
        .expect("history");
    reply["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            m["media"]["storage"]["status"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// Waits until the `media` method reports every key stored.
async fn until_all_stored(
    serve: &mut Serve,
    key: &tgc_common::config::CryptoKey,
    world: &World,
    dir: &Path,
) {
    let ids: Vec<i64> = world
        .chats
        .values()
        .flat_map(|c| {
            c.messages
                .iter()
                .filter_map(|m| m.media.as_ref().map(|m| m.id))
        })
        .collect();
    // What a run before this one finished is on disk already; the rest is announced by a
    // "media stored" line of this run's log (maybe before the test got here).
    let on_disk = stored(dir);
    let mut missing: BTreeSet<String> = ids
        .iter()
        .map(|id| storage_key(*id))
        .filter(|key| !on_disk.contains_key(key))
        .collect();
    let announced = |line: &str, missing: &mut BTreeSet<String>| {
        if line.contains("media stored") {
            missing.retain(|key| !line.contains(&format!("key={key}")));
        }
    };
    for line in serve.log.drain().to_vec() {
        announced(&line, &mut missing);
    }
    while !missing.is_empty() {
        let line = serve
            .log
            .wait_for("every media stored", |line| line.contains("media stored"))
            .await;
        announced(&line, &mut missing);
    }
    // The gateway's own account of it agrees.
    let mut client = serve.client(key).await;
    for id in ids {
        let reply = client
            .query("media", &json(&format!(r#"{{"media_id": {id}}}"#)))
            .await
            .expect("media");
        assert_eq!(reply["storage"]["status"], "stored", "{reply}");
    }
}

/// The storage keys of the tasks in the task table's main file, its WAL ignored: what a
/// power cut would leave of the table had nothing been checkpointed since.
fn task_keys_in_main_file(data: &Path) -> BTreeSet<String> {
    let uri = format!(
        "file:{}?immutable=1",
        data.join(tgc_model::media::task_store::FILE_NAME).display()
    );
    let reader = rusqlite::Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .expect("the task table opens read-only");
    // Before anything reached the main file, even the table is missing there.
    let Ok(mut keys) = reader.prepare("select key from tasks") else {
        return BTreeSet::new();
    };
    keys.query_map([], |row| row.get(0))
        .expect("the keys")
        .collect::<Result<_, _>>()
        .expect("every key")
}

/// A reply that says a media is `pending` leaves only once its task is on disk, not only in
/// SQLite's write-ahead log (committed, but not synced): every task it names is in the task
/// table's main file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tasks_a_reply_names_are_on_disk_before_the_reply_leaves() {
    let Setup { dir, .. } = Setup::start("media_durable", kill_world()).await;
    let key = keygen::generate();
    let server = Serve::in_process(dir.path(), &key, MEDIA_CONFIG).await;
    let gateway = Endpoints {
        key,
        api: server.api,
        operator: server.operator,
    };
    let reply = gateway
        .client()
        .await
        .query(
            "history",
            &json(r#"{"chat": "@kill_test_media", "limit": 100}"#),
        )
        .await
        .expect("history");
    let named: BTreeSet<String> = reply["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["media"]["storage"]["status"] == "pending")
        .map(|m| {
            m["media"]["storage"]["key"]
                .as_str()
                .expect("a key")
                .to_owned()
        })
        .collect();
    assert_eq!(named.len(), 30, "{reply}");
    let on_disk = task_keys_in_main_file(&dir.path().join("data"));
    let missing: Vec<&String> = named.difference(&on_disk).collect();
    assert!(
        missing.is_empty(),
        "tasks the reply named that a power cut would lose: {missing:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_and_restarts_store_every_media_exactly_once() {
    let world = kill_world();
    let Setup { sim, dir, .. } = Setup::start("media_kill", world.clone()).await;
    // Each chunk takes a while, so several downloads are always mid-file.
    sim.faults
        .method_latency("upload.getFile", Duration::from_millis(30));
    let key = keygen::generate();
    // The kill points: random numbers of chunk requests seen by Telegram, all well before
    // the last chunk, so every kill lands while media is still moving.
    let chunks: u64 = world
        .chats
        .values()
        .flat_map(|c| c.messages.iter().filter_map(|m| m.media.as_ref()))
        .map(|m| m.size.div_ceil(512 * 1024).max(1))
        .sum();
    let mut rng = rand::thread_rng();
    let mut kill_points: Vec<u64> = (0..5).map(|_| rng.gen_range(5..chunks * 4 / 5)).collect();
    kill_points.sort_unstable();
    let mut kills = 0;
    for (round, point) in kill_points.iter().enumerate() {
        let mut serve = Serve::spawn(dir.path(), &key, MEDIA_CONFIG).await;
        if round == 0 {
            let statuses = read_history(&serve, &key).await;
            assert_eq!(statuses.len(), 30);
            assert!(statuses.iter().all(|s| s == "pending"), "{statuses:?}");
        }
        let reached = sim
            .counters
            .wait_until(|c| c.method_total("upload.getFile") >= *point);
        tokio::time::timeout(HANG_GUARD, reached)
            .await
            .unwrap_or_else(|_| {
                panic!("the pipeline made no progress towards chunk request {point}")
            });
        serve.kill();
        kills += 1;
        let on_disk = stored(&dir.path().join("media")).len();
        println!(
            "round {round}: killed at chunk request {point} of {chunks}, {on_disk} objects stored so far"
        );
        assert!(on_disk < 30, "the kill came after the work was done");
    }
    sim.faults.clear();
    let mut serve = Serve::spawn(dir.path(), &key, MEDIA_CONFIG).await;
    until_all_stored(&mut serve, &key, &world, &dir.path().join("media")).await;
    let want = expected(&world);
    let have = stored(&dir.path().join("media"));
    let extra: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "files in storage that are no media: {extra:?}"
    );
    assert_eq!(have.len(), want.len(), "one object per media, no more");
    assert_eq!(have, want, "every media stored byte-exact under its key");
    let staging = dir.path().join("data").join("media-staging");
    let leftovers: Vec<_> = std::fs::read_dir(&staging)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "staging files left: {leftovers:?}");
    println!(
        "{kills} SIGKILLs: all {} media stored once, byte-exact",
        want.len()
    );
    // Telegram's counters: every chunk fetched, and no file fetched twice from 0 past what
    // was in flight when killed (at most media.downloads_total × media.parallel_chunks
    // requests per kill).
    let calls = sim.counters.method_total("upload.getFile");
    println!("upload.getFile calls: {calls} for {chunks} chunks");
    assert!(calls >= chunks);
    assert!(
        calls <= chunks + kills * 4 * 2,
        "{calls} calls for {chunks} chunks: downloads restarted instead of resuming"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_gibibyte_file_moves_through_the_gateway_with_bounded_memory() {
    const SIZE: u64 = 1 << 30;
    let mut chat = Chat::new(CHANNEL, ChatKind::Channel, "Big File");
    chat.username = Some("kill_test_media".into());
    chat.members = vec![ALICE, BOB];
    chat.messages.push(
        Message::text(1, 1_600_000_000, "a big one").with_media(Media::document(
            9_600_001,
            MediaKind::Video,
            SIZE,
        )),
    );
    let world = World::builder(808)
        .account(User::new(ALICE, "Alice"), "+15554000001")
        .account(User::new(BOB, "Bob"), "+15554000002")
        .chat(chat)
        .build()
        .expect("a consistent world");
    let Setup { sim: _sim, dir, .. } = Setup::start("media_serve", world.clone()).await;
    let key = keygen::generate();
    let mut serve = Serve::spawn(
        dir.path(),
        &key,
        "media.storage = local\nmedia.storage.local.dir = media\nrabbitmq.enabled = false\n",
    )
    .await;
    let statuses = read_history(&serve, &key).await;
    assert_eq!(statuses, ["pending"]);
    until_all_stored(&mut serve, &key, &world, &dir.path().join("media")).await;
    let peak = serve.peak_rss_bytes();
    println!(
        "peak resident memory of the gateway moving 1 GiB: {:.1} MiB",
        peak as f64 / (1 << 20) as f64
    );
    assert!(
        peak < 256 << 20,
        "the gateway's peak memory grew with the file: {peak} bytes"
    );
    assert_eq!(stored(&dir.path().join("media")), expected(&world));
}
