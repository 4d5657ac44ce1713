//! What the media download tests share: a telesim world of one account in one channel
//! whose messages carry documents and a photo of chosen sizes, on the common set-up, a task
//! store, and helpers to build a task, run a download and check its bytes against
//! telesim's own `media_bytes`.
//!
//! Every test starts its own simulator, so the request counters it asserts on are its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use telesim::world::{Chat, ChatKind, Media, MediaKind, Message, User, World};
use tgc_model::media::{
    DownloadError, DownloadOptions, FileLocation, MediaTask, TaskState, TaskStore, download,
    refetch_sized,
};
use tgc_model::teleclient::{AccountId, ChatRef, PeerId, TeleClient};

pub use testkit::guarded;

/// The one account.
pub const ALICE: i64 = 7101;
/// The channel the media messages are in.
pub const CHANNEL: i64 = 810_001;
pub const CHANNEL_USERNAME: &str = "media_lab";
/// The world's seed: media bytes are a function of it.
pub const SEED: u64 = 61;

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;

/// One media message of the channel.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub message_id: i32,
    pub media_id: i64,
    pub size: u64,
    pub photo: bool,
}

impl Sample {
    /// The size type telesim stores the file under ("" for documents, the photo's largest).
    pub fn thumb(&self) -> &'static str {
        if self.photo { "y" } else { "" }
    }
}

pub const ONE_BYTE: Sample = doc(1, 9_100_001, 1);
pub const UNDER_A_KIB: Sample = doc(2, 9_100_002, 1023);
pub const OVER_A_MIB: Sample = doc(3, 9_100_003, MIB + 1);
pub const FIVE_MB: Sample = doc(4, 9_100_004, 5_000_000);
/// 1280×960, so its largest size is "y".
pub const PHOTO: Sample = Sample {
    message_id: 5,
    media_id: 9_100_005,
    size: 300_001,
    photo: true,
};
/// The file the fault tests cut into many small chunks.
pub const THREE_MIB: Sample = doc(6, 9_100_006, 3 * MIB + 77);

pub const SAMPLES: [Sample; 6] = [ONE_BYTE, UNDER_A_KIB, OVER_A_MIB, FIVE_MB, PHOTO, THREE_MIB];

const fn doc(message_id: i32, media_id: i64, size: u64) -> Sample {
    Sample {
        message_id,
        media_id,
        size,
        photo: false,
    }
}

pub fn world() -> World {
    let mut channel = Chat::new(CHANNEL, ChatKind::Channel, "Media Lab");
    channel.username = Some(CHANNEL_USERNAME.into());
    channel.members = vec![ALICE];
    channel.messages = SAMPLES
        .iter()
        .map(|s| {
            let media = if s.photo {
                Media::photo(s.media_id, s.size)
            } else {
                Media::document(s.media_id, MediaKind::File, s.size)
            };
            Message::text(s.message_id, 1_600_000_000 + s.message_id, "").with_media(media)
        })
        .collect();
    World::builder(SEED)
        .account(User::new(ALICE, "Alice"), "+15553000001")
        .chat(channel)
        .build()
        .expect("a consistent world")
}

/// The channel's marked (Bot API) id, as tasks store it.
pub fn chat_id() -> i64 {
    PeerId::channel_unchecked(CHANNEL).bot_api_dialog_id_unchecked()
}

/// The common set-up (reconnecting within 2 s), the account that resolved the channel
/// through a pool (so it holds its access hash), and a task store.
pub struct Setup {
    pub base: testkit::Setup,
    pub account: Arc<TeleClient>,
    pub store: Arc<TaskStore>,
}

impl Setup {
    pub async fn new() -> Setup {
        let base = testkit::Setup::start("media", world())
            .await
            .reconnecting_within(Duration::from_secs(2));
        let pool = base.pool().await;
        let chat = ChatRef::parse(&format!("@{CHANNEL_USERNAME}")).expect("a chat name");
        let resolved = guarded("resolving the channel", pool.resolve(&chat))
            .await
            .expect("the channel resolves");
        let account = resolved.account;
        assert_eq!(account.id().0, ALICE);
        let store = Arc::new(TaskStore::open_in(&base.data()).expect("task store"));
        Setup {
            base,
            account,
            store,
        }
    }

    /// A queued task for `sample`, located by fetching its message with the account
    /// (as the parser hook would have), and recorded in the store.
    pub async fn task(&self, sample: Sample) -> MediaTask {
        let (location, size) = guarded(
            "fetching the media message",
            refetch_sized(&self.account, chat_id(), sample.message_id, sample.media_id),
        )
        .await
        .expect("the media message is there");
        assert_eq!(size, sample.size, "the message reports the file's size");
        let task = MediaTask {
            media_id: sample.media_id,
            key: format!("key-{}", sample.media_id),
            kind: if sample.photo { "photo" } else { "document" }.into(),
            mime_type: None,
            size,
            owner: AccountId(ALICE),
            chat_id: chat_id(),
            message_id: sample.message_id,
            location,
            state: TaskState::Queued,
            attempts: 0,
            last_error: None,
            created_ms: 0,
            updated_ms: 0,
        };
        self.store.insert(&task).expect("task recorded");
        task
    }

    pub fn staging(&self, sample: Sample) -> PathBuf {
        self.base
            .dir
            .path()
            .join("staging")
            .join(format!("{}.part", sample.media_id))
    }

    /// Downloads `task` into `staging` with `chunk_size` and `parallel` workers (hashes
    /// checked), under the hang guard.
    pub async fn download(
        &self,
        task: &MediaTask,
        staging: &Path,
        chunk_size: u32,
        parallel: usize,
    ) -> Result<FileLocation, DownloadError> {
        guarded(
            "download",
            download(
                &self.account,
                task,
                &self.store,
                staging,
                &options(chunk_size, parallel),
            ),
        )
        .await
    }

    /// `upload.getFile` calls the account made.
    pub fn get_file_calls(&self) -> u64 {
        self.base.sim.counters.get(ALICE, "upload.getFile")
    }

    /// Polls `condition` every few milliseconds until it holds; fails the test with `what`
    /// if it does not within the hang guard.
    pub async fn until(&self, what: &str, mut condition: impl FnMut() -> bool) {
        guarded(what, async {
            while !condition() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
    }
}

/// Options with `chunk_size` and `parallel` workers, hashes checked, and no wait cut short.
pub fn options(chunk_size: u32, parallel: usize) -> DownloadOptions {
    DownloadOptions {
        chunk_size,
        parallel_chunks: parallel,
        max_flood_wait: Duration::from_secs(60),
        reconnect_wait: Duration::from_secs(60),
        verify_hashes: true,
    }
}

/// The SHA-256 of `sample`'s bytes as telesim serves them.
pub fn expected_sha(sample: Sample) -> String {
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < sample.size {
        let len = (sample.size - offset).min(MIB);
        hasher.update(telesim::world::media_bytes(
            SEED,
            sample.media_id,
            sample.thumb(),
            offset,
            len as usize,
        ));
        offset += len;
    }
    hex(&hasher.finalize())
}

/// The SHA-256 of a file on disk.
pub fn file_sha(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("the staging file is readable");
    hex(&Sha256::digest(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
