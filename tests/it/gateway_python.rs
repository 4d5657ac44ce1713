//! The envelope as documented is enough: an independent Python client (written from
//! the README's envelope section alone, `tests/py/envelope_client.py`, AESGCM from `cryptography`)
//! queries `history` on the live server and opens the reply; a flipped byte gets 401, a
//! replayed request 409, a stale timestamp is refused; and a sealed plaintext that is not
//! JSON gets 400 without crashing anything.

use std::path::PathBuf;
use std::process::Output;

use crate::gateway_support::{Gateway, json};
use testkit::python::python;
use tgc_service::cryptor::keygen;

fn client_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/envelope_client.py")
}

async fn run_python(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(python())
            .args(&args)
            .output()
            .expect("python runs")
    })
    .await
    .expect("python task")
}

async fn query(gateway: &Gateway, method: &str, params: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        client_script().display().to_string(),
        "query".into(),
        "--url".into(),
        format!("http://{}", gateway.api),
        "--key".into(),
        keygen::config_value(&gateway.key),
        "--method".into(),
        method.into(),
        "--params".into(),
        params.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run_python(args).await
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn the_python_client_queries_history_and_opens_the_reply() {
    let gateway = Gateway::start().await;
    let output = query(
        &gateway,
        "history",
        r#"{"chat": "@tech_digest", "limit": 2}"#,
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", text(&output));
    let reply = json(&String::from_utf8_lossy(&output.stdout));
    let ids: Vec<i64> = reply["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![25, 24], "{}", text(&output));
    assert_eq!(reply["count"], 25);
}

#[tokio::test]
async fn the_python_client_sees_401_for_a_flipped_byte_409_for_a_replay_and_a_stale_refusal() {
    let gateway = Gateway::start().await;
    let params = r#"{"chat": "@tech_digest", "limit": 1}"#;
    // A bit flipped in the key id, the nonce, the ciphertext and the tag (the envelope of
    // these params is 136 bytes: 17 of header, 103 of ciphertext, 16 of tag).
    for byte in ["2", "10", "40", "130"] {
        let output = query(
            &gateway,
            "history",
            params,
            &["--flip-byte", byte, "--expect-status", "401"],
        )
        .await;
        assert!(output.status.success(), "byte {byte}: {}", text(&output));
    }
    let output = query(
        &gateway,
        "history",
        params,
        &["--send", "2", "--expect-status", "409"],
    )
    .await;
    assert!(output.status.success(), "replay: {}", text(&output));
    for offset in ["-600000", "600000"] {
        let output = query(
            &gateway,
            "history",
            params,
            &["--ts-offset-ms", offset, "--expect-status", "409"],
        )
        .await;
        assert!(
            output.status.success(),
            "stale by {offset} ms: {}",
            text(&output)
        );
    }
}

#[tokio::test]
async fn a_sealed_plaintext_that_is_not_json_is_400() {
    let gateway = Gateway::start().await;
    // Sealed by hand with AESGCM, following the README's envelope section, around bytes that are not JSON.
    let script = r#"
import base64, os, struct, sys, urllib.request, urllib.error
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
url, key_text, plaintext = sys.argv[1], sys.argv[2], sys.argv[3].encode()
key_id, key = key_text.split(":", 1)
key_id, key = int(key_id), base64.b64decode(key)
prefix = bytes([1]) + struct.pack(">I", key_id)
route = b"POST /api/v1/history"
nonce = os.urandom(12)
body = prefix + nonce + AESGCM(key).encrypt(nonce, plaintext, prefix + route)
try:
    urllib.request.urlopen(urllib.request.Request(url + "/api/v1/history", data=body, method="POST"))
    print(200)
except urllib.error.HTTPError as error:
    print(error.code)
"#;
    for plaintext in ["not json", "{\"ts\": 1", "", "[]", "\u{1}\u{2}\u{3}"] {
        let output = run_python(vec![
            "-c".into(),
            script.into(),
            format!("http://{}", gateway.api),
            keygen::config_value(&gateway.key),
            plaintext.into(),
        ])
        .await;
        assert!(output.status.success(), "{}", text(&output));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "400",
            "{plaintext:?}: {}",
            text(&output)
        );
    }
    let mut client = gateway.client().await;
    assert!(
        client.query("accounts", &json("{}")).await.is_ok(),
        "still serving"
    );
}
