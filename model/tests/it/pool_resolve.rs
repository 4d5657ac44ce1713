//! The pool's peer lookup against telesim: cache first, one network resolve per name,
//! and the directory surviving a restart.

use std::collections::HashSet;
use std::sync::Arc;

use testkit::guarded;
use testkit::pool_setup::{self, chat, last_message, shuffled};
use tgc_model::teleclient::{ChatRef, PoolError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_lookups_of_a_hundred_names_resolve_each_name_at_most_once() {
    let setup = pool_setup::start(10, 100).await;
    let pool = Arc::new(setup.pool().await);
    let lookups = shuffled((0..1000).map(|i| i % 100).collect::<Vec<_>>(), 42);

    // All at once, so concurrent lookups of one name race each other.
    let mut tasks = tokio::task::JoinSet::new();
    for i in lookups {
        let pool = Arc::clone(&pool);
        tasks.spawn(async move {
            pool.resolve(&chat(i))
                .await
                .map(|r| (i, r.account.id(), r.peer))
        });
    }
    let mut answered = 0;
    while let Some(result) = guarded("lookups", tasks.join_next()).await {
        let (i, _, peer) = result.expect("task").expect("every lookup succeeds");
        assert_eq!(
            peer.id.bare_id(),
            Some(testkit::pool_setup::FIRST_CHANNEL + i as i64)
        );
        answered += 1;
    }
    assert_eq!(answered, 1000);

    let resolves = setup.resolves();
    println!(
        "resolve amplification: {resolves} contacts.resolveUsername calls for 100 distinct names over 10 accounts \
         = {:.2} per name (naive: up to 10)",
        resolves as f64 / 100.0
    );
    assert!(resolves <= 100, "{resolves} resolves for 100 names");
    assert_eq!(pool.directory().len().unwrap(), 100);
}

#[tokio::test]
async fn after_a_restart_known_usernames_cause_no_new_resolve() {
    let setup = pool_setup::start(4, 20).await;
    {
        let pool = setup.pool().await;
        for i in 0..20 {
            guarded("resolve", pool.resolve(&chat(i))).await.unwrap();
        }
        assert_eq!(setup.resolves(), 20);
    }
    setup.sim.counters.reset();

    let pool = setup.pool().await;
    for i in 0..20 {
        let served = guarded(
            "run",
            pool.run(&chat(i), "messages.getHistory", last_message),
        )
        .await
        .unwrap();
        assert_eq!(served.value, 1);
    }
    assert_eq!(setup.resolves(), 0, "{:?}", setup.sim.counters.snapshot());
}

#[tokio::test]
async fn the_same_chat_keeps_landing_on_the_account_that_resolved_it() {
    let setup = pool_setup::start(10, 5).await;
    let pool = setup.pool().await;
    for i in 0..5 {
        let served: HashSet<_> = {
            let mut accounts = HashSet::new();
            for _ in 0..10 {
                let served = guarded(
                    "run",
                    pool.run(&chat(i), "messages.getHistory", last_message),
                )
                .await
                .unwrap();
                accounts.insert(served.account);
            }
            accounts
        };
        assert_eq!(served.len(), 1, "chat {i} went to {served:?}");
        // The cache-only pick agrees with where the requests went.
        let picked = pool.pick(Some(&chat(i)), "messages.getHistory").unwrap();
        assert!(served.contains(&picked.id()));
    }
    assert_eq!(setup.resolves(), 5);
}

#[tokio::test]
async fn an_unknown_username_is_not_found_and_costs_one_resolve() {
    let setup = pool_setup::start(3, 1).await;
    let pool = setup.pool().await;
    let missing = ChatRef::parse("@nobody_here").unwrap();
    let error = guarded("resolve", pool.resolve(&missing))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PoolError::UsernameNotFound { username } if username == "nobody_here"),
        "{error}"
    );
    assert_eq!(setup.resolves(), 1);
}

#[tokio::test]
async fn a_chat_asked_by_id_is_served_from_the_cache_of_an_account_that_holds_it() {
    let setup = pool_setup::start(3, 2).await;
    let pool = setup.pool().await;
    let by_name = guarded("resolve", pool.resolve(&chat(1))).await.unwrap();
    let id = ChatRef::Id(by_name.peer.id);
    let by_id = guarded("resolve", pool.resolve(&id)).await.unwrap();
    assert_eq!(by_id.account.id(), by_name.account.id());
    assert_eq!(by_id.peer, by_name.peer);
    assert_eq!(setup.resolves(), 1);

    let stranger = ChatRef::parse("-1009999999").unwrap();
    let error = guarded("resolve", pool.resolve(&stranger))
        .await
        .unwrap_err();
    assert!(matches!(error, PoolError::UnknownChatId { .. }), "{error}");
}

#[tokio::test]
async fn a_spent_resolve_budget_is_a_clear_error_and_cached_chats_still_serve() {
    let setup = pool_setup::start(2, 5).await;
    let config = tgc_model::teleclient::ClientConfig {
        resolve_budget_per_hour: 1,
        ..testkit::pool_setup::config()
    };
    let pool = setup.pool_with(&config).await;
    guarded("resolve", pool.resolve(&chat(0))).await.unwrap();
    guarded("resolve", pool.resolve(&chat(1))).await.unwrap();
    let error = guarded("resolve", pool.resolve(&chat(2)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, PoolError::ResolveBudgetSpent { .. }),
        "{error}"
    );
    assert!(error.retry_after().is_some());
    assert_eq!(setup.resolves(), 2);
    // Known chats need no budget.
    guarded("resolve", pool.resolve(&chat(0))).await.unwrap();
}

#[tokio::test]
async fn usernames_cached_in_telethon_session_files_serve_on_day_one_without_a_resolve() {
    let setup = pool_setup::start(3, 4).await;
    // As the original collector would have left it: one account's Telethon `entities`
    // table knows channels 0..4 by username, with that account's access hashes.
    let owner = testkit::pool_setup::account(2);
    let seed = setup.sim.telegram.seed();
    let path = pool_setup::session_of(&setup, 2);
    let file = tgc_model::session::SessionFile::open(&path).expect("account 2's session");
    assert_eq!(file.self_user().unwrap().map(|u| u.user_id), Some(owner));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for i in 0..4 {
        let channel = testkit::pool_setup::FIRST_CHANNEL + i as i64;
        file.cache_entity(&tgc_model::session::Entity {
            peer: tgc_model::teleclient::PeerId::channel(channel).unwrap(),
            access_hash: telesim::api::access_hash(seed, owner, channel),
            username: Some(testkit::pool_setup::channel_name(i)),
            phone: None,
            name: Some(format!("Channel {i}")),
            date: Some(now - 60),
        })
        .unwrap();
    }
    drop(file);

    let pool = setup.pool().await;
    for i in 0..4 {
        let served = guarded(
            "run",
            pool.run(&chat(i), "messages.getHistory", last_message),
        )
        .await
        .unwrap();
        assert_eq!(
            served.account.0, owner,
            "chat {i} goes to the account that holds it"
        );
    }
    assert_eq!(setup.resolves(), 0, "{:?}", setup.sim.counters.snapshot());
}

/// One chat held by one account, its pacing at one request a second, and a burst of calls
/// for it: instead of queueing behind the holder while the others sit idle, calls whose turn
/// would come later than `pool.max_queue_wait` move to other accounts, each resolving the
/// chat at most once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_chat_spills_over_to_other_accounts_instead_of_queueing_behind_one() {
    let setup = pool_setup::start(3, 1).await;
    let config = tgc_model::teleclient::ClientConfig {
        requests_per_second: 1.0,
        max_queue_wait: std::time::Duration::from_millis(100),
        ..testkit::pool_setup::config()
    };
    let pool = setup.pool_with(&config).await;
    let first = guarded(
        "the first call",
        pool.run(&chat(0), "messages.getHistory", last_message),
    )
    .await
    .unwrap();
    let hot = chat(0);
    let calls = (0..6).map(|_| pool.run(&hot, "messages.getHistory", last_message));
    let served: Vec<_> = guarded("a burst of calls", futures_util::future::join_all(calls))
        .await
        .into_iter()
        .map(|served| served.expect("served").account)
        .collect();
    let accounts: HashSet<_> = served.iter().copied().collect();
    assert!(
        accounts.len() >= 2 && served.iter().any(|a| *a != first.account),
        "the burst went to {served:?}, the chat's first holder being {}",
        first.account
    );
    assert!(pool.spill_overs() >= 1);
    assert!(
        setup.resolves() <= 3,
        "each account resolves the chat at most once: {:?}",
        setup.sim.counters.snapshot()
    );
}
