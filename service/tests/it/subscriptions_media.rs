//! A live message's media goes the whole way: telesim posts a message with a photo and a
//! video to a joined channel, the update stream parses it with the media pipeline's hook,
//! the event published to RabbitMQ carries each media's storage key, and the pipeline
//! stores the bytes under that key, byte-exact.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use telesim::api::NewMessage;
use telesim::world::{Media, MediaKind, media_bytes};
use testkit::broker::amqp_url;
use testkit::guarded;
use testkit::stream_setup::{self, JOINED, Received};
use tgc_model::joinmap::JoinMap;
use tgc_service::mediaprocessor::{MediaConfig, MediaProcessor, Storage};
use tgc_service::parser::storage_key;
use tgc_service::publisher::Publisher;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_messages_media_reaches_storage_and_its_event_carries_the_key() {
    let setup = stream_setup::start("live_media").await;
    let mut tail = setup.tail().await;
    let pool = setup.pool().await;
    let media_stop = CancellationToken::new();
    let storage = Storage::local(setup.dir.path().join("media")).expect("local storage");
    let pipeline = MediaProcessor::start(
        MediaConfig {
            downloads_total: 4,
            uploads: 2,
            parallel_chunks: 2,
            ..MediaConfig::defaults(setup.data())
        },
        storage.clone(),
        Arc::clone(&pool),
        media_stop.clone(),
    )
    .expect("the pipeline starts");
    let config = setup
        .publisher_config(&amqp_url())
        .with_media_hook(pipeline.hook());
    let joinmap = Arc::new(JoinMap::open_in(&config.data_dir).expect("the join map"));
    let publisher = Publisher::start(config, joinmap, Arc::clone(&pool), CancellationToken::new())
        .expect("the publisher starts");

    let video = Media::document(9_800_001, MediaKind::Video, 3_000_001);
    let photo = Media::photo(9_800_002, 250_000);
    for media in [&video, &photo] {
        setup
            .sim
            .telegram
            .post_message(
                JOINED,
                NewMessage::text("live media").with_media(media.clone()),
            )
            .expect("posting");
    }
    let received = Received::until(&mut tail, |r| r.distinct() >= 2).await;
    for (event, media) in received.order.iter().zip([&video, &photo]) {
        let body: serde_json::Value = serde_json::from_slice(&event.body).expect("JSON");
        assert_eq!(body["media"]["id"], media.id, "{body}");
        assert_eq!(
            body["media"]["storage"]["key"],
            storage_key(media.id),
            "{body}"
        );
        assert_eq!(body["media"]["storage"]["status"], "pending", "{body}");
    }

    let mut stored = pipeline.watch_stored();
    guarded("both media stored", stored.wait_for(|n| *n >= 2))
        .await
        .expect("the pipeline runs");
    let seed = setup.sim.telegram.seed();
    for (media, thumb) in [(&video, ""), (&photo, "y")] {
        let bytes = storage
            .get(&storage_key(media.id))
            .await
            .expect("stored under its key");
        let want = media_bytes(seed, media.id, thumb, 0, media.size as usize);
        assert_eq!(
            Sha256::digest(&bytes),
            Sha256::digest(&want),
            "media {} byte-exact",
            media.id
        );
    }
    // Both accounts saw the message; the media was downloaded once.
    assert_eq!(pipeline.stats().downloaded_bytes, video.size + photo.size);
    publisher.shutdown().await;
    media_stop.cancel();
    pipeline.join().await;
    setup.finish(tail).await;
}
