//! The media storage backends against real stores: a temp directory and moto's S3 server.
//! Every behaviour is checked on both: byte-exact round trips (by SHA-256) across the
//! single-put / multipart boundary, sizes, overwrites, listing, transient vs permanent
//! failures, and the memory `put_file` needs for a file far larger than a part.
//!
//! The memory tests count every allocation of this test binary (a counting global
//! allocator), so they run alone: they hold [`EXCLUSIVE`] for writing while every other
//! test holds it for reading.

mod storage_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use storage_support::{MotoServer, Proxy, sha256, write_generated};
use tgc_common::config::MediaStorage;
use tgc_service::mediaprocessor::{Storage, StorageError};
use tokio::sync::RwLock;

const MIB: u64 = 1024 * 1024;

/// A guard against a hang: generous, never a measurement.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// The bound the memory tests assert on the extra peak allocation of one `put_file`: three
/// 8 MiB parts (two uploading, one being read), tokio's 2 MiB file buffer, and slack. A
/// part copied or grown on the way (as a full `BytesMut` does on one more read) breaks it.
const MEMORY_BOUND: usize = 40 * MIB as usize;

/// The memory tests take it for writing, every other test for reading.
static EXCLUSIVE: RwLock<()> = RwLock::const_new(());

struct CountingAllocator;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl CountingAllocator {
    fn grew(by: usize) {
        let now = ALLOCATED.fetch_add(by, Ordering::SeqCst) + by;
        PEAK.fetch_max(now, Ordering::SeqCst);
    }

    fn shrank(by: usize) {
        ALLOCATED.fetch_sub(by, Ordering::SeqCst);
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            Self::grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            Self::grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(pointer, layout) };
        Self::shrank(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            if new_size > layout.size() {
                Self::grew(new_size - layout.size());
            } else {
                Self::shrank(layout.size() - new_size);
            }
        }
        moved
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

async fn guarded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {HANG_GUARD:?}"))
}

/// A key like the pipeline's (32 hex digits), distinct per name.
fn key(name: &str) -> String {
    format!(
        "{:032x}",
        u128::from_le_bytes(sha256(name.as_bytes())[..16].try_into().unwrap())
    )
}

/// A backend under test: the storage and what keeps it alive.
struct Backend {
    storage: Storage,
    _dir: Option<tempfile::TempDir>,
    _moto: Option<MotoServer>,
}

fn local() -> Backend {
    let dir = tempfile::tempdir().expect("a temp dir");
    let settings = MediaStorage::Local {
        dir: dir.path().join("media"),
    };
    Backend {
        storage: Storage::from_settings(&settings).expect("a local storage"),
        _dir: Some(dir),
        _moto: None,
    }
}

fn s3() -> Backend {
    let moto = MotoServer::start();
    Backend {
        storage: Storage::from_settings(&moto.settings()).expect("an S3 storage"),
        _dir: None,
        _moto: Some(moto),
    }
}

/// The HTTP backend over moto taking unsigned requests (a plain object server: PUT, GET,
/// HEAD; it has no WebDAV listing, so `list` is not tested here).
fn http() -> Backend {
    let moto = MotoServer::start_without_auth();
    let settings = MediaStorage::Http {
        url: moto.bucket_url().parse().expect("the bucket URL"),
    };
    Backend {
        storage: Storage::from_settings(&settings).expect("an HTTP storage"),
        _dir: None,
        _moto: Some(moto),
    }
}

/// Files of 0 B, 1 B, 5 MiB (one put) and 40 MiB (multipart) come back byte-exact, with
/// no size before and their size after.
async fn put_file_round_trips(storage: &Storage) {
    let files = tempfile::tempdir().expect("a temp dir");
    for (index, size) in [0, 1, 5 * MIB, 40 * MIB].into_iter().enumerate() {
        let path = files.path().join(format!("file-{size}"));
        let digest = write_generated(&path, size, index as u64 + 1);
        let key = key(&format!("round-trip-{size}"));
        assert_eq!(storage.size_of(&key).await.expect("size_of before"), None);
        guarded("put_file", storage.put_file(&key, &path, size))
            .await
            .unwrap_or_else(|e| panic!("put_file of {size} bytes: {e}"));
        assert_eq!(
            storage.size_of(&key).await.expect("size_of after"),
            Some(size)
        );
        let stored = guarded("get", storage.get(&key)).await.expect("get");
        assert_eq!(stored.len() as u64, size);
        assert!(
            sha256(&stored) == digest,
            "the {size}-byte object differs from its file"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_put_file_round_trips_byte_exact() {
    let _shared = EXCLUSIVE.read().await;
    put_file_round_trips(&local().storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_put_file_round_trips_byte_exact() {
    let _shared = EXCLUSIVE.read().await;
    put_file_round_trips(&s3().storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_put_file_round_trips_byte_exact() {
    let _shared = EXCLUSIVE.read().await;
    put_file_round_trips(&http().storage).await;
}

/// While a 40 MiB file is being put under a key of the local store, the key shows nothing
/// or the whole file, never a part: `object_store` writes a staging file and renames it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_object_appears_whole_or_not_at_all() {
    let _shared = EXCLUSIVE.read().await;
    let backend = local();
    let storage = backend.storage.clone();
    let dir = backend
        ._dir
        .as_ref()
        .expect("the local store's dir")
        .path()
        .join("media");
    let files = tempfile::tempdir().expect("a temp dir");
    let path = files.path().join("file");
    let size = 40 * MIB;
    write_generated(&path, size, 11);
    let key = key("whole");
    let put = {
        let (storage, key, path) = (storage.clone(), key.clone(), path.clone());
        tokio::spawn(async move { storage.put_file(&key, &path, size).await })
    };
    let mut seen = std::collections::BTreeSet::new();
    while !put.is_finished() {
        let on_disk = std::fs::metadata(dir.join(&key))
            .ok()
            .map(|meta| meta.len());
        assert!(
            on_disk.is_none_or(|len| len == size),
            "a partial object of {on_disk:?} bytes under the key"
        );
        seen.insert(on_disk);
        tokio::task::yield_now().await;
    }
    guarded("put_file", put)
        .await
        .expect("the put task")
        .expect("put_file");
    assert_eq!(storage.size_of(&key).await.expect("size_of"), Some(size));
    println!("observed under the key while putting: {seen:?}");
}

/// A key put twice (multipart, then one put) holds one object: the second.
async fn same_key_twice_leaves_one_object(storage: &Storage) {
    let files = tempfile::tempdir().expect("a temp dir");
    let (first, second) = (files.path().join("first"), files.path().join("second"));
    write_generated(&first, 20 * MIB, 7);
    let digest = write_generated(&second, 3 * MIB, 8);
    let key = key("twice");
    storage
        .put_file(&key, &first, 20 * MIB)
        .await
        .expect("the first put");
    storage
        .put_file(&key, &second, 3 * MIB)
        .await
        .expect("the second put");
    let listed = storage.list().await.expect("list");
    assert_eq!(listed, vec![(key.clone(), 3 * MIB)]);
    let stored = storage.get(&key).await.expect("get");
    assert!(
        sha256(&stored) == digest,
        "the object is not the second file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_same_key_twice_leaves_one_object() {
    let _shared = EXCLUSIVE.read().await;
    guarded(
        "the test",
        same_key_twice_leaves_one_object(&local().storage),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_same_key_twice_leaves_one_object() {
    let _shared = EXCLUSIVE.read().await;
    guarded("the test", same_key_twice_leaves_one_object(&s3().storage)).await;
}

/// `list` gives every stored key with its size, and nothing else.
async fn list_gives_every_object_with_its_size(storage: &Storage) {
    assert_eq!(
        storage.list().await.expect("list of an empty store"),
        vec![]
    );
    let files = tempfile::tempdir().expect("a temp dir");
    let mut expected = Vec::new();
    for (index, size) in [10, 0, 9 * MIB].into_iter().enumerate() {
        let path = files.path().join(format!("file-{index}"));
        write_generated(&path, size, 20 + index as u64);
        let key = key(&format!("list-{index}"));
        storage.put_file(&key, &path, size).await.expect("put_file");
        expected.push((key, size));
    }
    let mut listed = storage.list().await.expect("list");
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_list_gives_every_object_with_its_size() {
    let _shared = EXCLUSIVE.read().await;
    guarded(
        "the test",
        list_gives_every_object_with_its_size(&local().storage),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_list_gives_every_object_with_its_size() {
    let _shared = EXCLUSIVE.read().await;
    guarded(
        "the test",
        list_gives_every_object_with_its_size(&s3().storage),
    )
    .await;
}

/// A file that is not the size the task recorded is refused, permanently, and nothing is
/// stored under the key.
async fn size_mismatch_is_refused(storage: &Storage) {
    let files = tempfile::tempdir().expect("a temp dir");
    let path = files.path().join("short");
    write_generated(&path, MIB, 3);
    let key = key("short");
    let error = storage
        .put_file(&key, &path, 2 * MIB)
        .await
        .expect_err("a put of a file shorter than its size");
    assert!(
        matches!(error, StorageError::SizeMismatch { .. }),
        "{error}"
    );
    assert!(!error.is_transient(), "{error}");
    assert_eq!(storage.size_of(&key).await.expect("size_of"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_size_mismatch_is_refused() {
    let _shared = EXCLUSIVE.read().await;
    guarded("the test", size_mismatch_is_refused(&local().storage)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_size_mismatch_is_refused() {
    let _shared = EXCLUSIVE.read().await;
    guarded("the test", size_mismatch_is_refused(&s3().storage)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_cut_connection_is_transient_and_the_same_put_then_succeeds() {
    let _shared = EXCLUSIVE.read().await;
    let moto = MotoServer::start();
    let proxy = Proxy::start(moto.addr).await;
    let through_proxy = moto.settings_with(
        &format!("http://{}", proxy.addr),
        &moto.bucket,
        &moto.secret_key,
    );
    let storage = Storage::from_settings(&through_proxy).expect("an S3 storage");
    let files = tempfile::tempdir().expect("a temp dir");
    for (name, size) in [("small", MIB), ("multipart", 20 * MIB)] {
        let path = files.path().join(name);
        let digest = write_generated(&path, size, 5);
        let key = key(name);
        proxy.cut();
        let error = guarded(
            "put_file through a cut proxy",
            storage.put_file(&key, &path, size),
        )
        .await
        .expect_err("a put through a cut connection");
        println!("the {name} put through the cut proxy: {error}");
        assert!(error.is_transient(), "the {name} put: {error} ({error:?})");
        proxy.restore();
        guarded(
            "put_file after the restore",
            storage.put_file(&key, &path, size),
        )
        .await
        .unwrap_or_else(|e| panic!("the same {name} put after the restore: {e}"));
        let stored = storage.get(&key).await.expect("get");
        assert!(
            sha256(&stored) == digest,
            "the {name} object differs from its file"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_wrong_bucket_is_permanent_with_a_clear_message() {
    let _shared = EXCLUSIVE.read().await;
    let moto = MotoServer::start();
    let settings = moto.settings_with(&moto.endpoint(), "no-such-bucket", &moto.secret_key);
    let storage = Storage::from_settings(&settings).expect("an S3 storage");
    let files = tempfile::tempdir().expect("a temp dir");
    for (name, size) in [("small", 10), ("multipart", 20 * MIB)] {
        let path = files.path().join(name);
        write_generated(&path, size, 9);
        let error = guarded("put_file", storage.put_file(&key(name), &path, size))
            .await
            .expect_err("a put into a missing bucket");
        let message = error.to_string();
        println!("the {name} put into a missing bucket: {message}");
        assert!(!error.is_transient(), "{message}");
        assert!(message.contains("no-such-bucket"), "{message}");
        assert!(message.contains("NoSuchBucket"), "{message}");
        assert!(
            !message.contains(&moto.secret_key),
            "the secret leaked: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_bad_credentials_are_permanent_with_a_clear_message_without_the_secret() {
    let _shared = EXCLUSIVE.read().await;
    let moto = MotoServer::start();
    let wrong_secret = "wrong-secret-0123456789abcdefghijklmnopqr";
    let settings = moto.settings_with(&moto.endpoint(), &moto.bucket, wrong_secret);
    let storage = Storage::from_settings(&settings).expect("an S3 storage");
    let files = tempfile::tempdir().expect("a temp dir");
    let path = files.path().join("file");
    write_generated(&path, 10, 4);
    let error = guarded("put_file", storage.put_file(&key("creds"), &path, 10))
        .await
        .expect_err("a put with a wrong secret");
    let message = error.to_string();
    println!("a put with a wrong secret: {message}");
    assert!(matches!(error, StorageError::Denied { .. }), "{message}");
    assert!(!error.is_transient(), "{message}");
    assert!(message.contains("access denied"), "{message}");
    for secret in [wrong_secret, moto.secret_key.as_str()] {
        assert!(!message.contains(secret), "a secret leaked: {message}");
        assert!(
            !format!("{error:?}").contains(secret),
            "a secret leaked: {error:?}"
        );
        assert!(
            !format!("{storage:?}").contains(secret),
            "a secret leaked: {storage:?}"
        );
    }
}

/// `put_file` of a 200 MiB (sparse) file; returns the peak of bytes allocated during it
/// beyond what was allocated before.
async fn peak_allocation_of_a_large_put(storage: &Storage, dir: &Path) -> usize {
    let size = 200 * MIB;
    let path = dir.join("large");
    std::fs::File::create(&path)
        .and_then(|file| file.set_len(size))
        .expect("a sparse 200 MiB file");
    let key = key("large");
    let before = ALLOCATED.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    guarded("put_file of 200 MiB", storage.put_file(&key, &path, size))
        .await
        .expect("put_file of 200 MiB");
    let peak = PEAK.load(Ordering::SeqCst).saturating_sub(before);
    assert_eq!(storage.size_of(&key).await.expect("size_of"), Some(size));
    peak
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_put_file_of_200_mib_keeps_memory_bounded() {
    let _alone = EXCLUSIVE.write().await;
    let backend = local();
    let files = tempfile::tempdir().expect("a temp dir");
    let peak = peak_allocation_of_a_large_put(&backend.storage, files.path()).await;
    println!(
        "local put_file of 200 MiB: peak extra allocation {:.1} MiB",
        peak as f64 / MIB as f64
    );
    assert!(
        peak < MEMORY_BOUND,
        "the put allocated up to {peak} bytes at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_put_file_of_200_mib_keeps_memory_bounded() {
    let _alone = EXCLUSIVE.write().await;
    let backend = s3();
    let files = tempfile::tempdir().expect("a temp dir");
    let peak = peak_allocation_of_a_large_put(&backend.storage, files.path()).await;
    println!(
        "S3 put_file of 200 MiB: peak extra allocation {:.1} MiB",
        peak as f64 / MIB as f64
    );
    assert!(
        peak < MEMORY_BOUND,
        "the put allocated up to {peak} bytes at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_put_file_of_200_mib_keeps_memory_bounded() {
    let _alone = EXCLUSIVE.write().await;
    let backend = http();
    let files = tempfile::tempdir().expect("a temp dir");
    let peak = peak_allocation_of_a_large_put(&backend.storage, files.path()).await;
    println!(
        "HTTP put_file of 200 MiB: peak extra allocation {:.1} MiB",
        peak as f64 / MIB as f64
    );
    assert!(
        peak < MEMORY_BOUND,
        "the put allocated up to {peak} bytes at once"
    );
}
