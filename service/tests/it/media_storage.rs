//! The media storage backends against real stores: a temp directory and moto's S3 server.
//! Every behaviour is checked on both: byte-exact round trips (by SHA-256) across the
//! single-put / multipart boundary, sizes, overwrites, listing, transient vs permanent
//! failures. The memory `put_file` needs is measured in `tests/storage_memory.rs`, a process
//! of its own.

use testkit::guarded;
use testkit::moto::{Backend, MotoServer, object_key, sha256, write_generated};
use testkit::proxy::Proxy;
use tgc_service::mediaprocessor::{Storage, StorageError};

const MIB: u64 = 1024 * 1024;

/// Files of 0 B, 1 B, 5 MiB (one put) and 40 MiB (multipart) come back byte-exact, with
/// no size before and their size after.
async fn put_file_round_trips(storage: &Storage) {
    let files = tempfile::tempdir().expect("a temp dir");
    for (index, size) in [0, 1, 5 * MIB, 40 * MIB].into_iter().enumerate() {
        let path = files.path().join(format!("file-{size}"));
        let digest = write_generated(&path, size, index as u64 + 1);
        let key = object_key(&format!("round-trip-{size}"));
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
    put_file_round_trips(&Backend::local().storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_put_file_round_trips_byte_exact() {
    put_file_round_trips(&Backend::s3().storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_put_file_round_trips_byte_exact() {
    put_file_round_trips(&Backend::http().storage).await;
}

/// While a 40 MiB file is being put under a key of the local store, the key shows nothing
/// or the whole file, never a part: `object_store` writes a staging file and renames it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_object_appears_whole_or_not_at_all() {
    let backend = Backend::local();
    let storage = backend.storage.clone();
    let dir = backend.local_dir();
    let files = tempfile::tempdir().expect("a temp dir");
    let path = files.path().join("file");
    let size = 40 * MIB;
    write_generated(&path, size, 11);
    let key = object_key("whole");
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
    let key = object_key("twice");
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
    guarded(
        "the test",
        same_key_twice_leaves_one_object(&Backend::local().storage),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_same_key_twice_leaves_one_object() {
    guarded(
        "the test",
        same_key_twice_leaves_one_object(&Backend::s3().storage),
    )
    .await;
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
        let key = object_key(&format!("list-{index}"));
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
    guarded(
        "the test",
        list_gives_every_object_with_its_size(&Backend::local().storage),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_list_gives_every_object_with_its_size() {
    guarded(
        "the test",
        list_gives_every_object_with_its_size(&Backend::s3().storage),
    )
    .await;
}

/// A file that is not the size the task recorded is refused, permanently, and nothing is
/// stored under the key.
async fn size_mismatch_is_refused(storage: &Storage) {
    let files = tempfile::tempdir().expect("a temp dir");
    let path = files.path().join("short");
    write_generated(&path, MIB, 3);
    let key = object_key("short");
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
    guarded(
        "the test",
        size_mismatch_is_refused(&Backend::local().storage),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_size_mismatch_is_refused() {
    guarded("the test", size_mismatch_is_refused(&Backend::s3().storage)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_cut_connection_is_transient_and_the_same_put_then_succeeds() {
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
        let key = object_key(name);
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
    let moto = MotoServer::start();
    let settings = moto.settings_with(&moto.endpoint(), "no-such-bucket", &moto.secret_key);
    let storage = Storage::from_settings(&settings).expect("an S3 storage");
    let files = tempfile::tempdir().expect("a temp dir");
    for (name, size) in [("small", 10), ("multipart", 20 * MIB)] {
        let path = files.path().join(name);
        write_generated(&path, size, 9);
        let error = guarded("put_file", storage.put_file(&object_key(name), &path, size))
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
    let moto = MotoServer::start();
    let wrong_secret = "wrong-secret-0123456789abcdefghijklmnopqr";
    let settings = moto.settings_with(&moto.endpoint(), &moto.bucket, wrong_secret);
    let storage = Storage::from_settings(&settings).expect("an S3 storage");
    let files = tempfile::tempdir().expect("a temp dir");
    let path = files.path().join("file");
    write_generated(&path, 10, 4);
    let error = guarded(
        "put_file",
        storage.put_file(&object_key("creds"), &path, 10),
    )
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
