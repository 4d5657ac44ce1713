//! Where stored media ends up: one [`Storage`] over an `object_store` backend (a local
//! directory, an S3-compatible bucket, or an HTTP/WebDAV server), chosen by
//! `media.storage` in the configuration.
//!
//! Why it is shaped so:
//! - Uploads read a staging file the downloader wrote, so [`Storage::put_file`] streams it:
//!   a file of up to [`PART_SIZE`] goes in one put, a larger one as a multipart upload of
//!   `PART_SIZE` parts with at most [`PARTS_IN_FLIGHT`] uploading while the next is read.
//!   Memory stays at about three parts whatever the file size. A multipart upload that fails
//!   is aborted, so no parts are left behind where the backend can clean them.
//! - Objects appear whole or not at all: S3 and the local backend both publish an object
//!   only when its put or multipart upload completes (the local one writes a staging file
//!   beside the key and renames it).
//! - The processor retries uploads with its own backoff, so the backend's built-in retries
//!   are short ([`RETRIES`], [`RETRY_TIMEOUT`]) and every failure is a typed
//!   [`StorageError`] whose [`StorageError::is_transient`] says whether retrying can help
//!   (connection refused or reset, timeouts, 5xx) or not (403, missing bucket, bad key).
//! - S3 uses path-style requests (MinIO, moto and most S3-compatible servers need them) and
//!   allows plain `http://` only when the endpoint says so. The secret key is handed to the
//!   client and never formatted: [`Storage`]'s `Debug` and every error show the backend's
//!   description (endpoint and bucket), not its settings.
//! - TLS is rustls with ring (no C toolchain beyond the one ring already needs): ring is
//!   installed as rustls's process default before the first HTTP client is built.
//! - The HTTP backend cannot do multipart uploads (`object_store` has none for WebDAV), so
//!   a file larger than [`PART_SIZE`] is streamed to it in one `PUT` with a chunked body.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::client::{ClientOptions, HttpError};
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use tgc_common::config::{MediaStorage, S3Storage};
use tokio::io::AsyncReadExt;

/// The size of one part of a multipart upload, and the largest file stored in one put.
/// S3 wants parts of at least 5 MiB (but the last).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploading at once; one more is being read from the file meanwhile.
pub const PARTS_IN_FLIGHT: usize = 2;

/// Retries of one request inside the backend client before the error reaches the processor.
const RETRIES: usize = 2;
/// The longest the backend client keeps retrying one request.
const RETRY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting to the storage server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One request, including sending a whole part.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A media store: where downloaded files are put under their storage keys.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    backend: Backend,
}

/// What the store is, for URLs and for messages (never with credentials).
#[derive(Clone)]
enum Backend {
    Local {
        dir: PathBuf,
    },
    S3 {
        endpoint: String,
        bucket: String,
    },
    Http {
        base: String,
        client: reqwest::Client,
    },
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Local { dir } => write!(f, "local directory {}", dir.display()),
            Backend::S3 { endpoint, bucket } => write!(f, "S3 bucket '{bucket}' at {endpoint}"),
            Backend::Http { base, .. } => write!(f, "HTTP store at {base}"),
        }
    }
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Storage({})", self.backend)
    }
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot prepare the local media directory {dir}: {source}")]
    LocalDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot remove {path}, left in the local media directory by an interrupted upload: {source}"
    )]
    Leftover {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid {backend} media storage settings ({what}): {source}")]
    Settings {
        backend: &'static str,
        what: String,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error("'{key}' is not a valid storage key: {source}")]
    InvalidKey {
        key: String,
        #[source]
        source: object_store::path::Error,
    },
    #[error("cannot read {path} to store it as '{key}': {source}")]
    ReadFile {
        key: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds {actual} bytes, not the {expected} expected for '{key}'")]
    SizeMismatch {
        key: String,
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error(
        "{backend} refused {operation} of '{key}': access denied (check the storage credentials and their permissions): {source}"
    )]
    Denied {
        backend: String,
        operation: &'static str,
        key: String,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error(
        "{backend}: {operation} of '{key}' found nothing (no such object, or no such bucket): {source}"
    )]
    Missing {
        backend: String,
        operation: &'static str,
        key: String,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error("{backend}: {operation} of '{key}' failed ({}): {source}", if *.transient { "transient" } else { "permanent" })]
    Backend {
        backend: String,
        operation: &'static str,
        key: String,
        transient: bool,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error("{backend}: streaming PUT of '{key}' failed ({}): {source}", if *.transient { "transient" } else { "permanent" })]
    HttpPut {
        backend: String,
        key: String,
        transient: bool,
        #[source]
        source: reqwest::Error,
    },
    #[error("{backend}: streaming PUT of '{key}' answered {status}")]
    HttpStatus {
        backend: String,
        key: String,
        status: u16,
    },
}

impl StorageError {
    /// Whether trying the same operation again later can succeed: the storage server was
    /// unreachable, timed out, or answered 5xx / 429 / 408. Denied access, a missing
    /// bucket, a bad key or a broken staging file stay as they are until someone acts.
    pub fn is_transient(&self) -> bool {
        match self {
            StorageError::Backend { transient, .. } | StorageError::HttpPut { transient, .. } => {
                *transient
            }
            StorageError::HttpStatus { status, .. } => status_is_transient(*status),
            StorageError::ReadFile { source, .. } | StorageError::Leftover { source, .. } => {
                io_is_transient(source)
            }
            StorageError::LocalDir { .. }
            | StorageError::Settings { .. }
            | StorageError::InvalidKey { .. }
            | StorageError::SizeMismatch { .. }
            | StorageError::Denied { .. }
            | StorageError::Missing { .. } => false,
        }
    }
}

impl Storage {
    /// The store `media.storage` describes. Builds the client only: a wrong bucket or
    /// bad credentials show on the first operation.
    pub fn from_settings(settings: &MediaStorage) -> Result<Storage, StorageError> {
        match settings {
            MediaStorage::Local { dir } => Storage::local(dir),
            MediaStorage::S3(s3) => Storage::s3(s3),
            MediaStorage::Http { url } => Storage::http(url),
        }
    }

    /// A store in the local directory `dir` (created if absent).
    pub fn local(dir: impl AsRef<Path>) -> Result<Storage, StorageError> {
        let dir = dir.as_ref();
        let local_dir = |source| StorageError::LocalDir {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(local_dir)?;
        let dir = std::fs::canonicalize(dir).map_err(local_dir)?;
        let store =
            LocalFileSystem::new_with_prefix(&dir).map_err(|source| StorageError::Settings {
                backend: "local",
                what: dir.display().to_string(),
                source: Box::new(source),
            })?;
        Ok(Storage {
            store: Arc::new(store),
            backend: Backend::Local { dir },
        })
    }

    fn s3(settings: &S3Storage) -> Result<Storage, StorageError> {
        install_tls_provider();
        let endpoint = settings.endpoint.as_str().trim_end_matches('/').to_owned();
        let store = AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key)
            .with_secret_access_key(settings.secret_key.expose())
            .with_virtual_hosted_style_request(false)
            .with_allow_http(settings.endpoint.scheme() == "http")
            .with_client_options(client_options(&settings.endpoint))
            .with_retry(retry_config())
            .build()
            .map_err(|source| StorageError::Settings {
                backend: "S3",
                what: format!("bucket '{}' at {endpoint}", settings.bucket),
                source: Box::new(source),
            })?;
        Ok(Storage {
            store: Arc::new(store),
            backend: Backend::S3 {
                endpoint,
                bucket: settings.bucket.clone(),
            },
        })
    }

    fn http(url: &reqwest::Url) -> Result<Storage, StorageError> {
        install_tls_provider();
        let base = url.as_str().trim_end_matches('/').to_owned();
        let settings = |source| StorageError::Settings {
            backend: "HTTP",
            what: base.clone(),
            source: Box::new(source),
        };
        let store = HttpBuilder::new()
            .with_url(&base)
            .with_client_options(client_options(url))
            .with_retry(retry_config())
            .build()
            .map_err(settings)?;
        // The large-file PUT goes around `object_store` (see the module docs).
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|source| {
                settings(object_store::Error::Generic {
                    store: "HTTP",
                    source: Box::new(source),
                })
            })?;
        Ok(Storage {
            store: Arc::new(store),
            backend: Backend::Http { base, client },
        })
    }

    /// Removes what earlier uploads of `key` cut short by a crash left behind. The local
    /// store writes an object to `<key>#<n>` (the smallest free n from 1) and renames it
    /// into place, so a SIGKILL mid-upload leaves such a file: never the media's object, but
    /// a stray entry in listings and disk used for nothing. S3 and HTTP leave nothing
    /// visible (an S3 multipart upload cut short is best ended by the bucket's
    /// `AbortIncompleteMultipartUpload` lifecycle rule).
    fn remove_interrupted_uploads(&self, key: &str) -> Result<(), StorageError> {
        let Backend::Local { dir } = &self.backend else {
            return Ok(());
        };
        for n in 1.. {
            let leftover = dir.join(format!("{key}#{n}"));
            match std::fs::remove_file(&leftover) {
                Ok(()) => {
                    tracing::info!(path = %leftover.display(), "removed an upload a crash cut short")
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => break,
                Err(source) => {
                    return Err(StorageError::Leftover {
                        path: leftover,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Where a consumer finds the object: `file://` for the local store, the path-style
    /// URL for S3 and HTTP.
    pub fn url(&self, key: &str) -> String {
        match &self.backend {
            Backend::Local { dir } => format!("file://{}", dir.join(key).display()),
            Backend::S3 { endpoint, bucket } => format!("{endpoint}/{bucket}/{key}"),
            Backend::Http { base, .. } => format!("{base}/{key}"),
        }
    }

    /// The size of the object under `key`, `None` when there is none.
    pub async fn size_of(&self, key: &str) -> Result<Option<u64>, StorageError> {
        let location = object_path(key)?;
        match self.store.head(&location).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.failure("head", key, source)),
        }
    }

    /// The whole object under `key` (for checks and small objects: it is read into memory).
    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        let location = object_path(key)?;
        let result = self
            .store
            .get(&location)
            .await
            .map_err(|source| self.failure("get", key, source))?;
        result
            .bytes()
            .await
            .map_err(|source| self.failure("get", key, source))
    }

    /// Every object in the store with its size.
    pub async fn list(&self) -> Result<Vec<(String, u64)>, StorageError> {
        self.store
            .list(None)
            .map_ok(|meta| (meta.location.to_string(), meta.size))
            .try_collect()
            .await
            .map_err(|source| self.failure("list", "", source))
    }

    /// Stores the `size` bytes of the file at `path` under `key`, replacing what was there.
    /// Streams the file: at most about three parts of `PART_SIZE` are in memory at once.
    pub async fn put_file(&self, key: &str, path: &Path, size: u64) -> Result<(), StorageError> {
        let location = object_path(key)?;
        let read_error = |source| StorageError::ReadFile {
            key: key.to_owned(),
            path: path.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(read_error)?;
        let actual = file.metadata().await.map_err(read_error)?.len();
        if actual != size {
            return Err(self.size_mismatch(key, path, size, actual));
        }
        self.remove_interrupted_uploads(key)?;
        if size <= PART_SIZE as u64 {
            let part = self.read_part(&mut file, key, path, size, 0).await?;
            self.store
                .put(&location, PutPayload::from(part))
                .await
                .map_err(|source| self.failure("put", key, source))?;
            return Ok(());
        }
        if let Backend::Http { base, client } = &self.backend {
            return self.http_put_stream(client, base, key, file, size).await;
        }
        let upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(|source| self.failure("starting a multipart upload", key, source))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut sent = 0u64;
        while sent < size {
            let len = (size - sent).min(PART_SIZE as u64);
            let part = match self.read_part(&mut file, key, path, len, sent).await {
                Ok(part) => part,
                Err(error) => {
                    self.abort(writer, key).await;
                    return Err(error);
                }
            };
            // Read first, then wait: one part is read while PARTS_IN_FLIGHT upload.
            if let Err(source) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                self.abort(writer, key).await;
                return Err(self.failure("uploading a part", key, source));
            }
            writer.put(part);
            sent += len;
        }
        // `finish` aborts the upload itself when a part or the completion fails.
        writer
            .finish()
            .await
            .map_err(|source| self.failure("completing a multipart upload", key, source))?;
        Ok(())
    }

    /// The next `len` bytes of the file (at `offset`, for the message when it ends early).
    async fn read_part(
        &self,
        file: &mut tokio::fs::File,
        key: &str,
        path: &Path,
        len: u64,
        offset: u64,
    ) -> Result<Bytes, StorageError> {
        let wanted = usize::try_from(len).unwrap_or(PART_SIZE);
        let mut part = BytesMut::with_capacity(wanted);
        let mut limited = file.take(len);
        // Stop when full: `read_buf` on a full `BytesMut` would grow it (doubling the part).
        while part.len() < wanted {
            match limited.read_buf(&mut part).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(source) => {
                    return Err(StorageError::ReadFile {
                        key: key.to_owned(),
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
        if part.len() != wanted {
            return Err(self.size_mismatch(key, path, offset + len, offset + part.len() as u64));
        }
        Ok(part.freeze())
    }

    /// One `PUT` with a streamed body, for the HTTP backend's large files.
    async fn http_put_stream(
        &self,
        client: &reqwest::Client,
        base: &str,
        key: &str,
        file: tokio::fs::File,
        size: u64,
    ) -> Result<(), StorageError> {
        const READ_CHUNK: usize = 256 * 1024;
        let chunks = futures_util::stream::try_unfold(file.take(size), |mut file| async move {
            let mut chunk = BytesMut::with_capacity(READ_CHUNK);
            let read = file.read_buf(&mut chunk).await?;
            Ok::<_, std::io::Error>((read > 0).then(|| (chunk.freeze(), file)))
        });
        let response = client
            .put(format!("{base}/{key}"))
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .map_err(|source| StorageError::HttpPut {
                backend: self.backend.to_string(),
                key: key.to_owned(),
                transient: source.is_connect()
                    || source.is_timeout()
                    || source.is_request()
                    || source.is_body(),
                source,
            })?;
        if !response.status().is_success() {
            return Err(StorageError::HttpStatus {
                backend: self.backend.to_string(),
                key: key.to_owned(),
                status: response.status().as_u16(),
            });
        }
        Ok(())
    }

    async fn abort(&self, writer: WriteMultipart, key: &str) {
        if let Err(error) = writer.abort().await {
            tracing::warn!(
                storage = %self.backend,
                key,
                %error,
                "could not abort a failed multipart upload; the backend may keep its parts"
            );
        }
    }

    fn size_mismatch(&self, key: &str, path: &Path, expected: u64, actual: u64) -> StorageError {
        StorageError::SizeMismatch {
            key: key.to_owned(),
            path: path.to_path_buf(),
            expected,
            actual,
        }
    }

    /// The typed error for a failed backend call.
    fn failure(
        &self,
        operation: &'static str,
        key: &str,
        source: object_store::Error,
    ) -> StorageError {
        let backend = self.backend.to_string();
        let key = key.to_owned();
        match source {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => StorageError::Denied {
                backend,
                operation,
                key,
                source: Box::new(source),
            },
            object_store::Error::NotFound { .. } => StorageError::Missing {
                backend,
                operation,
                key,
                source: Box::new(source),
            },
            source => StorageError::Backend {
                backend,
                operation,
                key,
                transient: is_transient(&source),
                source: Box::new(source),
            },
        }
    }
}

fn object_path(key: &str) -> Result<ObjectPath, StorageError> {
    ObjectPath::parse(key).map_err(|source| StorageError::InvalidKey {
        key: key.to_owned(),
        source,
    })
}

/// Whether a backend error is worth retrying, judged from its cause chain: a connection
/// or I/O failure is, and so is a server status of 5xx / 429 / 408. `object_store` 0.14
/// does not export the error that carries the status, so the status is read from its
/// message ("... status code: 503 ...").
fn is_transient(error: &object_store::Error) -> bool {
    if let object_store::Error::JoinError { .. } = error {
        return true;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.downcast_ref::<HttpError>().is_some() {
            // Every kind (connect, request, timeout, interrupted, a body cut short) means
            // the server or the path to it failed, not that the request was wrong.
            return true;
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return io_is_transient(io);
        }
        if let Some(status) = status_in(&current.to_string()) {
            return status_is_transient(status);
        }
        cause = current.source();
    }
    false
}

/// The HTTP status in an `object_store` request error's message.
fn status_in(message: &str) -> Option<u16> {
    const MARK: &str = "status code: ";
    let at = message.find(MARK)? + MARK.len();
    message.get(at..at + 3)?.parse().ok()
}

/// Installs ring as rustls's process-wide provider unless one is installed already (by
/// this or another client); reqwest is built without a bundled provider.
fn install_tls_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

fn client_options(endpoint: &reqwest::Url) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(endpoint.scheme() == "http")
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT)
}

fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: RETRIES,
        retry_timeout: RETRY_TIMEOUT,
    }
}

fn status_is_transient(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

fn io_is_transient(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::Interrupted
            | ErrorKind::TimedOut
            | ErrorKind::WouldBlock
            | ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotConnected
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::StorageFull
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(message: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: message.to_owned().into(),
        }
    }

    #[tokio::test]
    async fn an_upload_removes_the_leftovers_of_its_interrupted_predecessors() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().join("store")).unwrap();
        let key = "0c06b20f61d7e8bdf020130781515797";
        let other = "0c06b20f61d7e8bdf020130781515798";
        for name in [format!("{key}#1"), format!("{key}#2"), format!("{other}#1")] {
            std::fs::write(dir.path().join("store").join(name), b"half").unwrap();
        }
        let file = dir.path().join("file");
        std::fs::write(&file, b"stored").unwrap();
        storage.put_file(key, &file, 6).await.unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path().join("store"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [key.to_owned(), format!("{other}#1")]);
    }

    #[test]
    fn server_statuses_decide_transience() {
        for (status, transient) in [(500, true), (503, true), (429, true), (408, true)] {
            let error = generic(&format!(
                "Error performing PUT http://x/b/k in 1ms - Server returned non-2xx status code: {status} X: body"
            ));
            assert_eq!(is_transient(&error), transient, "{status}");
        }
        for status in [400, 405, 411, 501] {
            let error = generic(&format!(
                "Server returned non-2xx status code: {status} X: "
            ));
            assert_eq!(is_transient(&error), status == 501, "{status}");
        }
        assert!(!is_transient(&generic("something else entirely")));
    }

    #[test]
    fn io_failures_decide_transience() {
        let reset = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        };
        assert!(is_transient(&reset));
        let denied = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
        };
        assert!(!is_transient(&denied));
    }
}
