//! End-to-end media throughput: the pipeline over 10 accounts beside one sequential stream,
//! with 50 ms of latency injected into every `upload.getFile`, in the same run.
//!
//! 1. Sequential: one account downloads every file one chunk (512 KiB) at a time, the way a
//!    simple collector loop does; bytes are only hashed, not stored.
//! 2. The pipeline: each of the 10 accounts reads its channel's history, the parser's hook
//!    queues the media on it, and the workers download in parallel chunks and store into
//!    local storage; timed from the first history read to the last object stored.
//!
//! Telegram's latency dominates a real deployment far more than here (telesim is on
//! loopback), which is what the injected 50 ms stands for. `cargo bench -p tgc-service
//! --bench media`; `TGC_BENCH_MEDIA_MB` sets the size of each of the 20 files (default 8).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use telesim::world::{Chat, ChatKind, Media, MediaKind, Message, User, World};
use testkit::Setup;
use tgc_model::media::TaskState;
use tgc_model::teleclient::{AccountId, TeleClients, tl};
use tgc_service::mediaprocessor::{MediaConfig, MediaProcessor, Storage};
use tgc_service::parser::{ParseContext, parse_message};
use tokio_util::sync::CancellationToken;

const ACCOUNTS: i64 = 10;
const FILES_PER_ACCOUNT: i32 = 2;
const LATENCY: Duration = Duration::from_millis(50);
const CHUNK: i32 = 512 * 1024;

fn main() {
    let file_mb: u64 = testkit::bench::env_number("TGC_BENCH_MEDIA_MB", 8);
    let runtime = testkit::bench::runtime();
    runtime.block_on(async {
        let size = file_mb * 1_000_000;
        let world = world(size);
        let setup = Setup::start("media_bench", world)
            .await
            .reconnecting_within(Duration::from_secs(2));
        setup.sim.faults.method_latency("upload.getFile", LATENCY);
        let pool = setup.pool().await;
        let dir = setup.dir.path();
        let total = size * (ACCOUNTS as u64) * FILES_PER_ACCOUNT as u64;

        let sequential = sequential(&pool, size).await;
        let pipeline = pipeline(&pool, dir, total).await;
        let mb = total as f64 / 1e6;
        println!(
            "{} files of {file_mb} MB ({mb:.0} MB), {LATENCY:?} injected per upload.getFile:",
            ACCOUNTS * FILES_PER_ACCOUNT as i64
        );
        println!(
            "  sequential, one stream:           {:>7.1} MB/s ({:.1} s)",
            mb / sequential.as_secs_f64(),
            sequential.as_secs_f64()
        );
        println!(
            "  pipeline, 10 accounts, to storage: {:>7.1} MB/s ({:.1} s, {:.1}x)",
            mb / pipeline.as_secs_f64(),
            pipeline.as_secs_f64(),
            sequential.as_secs_f64() / pipeline.as_secs_f64()
        );
    });
}

fn account_id(i: i64) -> i64 {
    7300 + i
}

fn media_id(i: i64, f: i32) -> i64 {
    9_700_000 + i * 100 + i64::from(f)
}

/// One channel per account, each with its files.
fn world(size: u64) -> World {
    let mut builder = World::builder(909);
    for i in 0..ACCOUNTS {
        builder = builder.account(
            User::new(account_id(i), &format!("Bench{i}")),
            &format!("+1555500{i:04}"),
        );
        let mut chat = Chat::new(830_000 + i, ChatKind::Channel, format!("Bench {i}"));
        chat.username = Some(format!("bench_media_{i}"));
        chat.members = vec![account_id(i)];
        for f in 1..=FILES_PER_ACCOUNT {
            chat.messages.push(
                Message::text(f, 1_600_000_000 + f, "file").with_media(Media::document(
                    media_id(i, f),
                    MediaKind::Video,
                    size,
                )),
            );
        }
        builder = builder.chat(chat);
    }
    builder.build().expect("a consistent world")
}

/// The history of account `i`'s channel, fetched by that account.
async fn history(pool: &TeleClients, i: i64) -> tl::enums::messages::Messages {
    testkit::pipeline_setup::history_via(
        pool,
        account_id(i),
        &format!("bench_media_{i}"),
        830_000 + i,
    )
    .await
}

fn documents(answer: &tl::enums::messages::Messages) -> Vec<tl::types::Document> {
    let tl::enums::messages::Messages::ChannelMessages(page) = answer else {
        return Vec::new();
    };
    page.messages
        .iter()
        .filter_map(|m| match m {
            tl::enums::Message::Message(m) => match &m.media {
                Some(tl::enums::MessageMedia::Document(d)) => match &d.document {
                    Some(tl::enums::Document::Document(doc)) => Some(doc.clone()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Every file, one chunk at a time, by one account (each account fetches its own channel's
/// files since references are per account; still one request in flight at any time).
async fn sequential(pool: &TeleClients, size: u64) -> Duration {
    let started = Instant::now();
    let mut hashed = 0u64;
    for i in 0..ACCOUNTS {
        let answer = history(pool, i).await;
        let account = pool.account(AccountId(account_id(i))).expect("an account");
        for doc in documents(&answer) {
            let mut hasher = Sha256::new();
            let mut offset = 0i64;
            loop {
                let file = account
                    .client()
                    .invoke(&tl::functions::upload::GetFile {
                        precise: false,
                        cdn_supported: false,
                        location: tl::types::InputDocumentFileLocation {
                            id: doc.id,
                            access_hash: doc.access_hash,
                            file_reference: doc.file_reference.clone(),
                            thumb_size: String::new(),
                        }
                        .into(),
                        offset,
                        limit: CHUNK,
                    })
                    .await
                    .expect("a chunk");
                let tl::enums::upload::File::File(file) = file else {
                    panic!("a CDN redirect from telesim")
                };
                hasher.update(&file.bytes);
                hashed += file.bytes.len() as u64;
                offset += i64::from(CHUNK);
                if file.bytes.len() < CHUNK as usize {
                    break;
                }
            }
            std::hint::black_box(hasher.finalize());
        }
    }
    assert_eq!(hashed, size * (ACCOUNTS as u64) * FILES_PER_ACCOUNT as u64);
    started.elapsed()
}

async fn pipeline(pool: &Arc<TeleClients>, dir: &std::path::Path, total: u64) -> Duration {
    let cancel = CancellationToken::new();
    let config = MediaConfig {
        max_size: 4 << 30,
        downloads_total: 20,
        ..MediaConfig::defaults(dir.join("data"))
    };
    let storage = Storage::local(dir.join("media")).expect("local storage");
    let processor = MediaProcessor::start(config, storage, Arc::clone(pool), cancel.clone())
        .expect("the pipeline starts");
    let mut stored = processor.watch_stored();
    let started = Instant::now();
    let reads = (0..ACCOUNTS).map(|i| {
        let processor = &processor;
        async move {
            let answer = history(pool, i).await;
            let cx = ParseContext::from_messages(&answer, AccountId(account_id(i)))
                .with_media_hook(processor.hook());
            if let tl::enums::messages::Messages::ChannelMessages(page) = &answer {
                for message in &page.messages {
                    std::hint::black_box(parse_message(message, &cx));
                }
            }
        }
    });
    futures_util::future::join_all(reads).await;
    let files = (ACCOUNTS as u64) * FILES_PER_ACCOUNT as u64;
    while *stored.borrow_and_update() < files {
        stored.changed().await.expect("the pipeline runs");
    }
    let elapsed = started.elapsed();
    let counts = processor.counts();
    assert!(counts.contains(&(TaskState::Stored, files)), "{counts:?}");
    assert_eq!(processor.stats().uploaded_bytes, total);
    cancel.cancel();
    processor.join().await;
    elapsed
}
