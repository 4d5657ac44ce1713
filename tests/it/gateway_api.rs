//! The API v1 methods against the real server binary and telesim's demo world, over TCP,
//! sealed: every method of docs/design.md §2 answers with real data, paging works, h2c works, the
//! pool's failures reach the client with the statuses of the error model, and the operator
//! endpoints report the pool.

use std::time::Duration;

use crate::gateway_support::{Gateway, Options, json};
use telesim::world::demo::{ALICE, BOB, NEWS, TECH_DIGEST};
use tgc_service::handler::gateway_client::{ClientError, GatewayClient};

const TECH_DIGEST_ID: i64 = -1_000_000_000_000 - TECH_DIGEST;

/// Every message of `chat`'s history, walked by the replies' cursor `limit` at a time,
/// and the number of pages it took; every message is checked to be parsed by the schema.
async fn page_through(client: &mut GatewayClient, chat: &str, limit: usize) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let page = client
            .query(
                "history",
                &json(&format!(
                    r#"{{"chat": "{chat}", "limit": {limit}, "offset_id": {offset}}}"#
                )),
            )
            .await
            .unwrap();
        pages += 1;
        for message in page["messages"].as_array().unwrap() {
            assert_eq!(message["schema"], 1, "parsed by the schema: {message}");
            ids.push(message["id"].as_i64().unwrap());
        }
        match page["next_offset_id"].as_i64() {
            Some(next) => offset = next,
            None => break,
        }
    }
    (ids, pages)
}

#[tokio::test]
async fn resolve_chat_and_history_answer_from_the_demo_world() {
    let gateway = Gateway::start().await;
    let mut client = gateway.client().await;

    let resolved = client
        .query(
            "resolve",
            &json(r#"{"chat": "https://t.me/tech_digest/5"}"#),
        )
        .await
        .unwrap();
    assert_eq!(resolved["chat"]["id"], TECH_DIGEST_ID);
    assert_eq!(resolved["chat"]["type"], "channel");
    assert!(
        [ALICE, BOB].contains(&resolved["account"].as_i64().unwrap()),
        "{resolved}"
    );

    let chat = client
        .query("chat", &json(r#"{"chat": "@Telesim_News"}"#))
        .await
        .unwrap();
    assert_eq!(chat["chat"]["name"], "Telesim News");
    assert_eq!(
        chat["about"],
        "Everything that happens in the simulated world."
    );
    assert_eq!(chat["participants_count"], 15_320);
    assert_eq!(chat["chat"]["id"], -1_000_000_000_000 - NEWS);

    // Tech Digest has 25 messages: three pages of 10, walked by the reply's cursor.
    let (ids, pages) = page_through(&mut client, "tech_digest", 10).await;
    assert_eq!(ids, (1..=25).rev().collect::<Vec<i64>>());
    assert_eq!(pages, 3);

    let bounded = client
        .query(
            "history",
            &json(r#"{"chat": "tech_digest", "min_id": 20, "max_id": 23}"#),
        )
        .await
        .unwrap();
    let bounded: Vec<i64> = bounded["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(bounded, vec![22, 21]);
}

#[tokio::test]
async fn paging_never_repeats_a_message_when_a_page_ends_exactly_at_the_first_one() {
    let gateway = Gateway::start().await;
    let mut client = gateway.client().await;
    // 25 messages: pages of 5 and of 25 end exactly at message 1, pages of 7 do not.
    for limit in [5, 7, 25] {
        let (ids, pages) = page_through(&mut client, "tech_digest", limit).await;
        assert_eq!(
            ids,
            (1..=25).rev().collect::<Vec<i64>>(),
            "pages of {limit}: every message once"
        );
        assert_eq!(
            pages,
            25usize.div_ceil(limit),
            "pages of {limit}: no empty last page"
        );
    }
}

#[tokio::test]
async fn messages_search_similar_media_and_accounts_answer() {
    let gateway = Gateway::start().await;
    let mut client = gateway.client().await;

    let messages = client
        .query(
            "messages",
            &json(r#"{"chat": "tech_digest", "ids": [3, 1, 999]}"#),
        )
        .await
        .unwrap();
    let mut found: Vec<i64> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    found.sort_unstable();
    assert_eq!(found, vec![1, 3]);
    assert_eq!(messages["missing"], json(r#"{"x": [999]}"#)["x"]);

    let in_chat = client
        .query(
            "search",
            &json(r#"{"chat": "tech_digest", "query": "Digest #2", "limit": 3}"#),
        )
        .await
        .unwrap();
    let texts: Vec<&str> = in_chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        !texts.is_empty() && texts.iter().all(|t| t.contains("Digest #2")),
        "{texts:?}"
    );

    let global = client
        .query("search", &json(r#"{"query": "launch"}"#))
        .await
        .unwrap();
    assert!(global["count"].as_i64().unwrap() > 0, "{global}");
    assert!(global["next_offset_id"].is_null());

    let similar = client
        .query("similar", &json(r#"{"chat": "@telesim_news"}"#))
        .await
        .unwrap();
    let names: Vec<&str> = similar["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Tech Digest"]);

    let media = client
        .query("media", &json(r#"{"media_id": 9101}"#))
        .await
        .unwrap();
    assert_eq!(
        media["storage"]["key"],
        tgc_service::parser::storage_key(9101)
    );
    assert_eq!(media["storage"]["status"], "not_tracked");

    let accounts = client.query("accounts", &json("{}")).await.unwrap();
    assert_eq!(accounts["total"], 2);
    assert_eq!(accounts["active"], 2);
    let states: Vec<&str> = accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["active", "active"]);
}

#[tokio::test]
async fn join_shows_in_subscriptions_and_leave_removes_it() {
    let gateway = Gateway::start().await;
    let mut client = gateway.client().await;
    let subscribed = |reply: &tgc_service::handler::gateway_client::Value| {
        reply["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == TECH_DIGEST_ID)
    };
    let before = client.query("subscriptions", &json("{}")).await.unwrap();
    assert!(
        !subscribed(&before),
        "nobody is in Tech Digest yet: {before}"
    );

    let joined = client
        .query("join", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap();
    assert_eq!(joined["joined"], true);
    assert_eq!(joined["chat"]["name"], "Tech Digest");
    let after = client.query("subscriptions", &json("{}")).await.unwrap();
    assert!(subscribed(&after), "{after}");

    let left = client
        .query("leave", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap();
    assert_eq!(left["left"], true);
    assert_eq!(
        left["account"], joined["account"],
        "the joining account leaves"
    );
    let finally = client.query("subscriptions", &json("{}")).await.unwrap();
    assert!(!subscribed(&finally), "{finally}");

    // Leaving again is the caller's mistake, not Telegram's failure.
    let error = client
        .query("leave", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Api { status: 409, code, .. } if code == "not_participant"),
        "{error}"
    );

    // Users cannot be joined.
    let error = client
        .query("join", &json(r#"{"chat": "@eve_sim"}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Api { status: 400, code, .. } if code == "bad_params"),
        "{error}"
    );
}

#[tokio::test]
async fn h2c_serves_the_same_api() {
    let gateway = Gateway::start().await;
    let mut client = gateway.client_h2().await;
    let history = client
        .query("history", &json(r#"{"chat": "@tech_digest", "limit": 2}"#))
        .await
        .unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn unknown_chats_are_404_and_every_account_flood_waiting_is_503_with_retry_after() {
    let gateway = Gateway::start().await;
    let mut client = gateway.client().await;

    let error = client
        .query("history", &json(r#"{"chat": "@nobody_at_all"}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Api { status: 404, code, .. } if code == "unknown_chat"),
        "{error}"
    );
    let error = client
        .query("history", &json(r#"{"chat": -1000000999999}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Api { status: 404, code, .. } if code == "unknown_chat"),
        "{error}"
    );

    for account in [ALICE, BOB] {
        gateway.sim.faults.flood_wait(
            account,
            "messages.getHistory",
            120,
            telesim::faults::FaultSpan::Calls(5),
        );
    }
    let error = client
        .query("history", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap_err();
    match &error {
        ClientError::Api {
            status,
            code,
            retry_after,
            ..
        } => {
            assert_eq!((*status, code.as_str()), (503, "flood_wait"), "{error}");
            let wait = retry_after.expect("the wait reaches the client");
            assert!((1..=120).contains(&wait), "{wait}");
        }
        other => panic!("expected a sealed 503, got {other}"),
    }
    // Another method still works on the same accounts.
    assert!(
        client
            .query("chat", &json(r#"{"chat": "@tech_digest"}"#))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_request_past_its_deadline_is_504() {
    let gateway = Gateway::start_with(Options {
        request_timeout: "1s",
        ..Options::default()
    })
    .await;
    let mut client = gateway.client().await;
    // Warm the chat first, so the slow call is the history itself.
    client
        .query("resolve", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap();
    gateway
        .sim
        .faults
        .method_latency("messages.getHistory", Duration::from_secs(5));
    let error = client
        .query("history", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Api { status: 504, code, .. } if code == "deadline_exceeded"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_request_rate_work_that_cannot_start_in_time_is_refused_at_once() {
    let gateway = Gateway::start_with(Options {
        request_timeout: "2s",
        extra: "pool.requests_per_second = 1",
        ..Options::default()
    })
    .await;
    let mut client = gateway.client().await;
    client
        .query("resolve", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap();
    // Far more at once than one account serves in two seconds at one request a second.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let mut client = gateway.client().await;
        burst.spawn(async move {
            client
                .query("history", &json(r#"{"chat": "@tech_digest", "limit": 1}"#))
                .await
        });
    }
    let replies = burst.join_all().await;
    let mut refused = Vec::new();
    for reply in &replies {
        match reply {
            Ok(_) => {}
            Err(ClientError::Api {
                status: 503,
                code,
                retry_after: Some(seconds),
                ..
            }) if code == "overloaded" => refused.push(*seconds),
            Err(error) => panic!("served or refused with 503, never timed out: {error}"),
        }
    }
    assert!(!refused.is_empty(), "the burst was over the rate");
    assert!(
        refused.len() < replies.len(),
        "some of the burst was served"
    );

    // Refused work took no turn: after the wait the gateway named, a request is served.
    let wait = refused.iter().copied().max().unwrap_or(1);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    client
        .query("history", &json(r#"{"chat": "@tech_digest", "limit": 1}"#))
        .await
        .expect("served after the named wait");
}

#[tokio::test]
async fn operator_endpoints_report_health_readiness_and_metrics() {
    let gateway = Gateway::start().await;
    assert_eq!(
        gateway.operator_get("/healthz").await,
        (200, "ok\n".to_string())
    );
    let (status, text) = gateway.operator_get("/readyz").await;
    assert_eq!(
        (status, text.as_str()),
        (200, "ready: 2 of 2 accounts active\n")
    );

    let mut client = gateway.client().await;
    client
        .query("history", &json(r#"{"chat": "@tech_digest", "limit": 1}"#))
        .await
        .unwrap();
    let _ = client
        .query("history", &json(r#"{"chat": "no way"}"#))
        .await
        .unwrap_err();
    let (status, metrics) = gateway.operator_get("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        r#"tgc_http_requests_total{route="history",status="200"} 1"#,
        r#"tgc_http_requests_total{route="history",status="400"} 1"#,
        &format!(r#"tgc_account_state{{account="{ALICE}",state="active"}} 1"#),
        "tgc_accounts_active 2",
        "tgc_http_request_duration_seconds_bucket",
        "tgc_account_flood_waits_total",
        "tgc_account_resolves_total",
        r#"tgc_media_tasks{state="queued"}"#,
        r#"tgc_media_bytes_total{direction="download"}"#,
        "tgc_media_upload_retries_total 0",
        "tgc_media_takeovers_total 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    assert_eq!(gateway.operator_get("/nope").await.0, 404);
}

#[tokio::test]
async fn readyz_is_503_when_no_account_is_active() {
    let gateway = Gateway::start().await;
    for account in [ALICE, BOB] {
        gateway.sim.faults.auth_key_unregistered(account);
    }
    let mut client = gateway.client().await;
    // The pool learns that the keys are gone on its next calls.
    for _ in 0..2 {
        let _ = client
            .query("history", &json(r#"{"chat": "@tech_digest"}"#))
            .await;
    }
    let (status, text) = gateway.operator_get("/readyz").await;
    assert_eq!(
        (status, text.as_str()),
        (503, "not ready: 0 of 2 accounts active\n")
    );
}

/// Runs `tgcollector query` against the gateway with the server's own configuration.
async fn query_command(
    gateway: &Gateway,
    addr: std::net::SocketAddr,
    args: &[&str],
) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tgcollector"));
    command
        .arg("--config")
        .arg(gateway.dir.path().join("config.properties"))
        .arg("query")
        .args(args)
        .arg("--addr")
        .arg(addr.to_string());
    tokio::task::spawn_blocking(move || command.output().expect("tgcollector runs"))
        .await
        .expect("query task")
}

#[tokio::test]
async fn the_query_command_prints_the_reply_or_fails_with_status_and_code() {
    let gateway = Gateway::start().await;
    let output = query_command(
        &gateway,
        gateway.api,
        &[
            "history",
            r#"{"params": {"chat": "@tech_digest", "limit": 1}}"#,
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("\n  \"count\": 25,\n"),
        "pretty JSON: {stdout}"
    );
    assert_eq!(json(&stdout)["messages"][0]["id"], 25);

    for (args, expected) in [
        (vec!["teleport"], "HTTP 404, error unknown_method"),
        (
            vec!["history", r#"{"chat": "x y"}"#],
            "HTTP 400, error bad_chat",
        ),
        (
            vec!["history", "{not json"],
            "the params are not valid JSON",
        ),
        (vec!["history", "[1]"], "the params must be a JSON object"),
    ] {
        let output = query_command(&gateway, gateway.api, &args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }

    // `accounts list` shows the running gateway's view of each session file.
    let mut list = std::process::Command::new(env!("CARGO_BIN_EXE_tgcollector"));
    list.arg("--config")
        .arg(gateway.dir.path().join("config.properties"))
        .args(["accounts", "list", "--addr"])
        .arg(gateway.api.to_string());
    let output = tokio::task::spawn_blocking(move || list.output().expect("tgcollector runs"))
        .await
        .expect("list task");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let header = stdout.lines().next().unwrap_or_default();
    assert!(header.contains("STATE"), "{stdout}");
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    assert!(!rows.is_empty(), "{stdout}");
    assert!(rows.iter().all(|row| row.contains(" active ")), "{stdout}");

    // Nobody listening: a closed port.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let output = query_command(&gateway, closed, &["accounts"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot connect to the gateway"), "{stderr}");
}
