//! The pool under Telegram's pressure, against telesim: flood waits routed around,
//! revoked keys retired, and downloads weighing on the picks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use telesim::FaultSpan;
use testkit::guarded;
use testkit::pool_setup::{self, account, chat, last_message};
use tgc_model::teleclient::{AccountId, AccountState, PoolError, tl};

const HISTORY: &str = "messages.getHistory";

#[tokio::test]
async fn flood_waits_on_three_of_ten_accounts_fail_no_request() {
    let setup = pool_setup::start(10, 30).await;
    let pool = setup.pool().await;
    // Every chat gets an owner first, so some owners are among the flooded ones.
    for i in 0..30 {
        guarded("run", pool.run(&chat(i), HISTORY, last_message))
            .await
            .unwrap();
    }
    setup.sim.counters.reset();
    let until = Instant::now() + Duration::from_secs(600);
    let flooded = [account(0), account(3), account(7)];
    for user in flooded {
        setup
            .sim
            .faults
            .flood_wait(user, HISTORY, 600, FaultSpan::Until(until));
    }
    for round in 0..3 {
        for i in 0..30 {
            let served = guarded("run", pool.run(&chat(i), HISTORY, last_message))
                .await
                .unwrap_or_else(|e| panic!("round {round}, chat {i}: {e}"));
            assert!(
                !flooded.contains(&served.account.0),
                "chat {i} served by a flooded account"
            );
        }
    }
    let reports = pool.report();
    for user in flooded {
        let report = reports.iter().find(|r| r.account.0 == user).unwrap();
        if report.flood_waits > 0 {
            assert!(
                report.cooling.iter().any(|(m, _)| m == HISTORY),
                "{report:?}"
            );
        }
    }
    let cooled: u64 = reports.iter().map(|r| r.flood_waits).sum();
    assert!(cooled >= 1, "some flooded owner was hit and cooled");
    // A flooded account is asked at most once: after its FLOOD_WAIT it is cooling.
    for user in flooded {
        assert!(
            setup.sim.counters.get(user, HISTORY) <= 1,
            "{user}: {:?}",
            setup.sim.counters.snapshot()
        );
    }
}

#[tokio::test]
async fn flood_waits_on_all_accounts_give_the_caller_the_shortest_wait() {
    let setup = pool_setup::start(10, 1).await;
    let pool = setup.pool().await;
    guarded("resolve", pool.resolve(&chat(0))).await.unwrap();
    // Account i waits 100 + 10·i seconds: the shortest is 100 s.
    for i in 0..10 {
        setup.sim.faults.flood_wait(
            account(i),
            HISTORY,
            100 + 10 * i as u32,
            FaultSpan::Calls(1),
        );
    }
    let error = guarded("run", pool.run(&chat(0), HISTORY, last_message))
        .await
        .unwrap_err();
    match &error {
        PoolError::AllCooling {
            method,
            retry_after,
        } => {
            assert_eq!(method, HISTORY);
            // The wait was 100 s when set; a few seconds at most have passed since.
            assert!(
                *retry_after <= Duration::from_secs(100) && *retry_after > Duration::from_secs(90),
                "{retry_after:?}"
            );
        }
        other => panic!("expected AllCooling, got {other}"),
    }
    assert!(error.retry_after().is_some(), "the wait reaches the caller");
    // Every account was tried exactly once before giving up.
    for i in 0..10 {
        assert_eq!(
            setup.sim.counters.get(account(i), HISTORY),
            1,
            "account {i}"
        );
    }
    // Other methods still work on the same accounts.
    let served = guarded(
        "run",
        pool.run(
            &chat(0),
            "channels.getChannels",
            |client, peer| async move {
                client
                    .invoke(&tl::functions::channels::GetChannels {
                        id: vec![(&peer).into()],
                    })
                    .await
                    .map(|_| ())
            },
        ),
    )
    .await;
    assert!(served.is_ok(), "{served:?}");
}

#[tokio::test]
async fn an_account_whose_key_is_revoked_leaves_the_pool_and_the_others_keep_serving() {
    let setup = pool_setup::start(5, 20).await;
    let pool = setup.pool().await;
    let mut owners = HashMap::new();
    for i in 0..20 {
        let served = guarded("run", pool.run(&chat(i), HISTORY, last_message))
            .await
            .unwrap();
        owners.insert(i, served.account);
    }
    // Revoke the key of an account that owns at least one chat.
    let victim = *owners.values().next().unwrap();
    setup.sim.faults.auth_key_unregistered(victim.0);

    for i in 0..20 {
        let served = guarded("run", pool.run(&chat(i), HISTORY, last_message))
            .await
            .unwrap_or_else(|e| panic!("chat {i}: {e}"));
        assert_ne!(served.account, victim);
    }
    let victim_account = pool.account(victim).unwrap();
    assert!(
        matches!(victim_account.state(), AccountState::Deauthorized { ref reason } if reason == "AUTH_KEY_UNREGISTERED"),
        "{:?}",
        victim_account.state()
    );
    assert_eq!(pool.deauthorized_count(), 1);
    let able = pool
        .report()
        .iter()
        .filter(|r| r.state == AccountState::Active)
        .count();
    assert_eq!(able, 4);
}

#[tokio::test]
async fn a_session_used_from_two_places_retires_like_a_revoked_key() {
    let setup = pool_setup::start(2, 1).await;
    let pool = setup.pool().await;
    let duplicated = account(0);
    setup.sim.faults.auth_key_duplicated(duplicated);
    // Whichever account serves, the chat is read; the duplicated one leaves once it is asked.
    for _ in 0..4 {
        guarded("run", pool.run(&chat(0), HISTORY, last_message))
            .await
            .expect("the other account serves");
    }
    let retired = pool.account(AccountId(duplicated)).unwrap();
    guarded("the duplicated account is asked and retired", async {
        while retired.state() == AccountState::Active {
            guarded("run", pool.run(&chat(0), HISTORY, last_message))
                .await
                .expect("the other account serves");
        }
    })
    .await;
    assert!(
        matches!(retired.state(), AccountState::Deauthorized { ref reason } if reason == "AUTH_KEY_DUPLICATED"),
        "{:?}",
        retired.state()
    );
    assert_eq!(pool.deauthorized_count(), 1);
}

#[tokio::test]
async fn revoking_every_key_leaves_a_clear_error() {
    let setup = pool_setup::start(2, 1).await;
    let pool = setup.pool().await;
    for i in 0..2 {
        setup.sim.faults.auth_key_unregistered(account(i));
    }
    let error = guarded("run", pool.run(&chat(0), HISTORY, last_message))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            PoolError::NoAccount {
                active: 0,
                total: 2,
                deauthorized: 2,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn an_account_with_many_pending_downloads_gets_proportionally_fewer_picks() {
    let setup = pool_setup::start(5, 0).await;
    let pool = setup.pool().await;
    let busy = pool.account(AccountId(account(4))).unwrap();
    let _downloads: Vec<_> = (0..9).map(|_| busy.begin_download()).collect();
    assert_eq!(busy.pending_downloads(), 9);

    let mut picks: HashMap<i64, usize> = HashMap::new();
    for _ in 0..410 {
        let served = guarded(
            "run_any",
            pool.run_any("updates.getState", |client| async move {
                client
                    .invoke(&tl::functions::updates::GetState {})
                    .await
                    .map(|_| ())
            }),
        )
        .await
        .unwrap();
        *picks.entry(served.account.0).or_default() += 1;
    }
    // Weights 10:10:10:10:1 (9 pending downloads divide the weight by 10): over 410 picks
    // smooth round-robin gives exactly 100 to each idle account and 10 to the busy one.
    for i in 0..4 {
        assert_eq!(picks[&account(i)], 100, "{picks:?}");
    }
    assert_eq!(picks[&account(4)], 10, "{picks:?}");
}

#[tokio::test]
async fn a_dropped_connection_is_reconnected_and_requests_keep_succeeding() {
    let setup = pool_setup::start(2, 2).await;
    let pool = setup.pool().await;
    for i in 0..2 {
        guarded("run", pool.run(&chat(i), HISTORY, last_message))
            .await
            .unwrap();
    }
    setup.sim.faults.drop_all_connections();
    for round in 0..3 {
        for i in 0..2 {
            guarded("run", pool.run(&chat(i), HISTORY, last_message))
                .await
                .unwrap_or_else(|e| panic!("round {round}, chat {i}: {e}"));
        }
    }
}

#[tokio::test]
async fn an_unreachable_datacenter_disconnects_the_accounts_and_they_come_back_with_backoff() {
    let setup = pool_setup::start(2, 1).await;
    let pool = setup.pool().await;
    guarded("run", pool.run(&chat(0), HISTORY, last_message))
        .await
        .unwrap();
    let addr = setup.sim.addr;
    let pool_setup::Setup { sim, dir, .. } = setup;
    sim.shutdown().await;

    // Nothing answers: every account is tried, marked disconnected, and the caller is told.
    let error = guarded("run", pool.run(&chat(0), HISTORY, last_message))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            PoolError::NoAccount {
                active: 0,
                total: 2,
                disconnected: 2,
                ..
            }
        ),
        "{error}"
    );
    for report in pool.report() {
        assert_eq!(report.state.name(), "disconnected", "{report:?}");
    }

    // The datacenter is back (same world, same keys): the reconnect loop finds it.
    let sim = telesim::Sim::start_on(testkit::pool_setup::world(2, 1), addr)
        .await
        .expect("telesim restarts");
    for account in pool.accounts() {
        guarded("reconnect", account.wait_until_active())
            .await
            .expect("not deauthorized");
    }
    let served = guarded("run", pool.run(&chat(0), HISTORY, last_message)).await;
    assert!(served.is_ok(), "{served:?}");
    drop((sim, dir));
}

/// Telegram publishes no limits. An account paced far faster than Telegram's rule for a
/// method learns the rule from its first flood waits and settles below it: once it has, it
/// meets no more.
#[tokio::test]
async fn an_account_driven_past_telegrams_rate_rule_settles_below_it() {
    let setup = pool_setup::start(1, 1).await;
    // The tests' pacing: 10,000 requests a second, no per-method table.
    let pool = setup.pool().await;
    guarded("resolve", pool.resolve(&chat(0))).await.unwrap();
    // Like Telegram: at most 10 history pages per account in any second.
    setup
        .sim
        .faults
        .rate_limit(HISTORY, 10, Duration::from_secs(1));
    let mut floods_after_round = Vec::new();
    for (round, calls) in [30, 15, 15].into_iter().enumerate() {
        let mut served = 0;
        while served < calls {
            match guarded("run", pool.run(&chat(0), HISTORY, last_message)).await {
                Ok(_) => served += 1,
                // The only account cools for the flood wait: wait it out as a client would.
                Err(PoolError::AllCooling { retry_after, .. }) => {
                    tokio::time::sleep(retry_after).await
                }
                Err(other) => panic!("round {round}: {other}"),
            }
        }
        floods_after_round.push(setup.sim.faults.rate_limited(account(0), HISTORY));
    }
    let [learning, second, third] = floods_after_round[..] else {
        unreachable!("three rounds")
    };
    assert!(learning >= 1, "the configured pace is far above the rule");
    assert_eq!(
        (second, third),
        (learning, learning),
        "no flood wait once settled: {floods_after_round:?}"
    );
    let report = pool.report();
    let history = report[0]
        .pacing
        .iter()
        .find(|pacing| pacing.method == HISTORY)
        .expect("history is paced");
    assert!(
        history.per_second < 10.0,
        "settled below the rule's 10 a second: {history:?}"
    );
    assert_eq!(history.configured, 10_000.0);
    assert_eq!(history.flood_waits, learning);
    eprintln!(
        "rate rule 10/s: flood waits counted after each round {floods_after_round:?}; history paced at {:.2}/s",
        history.per_second
    );
}
