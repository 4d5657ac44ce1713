//! The media pipeline end to end: telesim's accounts fetch messages, the parser's hook
//! turns their media into account-bound tasks, the accounts' workers download them chunk
//! by chunk, and the upload queue stores them, on the local backend and on a real
//! S3-compatible server (moto).

use std::sync::Arc;
use tgc_model::teleclient::AccountId;

use testkit::guarded;
use testkit::moto::MotoServer;
use testkit::pipeline_setup::*;
use testkit::proxy::Proxy;
use tgc_model::media::TaskState;
use tgc_service::mediaprocessor::{MediaProcessor, Storage};
use tgc_service::parser::{ParseContext, parse_message};
use tokio_util::sync::CancellationToken;

/// moto's bucket reached through `proxy` (a storage outage when the proxy is cut).
fn s3_through(moto: &MotoServer, proxy: &Proxy) -> Storage {
    s3(&moto.settings_with(
        &format!("http://{}", proxy.addr),
        &moto.bucket,
        &moto.secret_key,
    ))
}

fn s3(settings: &tgc_common::config::MediaStorage) -> Storage {
    Storage::from_settings(settings).expect("S3 storage settings")
}

/// The pipeline over moto's S3 behind a proxy that is cut: storage is down from the start.
struct Outage {
    moto: MotoServer,
    proxy: Proxy,
    setup: Setup,
    pool: std::sync::Arc<tgc_model::teleclient::TeleClients>,
    cancel: CancellationToken,
    processor: MediaProcessor,
}

impl Outage {
    /// Starts the pipeline with `config` (from the setup's defaults) while storage is down.
    async fn start(
        config: impl FnOnce(&Setup) -> tgc_service::mediaprocessor::MediaConfig,
    ) -> Outage {
        let moto = MotoServer::start();
        let proxy = Proxy::start(moto.addr).await;
        let setup = start().await;
        let pool = setup.pool().await;
        let cancel = CancellationToken::new();
        proxy.cut();
        let processor = setup.pipeline(config(&setup), &pool, s3_through(&moto, &proxy), &cancel);
        Outage {
            moto,
            proxy,
            setup,
            pool,
            cancel,
            processor,
        }
    }

    /// Reads channel `c` through its first member, which queues its media.
    async fn read_channel(&self, c: usize) {
        read_channel(&self.pool, &self.processor, c, members(c)[0]).await;
    }

    /// With storage back, waits until channel `c`'s media are all stored, exactly, and none
    /// failed; then stops the pipeline.
    async fn end_with_channel_stored(self, c: usize) {
        until_stored(&self.processor, PER_CHANNEL as u64).await;
        assert_stored_exactly(&s3(&self.moto.settings()), &expected_of_channel(c)).await;
        let stats = self.processor.stats();
        assert!(stats.failures.is_empty(), "{stats:?}");
        self.cancel.cancel();
        self.processor.join().await;
    }
}

async fn two_hundred_media_land_once(storage_for: impl FnOnce(&Setup) -> Storage) {
    let setup = start().await;
    let pool = setup.pool().await;
    let cancel = CancellationToken::new();
    let storage = storage_for(&setup);
    let processor = start_pipeline(&setup, &pool, storage.clone(), &cancel);
    for c in 0..CHANNELS.count() {
        for account in members(c) {
            read_channel(&pool, &processor, c, account).await;
        }
    }
    let expected = expected();
    assert_eq!(expected.len(), 200);
    until_stored(&processor, 200).await;

    assert_stored_exactly(&storage, &expected).await;
    let stats = processor.stats();
    let total: u64 = expected.values().map(|(size, _)| size).sum();
    assert_eq!(
        stats.downloaded_bytes, total,
        "each media downloaded once although two accounts met it"
    );
    assert!(stats.failures.is_empty(), "{stats:?}");
    // Each chunk fetched once: the getFile calls are exactly the chunks of the files.
    let chunks: u64 = expected
        .values()
        .map(|(size, _)| size.div_ceil(512 * 1024).max(1))
        .sum();
    assert_eq!(setup.sim.counters.method_total("upload.getFile"), chunks);
    // The work was spread: every account downloaded something.
    for account in ACCOUNTS {
        assert!(
            setup.sim.counters.get(account, "upload.getFile") > 0,
            "account {account} downloaded nothing"
        );
    }
    println!(
        "200 media, {:.1} MB, {} getFile calls over 5 accounts: all stored once, byte-exact",
        total as f64 / 1e6,
        chunks
    );
    cancel.cancel();
    processor.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_media_across_five_accounts_land_once_byte_exact_in_local_storage() {
    two_hundred_media_land_once(Setup::local_storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_media_across_five_accounts_land_once_byte_exact_in_s3() {
    let moto = MotoServer::start();
    two_hundred_media_land_once(|_| s3(&moto.settings())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_owner_hands_its_tasks_to_another_account_that_sees_the_chat() {
    let setup = start().await;
    let pool = setup.pool().await;
    let [owner, _] = members(0);
    // Slow downloads so that the first run is stopped with every task still open.
    setup
        .sim
        .faults
        .method_latency("upload.getFile", std::time::Duration::from_millis(300));
    let cancel = CancellationToken::new();
    let first = start_pipeline(&setup, &pool, setup.local_storage(), &cancel);
    read_channel(&pool, &first, 0, owner).await;
    // Queued downloads weigh on the owner in the pool's picks.
    let pending = pool
        .account(AccountId(owner))
        .expect("the owner")
        .pending_downloads();
    assert!(pending > 0, "the owner's queued downloads are not counted");
    cancel.cancel();
    first.join().await;
    drop(first);

    // The owner's key is revoked while the gateway is down.
    setup.sim.faults.clear();
    setup.sim.faults.auth_key_unregistered(owner);
    let cancel = CancellationToken::new();
    let storage = setup.local_storage();
    let second = start_pipeline(&setup, &pool, storage.clone(), &cancel);
    until_stored(&second, PER_CHANNEL as u64).await;
    let stats = second.stats();
    assert!(stats.takeovers > 0, "{stats:?}");
    // The channel is public: the pool may give the tasks to any living account that can
    // read it, the other member or not.
    let by_others: u64 = ACCOUNTS
        .iter()
        .filter(|a| **a != owner)
        .map(|a| setup.sim.counters.get(*a, "upload.getFile"))
        .sum();
    assert!(by_others > 0, "nobody else downloaded");
    let channel_zero = expected_of_channel(0);
    assert_stored_exactly(&storage, &channel_zero).await;
    for m in 1..=PER_CHANNEL {
        let task = second.task(media_id(0, m)).unwrap().unwrap();
        assert_eq!(task.state, TaskState::Stored);
        assert_ne!(
            task.owner,
            AccountId(owner),
            "media {} stayed with the dead owner",
            task.media_id
        );
    }
    cancel.cancel();
    second.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_outage_is_retried_with_backoff_until_storage_is_back() {
    let outage = Outage::start(config).await;
    outage.read_channel(1).await;
    let processor = &outage.processor;
    let mut stats = processor.watch_stats();
    guarded(
        "upload retries during the outage",
        stats.wait_for(|_| processor.stats().upload_retries >= 3),
    )
    .await
    .expect("the pipeline runs");
    assert_eq!(
        processor.stats().stored,
        0,
        "nothing stored while storage is down"
    );
    outage.proxy.restore();
    outage.end_with_channel_stored(1).await;
}

/// Holds a write lock on the task table (as another process could) until `release` says.
fn hold_the_task_table(
    data: &std::path::Path,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let path = data.join(tgc_model::media::task_store::FILE_NAME);
    let (locked, is_locked) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut other = rusqlite::Connection::open(&path).expect("the task table opens");
        let hold = other
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("the write lock");
        locked.send(()).expect("the test waits");
        let _ = released.recv();
        hold.rollback().expect("let go");
    });
    is_locked.recv().expect("the lock is held");
    (release, holder)
}

/// The task table refuses the write that records an upload (its lock held elsewhere past
/// the busy timeout, as a failing disk would refuse it): the upload is not forgotten in
/// `uploading` until the next start; it is held, counted, and recorded once the table
/// takes writes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_task_table_write_holds_the_task_until_it_can_be_recorded() {
    let outage = Outage::start(config).await;
    outage.read_channel(1).await;
    let processor = &outage.processor;
    let uploading = || {
        processor
            .counts()
            .into_iter()
            .find(|(state, _)| *state == TaskState::Uploading)
            .map_or(0, |(_, n)| n)
    };
    // Every download done, every upload waiting for storage (retries keep the stats moving).
    let mut stats = processor.watch_stats();
    guarded(
        "every task downloaded, waiting for storage",
        stats.wait_for(|_| uploading() == PER_CHANNEL as u64),
    )
    .await
    .expect("the pipeline runs");

    let (release, holder) = hold_the_task_table(&outage.setup.data());
    outage.proxy.restore();
    guarded(
        "an upload's record refused",
        stats.wait_for(|_| processor.stats().table_retries >= 1),
    )
    .await
    .expect("the pipeline runs");
    release.send(()).expect("the holder waits");
    holder.join().expect("the holder let go");

    until_stored(processor, PER_CHANNEL as u64).await;
    assert_eq!(uploading(), 0);
    println!(
        "{} refused steps held and retried",
        processor.stats().table_retries
    );
    outage.end_with_channel_stored(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_storage_outage_staging_holds_no_more_than_its_cap_and_nothing_fails() {
    // Channel 0 holds 1-10 MB files and two of 50 MB: far more than the cap.
    let cap = 12_000_000;
    let outage = Outage::start(|setup| tgc_service::mediaprocessor::MediaConfig {
        staging_max: cap,
        ..config(setup)
    })
    .await;
    outage.read_channel(0).await;
    let processor = &outage.processor;
    let mut stats = processor.watch_stats();
    guarded(
        "downloads pause for the full staging directory",
        stats.wait_for(|_| processor.stats().staging_waits >= 3),
    )
    .await
    .expect("the pipeline runs");
    let staged: Vec<u64> = std::fs::read_dir(outage.setup.data().join("media-staging"))
        .expect("the staging directory")
        .map(|entry| entry.expect("an entry").metadata().expect("metadata").len())
        .collect();
    let bytes: u64 = staged.iter().sum();
    assert!(
        bytes <= cap || staged.len() == 1,
        "staging holds {bytes} bytes in {} files, over the cap of {cap}",
        staged.len()
    );
    assert_eq!(processor.stats().stored, 0, "storage is down");

    outage.proxy.restore();
    outage.end_with_channel_stored(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_makes_downloads_wait_not_fail_and_they_resume_when_there_is_room() {
    let setup = start().await;
    let pool = setup.pool().await;
    let cancel = CancellationToken::new();
    // The pipeline's task table and staging on a small filesystem of their own.
    let media_data = setup.dir.path().join("media-data");
    let disk = testkit::tmpfs::Tmpfs::mount(&media_data, "128m");
    let config = tgc_service::mediaprocessor::MediaConfig {
        data_dir: media_data.clone(),
        ..config(&setup)
    };
    let processor = setup.pipeline(config, &pool, setup.local_storage(), &cancel);
    // Room for the task table's writes, not for the files.
    disk.fill_leaving(512 * 1024);
    read_channel(&pool, &processor, 0, members(0)[0]).await;
    let mut stats = processor.watch_stats();
    guarded(
        "downloads wait for the full disk",
        stats.wait_for(|_| processor.stats().disk_full_waits >= 2),
    )
    .await
    .expect("the pipeline runs");
    assert!(
        processor.stats().failures.is_empty(),
        "{:?}",
        processor.stats()
    );
    for m in 1..=PER_CHANNEL {
        let task = processor
            .task(media_id(0, m))
            .expect("the task table")
            .expect("a task for every media");
        assert_eq!(
            task.attempts, 0,
            "a full disk is no failed attempt (10 of those fail a task for good): {task:?}"
        );
    }

    disk.free();
    until_stored(&processor, PER_CHANNEL as u64).await;
    let channel_zero = expected_of_channel(0);
    assert_stored_exactly(&setup.local_storage(), &channel_zero).await;
    assert!(
        processor.stats().failures.is_empty(),
        "{:?}",
        processor.stats()
    );
    cancel.cancel();
    processor.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind_filters_and_size_caps_skip_media_without_downloading_it() {
    let setup = start().await;
    let pool = setup.pool().await;
    let cancel = CancellationToken::new();
    let mut config = config(&setup);
    config.kinds = vec![tgc_common::config::MediaKind::Photo];
    config.max_size = 100_000;
    let processor = MediaProcessor::start(
        config,
        setup.local_storage(),
        Arc::clone(&pool),
        cancel.clone(),
    )
    .expect("the pipeline starts");
    let account = members(3)[0];
    let answer = history_via(&pool, account, &channel_name(3), CHANNELS.start + 3).await;
    let cx =
        ParseContext::from_messages(&answer, AccountId(account)).with_media_hook(processor.hook());
    let tgc_model::teleclient::tl::enums::messages::Messages::ChannelMessages(page) = &answer
    else {
        panic!("a channel's history");
    };
    let mut queued = 0;
    for message in &page.messages {
        let json = parse_message(message, &cx);
        let media = &json["media"];
        let wanted = media["kind"] == "photo" && media["size"].as_u64().unwrap() <= 100_000;
        let status = media["storage"]["status"].as_str().unwrap();
        if wanted {
            assert_eq!(status, "pending", "{json}");
            queued += 1;
        } else {
            assert_eq!(status, "skipped", "{json}");
            let id = media["id"].as_i64().unwrap();
            assert!(
                processor.task(id).unwrap().is_none(),
                "no task for a skipped media"
            );
        }
    }
    assert!(queued > 0, "the channel has small photos");
    until_stored(&processor, queued).await;
    cancel.cancel();
    processor.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_account_and_global_download_limits_hold() {
    let setup = start().await;
    let pool = setup.pool().await;
    // Latency keeps every request in flight long enough for the limits to be reached.
    setup
        .sim
        .faults
        .method_latency("upload.getFile", std::time::Duration::from_millis(20));
    let cancel = CancellationToken::new();
    let config = tgc_service::mediaprocessor::MediaConfig {
        downloads_per_account: 1,
        downloads_total: 3,
        parallel_chunks: 2,
        ..config(&setup)
    };
    let processor = MediaProcessor::start(
        config,
        setup.local_storage(),
        Arc::clone(&pool),
        cancel.clone(),
    )
    .expect("the pipeline starts");
    // One channel per account, so every account has a queue of its own.
    for c in 0..5 {
        read_channel(&pool, &processor, c, members(c)[0]).await;
    }
    until_stored(&processor, 5 * PER_CHANNEL as u64).await;
    let counters = &setup.sim.counters;
    for account in ACCOUNTS {
        let peak = counters.peak_in_flight(account, "upload.getFile");
        assert!(
            peak <= 2,
            "account {account} had {peak} chunk requests in flight; 1 download × 2 chunks allowed"
        );
    }
    let total = counters.peak_in_flight_total("upload.getFile");
    println!("peak upload.getFile in flight: {total} (limit 3 downloads × 2 chunks)");
    assert!(
        total <= 6,
        "{total} chunk requests in flight; 3 × 2 allowed"
    );
    assert!(total > 2, "downloads of several accounts ran at once");
    cancel.cancel();
    processor.join().await;
}
