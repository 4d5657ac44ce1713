//! grammers against telesim: photo and document downloads, byte-exact, and expired references.
//!
//! Downloads go through `iter_download` (grammers 0.11's `download_media` may return before its
//! file is flushed; see docs/design.md §9).

use grammers_client::Client;
use grammers_client::media::Media;
use grammers_client::message::Message;
use grammers_client::session::types::PeerRef;
use telesim::Sim;
use telesim::world::demo::{ALICE, NEWS};
use telesim::world::{self, World};
use testkit::connected::{connect, rpc_error};
use testkit::guarded;

async fn news_messages(client: &Client) -> (PeerRef, Vec<Message>) {
    let news = guarded("resolve", client.resolve_username("telesim_news"))
        .await
        .unwrap()
        .expect("telesim_news exists")
        .to_ref()
        .await
        .unwrap()
        .expect("usable peer");
    let mut iter = client.iter_messages(news);
    let mut messages = Vec::new();
    while let Some(m) = guarded("history", iter.next()).await.unwrap() {
        messages.push(m);
    }
    (news, messages)
}

async fn download(
    client: &Client,
    media: &Media,
) -> Result<Vec<u8>, grammers_client::InvocationError> {
    let mut chunks = client.iter_download(media);
    let mut bytes = Vec::new();
    while let Some(chunk) = guarded("a chunk", chunks.next()).await? {
        bytes.extend(chunk);
    }
    Ok(bytes)
}

/// The world's media of message `id` in the news channel.
fn world_media(id: i32) -> world::Media {
    World::demo().chats[&NEWS]
        .messages
        .iter()
        .find(|m| m.id == id)
        .and_then(|m| m.media.clone())
        .expect("the message has media in the demo world")
}

/// What the file of `media` must contain: the largest size for a photo, the document itself.
fn expected_bytes(sim: &Sim, media: &world::Media) -> Vec<u8> {
    let (thumb, size) = match media.kind {
        world::MediaKind::Photo => {
            let largest = world::photo_sizes(media).pop().expect("a photo has sizes");
            (largest.kind, largest.size)
        }
        _ => ("", media.size),
    };
    world::media_bytes(sim.telegram.seed(), media.id, thumb, 0, size as usize)
}

#[tokio::test]
async fn photos_and_documents_download_byte_exact() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    let (_, messages) = news_messages(&alice.client).await;
    let mut photos = 0;
    let mut documents = 0;
    for message in &messages {
        let Some(media) = message.media() else {
            continue;
        };
        let expected = expected_bytes(&sim, &world_media(message.id()));
        let got = download(&alice.client, &media).await.unwrap();
        assert_eq!(
            got.len(),
            expected.len(),
            "size of the media of message {}",
            message.id()
        );
        assert!(
            got == expected,
            "bytes of the media of message {}",
            message.id()
        );
        match media {
            Media::Photo(_) => photos += 1,
            _ => documents += 1,
        }
    }
    assert_eq!(photos, 3, "the launch album");
    assert!(
        documents >= 4,
        "video, audio, voice, sticker, file: {documents}"
    );
    // The 2.6 MB video alone takes several 512 KiB chunks.
    assert!(sim.counters.get(ALICE, "upload.getFile") >= 10);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_file_reference_is_refused_until_the_message_is_fetched_again() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    let (news, messages) = news_messages(&alice.client).await;
    let message = messages
        .iter()
        .find(|m| matches!(m.media(), Some(Media::Document(_))))
        .expect("a document in the news");
    let media_id = world_media(message.id()).id;

    sim.telegram.expire_file_reference(media_id);
    let stale = download(&alice.client, &message.media().unwrap()).await;
    assert_eq!(
        rpc_error(stale),
        (400, "FILE_REFERENCE_EXPIRED".to_string(), None)
    );

    let fresh = guarded(
        "refetch",
        alice.client.get_messages_by_id(news, &[message.id()]),
    )
    .await
    .unwrap()
    .pop()
    .flatten()
    .expect("the message still exists");
    let bytes = download(&alice.client, &fresh.media().unwrap())
        .await
        .unwrap();
    assert!(bytes == expected_bytes(&sim, &world_media(message.id())));
    sim.shutdown().await;
}
