//! Bad input never crashes the gateway and always gets the status of the error model
//! (docs/design.md §2): envelopes that do not open get a bare status and no detail; requests that
//! open but are wrong get a sealed error naming the problem. The gateway is the served binary,
//! so "still running" means its process.

use crate::gateway_support::{Options, ServedGateway, cryptor_for, json};
use tgc_model::teleclient::ACCEPTED_FORMS;
use tgc_service::cryptor::keygen;
use tgc_service::handler::gateway_client::{ClientError, Method, RawReply};

const HISTORY: &str = "/api/v1/history";

fn sealed(gateway: &ServedGateway, route: &str, params: &str, now_ms: i64) -> Vec<u8> {
    gateway
        .cryptor()
        .seal_request(&format!("POST {route}"), &json(params), now_ms)
        .0
}

fn now_ms() -> i64 {
    tgc_common::clock::unix_ms()
}

/// A refusal before the envelope opened: a bare status, nothing sealed, nothing said.
fn assert_bare(reply: &RawReply, statuses: &[u16], what: &str) {
    assert!(
        statuses.contains(&reply.status),
        "{what}: status {}",
        reply.status
    );
    assert!(!reply.is_sealed(), "{what}: refusals are not sealed");
    assert!(
        reply.body.is_empty(),
        "{what}: no detail, got {:?}",
        reply.body
    );
}

async fn assert_still_serving(gateway: &mut ServedGateway) {
    assert!(gateway.is_running(), "the server process is alive");
    let mut client = gateway.client().await;
    let reply = client
        .query("accounts", &json("{}"))
        .await
        .expect("still serving");
    assert_eq!(reply["total"], 2);
}

#[tokio::test]
async fn random_bytes_truncated_envelopes_and_foreign_keys_get_a_bare_refusal() {
    let mut gateway = ServedGateway::start().await;
    let mut client = gateway.client().await;

    // Random bytes of every short length and some long ones.
    for len in (0..40).chain([100, 1000, 10_000]) {
        let body: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
        let reply = client.post(HISTORY, body).await.unwrap();
        assert_bare(&reply, &[400, 401], &format!("{len} random bytes"));
    }
    // A valid envelope cut at every length.
    let whole = sealed(&gateway, HISTORY, r#"{"chat": "@tech_digest"}"#, now_ms());
    for len in 0..whole.len() {
        let reply = client.post(HISTORY, whole[..len].to_vec()).await.unwrap();
        assert_bare(&reply, &[400, 401], &format!("envelope cut at {len}"));
    }
    // A key the server does not have (another id), and a wrong key under the right id.
    let stranger = keygen::generate();
    let foreign = cryptor_for(&stranger)
        .seal_request(&format!("POST {HISTORY}"), &json("{}"), now_ms())
        .0;
    assert_bare(
        &client.post(HISTORY, foreign).await.unwrap(),
        &[401],
        "unknown key id",
    );
    let mut impostor = stranger.clone();
    impostor.id = gateway.key.id;
    let forged = cryptor_for(&impostor)
        .seal_request(&format!("POST {HISTORY}"), &json("{}"), now_ms())
        .0;
    assert_bare(
        &client.post(HISTORY, forged).await.unwrap(),
        &[401],
        "wrong key",
    );
    // Every single flipped bit.
    for i in 0..whole.len() {
        let mut flipped = sealed(&gateway, HISTORY, r#"{"chat": "@tech_digest"}"#, now_ms());
        flipped[i] ^= 0x01;
        let reply = client.post(HISTORY, flipped).await.unwrap();
        assert_bare(&reply, &[400, 401], &format!("bit flipped in byte {i}"));
    }
    // Sealed for another route: the AAD binds the route.
    let elsewhere = sealed(&gateway, "/api/v1/accounts", "{}", now_ms());
    assert_bare(
        &client.post(HISTORY, elsewhere).await.unwrap(),
        &[401],
        "sealed for another route",
    );
    assert_still_serving(&mut gateway).await;
}

#[tokio::test]
async fn replayed_and_stale_requests_are_409() {
    let mut gateway = ServedGateway::start().await;
    let mut client = gateway.client().await;
    let request = sealed(&gateway, "/api/v1/accounts", "{}", now_ms());
    let first = client
        .post("/api/v1/accounts", request.clone())
        .await
        .unwrap();
    assert_eq!(first.status, 200);
    let replay = client.post("/api/v1/accounts", request).await.unwrap();
    assert_eq!(replay.status, 409);
    assert!(!replay.is_sealed());

    for skew in [-10 * 60_000, 10 * 60_000] {
        let stale = sealed(&gateway, "/api/v1/accounts", "{}", now_ms() + skew);
        let reply = client.post("/api/v1/accounts", stale).await.unwrap();
        assert_eq!(reply.status, 409, "{skew} ms off");
        assert!(!reply.is_sealed());
    }
    assert_still_serving(&mut gateway).await;
}

#[tokio::test]
async fn a_request_captured_before_a_restart_is_refused_after_it() {
    let mut gateway = ServedGateway::start().await;
    let mut client = gateway.client().await;
    let captured = sealed(&gateway, "/api/v1/accounts", "{}", now_ms());
    let first = client
        .post("/api/v1/accounts", captured.clone())
        .await
        .unwrap();
    assert_eq!(first.status, 200);

    // The replay cache is gone with the process; the clock window (60 s) still holds.
    gateway.kill();
    gateway.restart().await;
    let mut client = gateway.client().await;
    let replay = client.post("/api/v1/accounts", captured).await.unwrap();
    assert_eq!(replay.status, 409, "a replay across the restart is refused");
    assert!(!replay.is_sealed());
    let fresh = sealed(&gateway, "/api/v1/accounts", "{}", now_ms());
    let reply = client.post("/api/v1/accounts", fresh).await.unwrap();
    assert_eq!(
        reply.status, 200,
        "a request sealed after the start is served"
    );
    assert_still_serving(&mut gateway).await;
}

#[tokio::test]
async fn oversized_bodies_are_413_and_wrong_paths_and_verbs_get_404_and_405() {
    let mut gateway = ServedGateway::start_with(Options {
        max_body: "4KiB",
        ..Options::default()
    })
    .await;
    let mut client = gateway.client().await;
    let reply = client.post(HISTORY, vec![1u8; 4097]).await.unwrap();
    assert_eq!(reply.status, 413);
    // A sealed request over the limit (big params) is refused the same way, unopened.
    let big = format!(
        r#"{{"chat": "@tech_digest", "pad": "{}"}}"#,
        "x".repeat(5000)
    );
    let reply = client
        .post(HISTORY, sealed(&gateway, HISTORY, &big, now_ms()))
        .await
        .unwrap();
    assert_eq!(reply.status, 413);

    let reply = client.send(Method::GET, HISTORY, Vec::new()).await.unwrap();
    assert_eq!(reply.status, 405);
    let reply = client.post("/api/v2/history", vec![0; 40]).await.unwrap();
    assert_eq!(reply.status, 404);
    let reply = client.post("/", Vec::new()).await.unwrap();
    assert_eq!(reply.status, 404);
    assert_still_serving(&mut gateway).await;
}

#[tokio::test]
async fn unknown_methods_and_wrong_params_get_sealed_errors_that_name_the_problem() {
    let mut gateway = ServedGateway::start().await;
    let mut client = gateway.client().await;
    let api_error = |result: Result<_, ClientError>| match result {
        Err(ClientError::Api {
            status,
            code,
            message,
            ..
        }) => (status, code, message),
        other => panic!("expected a sealed API error, got {other:?}"),
    };

    let (status, code, message) = api_error(client.query("teleport", &json("{}")).await);
    assert_eq!((status, code.as_str()), (404, "unknown_method"));
    assert!(
        message.contains("history") && message.contains("resolve"),
        "{message}"
    );

    for (method, params, names) in [
        ("history", "{}", "`chat` is required"),
        (
            "history",
            r#"{"chat": "@tech_digest", "limit": 0}"#,
            "`limit` must be a whole number from 1 to 100",
        ),
        (
            "history",
            r#"{"chat": "@tech_digest", "limit": "ten"}"#,
            "`limit`",
        ),
        (
            "history",
            r#"{"chat": "@tech_digest", "offset_id": -1}"#,
            "`offset_id`",
        ),
        (
            "history",
            r#"{"chat": "@tech_digest", "limt": 5}"#,
            "unknown parameter limt",
        ),
        (
            "messages",
            r#"{"chat": "@tech_digest"}"#,
            "`ids` is required",
        ),
        (
            "messages",
            r#"{"chat": "@tech_digest", "ids": [0]}"#,
            "`ids` must be",
        ),
        (
            "messages",
            r#"{"chat": "@tech_digest", "ids": "1,2"}"#,
            "`ids` must be",
        ),
        (
            "search",
            r#"{"chat": "@tech_digest"}"#,
            "`query` is required",
        ),
        (
            "search",
            r#"{"query": "x", "offset_id": 5}"#,
            "global search",
        ),
        ("media", "{}", "`media_id` is required"),
        ("media", r#"{"media_id": "abc"}"#, "`media_id`"),
        (
            "accounts",
            r#"{"verbose": true}"#,
            "this method accepts: none",
        ),
        ("similar", r#"{"chat": "@eve_sim"}"#, "channels only"),
    ] {
        let (status, code, message) = api_error(client.query(method, &json(params)).await);
        assert_eq!(
            (status, code.as_str()),
            (400, "bad_params"),
            "{method} {params}: {message}"
        );
        assert!(message.contains(names), "{method} {params}: {message}");
    }

    // Params that are not an object: the envelope opened, but its plaintext is not the
    // request shape, so the refusal is plain (no reply can be bound to a bad request) and says
    // why to the key holder who sent it.
    let route = "/api/v1/history";
    for params in ["[1, 2]", "\"chat\"", "7"] {
        let body = gateway
            .cryptor()
            .seal_request(
                &format!("POST {route}"),
                &json(&format!(r#"{{"x": {params}}}"#))["x"],
                now_ms(),
            )
            .0;
        let reply = client.post(route, body).await.unwrap();
        assert_eq!(reply.status, 400, "params {params}");
        assert!(!reply.is_sealed());
        let text = String::from_utf8_lossy(&reply.body);
        assert!(
            text.contains("`params` is not a JSON object"),
            "params {params}: {text}"
        );
    }
    assert_still_serving(&mut gateway).await;
}

#[tokio::test]
async fn every_wrong_chat_form_is_400_naming_the_accepted_forms() {
    let mut gateway = ServedGateway::start().await;
    let mut client = gateway.client().await;
    for chat in [
        r#""""#,
        r#""   ""#,
        r#""https://example.com/tech_digest""#,
        r#""ftp://t.me/x/y/z""#,
        r#""a b""#,
        r#""_tech""#,
        r#""abc""#,
        r#""12ab""#,
        r#""0""#,
        r#""@""#,
        r#""this_name_is_far_too_long_for_telegram_usernames""#,
        "true",
        "[\"@tech_digest\"]",
        "{\"id\": 1}",
        "1.5",
    ] {
        for method in ["resolve", "chat", "history", "join"] {
            let error = client
                .query(method, &json(&format!(r#"{{"chat": {chat}}}"#)))
                .await
                .unwrap_err();
            match &error {
                ClientError::Api {
                    status: 400,
                    code,
                    message,
                    ..
                } => {
                    assert_eq!(code, "bad_chat", "{method} {chat}: {message}");
                    assert!(
                        message.contains(ACCEPTED_FORMS),
                        "{method} {chat}: {message}"
                    );
                }
                other => panic!("{method} {chat}: expected a sealed 400, got {other}"),
            }
        }
    }
    assert_still_serving(&mut gateway).await;
}

#[tokio::test]
async fn requests_past_the_concurrency_limit_get_503_with_retry_after() {
    let mut gateway = ServedGateway::start_with(Options {
        max_concurrency: 1,
        ..Options::default()
    })
    .await;
    let mut warm = gateway.client().await;
    warm.query("resolve", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap();
    gateway
        .sim
        .faults
        .method_latency("messages.getHistory", std::time::Duration::from_secs(2));
    let mut slow = gateway.client().await;
    let in_flight = tokio::spawn(async move {
        slow.query("history", &json(r#"{"chat": "@tech_digest"}"#))
            .await
    });
    // The one permit is taken once telesim holds the call.
    tokio::time::timeout(crate::gateway_support::HANG_GUARD, async {
        while gateway.sim.counters.method_total("messages.getHistory") < 1 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the first request reaches telesim");
    let mut client = gateway.client().await;
    let reply = client
        .post(
            "/api/v1/accounts",
            sealed(&gateway, "/api/v1/accounts", "{}", now_ms()),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 503);
    assert_eq!(reply.retry_after.as_deref(), Some("1"));
    assert!(!reply.is_sealed());
    in_flight
        .await
        .unwrap()
        .expect("the request holding the permit completes");
    gateway.sim.faults.clear();
    assert_still_serving(&mut gateway).await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_within_the_deadline_is_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut gateway = ServedGateway::start_with(Options {
        request_timeout: "1s",
        ..Options::default()
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(gateway.api).await.unwrap();
    // Promise 100 bytes, send 3, and stall.
    stream
        .write_all(
            b"POST /api/v1/history HTTP/1.1\r\nHost: gateway\r\nContent-Length: 100\r\n\r\nabc",
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    let mut buffer = [0u8; 1024];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let read =
            tokio::time::timeout(crate::gateway_support::HANG_GUARD, stream.read(&mut buffer))
                .await
                .expect("the gateway answers a stalled body")
                .unwrap();
        assert!(read > 0, "the gateway closed without answering");
        response.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&response);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert_still_serving(&mut gateway).await;
}
