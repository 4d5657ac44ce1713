//! Peak memory of `tgcollector serve` (this bench's release build, a process of its own)
//! moving one big file from telesim into local storage: the history call that meets it, the
//! chunked download, the upload into storage. What a file of any size costs should be the
//! pipeline's buffers, not the file. Run with `cargo bench --bench big_file`;
//! `TGC_BENCH_FILE_MIB` sets the size (default 1024, one gibibyte).

use std::time::{Duration, Instant};

use telesim::world::{Chat, ChatKind, Media, MediaKind, Message, User, World};
use testkit::Setup;
use testkit::served::{Served, cryptor_of};
use tgc_service::cryptor::keygen;
use tgc_service::handler::gateway_client::{GatewayClient, params_from_arg};

const CHANNEL: i64 = 9_700_000;
const MEDIA_ID: i64 = 9_700_001;
const ALICE: i64 = 1_001;

fn main() {
    let mib: u64 = testkit::bench::env_number("TGC_BENCH_FILE_MIB", 1024);
    let runtime = testkit::bench::runtime();
    runtime.block_on(run(mib << 20));
}

async fn run(size: u64) {
    let mut chat = Chat::new(CHANNEL, ChatKind::Channel, "Big File");
    chat.username = Some("big_file".into());
    chat.members = vec![ALICE];
    chat.messages.push(
        Message::text(1, 1_600_000_000, "a big one").with_media(Media::document(
            MEDIA_ID,
            MediaKind::Video,
            size,
        )),
    );
    let world = World::builder(909)
        .account(User::new(ALICE, "Alice"), "+15554000001")
        .chat(chat)
        .build()
        .expect("a consistent world");
    let setup = Setup::start("big_file", world).await;
    let key = keygen::generate();
    let gateway = Served::start_in(
        env!("CARGO_BIN_EXE_tgcollector"),
        setup.dir.path(),
        &key,
        "log.level = warn\nmedia.storage = local\nmedia.storage.local.dir = media\n\
         pool.method_rates = none",
    )
    .await;
    let mut client = GatewayClient::connect(gateway.api, cryptor_of(&key))
        .await
        .expect("connects to the gateway");
    let before = gateway.peak_rss();
    let started = Instant::now();
    client
        .query(
            "history",
            &params_from_arg(Some(r#"{"chat": "@big_file", "limit": 10}"#)).expect("params"),
        )
        .await
        .expect("history");
    let media = params_from_arg(Some(&format!(r#"{{"media_id": {MEDIA_ID}}}"#))).expect("params");
    loop {
        let reply = client.query("media", &media).await.expect("media");
        match reply["storage"]["status"].as_str() {
            Some("stored") => break,
            Some("pending") => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("the file did not store: {other:?} in {reply}"),
        }
    }
    let took = started.elapsed();
    let mib = size as f64 / (1u64 << 20) as f64;
    println!(
        "one file of {mib:.0} MiB from telesim into local storage through `serve`: {:.1} s ({:.0} MiB/s)",
        took.as_secs_f64(),
        mib / took.as_secs_f64()
    );
    println!(
        "  peak resident memory of serve: {:.1} MiB (at start, before the file: {:.1} MiB)",
        gateway.peak_rss() as f64 / (1u64 << 20) as f64,
        before as f64 / (1u64 << 20) as f64
    );
}
