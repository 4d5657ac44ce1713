//! `SessionFile` behaves as grammers expects of a `Session` storage, and what it is
//! told survives a reopen.

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;

use crate::support::test_key;
use grammers_session::types::{
    ChannelKind, ChannelState, DcOption, PeerAuth, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use grammers_session::{Session, SessionData};
use tgc_model::session::{SessionError, SessionFile};

fn fresh(dir: &tempfile::TempDir, dc_id: i32, addr: &str) -> SessionFile {
    SessionFile::create(
        &dir.path().join("acc.session"),
        dc_id,
        addr.parse().unwrap(),
        &test_key(1),
    )
    .unwrap()
}

fn reopen(file: SessionFile) -> SessionFile {
    let path = file.path().to_owned();
    drop(file);
    SessionFile::open(&path).unwrap()
}

#[test]
fn is_a_grammers_session_that_can_be_shared_and_erased() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<SessionFile>();
    let dir = tempfile::tempdir().unwrap();
    let erased = grammers_session::storages::erase(Arc::new(fresh(&dir, 2, "149.154.167.51:443")));
    assert_eq!(erased.home_dc_id().unwrap(), 2);
}

#[test]
fn dc_options_fall_back_to_grammers_static_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    let defaults = SessionData::default().dc_options;
    for dc_id in [1, 3, 4, 5] {
        assert_eq!(
            file.dc_option(dc_id).unwrap().as_ref(),
            defaults.get(&dc_id)
        );
    }
    assert_eq!(file.dc_option(99).unwrap(), None);

    let home = file.dc_option(2).unwrap().unwrap();
    assert_eq!(home.ipv4, "149.154.167.51:443".parse().unwrap());
    assert_eq!(
        home.ipv6, defaults[&2].ipv6,
        "other family from the static table"
    );
    assert_eq!(home.auth_key, Some(test_key(1)));
}

#[test]
fn an_unknown_dc_such_as_a_simulator_is_reachable_at_its_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let file = reopen(fresh(&dir, 10, "127.0.0.1:40123"));
    assert_eq!(file.home_dc_id().unwrap(), 10);
    let option = file.dc_option(10).unwrap().expect("home DC known");
    assert_eq!(option.ipv4, "127.0.0.1:40123".parse().unwrap());
    assert_eq!(
        *option.ipv6.ip(),
        "127.0.0.1"
            .parse::<std::net::Ipv4Addr>()
            .unwrap()
            .to_ipv6_mapped()
    );
    assert_eq!(option.auth_key, Some(test_key(1)));
}

#[test]
fn an_ipv6_home_dc_keeps_its_family() {
    let dir = tempfile::tempdir().unwrap();
    let file = reopen(fresh(&dir, 2, "[2001:67c:4e8:f002::b]:443"));
    assert_eq!(
        file.home_dc().addr,
        Some("[2001:67c:4e8:f002::b]:443".parse::<SocketAddr>().unwrap())
    );
    let option = file.dc_option(2).unwrap().unwrap();
    assert_eq!(option.ipv6, "[2001:67c:4e8:f002::b]:443".parse().unwrap());
    assert_eq!(option.ipv4, SessionData::default().dc_options[&2].ipv4);
}

#[tokio::test]
async fn dc_options_and_home_dc_changes_persist() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    let dc4 = DcOption {
        id: 4,
        ipv4: SocketAddrV4::new("149.154.167.92".parse().unwrap(), 443),
        ipv6: SocketAddrV6::new("2001:67c:4e8:f004::a".parse().unwrap(), 443, 0, 0),
        auth_key: Some(test_key(4)),
    };
    file.set_dc_option(&dc4).await.unwrap();
    assert_eq!(file.dc_option(4).unwrap(), Some(dc4.clone()));

    // A migration: the home DC moves and Telethon's row follows it.
    file.set_home_dc_id(4).await.unwrap();
    assert_eq!(file.home_dc_id().unwrap(), 4);
    assert_eq!(file.auth_key(), Some(test_key(4)));

    let file = reopen(file);
    assert_eq!(file.home_dc_id().unwrap(), 4);
    assert_eq!(file.dc_option(4).unwrap(), Some(dc4));
    assert_eq!(
        file.home_dc().addr,
        Some("149.154.167.92:443".parse().unwrap())
    );
    // The old home's key is not lost: it lives on in our table.
    assert_eq!(
        file.dc_option(2).unwrap().and_then(|o| o.auth_key),
        Some(test_key(1))
    );
}

#[tokio::test]
async fn a_new_key_for_the_home_dc_reaches_telethons_row() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    let mut home = file.dc_option(2).unwrap().unwrap();
    home.auth_key = Some(test_key(8));
    file.set_dc_option(&home).await.unwrap();
    let file = reopen(file);
    assert_eq!(file.auth_key(), Some(test_key(8)));
    assert_eq!(
        file.home_dc().addr,
        Some("149.154.167.51:443".parse().unwrap())
    );
}

#[tokio::test]
async fn the_self_user_is_unknown_until_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    assert_eq!(file.peer(PeerId::self_user()).await.unwrap(), None);
    assert_eq!(file.summary().user_id, None);

    file.set_self_user(5550001, true).unwrap();
    let file = reopen(file);
    assert_eq!(
        file.peer(PeerId::self_user()).await.unwrap(),
        Some(PeerInfo::User {
            id: 5550001,
            auth: None,
            bot: Some(true),
            is_self: Some(true),
        })
    );
    let summary = file.summary();
    assert_eq!((summary.user_id, summary.bot), (Some(5550001), Some(true)));
}

#[test]
fn an_impossible_self_user_id_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    let error = file.set_self_user(-5, false).expect_err("refused");
    assert!(
        matches!(error, SessionError::InvalidPeer { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("acc.session"), "{error}");
}

#[tokio::test]
async fn caching_a_peer_never_forgets_what_was_known() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    let channel = |auth: Option<i64>, kind| PeerInfo::Channel {
        id: 77,
        auth: auth.map(PeerAuth::from_hash),
        kind,
    };
    let id = channel(None, None).id();
    assert_eq!(file.peer(id).await.unwrap(), None);

    file.cache_peer(channel(Some(-2), Some(ChannelKind::Megagroup)))
        .await
        .unwrap();
    file.cache_peer(channel(None, Some(ChannelKind::Broadcast)))
        .await
        .unwrap();
    assert_eq!(
        file.peer(id).await.unwrap(),
        Some(channel(Some(-2), Some(ChannelKind::Broadcast)))
    );
    file.cache_peer(channel(Some(-30), None)).await.unwrap();
    let file = reopen(file);
    assert_eq!(
        file.peer(id).await.unwrap(),
        Some(channel(Some(-30), Some(ChannelKind::Broadcast)))
    );

    // A peer seen without an access hash is remembered, hash-less.
    let min_user = PeerInfo::User {
        id: 31337,
        auth: None,
        bot: Some(false),
        is_self: None,
    };
    file.cache_peer(min_user.clone()).await.unwrap();
    assert_eq!(file.peer(min_user.id()).await.unwrap(), Some(min_user));
    assert!(
        file.entities()
            .unwrap()
            .iter()
            .all(|e| e.peer != PeerId::user(31337).unwrap()),
        "no hash, no Telethon entity row"
    );
}

/// Peers cached again unchanged are skipped without reading the file (a burst brings the
/// same channel with every message); a change after them is still stored, and a file
/// reopened fresh reads what was stored.
#[tokio::test]
async fn a_peer_cached_again_unchanged_then_changed_ends_up_stored() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    let channel = |hash: i64| PeerInfo::Channel {
        id: 78,
        auth: Some(PeerAuth::from_hash(hash)),
        kind: Some(ChannelKind::Broadcast),
    };
    for _ in 0..3 {
        file.cache_peers(vec![channel(5), channel(5)])
            .await
            .unwrap();
    }
    assert_eq!(file.peer(channel(5).id()).await.unwrap(), Some(channel(5)));
    file.cache_peer(channel(6)).await.unwrap();
    file.cache_peer(channel(6)).await.unwrap();
    let file = reopen(file);
    assert_eq!(file.peer(channel(6).id()).await.unwrap(), Some(channel(6)));
    file.cache_peer(channel(5)).await.unwrap();
    assert_eq!(file.peer(channel(5).id()).await.unwrap(), Some(channel(5)));
}

#[tokio::test]
async fn an_out_of_range_peer_is_an_error_and_the_rest_are_cached() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    let good = PeerInfo::Chat { id: 12 };
    let result = file
        .cache_peers(vec![PeerInfo::Chat { id: 0 }, good.clone()])
        .await;
    assert!(
        matches!(result, Err(SessionError::InvalidPeer { .. })),
        "{result:?}"
    );
    assert_eq!(file.peer(good.id()).await.unwrap(), Some(good));
}

#[tokio::test]
async fn update_state_parts_combine_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    assert_eq!(file.updates_state().await.unwrap(), UpdatesState::default());

    file.set_update_state(UpdateState::Secondary { qts: 3 })
        .await
        .unwrap();
    file.set_update_state(UpdateState::Primary {
        pts: 2,
        date: 4,
        seq: 5,
    })
    .await
    .unwrap();
    file.set_update_state(UpdateState::Channel { id: 7, pts: 8 })
        .await
        .unwrap();
    file.set_update_state(UpdateState::Channel { id: 9, pts: 1 })
        .await
        .unwrap();
    file.set_update_state(UpdateState::Channel { id: 7, pts: 9 })
        .await
        .unwrap();
    let expected = UpdatesState {
        pts: 2,
        qts: 3,
        date: 4,
        seq: 5,
        channels: vec![
            ChannelState { id: 7, pts: 9 },
            ChannelState { id: 9, pts: 1 },
        ],
    };
    assert_eq!(file.updates_state().await.unwrap(), expected);
    let file = reopen(file);
    assert_eq!(file.updates_state().await.unwrap(), expected);

    // `All` replaces everything, dropping channels it does not list.
    let all = UpdatesState {
        pts: 20,
        qts: 30,
        date: 40,
        seq: 50,
        channels: vec![ChannelState { id: 9, pts: 2 }],
    };
    file.set_update_state(UpdateState::All(all.clone()))
        .await
        .unwrap();
    assert_eq!(file.updates_state().await.unwrap(), all);
}

#[tokio::test]
async fn session_data_imports_into_a_session_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "149.154.167.51:443");
    let data = SessionData {
        home_dc: 3,
        updates_state: UpdatesState {
            pts: 9,
            ..UpdatesState::default()
        },
        ..SessionData::default()
    };
    data.import_to(&file).await.unwrap();
    let file = reopen(file);
    assert_eq!(file.home_dc_id().unwrap(), 3);
    assert_eq!(file.updates_state().await.unwrap().pts, 9);
    assert_eq!(
        file.dc_option(3).unwrap().as_ref(),
        SessionData::default().dc_options.get(&3)
    );
}

#[tokio::test]
async fn a_telethon_file_that_never_connected_starts_from_grammers_defaults() {
    // Telethon's first write is `sessions (0, NULL, NULL, x'', NULL, x'')`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blank.session");
    crate::support::old_layout_file(&path, 7, &[]);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "update sessions set dc_id = 0, server_address = null, port = null",
            [],
        )
        .unwrap();
    let file = SessionFile::open(&path).unwrap();
    assert_eq!(file.home_dc_id().unwrap(), SessionData::default().home_dc);
    assert_eq!(file.auth_key(), None);
    assert!(
        file.summary()
            .warnings
            .iter()
            .any(|w| w.contains("not logged in")),
        "{:?}",
        file.summary().warnings
    );
}

#[tokio::test]
async fn a_new_key_for_an_ipv6_home_keeps_telethons_row_on_ipv6() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh(&dir, 2, "[2001:67c:4e8:f002::b]:443");
    let mut home = file.dc_option(2).unwrap().unwrap();
    home.auth_key = Some(test_key(6));
    file.set_dc_option(&home).await.unwrap();
    let file = reopen(file);
    assert_eq!(
        file.home_dc().addr,
        Some("[2001:67c:4e8:f002::b]:443".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(file.auth_key(), Some(test_key(6)));
}

/// A write that waits for a lock another process holds on the file (Telethon, say) must
/// not hold up the other tasks of its tokio worker. With one worker, the process holding
/// the lock lets go only once another task of that worker has run: that happens only if the
/// waiting write handed the worker over. Otherwise the write's five-second busy wait runs
/// out first and the write fails.
#[test]
fn a_write_waiting_for_a_lock_lets_the_other_tasks_of_its_worker_run() {
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(fresh(&dir, 2, "149.154.167.51:443"));
    let path = file.path().to_owned();

    let (locked, is_locked) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut other = rusqlite::Connection::open(&path).unwrap();
        let hold = other
            .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
            .unwrap();
        locked.send(()).unwrap();
        let other_task_ran = released.recv_timeout(Duration::from_secs(30)).is_ok();
        hold.rollback().unwrap();
        other_task_ran
    });
    is_locked.recv().unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let written = runtime.block_on(async move {
        tokio::spawn(async move {
            // Spawned from the worker, this task waits in the worker's own queue.
            tokio::spawn(async move { release.send(()) });
            file.set_update_state(UpdateState::Secondary { qts: 3 })
                .await
        })
        .await
        .unwrap()
    });
    assert!(
        holder.join().unwrap(),
        "the other task ran while the write waited"
    );
    written.expect("the write went through once the lock was released");
}
