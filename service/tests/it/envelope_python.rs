//! The proof that the README's envelope section is enough to write a client: `tests/py/envelope_client.py`,
//! written from the document alone with Python's `cryptography` (AESGCM), and this crate's
//! `Cryptor` seal and open each other's envelopes.

use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::envelope_support::{cryptor, hex, key, unhex};
use base64::Engine;
use serde_json::json;
use testkit::python::{python, workspace};
use tgc_common::config::CryptoKey;
use tgc_service::cryptor::EnvelopeError;

fn key_arg(key: &CryptoKey) -> String {
    format!(
        "{}:{}",
        key.id,
        base64::engine::general_purpose::STANDARD.encode(key.key.expose())
    )
}

fn client(args: &[&str]) -> Output {
    let script = workspace().join("tests/py/envelope_client.py");
    Command::new(python())
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()))
}

/// Runs the client and returns its stdout, failing the test with its stderr if it failed.
fn client_ok(args: &[&str]) -> String {
    let output = client(args);
    assert!(
        output.status.success(),
        "envelope_client.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .trim()
        .to_owned()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .expect("the clock is after 1970")
}

#[test]
fn python_seals_rust_opens_rust_replies_python_opens() {
    let k = key(305_419_896, 0x5A);
    let server = cryptor(std::slice::from_ref(&k));
    let params = r#"{"chat":"t.me/durov","limit":3,"name":"Ünïcode ✓"}"#;
    let sealed_hex = client_ok(&[
        "seal",
        "--key",
        &key_arg(&k),
        "--method",
        "history",
        "--params",
        params,
    ]);
    let sealed = unhex(&sealed_hex);
    let opened = server
        .open_request("POST /api/v1/history", &sealed, now_ms())
        .expect("Python's request opens, with Python's own clock");
    assert_eq!(
        opened.params,
        serde_json::from_str::<serde_json::Value>(params).expect("JSON")
    );
    assert_eq!(opened.key_id, 305_419_896);

    let reply = json!({"messages": [{"id": 1, "text": "héllo"}], "next_offset_id": null});
    let sealed_reply = server.seal_response(&opened, reply.to_string().as_bytes());
    let opened_reply = client_ok(&[
        "open-reply",
        "--key",
        &key_arg(&k),
        "--request",
        &sealed_hex,
        "--reply",
        &hex(&sealed_reply),
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&opened_reply).expect("Python prints the JSON"),
        reply
    );
}

#[test]
fn python_refuses_a_reply_to_another_request_and_an_altered_reply() {
    let k = key(1, 0x11);
    let (rust_client, server) = (
        cryptor(std::slice::from_ref(&k)),
        cryptor(std::slice::from_ref(&k)),
    );
    let (first, _) = rust_client.seal_request("POST /api/v1/chat", &json!({}), now_ms());
    let (second, _) = rust_client.seal_request("POST /api/v1/chat", &json!({}), now_ms());
    let opened = server
        .open_request("POST /api/v1/chat", &first, now_ms())
        .expect("opens");
    let reply = server.seal_response(&opened, b"{}");

    let output = client(&[
        "open-reply",
        "--key",
        &key_arg(&k),
        "--request",
        &hex(&second),
        "--reply",
        &hex(&reply),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not authentic"));

    let mut altered = reply.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    let output = client(&[
        "open-reply",
        "--key",
        &key_arg(&k),
        "--request",
        &hex(&first),
        "--reply",
        &hex(&altered),
    ]);
    assert!(!output.status.success());

    // And the genuine pair opens, so the refusals above are about the binding, not the tool.
    assert_eq!(
        client_ok(&[
            "open-reply",
            "--key",
            &key_arg(&k),
            "--request",
            &hex(&first),
            "--reply",
            &hex(&reply),
        ]),
        "{}"
    );
}

#[test]
fn a_python_request_is_bound_to_its_route_and_its_clock() {
    let k = key(42, 0x42);
    let server = cryptor(std::slice::from_ref(&k));
    let now = now_ms();
    let ts = now.to_string();
    let sealed = unhex(&client_ok(&[
        "seal",
        "--key",
        &key_arg(&k),
        "--method",
        "resolve",
        "--ts",
        &ts,
    ]));
    assert_eq!(
        server.open_request("POST /api/v1/join", &sealed, now).err(),
        Some(EnvelopeError::Unauthentic)
    );
    assert!(matches!(
        server.open_request("POST /api/v1/resolve", &sealed, now + 60_001),
        Err(EnvelopeError::Stale { .. })
    ));
    server
        .open_request("POST /api/v1/resolve", &sealed, now)
        .expect("opens on its own route in time");
    assert_eq!(
        server
            .open_request("POST /api/v1/resolve", &sealed, now)
            .err(),
        Some(EnvelopeError::Replayed)
    );
}

#[test]
fn python_and_rust_agree_under_a_rotated_keyring() {
    let (new_key, old_key) = (key(2, 0x22), key(1, 0x11));
    let server = cryptor(&[new_key.clone(), old_key.clone()]);
    for k in [&old_key, &new_key] {
        let sealed_hex = client_ok(&["seal", "--key", &key_arg(k), "--method", "accounts"]);
        let opened = server
            .open_request("POST /api/v1/accounts", &unhex(&sealed_hex), now_ms())
            .expect("any key of the keyring opens");
        assert_eq!(opened.key_id, k.id);
        let reply = server.seal_response(&opened, br#"{"accounts":[]}"#);
        assert_eq!(
            client_ok(&[
                "open-reply",
                "--key",
                &key_arg(k),
                "--request",
                &sealed_hex,
                "--reply",
                &hex(&reply),
            ]),
            r#"{"accounts":[]}"#
        );
    }
}

#[test]
fn python_reproduces_the_documents_worked_example_byte_for_byte() {
    let doc =
        std::fs::read_to_string(workspace().join("README.md")).expect("README.md is readable");
    let sealed = client_ok(&[
        "seal",
        "--key",
        "7:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "--method",
        "history",
        "--params",
        r#"{"chat":"@durov","limit":2}"#,
        "--ts",
        "1700000000000",
        "--id",
        "req-0001",
        "--nonce",
        "101112131415161718191a1b",
    ]);
    assert_eq!(sealed.len(), 212);
    assert!(
        doc.contains(&sealed),
        "the document's sealed request should be {sealed}"
    );
}
