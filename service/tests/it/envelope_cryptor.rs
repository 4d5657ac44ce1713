//! The sealed envelope of docs/design.md §3, through `Cryptor`'s public API: round trips, every way an
//! envelope fails to open or is refused, key rotation, and the worked example of
//! the README's envelope section (so the document and the code cannot disagree).

use std::sync::Arc;
use std::time::Duration;

use crate::envelope_support::{NOW, WINDOW_MS, cryptor, history, key, seal_raw, unhex};
use serde_json::json;
use testkit::python::workspace;
use tgc_common::config::CryptoSettings;
use tgc_service::cryptor::{Cryptor, CryptorError, EnvelopeError, OpenedRequest};

fn open_ok(server: &Cryptor, route: &str, sealed: &[u8], now: i64) -> OpenedRequest {
    server
        .open_request(route, sealed, now)
        .unwrap_or_else(|error| panic!("expected the request to open, got {error}"))
}

#[test]
fn a_sealed_request_opens_and_its_reply_opens_for_the_client() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let params = json!({"chat": "@durov", "limit": 2});
    let (sealed, pending) = client.seal_request(history(), &params, NOW);
    assert_eq!(sealed[0], 1, "version byte");
    assert_eq!(&sealed[1..5], &[0, 0, 0, 1], "key id, big-endian");
    assert_eq!(pending.key_id(), 1);
    assert_eq!(pending.nonce(), sealed[5..17]);

    let opened = open_ok(&server, history(), &sealed, NOW);
    assert_eq!(opened.params, params);
    assert_eq!(opened.ts, NOW);
    assert_eq!(opened.key_id, 1);
    assert_eq!(opened.id, pending.id());
    assert_eq!(opened.nonce, pending.nonce());

    let reply = br#"{"messages":[]}"#;
    let sealed_reply = server.seal_response(&opened, reply);
    assert_eq!(sealed_reply.len(), 17 + reply.len() + 16);
    assert_eq!(&sealed_reply[..5], &[1, 0, 0, 0, 1]);
    assert_ne!(
        &sealed_reply[5..17],
        &sealed[5..17],
        "a reply has its own nonce"
    );
    assert_eq!(
        client
            .open_response(&pending, &sealed_reply)
            .expect("reply opens"),
        reply
    );
}

#[test]
fn every_envelope_gets_a_fresh_nonce_and_id() {
    let client = cryptor(&[key(1, 0xAA)]);
    let (a, pa) = client.seal_request(history(), &json!({}), NOW);
    let (b, pb) = client.seal_request(history(), &json!({}), NOW);
    assert_ne!(a[5..17], b[5..17]);
    assert_ne!(pa.id(), pb.id());
    assert_eq!(pa.id().len(), 32, "128 random bits as hex");
}

#[test]
fn an_empty_keyring_is_refused() {
    let settings = CryptoSettings {
        keys: Vec::new(),
        clock_window: Duration::from_secs(60),
    };
    assert_eq!(
        Cryptor::from_settings(&settings).err(),
        Some(CryptorError::NoKeys)
    );
}

#[test]
fn a_flipped_bit_anywhere_in_a_request_stops_it_opening() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let (sealed, _) = client.seal_request(history(), &json!({"chat": "x"}), NOW);
    for position in 0..sealed.len() {
        for bit in [0x01u8, 0x80] {
            let mut altered = sealed.clone();
            altered[position] ^= bit;
            let error = server
                .open_request(history(), &altered, NOW)
                .expect_err("an altered envelope must not open");
            match position {
                0 => assert_eq!(error, EnvelopeError::UnsupportedVersion(1 ^ bit)),
                1..=4 => assert!(matches!(error, EnvelopeError::UnknownKey(id) if id != 1)),
                _ => assert_eq!(error, EnvelopeError::Unauthentic, "byte {position}"),
            }
            assert!(error.is_unopened());
            assert!(matches!(error.status(), 400 | 401));
        }
    }
    // None of the failures used up the id: the genuine request still opens.
    open_ok(&server, history(), &sealed, NOW);
}

#[test]
fn a_flipped_bit_anywhere_in_a_reply_stops_it_opening() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let (sealed, pending) = client.seal_request(history(), &json!({}), NOW);
    let opened = open_ok(&server, history(), &sealed, NOW);
    let reply = server.seal_response(&opened, br#"{"ok":true}"#);
    for position in 0..reply.len() {
        let mut altered = reply.clone();
        altered[position] ^= 0x04;
        let error = client
            .open_response(&pending, &altered)
            .expect_err("an altered reply must not open");
        match position {
            0 => assert_eq!(error, EnvelopeError::UnsupportedVersion(1 ^ 0x04)),
            1..=4 => assert!(matches!(error, EnvelopeError::WrongKey { expected: 1, .. })),
            _ => assert_eq!(error, EnvelopeError::Unauthentic, "byte {position}"),
        }
    }
}

#[test]
fn truncated_envelopes_and_random_bytes_are_refused_without_panicking() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let (sealed, pending) = client.seal_request(history(), &json!({"chat": "x"}), NOW);
    for length in 0..sealed.len() {
        let error = server
            .open_request(history(), &sealed[..length], NOW)
            .expect_err("a truncated envelope must not open");
        if length < 33 {
            assert_eq!(error, EnvelopeError::Malformed, "length {length}");
        } else {
            assert_eq!(error, EnvelopeError::Unauthentic, "length {length}");
        }
        assert!(client.open_response(&pending, &sealed[..length]).is_err());
    }
    // Extra bytes after the tag are part of the ciphertext as far as GCM knows: they fail too.
    let mut longer = sealed.clone();
    longer.push(0);
    assert_eq!(
        server.open_request(history(), &longer, NOW).err(),
        Some(EnvelopeError::Unauthentic)
    );
    // Random bytes with a valid version and key id still fail on the tag; others before it.
    for length in [0usize, 1, 16, 32, 33, 64, 1000] {
        let mut noise: Vec<u8> = (0..length).map(|_| rand::random::<u8>()).collect();
        assert!(server.open_request(history(), &noise, NOW).is_err());
        if length >= 5 {
            noise[..5].copy_from_slice(&[1, 0, 0, 0, 1]);
            let error = server.open_request(history(), &noise, NOW).unwrap_err();
            assert!(matches!(
                error,
                EnvelopeError::Malformed | EnvelopeError::Unauthentic
            ));
        }
    }
}

#[test]
fn an_unknown_key_id_is_named() {
    let client = cryptor(&[key(9, 0xAA)]);
    let server = cryptor(&[key(1, 0xAA), key(2, 0xBB)]);
    let (sealed, _) = client.seal_request(history(), &json!({}), NOW);
    let error = server.open_request(history(), &sealed, NOW).unwrap_err();
    assert_eq!(error, EnvelopeError::UnknownKey(9));
    assert_eq!(error.status(), 401);
    assert!(server.pending_reply_for(&sealed).is_err());
}

#[test]
fn the_right_key_id_with_the_wrong_key_is_unauthentic() {
    let client = cryptor(&[key(1, 0xAA)]);
    let server = cryptor(&[key(1, 0xBB)]);
    let (sealed, _) = client.seal_request(history(), &json!({}), NOW);
    assert_eq!(
        server.open_request(history(), &sealed, NOW).err(),
        Some(EnvelopeError::Unauthentic)
    );
}

#[test]
fn a_request_sealed_for_one_route_does_not_open_on_another() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let (sealed, _) = client.seal_request(history(), &json!({"chat": "x"}), NOW);
    for route in [
        "POST /api/v1/leave",
        "POST /api/v1/history/",
        "GET /api/v1/history",
        "POST /api/v1/History",
        "",
    ] {
        assert_eq!(
            server.open_request(route, &sealed, NOW).err(),
            Some(EnvelopeError::Unauthentic),
            "{route:?}"
        );
    }
    open_ok(&server, history(), &sealed, NOW);
}

#[test]
fn a_reply_opens_only_as_the_answer_to_its_own_request() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let (first, first_pending) = client.seal_request(history(), &json!({}), NOW);
    let (_second, second_pending) = client.seal_request(history(), &json!({}), NOW);
    let opened = open_ok(&server, history(), &first, NOW);
    let reply = server.seal_response(&opened, b"{}");
    assert_eq!(
        client.open_response(&second_pending, &reply).err(),
        Some(EnvelopeError::Unauthentic)
    );
    assert!(client.open_response(&first_pending, &reply).is_ok());
}

#[test]
fn a_reply_under_another_key_is_refused_before_decrypting() {
    let server = cryptor(&[key(1, 0xAA), key(2, 0xBB)]);
    let old_client = cryptor(&[key(2, 0xBB)]);
    let new_client = cryptor(&[key(1, 0xAA)]);
    let (sealed, _) = old_client.seal_request(history(), &json!({}), NOW);
    let (_, pending_under_key_1) = new_client.seal_request(history(), &json!({}), NOW);
    let opened = open_ok(&server, history(), &sealed, NOW);
    let reply = server.seal_response(&opened, b"{}");
    assert_eq!(
        new_client.open_response(&pending_under_key_1, &reply).err(),
        Some(EnvelopeError::WrongKey {
            expected: 1,
            got: 2
        })
    );
}

#[test]
fn requests_outside_the_clock_window_are_stale_in_both_directions() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    for (client_clock, accepted) in [
        (NOW - WINDOW_MS - 1, false),
        (NOW - WINDOW_MS, true),
        (NOW, true),
        (NOW + WINDOW_MS, true),
        (NOW + WINDOW_MS + 1, false),
        (i64::MIN, false),
        (i64::MAX, false),
    ] {
        let (sealed, _) = client.seal_request(history(), &json!({}), client_clock);
        match server.open_request(history(), &sealed, NOW) {
            Ok(_) => assert!(accepted, "ts {client_clock} should be stale"),
            Err(error) => {
                assert!(!accepted, "ts {client_clock} should open, got {error}");
                assert_eq!(
                    error,
                    EnvelopeError::Stale {
                        ts: client_clock,
                        now: NOW,
                        window_ms: WINDOW_MS
                    }
                );
                assert_eq!(error.status(), 409);
                assert!(!error.is_unopened());
            }
        }
    }
}

#[test]
fn a_replayed_request_is_refused_inside_the_window_and_stale_after_it() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let (sealed, _) = client.seal_request(history(), &json!({}), NOW);
    open_ok(&server, history(), &sealed, NOW);
    for later in [NOW, NOW + 1, NOW + WINDOW_MS] {
        let error = server.open_request(history(), &sealed, later).unwrap_err();
        assert_eq!(error, EnvelopeError::Replayed);
        assert_eq!(error.status(), 409);
    }
    assert!(matches!(
        server.open_request(history(), &sealed, NOW + WINDOW_MS + 1),
        Err(EnvelopeError::Stale { .. })
    ));
}

#[test]
fn a_server_refuses_requests_sealed_before_it_started_even_inside_the_window() {
    let client = cryptor(&[key(1, 0xAA)]);
    let restarted = cryptor(&[key(1, 0xAA)]).refusing_requests_before(NOW);
    let (before, _) = client.seal_request(history(), &json!({}), NOW - 1);
    let error = restarted
        .open_request(history(), &before, NOW + 1)
        .unwrap_err();
    assert_eq!(
        error,
        EnvelopeError::BeforeStart {
            ts: NOW - 1,
            started: NOW
        }
    );
    assert_eq!(error.status(), 409);
    let (after, _) = client.seal_request(history(), &json!({}), NOW);
    open_ok(&restarted, history(), &after, NOW + 1);
}

#[test]
fn a_refused_request_does_not_use_up_its_id() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let (sealed, _) = client.seal_request(history(), &json!({}), NOW);
    assert!(matches!(
        server.open_request(history(), &sealed, NOW + WINDOW_MS + 5),
        Err(EnvelopeError::Stale { .. })
    ));
    assert!(
        server
            .open_request("POST /api/v1/leave", &sealed, NOW)
            .is_err()
    );
    assert_eq!(server.replay_cache_len(), 0);
    open_ok(&server, history(), &sealed, NOW);
    assert_eq!(server.replay_cache_len(), 1);
}

#[test]
fn the_same_id_in_a_new_envelope_is_still_a_replay() {
    let k = key(1, 0xAA);
    let server = cryptor(std::slice::from_ref(&k));
    let plaintext = format!(r#"{{"ts":{NOW},"id":"fixed","params":{{}}}}"#);
    let first = seal_raw(&k, [1; 12], history(), plaintext.as_bytes());
    let second = seal_raw(&k, [2; 12], history(), plaintext.as_bytes());
    open_ok(&server, history(), &first, NOW);
    assert_eq!(
        server.open_request(history(), &second, NOW).err(),
        Some(EnvelopeError::Replayed)
    );
    // Another key is another client, with ids of its own.
    let other = key(2, 0xBB);
    let server = cryptor(&[k.clone(), other.clone()]);
    open_ok(&server, history(), &first, NOW);
    open_ok(
        &server,
        history(),
        &seal_raw(&other, [3; 12], history(), plaintext.as_bytes()),
        NOW,
    );
}

#[test]
fn concurrent_replays_let_exactly_one_through() {
    let client = cryptor(&[key(1, 0xAA)]);
    let server = Arc::new(cryptor(&[key(1, 0xAA)]));
    let (sealed, _) = client.seal_request(history(), &json!({}), NOW);
    let sealed = Arc::new(sealed);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (server, sealed) = (Arc::clone(&server), Arc::clone(&sealed));
            std::thread::spawn(move || server.open_request(history(), &sealed, NOW).is_ok())
        })
        .collect();
    let opened = threads
        .into_iter()
        .map(|thread| thread.join().expect("no panic"))
        .filter(|opened| *opened)
        .count();
    assert_eq!(opened, 1);
}

#[test]
fn a_full_replay_cache_refuses_with_503_instead_of_forgetting() {
    let client = cryptor(&[key(1, 0xAA)]);
    let server = cryptor(&[key(1, 0xAA)]).with_replay_capacity(16);
    let mut opened = Vec::new();
    let refusal = loop {
        let (sealed, _) = client.seal_request(history(), &json!({}), NOW);
        match server.open_request(history(), &sealed, NOW) {
            Ok(_) => opened.push(sealed),
            Err(error) => break error,
        }
        assert!(opened.len() <= 16, "the cache holds at most its capacity");
    };
    assert!(matches!(refusal, EnvelopeError::ReplayCacheFull { .. }));
    assert_eq!(refusal.status(), 503);
    assert_eq!(refusal.retry_after_secs(), Some(60));
    // Everything accepted is still remembered.
    for sealed in &opened {
        assert_eq!(
            server.open_request(history(), sealed, NOW).err(),
            Some(EnvelopeError::Replayed)
        );
    }
    // Once those ids have expired there is room again.
    let later = NOW + WINDOW_MS + 1;
    let (sealed, _) = client.seal_request(history(), &json!({}), later);
    open_ok(&server, history(), &sealed, later);
}

#[test]
fn authentic_but_invalid_plaintexts_are_bad_requests() {
    let k = key(1, 0xAA);
    let server = cryptor(std::slice::from_ref(&k));
    let cases: &[(&str, &str)] = &[
        ("not json at all", "not JSON"),
        ("", "not JSON"),
        (r#"["ts", 1]"#, "not a JSON object"),
        (r#"{"id":"a","params":{}}"#, "no `ts`"),
        (
            r#"{"ts":"1700000000000","id":"a","params":{}}"#,
            "`ts` is not an integer",
        ),
        (
            r#"{"ts":1700000000000.5,"id":"a","params":{}}"#,
            "`ts` is not an integer",
        ),
        (r#"{"ts":1700000000000,"params":{}}"#, "no `id`"),
        (
            r#"{"ts":1700000000000,"id":7,"params":{}}"#,
            "`id` is not a string",
        ),
        (
            r#"{"ts":1700000000000,"id":"","params":{}}"#,
            "`id` is 0 bytes",
        ),
        (r#"{"ts":1700000000000,"id":"a"}"#, "no `params`"),
        (
            r#"{"ts":1700000000000,"id":"a","params":"chat"}"#,
            "`params` is not a JSON object",
        ),
        (
            r#"{"ts":1700000000000,"id":"a","params":null}"#,
            "`params` is not a JSON object",
        ),
    ];
    for (n, (plaintext, expected)) in cases.iter().enumerate() {
        let sealed = seal_raw(&k, [n as u8; 12], history(), plaintext.as_bytes());
        match server.open_request(history(), &sealed, NOW) {
            Err(error @ EnvelopeError::BadPlaintext(_)) => {
                assert!(
                    error.to_string().contains(expected),
                    "{plaintext:?}: {error} should mention {expected:?}"
                );
                assert_eq!(error.status(), 400);
                assert!(!error.is_unopened());
            }
            other => panic!("{plaintext:?}: expected BadPlaintext, got {other:?}"),
        }
    }
    let non_utf8 = seal_raw(&k, [0xFF; 12], history(), &[0xFF, 0xFE, b'{']);
    assert!(matches!(
        server.open_request(history(), &non_utf8, NOW),
        Err(EnvelopeError::BadPlaintext(_))
    ));
}

#[test]
fn keys_rotate_replies_use_the_requests_key_and_new_requests_the_first() {
    let new_key = key(2, 0xBB);
    let old_key = key(1, 0xAA);
    let server = cryptor(&[new_key.clone(), old_key.clone()]);
    assert_eq!(server.key_ids(), vec![2, 1]);
    for client in [
        cryptor(std::slice::from_ref(&old_key)),
        cryptor(std::slice::from_ref(&new_key)),
    ] {
        let (sealed, pending) = client.seal_request(history(), &json!({"n": 1}), NOW);
        let opened = open_ok(&server, history(), &sealed, NOW);
        assert_eq!(opened.key_id, pending.key_id());
        let reply = server.seal_response(&opened, b"{}");
        assert_eq!(&reply[1..5], &pending.key_id().to_be_bytes());
        assert_eq!(
            client.open_response(&pending, &reply).expect("opens"),
            b"{}"
        );
    }
    let (sealed, pending) = server.seal_request(history(), &json!({}), NOW);
    assert_eq!(&sealed[1..5], &[0, 0, 0, 2]);
    assert_eq!(pending.key_id(), 2);
}

#[test]
fn debug_output_never_shows_params_or_keys() {
    let (client, server) = (cryptor(&[key(1, 0xAA)]), cryptor(&[key(1, 0xAA)]));
    let (sealed, pending) = client.seal_request(history(), &json!({"chat": "secret-chat"}), NOW);
    let opened = open_ok(&server, history(), &sealed, NOW);
    for text in [
        format!("{opened:?}"),
        format!("{pending:?}"),
        format!("{server:?}"),
    ] {
        assert!(!text.contains("secret-chat"), "{text}");
        assert!(!text.contains("170, 170"), "key bytes in {text}");
        assert!(
            !text.to_lowercase().contains("aaaaaaaa"),
            "key bytes in {text}"
        );
    }
}

#[test]
fn cryptor_is_shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Cryptor>();
    assert_send_sync::<OpenedRequest>();
}

// The worked example of the README's envelope section, checked against the document itself.
const DOC_KEY_ID: u32 = 7;
const DOC_REQUEST: &str = "0100000007101112131415161718191a1b06dcec656bf30b84fa45382d3f495963e7607e2239ab3393dddb90022f7964eb60d8752fd7d60f9d1f5be173b0e331787bdd3351d9a91996c96c5547d1bb86076c9556576b84394910106444191220379081d271803508d05d";
const DOC_REPLY: &str = "0100000007202122232425262728292a2ba918cb151feb7b697f0f60f49a45892cbe7f78e2d518b5c3b28dcdc1a83fe7";
const DOC_TS: i64 = 1_700_000_000_000;

fn doc_cryptor() -> Cryptor {
    let mut bytes = [0u8; 32];
    for (n, byte) in bytes.iter_mut().enumerate() {
        *byte = n as u8;
    }
    cryptor(&[tgc_common::config::CryptoKey {
        id: DOC_KEY_ID,
        key: tgc_common::Secret::new(bytes),
    }])
}

#[test]
fn the_documents_worked_example_opens_as_documented() {
    let doc =
        std::fs::read_to_string(workspace().join("README.md")).expect("README.md is readable");
    assert!(doc.contains(DOC_REQUEST), "the doc shows the request");
    assert!(doc.contains(DOC_REPLY), "the doc shows the reply");
    assert!(doc.contains("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));

    let server = doc_cryptor();
    let request = unhex(DOC_REQUEST);
    assert_eq!(request.len(), 106);
    let opened = open_ok(&server, history(), &request, DOC_TS);
    assert_eq!(opened.id, "req-0001");
    assert_eq!(opened.params, json!({"chat": "@durov", "limit": 2}));

    let pending = server.pending_reply_for(&request).expect("key 7 is known");
    let reply = server
        .open_response(&pending, &unhex(DOC_REPLY))
        .expect("the doc's reply answers the doc's request");
    assert_eq!(reply, br#"{"messages":[]}"#);

    // The window stated in the doc: opens on its edges, not past them.
    for (now, opens) in [
        (1_699_999_940_000, true),
        (1_700_000_060_000, true),
        (1_700_000_060_001, false),
    ] {
        assert_eq!(
            doc_cryptor().open_request(history(), &request, now).is_ok(),
            opens,
            "{now}"
        );
    }
}
