//! Telethon and tgcollector read each other's session files and strings.
//!
//! Telethon itself (offline, through `tests/py/telethon_session.py`) writes and reads the
//! other side, so these tests prove compatibility with the real thing, not with our
//! reading of its source.

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::support::{hex, telethon, test_key};
use grammers_session::Session;
use grammers_session::types::{
    ChannelKind, ChannelState, DcOption, PeerAuth, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use serde_json::{Value, json};
use tgc_model::session::{SessionFile, TelethonString};

fn peer_of(marked: i64) -> PeerId {
    PeerId::from_bot_api_dialog_id(marked).expect("valid marked id")
}

#[tokio::test]
async fn file_written_by_telethon_reads_back_with_dc_key_entities_usernames_and_pts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ann.session");
    let expected = telethon(&["create", path.to_str().unwrap()]);

    let file = SessionFile::open(&path).expect("Telethon's file opens");

    // Home DC and key.
    let home = file.home_dc();
    assert_eq!(home.dc_id, expected["dc_id"].as_i64().unwrap() as i32);
    let addr: SocketAddr = format!(
        "{}:{}",
        expected["server_address"].as_str().unwrap(),
        expected["port"]
    )
    .parse()
    .unwrap();
    assert_eq!(home.addr, Some(addr));
    assert_eq!(
        file.auth_key().map(|k| hex(&k)).as_deref(),
        expected["auth_key"].as_str()
    );
    assert_eq!(file.home_dc_id().unwrap(), 2);
    let option = file.dc_option(2).unwrap().expect("home DC option");
    assert_eq!(SocketAddr::V4(option.ipv4), addr);
    assert_eq!(option.auth_key, file.auth_key());

    // Entities with their access hashes, names, phones and usernames.
    let entities = file.entities().unwrap();
    let wanted = expected["entities"].as_array().unwrap();
    assert_eq!(entities.len(), wanted.len(), "entities: {entities:?}");
    for want in wanted {
        let marked = want["marked_id"].as_i64().unwrap();
        let entity = entities
            .iter()
            .find(|e| e.peer == peer_of(marked))
            .unwrap_or_else(|| panic!("entity {marked} missing"));
        assert_eq!(entity.access_hash, want["hash"].as_i64().unwrap());
        assert_eq!(entity.username.as_deref(), want["username"].as_str());
        assert_eq!(entity.phone.as_deref(), want["phone"].as_str());
        assert_eq!(entity.name.as_deref(), want["name"].as_str());
    }

    // grammers sees the same peers, and the self user from Telethon's row 0.
    let self_id = expected["self_id"].as_i64().unwrap();
    let me = file
        .peer(PeerId::self_user())
        .await
        .unwrap()
        .expect("self user");
    assert_eq!(
        me,
        PeerInfo::User {
            id: self_id,
            auth: Some(PeerAuth::from_hash(-8761234567890123456)),
            bot: None,
            is_self: Some(true),
        }
    );
    let channel = file.peer(peer_of(-1001234567890)).await.unwrap();
    assert_eq!(
        channel,
        Some(PeerInfo::Channel {
            id: 1234567890,
            auth: Some(PeerAuth::from_hash(-42424242424242)),
            kind: None,
        })
    );
    assert_eq!(
        file.peer(peer_of(-4242)).await.unwrap(),
        Some(PeerInfo::Chat { id: 4242 })
    );

    // Username lookups: case-insensitive, with or without '@'.
    for query in ["TgcNews", "@tgcnews", "TGCNEWS"] {
        assert_eq!(
            file.lookup_username(query).map(|p| p.id()),
            Some(peer_of(-1001234567890)),
            "lookup {query}"
        );
    }
    assert_eq!(
        file.lookup_username("@Ann_Lee").and_then(|p| p.auth()),
        Some(PeerAuth::from_hash(-8761234567890123456))
    );
    assert_eq!(file.lookup_username("nobody_here"), None);

    // Update state: row 0 common, channel rows by bare id (Telethon wrote a float date).
    let state = file.updates_state().await.unwrap();
    assert_eq!(state.pts as i64, expected["state"]["pts"].as_i64().unwrap());
    assert_eq!(state.qts as i64, expected["state"]["qts"].as_i64().unwrap());
    assert_eq!(state.seq as i64, expected["state"]["seq"].as_i64().unwrap());
    assert_eq!(
        state.date as i64,
        expected["state"]["date"].as_i64().unwrap()
    );
    assert_eq!(
        state.channels,
        vec![ChannelState {
            id: expected["channels"][0]["id"].as_i64().unwrap(),
            pts: expected["channels"][0]["pts"].as_i64().unwrap() as i32,
        }]
    );

    // The summary names the account from its own entity row.
    let summary = file.summary();
    assert_eq!(summary.user_id, Some(self_id));
    assert_eq!(summary.name.as_deref(), Some("Ann Lee"));
    assert_eq!(summary.username.as_deref(), Some("ann_lee"));
    assert_eq!(summary.phone.as_deref(), Some("15551234567"));
    assert_eq!(summary.entity_count, 4);
    assert!(summary.has_auth_key);
}

#[tokio::test]
async fn file_written_by_tgcollector_opens_in_telethon_with_same_key_entities_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.session");
    let key = test_key(9);
    let addr: SocketAddr = "149.154.175.53:443".parse().unwrap();
    let file = SessionFile::create(&path, 1, addr, &key).unwrap();

    // What grammers does after login and while running.
    file.set_dc_option(&DcOption {
        id: 4,
        ipv4: SocketAddrV4::new("149.154.167.92".parse().unwrap(), 443),
        ipv6: SocketAddrV6::new("2001:67c:4e8:f004::a".parse().unwrap(), 443, 0, 0),
        auth_key: Some(test_key(4)),
    })
    .await
    .unwrap();
    file.cache_peer(PeerInfo::User {
        id: 5550001,
        auth: Some(PeerAuth::from_hash(-77)),
        bot: Some(false),
        is_self: Some(true),
    })
    .await
    .unwrap();
    file.cache_peers(vec![
        PeerInfo::User {
            id: 5550002,
            auth: Some(PeerAuth::from_hash(1234567890123456789)),
            bot: Some(true),
            is_self: Some(false),
        },
        PeerInfo::Chat { id: 4242 },
        PeerInfo::Channel {
            id: 1234567890,
            auth: Some(PeerAuth::from_hash(-42424242424242)),
            kind: Some(ChannelKind::Megagroup),
        },
    ])
    .await
    .unwrap();
    file.set_update_state(UpdateState::All(UpdatesState {
        pts: 100,
        qts: 5,
        date: 1714564800,
        seq: 7,
        channels: vec![ChannelState {
            id: 1234567890,
            pts: 555,
        }],
    }))
    .await
    .unwrap();
    file.set_update_state(UpdateState::Primary {
        pts: 101,
        date: 1714564801,
        seq: 8,
    })
    .await
    .unwrap();
    file.set_update_state(UpdateState::Channel {
        id: 1234567890,
        pts: 556,
    })
    .await
    .unwrap();
    drop(file);

    let read = telethon(&["read", path.to_str().unwrap()]);
    assert_eq!(read["version"], 8);
    assert_eq!(read["dc_id"], 1);
    assert_eq!(read["server_address"], "149.154.175.53");
    assert_eq!(read["port"], 443);
    assert_eq!(read["auth_key"], hex(&key));
    assert_eq!(read["self_id"], 5550001);
    assert_eq!(
        read["entities"],
        json!({
            "5550001": {"kind": "user", "id": 5550001, "hash": -77},
            "5550002": {"kind": "user", "id": 5550002, "hash": 1234567890123456789i64},
            "-4242": {"kind": "chat", "id": 4242, "hash": 0},
            "-1001234567890": {"kind": "channel", "id": 1234567890, "hash": -42424242424242i64},
        })
    );
    let states = &read["update_states"];
    assert_eq!(
        states["0"],
        json!({"pts": 101, "qts": 5, "seq": 8, "date": 1714564801})
    );
    assert_eq!(states["1234567890"]["pts"], 556);

    // And the file still carries what Telethon has no place for.
    let file = SessionFile::open(&path).unwrap();
    assert_eq!(
        file.peer(peer_of(5550002)).await.unwrap(),
        Some(PeerInfo::User {
            id: 5550002,
            auth: Some(PeerAuth::from_hash(1234567890123456789)),
            bot: Some(true),
            is_self: Some(false),
        })
    );
    assert_eq!(
        file.dc_option(4).unwrap().and_then(|o| o.auth_key),
        Some(test_key(4))
    );
    assert_eq!(
        file.peer(PeerId::self_user()).await.unwrap(),
        Some(PeerInfo::User {
            id: 5550001,
            auth: Some(PeerAuth::from_hash(-77)),
            bot: Some(false),
            is_self: Some(true),
        })
    );
}

#[tokio::test]
async fn usernames_written_by_tgcollector_resolve_in_telethon() {
    use tgc_model::session::Entity;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("names.session");
    let file = SessionFile::create(
        &path,
        2,
        "149.154.167.51:443".parse().unwrap(),
        &test_key(2),
    )
    .unwrap();
    file.cache_entity(&Entity {
        peer: peer_of(-1001234567890),
        access_hash: -5,
        username: Some("@TgcNews".into()),
        phone: None,
        name: Some("Tgc News".into()),
        date: None,
    })
    .unwrap();
    file.cache_entity(&Entity {
        peer: peer_of(5550002),
        access_hash: 6,
        username: Some("Bob".into()),
        phone: Some("+447700900123".into()),
        name: Some("Bob".into()),
        date: None,
    })
    .unwrap();
    drop(file);

    let read = telethon(&["read", path.to_str().unwrap()]);
    assert_eq!(
        read["usernames"],
        json!({
            "tgcnews": {"kind": "channel", "id": 1234567890, "hash": -5},
            "bob": {"kind": "user", "id": 5550002, "hash": 6},
        })
    );
}

fn string_round_trip(addr: &str, dc_id: i32) {
    let addr: SocketAddr = addr.parse().unwrap();
    let key = test_key(dc_id as u8);

    // Telethon encodes, we decode.
    let from_telethon = telethon(&[
        "string-encode",
        &dc_id.to_string(),
        &addr.ip().to_string(),
        &addr.port().to_string(),
        &hex(&key),
    ]);
    let string = from_telethon["string"].as_str().unwrap();
    let parsed = TelethonString::parse(string).expect("Telethon's string parses");
    assert_eq!(
        parsed,
        TelethonString {
            dc_id,
            addr,
            auth_key: key
        }
    );
    // We encode, byte for byte what Telethon does, and Telethon decodes.
    assert_eq!(parsed.encode(), string);
    let decoded: Value = telethon(&["string-decode", &parsed.encode()]);
    assert_eq!(decoded["dc_id"], dc_id);
    assert_eq!(decoded["server_address"], addr.ip().to_string());
    assert_eq!(decoded["port"], addr.port());
    assert_eq!(decoded["auth_key"], hex(&key));
}

#[test]
fn string_session_round_trips_with_telethon_over_ipv4() {
    string_round_trip("149.154.167.51:443", 2);
}

#[test]
fn string_session_round_trips_with_telethon_over_ipv6() {
    string_round_trip("[2001:67c:4e8:f002::a]:443", 2);
    string_round_trip("[2001:b28:f23f:f005::a]:80", 5);
}

#[tokio::test]
async fn imported_string_becomes_a_session_telethon_can_open() {
    let dir = tempfile::tempdir().unwrap();
    let key = test_key(3);
    let string = TelethonString {
        dc_id: 3,
        addr: "149.154.175.100:443".parse().unwrap(),
        auth_key: key,
    }
    .encode();
    let path = tgc_model::session::import_telethon_string(&string, dir.path(), "acc.one").unwrap();
    assert_eq!(path, dir.path().join("acc.one.session"));
    let read = telethon(&["read", path.to_str().unwrap()]);
    assert_eq!(read["dc_id"], 3);
    assert_eq!(read["server_address"], "149.154.175.100");
    assert_eq!(read["auth_key"], hex(&key));
}
