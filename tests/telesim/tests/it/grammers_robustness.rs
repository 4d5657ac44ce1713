//! Nothing a client sends can take the server down: garbage closes that connection only.
//!
//! Each case opens a raw TCP connection, sends something broken, and waits for the server to
//! close it; then a real grammers client must still be served.

use rand::{Rng, SeedableRng};
use telesim::Sim;
use telesim::server::transport::encode_frame;
use telesim::world::World;
use telesim::world::demo::ALICE;
use testkit::connected::connect;
use testkit::guarded;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `bytes`, half-closes, and returns everything the server sent before closing.
async fn send_and_wait_for_close(sim: &Sim, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(sim.addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    stream.shutdown().await.expect("half-close");
    let mut answer = Vec::new();
    guarded("the server closing a bad connection", async {
        // A reset is also a close; what matters is that the read ends.
        let _ = stream.read_to_end(&mut answer).await;
    })
    .await;
    answer
}

async fn still_serves(sim: &Sim) {
    let alice = connect(sim, ALICE);
    let me = guarded("get_me after bad input", alice.client.get_me())
        .await
        .expect("the server still answers a good client");
    assert_eq!(me.id().bare_id(), Some(ALICE));
}

/// An envelope for a key id with a random msg_key and body: it will not decrypt.
fn undecryptable(key_id: i64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut payload = key_id.to_le_bytes().to_vec();
    payload.extend((0..16 + 64).map(|_| rng.r#gen::<u8>()));
    payload
}

#[tokio::test]
async fn random_bytes_close_only_that_connection() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for len in [1usize, 3, 12, 100, 4096] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        send_and_wait_for_close(&sim, &bytes).await;
    }
    still_serves(&sim).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_bad_checksum_closes_the_connection() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let key_id = sim.account(ALICE).unwrap().auth_key_id;
    let mut frame = encode_frame(0, &undecryptable(key_id));
    let last = frame.len() - 1;
    frame[last] ^= 0x55;
    let answer = send_and_wait_for_close(&sim, &frame).await;
    assert!(answer.is_empty(), "no reply to a corrupt frame: {answer:?}");
    still_serves(&sim).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_auth_key_gets_transport_error_404() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let frame = encode_frame(0, &undecryptable(0x0123_4567_89ab_cdef));
    let answer = send_and_wait_for_close(&sim, &frame).await;
    assert_eq!(answer, (-404i32).to_le_bytes());
    // No DH handshake either: an unencrypted message is refused the same way.
    let plain = encode_frame(0, &undecryptable(0));
    assert_eq!(
        send_and_wait_for_close(&sim, &plain).await,
        (-404i32).to_le_bytes()
    );
    still_serves(&sim).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_message_that_does_not_decrypt_closes_the_connection() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let key_id = sim.account(ALICE).unwrap().auth_key_id;
    let answer = send_and_wait_for_close(&sim, &encode_frame(0, &undecryptable(key_id))).await;
    assert!(
        answer.is_empty(),
        "no reply to an undecryptable message: {answer:?}"
    );
    still_serves(&sim).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn truncated_and_absurd_frames_close_the_connection() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let key_id = sim.account(ALICE).unwrap().auth_key_id;
    let frame = encode_frame(0, &undecryptable(key_id));
    send_and_wait_for_close(&sim, &frame[..frame.len() / 2]).await;
    send_and_wait_for_close(&sim, &(i32::MAX).to_le_bytes()).await;
    send_and_wait_for_close(&sim, &(-1i32).to_le_bytes()).await;
    let out_of_order = encode_frame(5, &undecryptable(key_id));
    send_and_wait_for_close(&sim, &out_of_order).await;
    still_serves(&sim).await;
    sim.shutdown().await;
}
