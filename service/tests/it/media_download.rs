//! `tgc_model::media` against telesim: byte-exact chunked downloads, and what a download
//! does under a flood wait, dropped connections, an expired file reference and a restart,
//! proven by telesim's request counters; and the task store on disk.

use std::os::unix::fs::{FileExt, PermissionsExt};
use std::sync::Arc;
use std::time::Duration;

use crate::media_support::*;
use telesim::FaultSpan;
use tgc_model::media::{
    DownloadError, FileKind, Inserted, MediaTask, TaskState, TaskStore, download, plan,
};
use tgc_model::teleclient::AccountId;

/// telesim batches whatever answers are ready into one container of up to 1 MiB plus the
/// last answer, and grammers refuses (panics in its sender task on) a container above about
/// 1 020 KiB; real Telegram never sends one. So no test has more than this many answer bytes
/// in flight at once (parallel × chunk size).
const SIM_IN_FLIGHT_BYTES: u64 = 1000 * 1024;

/// Downloads `sample` with `chunk_size` and `parallel` workers and checks its bytes.
async fn download_and_check(setup: &Setup, sample: Sample, chunk_size: u32, parallel: usize) {
    assert!(u64::from(chunk_size) * parallel as u64 <= SIM_IN_FLIGHT_BYTES);
    let task = setup.task(sample).await;
    let staging = setup.staging(sample);
    let before = setup.get_file_calls();
    let location = setup
        .download(&task, &staging, chunk_size, parallel)
        .await
        .unwrap_or_else(|error| panic!("downloading {sample:?}: {error}"));
    assert_eq!(location, task.location, "nothing expired, nothing moved");
    assert_eq!(
        file_sha(&staging),
        expected_sha(sample),
        "the bytes of {sample:?}"
    );
    let chunks = plan(sample.size, chunk_size).len() as u64;
    assert_eq!(
        setup.get_file_calls() - before,
        chunks,
        "one upload.getFile per chunk of {sample:?}"
    );
    assert_eq!(
        setup.store.chunks_done(sample.media_id).unwrap().len() as u64,
        chunks,
        "every chunk recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_byte_exact_for_tiny_odd_mebibyte_crossing_large_files_and_a_photo() {
    let setup = Setup::new().await;
    // In flight at once: under 1 MiB of answers (see `SIM_IN_FLIGHT_BYTES`).
    download_and_check(&setup, ONE_BYTE, 512 * 1024, 1).await;
    download_and_check(&setup, UNDER_A_KIB, 512 * 1024, 1).await;
    download_and_check(&setup, OVER_A_MIB, 512 * 1024, 1).await;
    download_and_check(&setup, FIVE_MB, 256 * 1024, 3).await;
    download_and_check(&setup, PHOTO, 64 * 1024, 3).await;
    // The photo's task carries its largest size type, which telesim serves those bytes for.
    let photo = setup
        .store
        .get(PHOTO.media_id)
        .unwrap()
        .expect("photo task");
    assert_eq!(photo.location.kind, FileKind::Photo);
    assert_eq!(photo.location.thumb_size, "y");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_chunks_in_parallel_reassemble_exactly() {
    let setup = Setup::new().await;
    download_and_check(&setup, FIVE_MB, 16 * 1024, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_wait_mid_file_is_waited_out_and_fetches_each_chunk_once() {
    let setup = Setup::new().await;
    let sample = THREE_MIB;
    let task = setup.task(sample).await;
    let chunk_size = 128 * 1024;
    let chunks = plan(sample.size, chunk_size).len() as u64;
    let refused = 3;
    // Ten chunks go through, then three calls are refused with FLOOD_WAIT_1.
    setup.base.sim.faults.flood_wait(
        ALICE,
        "upload.getFile",
        1,
        FaultSpan::After {
            pass: 10,
            calls: refused,
        },
    );
    let before = setup.get_file_calls();
    let staging = setup.staging(sample);
    setup
        .download(&task, &staging, chunk_size, 4)
        .await
        .expect("the download outlasts the flood wait");
    assert_eq!(file_sha(&staging), expected_sha(sample));
    assert_eq!(
        setup.get_file_calls() - before,
        chunks + u64::from(refused),
        "each chunk fetched once, plus the refused calls (no restart from 0)"
    );
    let report = setup.account.report(std::time::Instant::now());
    assert!(report.flood_waits >= 1, "the account cooled: {report:?}");
}

/// A chunk that comes back corrupted (telesim flips one byte of it) differs from Telegram's
/// hash of its part: only the chunks under that part are fetched again, once, and the file
/// ends byte-exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_chunk_is_caught_by_telegrams_hashes_and_fetched_again() {
    let setup = Setup::new().await;
    let sample = THREE_MIB;
    let task = setup.task(sample).await;
    let chunk_size = 128 * 1024;
    let chunks = plan(sample.size, chunk_size).len() as u64;
    setup
        .base
        .sim
        .telegram
        .corrupt_chunks(sample.media_id, MIB + 5, 1);
    let before = setup.get_file_calls();
    let hashes_before = setup.base.sim.counters.get(ALICE, "upload.getFileHashes");
    let staging = setup.staging(sample);
    setup
        .download(&task, &staging, chunk_size, 4)
        .await
        .expect("the corrupted part is fetched again");
    assert_eq!(file_sha(&staging), expected_sha(sample));
    assert_eq!(
        setup.get_file_calls() - before,
        chunks + 1,
        "each chunk once, and the corrupted one again"
    );
    let hash_calls = setup.base.sim.counters.get(ALICE, "upload.getFileHashes") - hashes_before;
    assert!(
        hash_calls >= 2,
        "the file was checked, and the part fetched again checked again: {hash_calls} calls"
    );
}

/// A part that is still wrong after it was fetched again ends the download with a
/// hash mismatch naming the part, instead of storing a corrupted file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_stays_corrupted_ends_the_download_with_a_hash_mismatch() {
    let setup = Setup::new().await;
    let sample = THREE_MIB;
    let task = setup.task(sample).await;
    setup
        .base
        .sim
        .telegram
        .corrupt_chunks(sample.media_id, MIB + 5, 2);
    let staging = setup.staging(sample);
    let result = setup.download(&task, &staging, 128 * 1024, 4).await;
    match result {
        Err(DownloadError::HashMismatch { offset, len, .. }) => {
            assert!(
                offset <= MIB + 5 && MIB + 5 < offset + len,
                "{offset}+{len}"
            );
        }
        other => panic!("a hash mismatch, not {other:?}"),
    }
}

/// Runs the download of `sample` in a task of its own, so the test can act mid-file.
fn spawn_download(
    setup: &Setup,
    task: MediaTask,
    sample: Sample,
    chunk_size: u32,
    parallel: usize,
) -> tokio::task::JoinHandle<Result<tgc_model::media::FileLocation, tgc_model::media::DownloadError>>
{
    let account = Arc::clone(&setup.account);
    let store = Arc::clone(&setup.store);
    let staging = setup.staging(sample);
    tokio::spawn(async move {
        download(
            &account,
            &task,
            &store,
            &staging,
            &options(chunk_size, parallel),
        )
        .await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_mid_file_resume_without_refetching_finished_chunks() {
    const DROPS: usize = 3;
    let setup = Setup::new().await;
    let sample = THREE_MIB;
    let task = setup.task(sample).await;
    let chunk_size = 64 * 1024;
    let parallel = 4;
    let chunks = plan(sample.size, chunk_size).len();
    // Slow answers, so the drop lands while most of the file is still to come.
    setup
        .base
        .sim
        .faults
        .method_latency("upload.getFile", Duration::from_millis(40));
    let before = setup.get_file_calls();
    let running = spawn_download(&setup, task, sample, chunk_size, parallel);
    let store = Arc::clone(&setup.store);
    setup
        .until("eight chunks downloaded", || {
            store.chunks_done(sample.media_id).unwrap().len() >= 8
        })
        .await;
    // Dropped again as soon as grammers has dialled back, so the requests it resends on
    // its own are lost too and the failure reaches the download (and the account's
    // reconnect loop), not only grammers' single retry.
    let disconnections = |setup: &Setup| {
        setup
            .account
            .report(std::time::Instant::now())
            .disconnections
    };
    let disconnected_before = disconnections(&setup);
    for round in 0..DROPS {
        let closed = setup.base.sim.faults.drop_connections(ALICE);
        let done = setup.store.chunks_done(sample.media_id).unwrap().len();
        assert!(closed >= 1, "drop {round}: a connection was open to drop");
        assert!(
            done < chunks,
            "drop {round} landed mid-file ({done} of {chunks} chunks done)"
        );
        let faults = setup.base.sim.faults.clone();
        setup
            .until("the account dials back", || {
                faults.open_connections(ALICE) >= 1
            })
            .await;
    }
    guarded("download", running)
        .await
        .expect("the download task ran")
        .expect("the download survives the dropped connections");
    assert_eq!(file_sha(&setup.staging(sample)), expected_sha(sample));
    let calls = setup.get_file_calls() - before;
    assert!(
        disconnections(&setup) > disconnected_before,
        "a drop reached the download and sent the account to its reconnect loop"
    );
    // Chunks already recorded are never asked again; only those in flight at a drop are
    // (each at most twice: grammers resends once on its own before reporting).
    let bound = chunks + DROPS * 2 * parallel;
    assert!(
        calls >= chunks as u64 && calls <= bound as u64,
        "{calls} upload.getFile calls for {chunks} chunks, {DROPS} drops, {parallel} in flight"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_file_reference_mid_file_is_refreshed_once_and_the_download_finishes() {
    let setup = Setup::new().await;
    let sample = THREE_MIB;
    let task = setup.task(sample).await;
    let chunk_size = 64 * 1024;
    let parallel = 4;
    let chunks = plan(sample.size, chunk_size).len();
    setup
        .base
        .sim
        .faults
        .method_latency("upload.getFile", Duration::from_millis(20));
    let refetches_before = setup.base.sim.counters.get(ALICE, "channels.getMessages");
    let before = setup.get_file_calls();
    let running = spawn_download(&setup, task.clone(), sample, chunk_size, parallel);
    let store = Arc::clone(&setup.store);
    setup
        .until("eight chunks downloaded", || {
            store.chunks_done(sample.media_id).unwrap().len() >= 8
        })
        .await;
    setup
        .base
        .sim
        .telegram
        .expire_file_reference(sample.media_id);
    let done_at_expiry = setup.store.chunks_done(sample.media_id).unwrap().len();
    assert!(done_at_expiry < chunks, "the expiry landed mid-file");
    let location = guarded("download", running)
        .await
        .expect("the download task ran")
        .expect("the download survives the expiry");
    assert_eq!(file_sha(&setup.staging(sample)), expected_sha(sample));
    assert_ne!(
        location.file_reference, task.location.file_reference,
        "a fresh reference"
    );
    let stored = setup.store.get(sample.media_id).unwrap().expect("task");
    assert_eq!(
        stored.location, location,
        "the store has the fresh location"
    );
    assert_eq!(
        setup.base.sim.counters.get(ALICE, "channels.getMessages") - refetches_before,
        1,
        "one refetch for all workers"
    );
    let calls = setup.get_file_calls() - before;
    assert!(
        calls >= chunks as u64 && calls <= (chunks + parallel) as u64,
        "{calls} upload.getFile calls for {chunks} chunks: only those refused were repeated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_task_fetches_only_the_chunks_it_lacks() {
    let setup = Setup::new().await;
    let sample = THREE_MIB;
    let task = setup.task(sample).await;
    let chunk_size = 128 * 1024;
    let all = plan(sample.size, chunk_size);
    // As a crash would leave it: some chunks written and recorded, here and there.
    let staging = setup.staging(sample);
    std::fs::create_dir_all(staging.parent().unwrap()).unwrap();
    let file = std::fs::File::create(&staging).unwrap();
    file.set_len(sample.size).unwrap();
    let already: Vec<u32> = vec![0, 1, 2, 3, 7, 11, all.len() as u32 - 1];
    for &index in &already {
        let chunk = all[index as usize];
        let bytes = telesim::world::media_bytes(
            SEED,
            sample.media_id,
            "",
            chunk.offset,
            chunk.len as usize,
        );
        file.write_all_at(&bytes, chunk.offset).unwrap();
        setup.store.mark_chunk(sample.media_id, index).unwrap();
    }
    drop(file);
    let before = setup.get_file_calls();
    setup
        .download(&task, &staging, chunk_size, 4)
        .await
        .expect("the resumed download finishes");
    assert_eq!(file_sha(&staging), expected_sha(sample));
    assert_eq!(
        setup.get_file_calls() - before,
        (all.len() - already.len()) as u64,
        "only the missing chunks were fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_chunks_of_a_lost_staging_file_are_fetched_again() {
    let setup = Setup::new().await;
    let sample = OVER_A_MIB;
    let task = setup.task(sample).await;
    let chunk_size = 256 * 1024;
    for index in 0..3 {
        setup.store.mark_chunk(sample.media_id, index).unwrap();
    }
    let staging = setup.staging(sample);
    assert!(!staging.exists());
    let before = setup.get_file_calls();
    setup
        .download(&task, &staging, chunk_size, 2)
        .await
        .expect("the download finishes");
    assert_eq!(file_sha(&staging), expected_sha(sample));
    assert_eq!(
        setup.get_file_calls() - before,
        plan(sample.size, chunk_size).len() as u64
    );
}

fn store_task(media_id: i64) -> MediaTask {
    MediaTask {
        media_id,
        key: format!("key-{media_id}"),
        kind: "video".into(),
        mime_type: Some("video/mp4".into()),
        size: 12_345_678,
        owner: AccountId(ALICE),
        chat_id: -1_000_000_000_042,
        message_id: 17,
        location: tgc_model::media::FileLocation {
            kind: FileKind::Document,
            id: media_id,
            access_hash: -99,
            file_reference: vec![0, 1, 2, 250],
            thumb_size: String::new(),
            dc_id: 4,
        },
        state: TaskState::Queued,
        attempts: 0,
        last_error: None,
        created_ms: 1_700_000_000_000,
        updated_ms: 1_700_000_000_000,
    }
}

#[test]
fn the_store_keeps_one_task_per_media_and_its_state_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    {
        let store = TaskStore::open_in(&path).unwrap();
        assert_eq!(store.insert(&store_task(3)).unwrap(), Inserted::New);
        assert_eq!(store.insert(&store_task(1)).unwrap(), Inserted::New);
        assert_eq!(store.insert(&store_task(2)).unwrap(), Inserted::New);
        let mut again = store_task(1);
        again.owner = AccountId(1234);
        assert_eq!(
            store.insert(&again).unwrap(),
            Inserted::Existing(TaskState::Queued),
            "a second insert of the same media leaves the first"
        );
        assert_eq!(store.get(1).unwrap().unwrap().owner, AccountId(ALICE));

        store
            .set_state(1, TaskState::Downloading, Some("FLOOD_WAIT_5"))
            .unwrap();
        store.set_state(1, TaskState::Uploading, None).unwrap();
        store.set_state(2, TaskState::Stored, None).unwrap();
        assert_eq!(
            store.insert(&store_task(2)).unwrap(),
            Inserted::Existing(TaskState::Stored)
        );
        let moved = tgc_model::media::FileLocation {
            access_hash: 777,
            file_reference: vec![9; 20],
            dc_id: 2,
            ..store_task(3).location
        };
        store.set_owner(3, AccountId(7999), &moved).unwrap();
        store.mark_chunk(3, 0).unwrap();
        store.mark_chunk(3, 5).unwrap();
        store.mark_chunk(3, 5).unwrap();
        assert!(store.set_state(404, TaskState::Failed, None).is_err());
        assert_eq!(
            counts_by_state(&store),
            [1, 0, 1, 1, 0, 0],
            "the counts follow every write"
        );
    }
    let file = path.join(tgc_model::media::task_store::FILE_NAME);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the store holds file references: owner only");

    let store = TaskStore::open_in(&path).unwrap();
    let one = store.get(1).unwrap().expect("task 1 survives");
    assert_eq!(one.state, TaskState::Uploading);
    assert_eq!(one.attempts, 1, "one failure counted");
    assert_eq!(one.last_error.as_deref(), Some("FLOOD_WAIT_5"));
    assert_eq!(one.location, store_task(1).location);
    assert_eq!(one.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(one.size, 12_345_678);
    let three = store.get(3).unwrap().unwrap();
    assert_eq!(
        (three.owner, three.location.access_hash),
        (AccountId(7999), 777)
    );
    assert_eq!(three.location.file_reference, vec![9; 20]);
    assert_eq!(
        store
            .chunks_done(3)
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [0, 5]
    );
    store.clear_chunks(3).unwrap();
    assert!(store.chunks_done(3).unwrap().is_empty());

    let unfinished: Vec<i64> = store
        .unfinished()
        .unwrap()
        .iter()
        .map(|t| t.media_id)
        .collect();
    assert_eq!(
        unfinished,
        [3, 1],
        "insertion order, finished tasks left out"
    );
    assert_eq!(
        counts_by_state(&store),
        [1, 0, 1, 1, 0, 0],
        "reopened, the counts start from the table"
    );
    assert!(store.get(404).unwrap().is_none());
}

/// The store's task counts, in the order of `TaskState::ALL` (queued, downloading,
/// uploading, stored, failed, skipped).
fn counts_by_state(store: &TaskStore) -> Vec<u64> {
    let counts = store.counts();
    assert_eq!(
        counts.iter().map(|(state, _)| *state).collect::<Vec<_>>(),
        TaskState::ALL
    );
    counts.into_iter().map(|(_, n)| n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_message_ends_an_expired_download_as_gone() {
    let setup = Setup::new().await;
    let sample = OVER_A_MIB;
    let task = setup.task(sample).await;
    setup
        .base
        .sim
        .telegram
        .delete_messages(CHANNEL, &[sample.message_id])
        .expect("the message is deleted");
    setup
        .base
        .sim
        .telegram
        .expire_file_reference(sample.media_id);
    let error = guarded(
        "download",
        download(
            &setup.account,
            &task,
            &setup.store,
            &setup.staging(sample),
            &options(256 * 1024, 2),
        ),
    )
    .await
    .expect_err("nothing left to download");
    assert!(
        matches!(error, DownloadError::Gone { media_id, .. } if media_id == sample.media_id),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_ends_the_download_with_owner_gone_and_retires_the_account() {
    let setup = Setup::new().await;
    let sample = OVER_A_MIB;
    let task = setup.task(sample).await;
    setup.base.sim.faults.auth_key_unregistered(ALICE);
    let error = guarded(
        "download",
        download(
            &setup.account,
            &task,
            &setup.store,
            &setup.staging(sample),
            &options(256 * 1024, 2),
        ),
    )
    .await
    .expect_err("the owner cannot download any more");
    assert!(
        matches!(&error, DownloadError::OwnerGone { reason, .. } if reason == "AUTH_KEY_UNREGISTERED"),
        "{error}"
    );
    assert!(!error.is_transient());
    assert!(error.wants_another_account());
    assert!(matches!(
        setup.account.state(),
        tgc_model::teleclient::AccountState::Deauthorized { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_wait_longer_than_allowed_hands_the_task_back() {
    let setup = Setup::new().await;
    let sample = OVER_A_MIB;
    let task = setup.task(sample).await;
    setup
        .base
        .sim
        .faults
        .flood_wait(ALICE, "upload.getFile", 3600, FaultSpan::Calls(1));
    let mut short = options(256 * 1024, 1);
    short.max_flood_wait = Duration::from_secs(30);
    let error = guarded(
        "download",
        download(
            &setup.account,
            &task,
            &setup.store,
            &setup.staging(sample),
            &short,
        ),
    )
    .await
    .expect_err("an hour is too long to wait");
    assert!(
        matches!(error, DownloadError::Cooling { retry_after, .. } if retry_after > Duration::from_secs(30)),
        "{error}"
    );
    assert!(error.is_transient());
    assert!(!error.wants_another_account());
}
