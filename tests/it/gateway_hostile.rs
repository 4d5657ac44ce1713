//! Peers that never finish what they start: headers sent slowly, connections opened and left
//! idle, more connections than allowed, bodies that never arrive, HTTP/2 asking for hundreds of
//! streams. Each holds only what the limits allow, and is let go by a timeout, not by luck.
//! The tests wait for what the server does (it closes, it answers); none of them measures time.

use std::time::Duration;

use crate::gateway_support::{Gateway, Options, json};
use testkit::guarded;
use tgc_service::handler::H2_MAX_STREAMS;
use tgc_service::handler::gateway_client::{ClientError, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; what it sent before, as text.
async fn until_closed(stream: &mut TcpStream, what: &str) -> String {
    let mut received = Vec::new();
    guarded(what, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&received).into_owned()
}

/// Asks `accounts` on a new connection until it is answered (the gateway lets go of what it
/// held a moment after the test does).
async fn until_served(gateway: &Gateway, what: &str) -> Value {
    guarded(what, async {
        loop {
            let mut client = gateway.client().await;
            match client.query("accounts", &json("{}")).await {
                Ok(reply) => break reply,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
}

fn with(extra: &'static str) -> Options {
    Options {
        extra,
        ..Options::default()
    }
}

#[tokio::test]
async fn headers_that_never_end_are_cut_off_at_the_header_timeout() {
    let gateway = Gateway::start_with(with("server.header_timeout = 1s")).await;
    let mut slow = TcpStream::connect(gateway.api).await.unwrap();
    slow.write_all(b"POST /api/v1/accounts HTTP/1.1\r\nHost: gateway\r\n")
        .await
        .unwrap();
    // No more header lines, ever: the server hangs up.
    until_closed(&mut slow, "the slow-header connection closed").await;
    // Meanwhile, and after, others are served.
    gateway
        .client()
        .await
        .query("accounts", &json("{}"))
        .await
        .expect("served");
}

#[tokio::test]
async fn a_connection_left_idle_after_a_request_is_closed_at_the_idle_timeout() {
    let gateway = Gateway::start_with(with("server.idle_timeout = 1s")).await;
    let mut idle = TcpStream::connect(gateway.api).await.unwrap();
    idle.write_all(b"GET /api/v1/accounts HTTP/1.1\r\nHost: gateway\r\n\r\n")
        .await
        .unwrap();
    let seen = until_closed(&mut idle, "the idle connection closed").await;
    assert!(seen.starts_with("HTTP/1.1 405"), "answered first: {seen}");
}

#[tokio::test]
async fn past_the_connection_limit_a_new_connection_is_closed_unanswered() {
    let gateway = Gateway::start_with(with("server.max_connections = 4")).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut open = TcpStream::connect(gateway.api).await.unwrap();
        // A request answered proves the connection was taken.
        open.write_all(b"GET /api/v1/accounts HTTP/1.1\r\nHost: gateway\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 12];
        guarded("an answer", open.read_exact(&mut buf))
            .await
            .expect("an answer on a connection within the limit");
        held.push(open);
    }
    let mut fifth = TcpStream::connect(gateway.api).await.unwrap();
    let _ = fifth
        .write_all(b"GET /api/v1/accounts HTTP/1.1\r\nHost: gateway\r\n\r\n")
        .await;
    let seen = until_closed(&mut fifth, "the fifth connection closed").await;
    assert!(seen.is_empty(), "closed without an answer: {seen}");

    // One of the four goes away: its place is taken by the next.
    drop(held.pop());
    // The listener may not have seen the drop yet.
    let served = until_served(&gateway, "a connection within the limit again").await;
    assert!(served["accounts"].is_array(), "{served}");
}

#[tokio::test]
async fn an_http2_connection_is_offered_a_bounded_number_of_streams() {
    let gateway = Gateway::start().await;
    let mut h2 = TcpStream::connect(gateway.api).await.unwrap();
    // The client preface and an empty SETTINGS frame (type 4, stream 0).
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut header = [0u8; 9];
    guarded("the server's SETTINGS frame", h2.read_exact(&mut header))
        .await
        .unwrap();
    assert_eq!(header[3], 4, "the server speaks first with SETTINGS");
    let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; length];
    guarded("the SETTINGS payload", h2.read_exact(&mut payload))
        .await
        .unwrap();
    let max_streams = payload.chunks_exact(6).find_map(|setting| {
        let id = u16::from_be_bytes([setting[0], setting[1]]);
        (id == 3).then(|| u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]))
    });
    assert_eq!(max_streams, Some(H2_MAX_STREAMS));
    const {
        assert!(
            H2_MAX_STREAMS <= 32,
            "hyper's default of 200 is what this bounds"
        )
    };
}

#[tokio::test]
async fn bodies_that_do_not_arrive_hold_only_the_body_budget_and_others_are_told_to_retry() {
    let gateway = Gateway::start_with(Options {
        max_body: "4KiB",
        extra: "server.max_body_bytes_in_flight = 4KiB",
        ..Options::default()
    })
    .await;
    // A sender announces the largest body and sends none of it: the whole budget is its.
    let mut hoarder = TcpStream::connect(gateway.api).await.unwrap();
    hoarder
        .write_all(
            b"POST /api/v1/accounts HTTP/1.1\r\nHost: gateway\r\nContent-Length: 4096\r\n\r\n",
        )
        .await
        .unwrap();
    let refused = guarded("a request refused while the budget is taken", async {
        loop {
            let mut client = gateway.client().await;
            match client.query("accounts", &json("{}")).await {
                Err(ClientError::Refused { status: 503, text }) => break text,
                // The hoarder's request may not have reached the gateway yet.
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(error) => panic!("503 or served, not {error}"),
            }
        }
    })
    .await;
    assert!(refused.contains("max_body_bytes_in_flight"), "{refused}");

    // The hoarder goes away: its reservation is given back.
    drop(hoarder);
    until_served(&gateway, "served once the budget is free").await;
}
