//! `tgcollector accounts check` as an operator runs it, against telesim.

use std::process::Output;

use testkit::guarded;
use testkit::pool_setup::{self, Setup, account};

const BINARY: &str = env!("CARGO_BIN_EXE_tgcollector");

async fn check(setup: &Setup) -> Output {
    let config = setup.dir.path().join("tgc.properties");
    std::fs::write(&config, "sessions.dir = sessions\ndata.dir = data\n").expect("write config");
    let child = tokio::process::Command::new(BINARY)
        .arg("--config")
        .arg(&config)
        .args(["accounts", "check"])
        .env_remove("TGC_CONFIG")
        .env_remove("RUST_LOG")
        .output();
    guarded("accounts check", child)
        .await
        .expect("the binary runs")
}

#[tokio::test]
async fn accounts_check_prints_user_state_and_round_trip_of_every_account() {
    let setup = pool_setup::start(3, 0).await;
    let output = check(&setup).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("FILE") && lines[0].contains("RTT"),
        "{stdout}"
    );
    assert_eq!(lines.len(), 4, "{stdout}");
    for i in 0..3 {
        let row = lines
            .iter()
            .find(|line| line.contains(&account(i).to_string()))
            .unwrap_or_else(|| panic!("no row for account {i}:\n{stdout}"));
        assert!(row.contains("active") && row.contains(" ms"), "{row}");
    }
    assert!(stderr.contains("3 of 3 account(s) active"), "{stderr}");
}

#[tokio::test]
async fn accounts_check_names_a_revoked_account_and_fails() {
    let setup = pool_setup::start(2, 0).await;
    setup.sim.faults.auth_key_unregistered(account(1));
    let output = check(&setup).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    let row = stdout
        .lines()
        .find(|line| line.contains(&account(1).to_string()))
        .unwrap_or_else(|| panic!("no row for the revoked account:\n{stdout}"));
    assert!(
        row.contains("deauthorized") && row.contains("AUTH_KEY_UNREGISTERED"),
        "{row}"
    );
}
