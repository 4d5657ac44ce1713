//! Accounts as users bring them, through the binary as an operator runs it: session files
//! that Telethon itself wrote offline (no `tgc_` table, no self row), Telethon
//! `StringSession`s of both address families, Pyrogram strings and files made by Pyrogram's own
//! code, a directory of them with bad files among the good, and a revoked key. Each is imported,
//! served by `tgcollector serve` against telesim, and listed with its user; telesim counts how
//! often Telegram was asked who an account is.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use crate::gateway_support::{InProcess, Serve, cryptor_for, json};
use telesim::Sim;
use testkit::gateway_config::gateway_properties;
use testkit::guarded;
use testkit::pool_setup::{account, channel_name};
use testkit::python::script;
use tgc_common::config::CryptoKey;
use tgc_service::cryptor::keygen;
use tgc_service::handler::gateway_client::GatewayClient;

const BINARY: &str = env!("CARGO_BIN_EXE_tgcollector");

/// Enough channels that rendezvous hashing gives every account some of them to read.
const CHANNELS: usize = 24;

const GET_USERS: &str = "users.getUsers";

/// telesim with `accounts` accounts and [`CHANNELS`] channels, and an empty operator directory
/// with a config for the binary's account commands.
struct Migration {
    sim: Sim,
    dir: tempfile::TempDir,
    key: CryptoKey,
}

impl Migration {
    async fn start(accounts: usize, listen: SocketAddr) -> Migration {
        let sim = Sim::start_on(testkit::pool_setup::world(accounts, CHANNELS), listen)
            .await
            .expect("telesim starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let key = keygen::generate();
        // The account commands' own configuration; nothing listens at its server.listen.
        std::fs::write(
            dir.path().join("tgc.properties"),
            gateway_properties(&key, "server.listen = 127.0.0.1:9"),
        )
        .expect("config file");
        Migration { sim, dir, key }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn sessions(&self) -> PathBuf {
        self.path("sessions")
    }

    fn auth_key_hex(&self, i: usize) -> String {
        let info = self.sim.account(account(i)).expect("a world account");
        info.auth_key.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A session file for account `i` as Telethon's own `SQLiteSession` writes it offline:
    /// the home DC, its address and key, nothing else.
    fn telethon_offline_file(&self, i: usize, path: &Path) {
        let key = self.auth_key_hex(i);
        script(
            "telethon_session.py",
            &[
                "create-offline",
                path.to_str().expect("utf-8 path"),
                "2",
                &self.sim.addr.ip().to_string(),
                &self.sim.addr.port().to_string(),
                &key,
            ],
        );
    }

    /// Telethon's own `StringSession` for account `i`, at telesim's address.
    fn telethon_string(&self, i: usize) -> String {
        let key = self.auth_key_hex(i);
        let reply = script(
            "telethon_session.py",
            &[
                "string-encode",
                "2",
                &self.sim.addr.ip().to_string(),
                &self.sim.addr.port().to_string(),
                &key,
            ],
        );
        reply["string"].as_str().expect("a string").to_owned()
    }

    /// `tgcollector ARGS` with the migration's config.
    async fn tgc(&self, args: &[&str]) -> Output {
        let child = tokio::process::Command::new(BINARY)
            .arg("--config")
            .arg(self.path("tgc.properties"))
            .args(args)
            .env_remove("TGC_CONFIG")
            .env_remove("RUST_LOG")
            .output();
        guarded(&format!("tgcollector {args:?}"), child)
            .await
            .expect("the binary runs")
    }

    /// `tgcollector accounts import ARGS`.
    async fn import(&self, args: &[&str]) -> Output {
        let mut command = vec!["accounts", "import"];
        command.extend_from_slice(args);
        self.tgc(&command).await
    }

    /// The gateway over the imported files, in this process.
    async fn serve(&self) -> InProcess {
        Serve::in_process(self.dir.path(), &self.key, "").await
    }

    /// `tgcollector serve` over the imported files, for a test that reads its log.
    async fn serve_process(&self) -> Serve {
        Serve::spawn(self.dir.path(), &self.key, "").await
    }

    /// Reads one message of every channel through the served gateway and asserts that each of
    /// `accounts` read some of them itself.
    async fn history_through(&self, api: SocketAddr, accounts: &[usize]) {
        let before: Vec<u64> = accounts.iter().map(|&i| self.histories(i)).collect();
        let mut client = GatewayClient::connect(api, Arc::new(cryptor_for(&self.key)))
            .await
            .expect("connects to the gateway");
        for c in 0..CHANNELS {
            let params = json(&format!(
                r#"{{"chat": "@{}", "limit": 1}}"#,
                channel_name(c)
            ));
            let reply = guarded("history", client.query("history", &params))
                .await
                .unwrap_or_else(|error| panic!("history of {}: {error}", channel_name(c)));
            assert_eq!(
                reply["messages"].as_array().map(Vec::len),
                Some(1),
                "{reply}"
            );
        }
        for (&i, before) in accounts.iter().zip(before) {
            assert!(
                self.histories(i) > before,
                "account {} served no history",
                account(i)
            );
        }
    }

    fn histories(&self, i: usize) -> u64 {
        self.sim.counters.get(account(i), "messages.getHistory")
    }

    fn asked_who(&self, i: usize) -> u64 {
        self.sim.counters.get(account(i), GET_USERS)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The row of `accounts list` for a session file.
fn list_row(stdout: &str, file: &str) -> String {
    stdout
        .lines()
        .find(|line| line.starts_with(file))
        .unwrap_or_else(|| panic!("no row for {file}:\n{stdout}"))
        .to_owned()
}

fn user_column(row: &str) -> &str {
    row.split_whitespace().nth(1).unwrap_or_default()
}

fn v4() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

#[tokio::test]
async fn telethon_files_and_strings_that_never_recorded_their_user_serve_and_are_asked_once() {
    let m = Migration::start(3, v4()).await;
    let sources = m.path("collector-sessions");
    std::fs::create_dir_all(&sources).expect("a source directory");
    m.telethon_offline_file(0, &sources.join("anna.session"));
    m.telethon_offline_file(1, &m.path("boris.session"));
    let string = m.telethon_string(2);

    // A file checked at import, a file imported offline, a string checked at import.
    let out = m
        .import(&[
            "--telethon-file",
            sources.join("anna.session").to_str().unwrap(),
        ])
        .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("user {} (Account 0) serves", account(0))),
        "{stdout}"
    );
    let out = m
        .import(&[
            "--offline",
            "--telethon-file",
            m.path("boris.session").to_str().unwrap(),
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("not checked (--offline)"));
    assert_eq!(m.asked_who(1), 0, "--offline touches no network");
    let out = m
        .import(&["--telethon-string", &string, "--name", "vera"])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("user {} (Account 2) serves", account(2))));

    let out = m.tgc(&["accounts", "list"]).await;
    let listed = text(&out.stdout);
    assert_eq!(
        user_column(&list_row(&listed, "anna.session")),
        account(0).to_string()
    );
    assert_eq!(user_column(&list_row(&listed, "boris.session")), "-");

    for start in 0..2 {
        let serve = m.serve().await;
        m.history_through(serve.api, &[0, 1, 2]).await;
        serve.stop().await;
        for i in 0..3 {
            assert_eq!(
                m.asked_who(i),
                1,
                "account {} asked who it is once, not once per start (start {start})",
                account(i)
            );
        }
    }

    let out = m.tgc(&["accounts", "list"]).await;
    let listed = text(&out.stdout);
    for (file, i) in [
        ("anna.session", 0),
        ("boris.session", 1),
        ("vera.session", 2),
    ] {
        let row = list_row(&listed, file);
        assert_eq!(user_column(&row), account(i).to_string(), "{row}");
        assert!(row.contains(&format!("Account {i}")), "{row}");
    }
    // Telethon reads what we recorded: the self row it would have written itself.
    let read = script(
        "telethon_session.py",
        &["read", m.sessions().join("boris.session").to_str().unwrap()],
    );
    assert_eq!(read["self_id"], account(1));
}

#[tokio::test]
async fn a_telethon_string_of_an_ipv6_address_serves_over_ipv6() {
    let m = Migration::start(1, SocketAddr::from((Ipv6Addr::LOCALHOST, 0))).await;
    let string = m.telethon_string(0);
    let out = m
        .import(&["--telethon-string", &string, "--name", "six"])
        .await;
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let serve = m.serve().await;
    m.history_through(serve.api, &[0]).await;
    assert_eq!(m.asked_who(0), 1);
    let out = m.tgc(&["accounts", "list"]).await;
    let row = list_row(&text(&out.stdout), "six.session");
    assert!(
        row.contains(&format!("2 [::1]:{}", m.sim.addr.port())),
        "{row}"
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_import_and_reported_by_serve_while_the_others_serve() {
    let m = Migration::start(2, v4()).await;
    m.telethon_offline_file(0, &m.path("good.session"));
    m.telethon_offline_file(1, &m.path("revoked.session"));
    m.sim.faults.auth_key_unregistered(account(1));

    let out = m
        .import(&[
            "--telethon-file",
            m.path("revoked.session").to_str().unwrap(),
        ])
        .await;
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Telegram does not accept its key (AUTH_KEY_UNREGISTERED)"),
        "{stderr}"
    );
    assert!(
        !m.sessions().join("revoked.session").exists(),
        "what lands in sessions.dir is what serves"
    );
    assert!(m.path("revoked.session").exists(), "the source stays");

    for file in ["good.session", "revoked.session"] {
        let out = m
            .import(&[
                "--offline",
                "--telethon-file",
                m.path(file).to_str().unwrap(),
            ])
            .await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // The pool starts before the server says it listens, so the report is already read.
    let serve = m.serve_process().await;
    let reported = serve
        .log
        .seen()
        .iter()
        .find(|line| line.contains("revoked.session") && line.contains("AUTH_KEY_UNREGISTERED"))
        .unwrap_or_else(|| panic!("no report of the revoked account:\n{:?}", serve.log.seen()));
    assert!(reported.contains("left out of the pool"), "{reported}");
    m.history_through(serve.api, &[0]).await;

    let mut client = serve.client(&m.key).await;
    let accounts = client
        .query("accounts", &json("{}"))
        .await
        .expect("accounts");
    assert_eq!(accounts["active"], 1, "{accounts}");
    assert_eq!(accounts["unusable"][0]["session"], "revoked.session");
    assert!(
        accounts["unusable"][0]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("AUTH_KEY_UNREGISTERED")),
        "{accounts}"
    );
    let (status, readiness) = serve.operator_get(&m.key, "/readyz").await;
    assert_eq!(status, 200, "{readiness}");
    assert!(
        readiness.contains("1 session file(s) unusable"),
        "{readiness}"
    );
}

#[tokio::test]
async fn a_directory_of_telethon_files_is_imported_file_by_file_past_the_bad_ones() {
    let m = Migration::start(3, v4()).await;
    let sources = m.path("collector-sessions");
    std::fs::create_dir_all(&sources).expect("a source directory");
    m.telethon_offline_file(0, &sources.join("a.session"));
    std::fs::write(sources.join("b-broken.session"), b"not a database").expect("write");
    m.telethon_offline_file(1, &sources.join("c.session"));
    m.telethon_offline_file(2, &sources.join("d-revoked.session"));
    std::fs::write(sources.join("notes.txt"), b"not a session").expect("write");
    m.sim.faults.auth_key_unregistered(account(2));

    let out = m
        .import(&["--telethon-dir", sources.to_str().unwrap()])
        .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "two files failed: {stdout}{stderr}");
    assert!(
        stdout.contains("a.session -> a.session: user 5000 (Account 0) serves"),
        "{stdout}"
    );
    assert!(
        stdout.contains("c.session -> c.session: user 5001 (Account 1) serves"),
        "{stdout}"
    );
    let broken = stderr
        .lines()
        .find(|line| line.contains("b-broken.session") && line.starts_with("failed"))
        .unwrap_or_else(|| panic!("no line for the broken file:\n{stderr}"));
    assert!(broken.contains("not an SQLite database"), "{broken}");
    let revoked = stderr
        .lines()
        .find(|line| line.contains("d-revoked.session") && line.starts_with("failed"))
        .unwrap_or_else(|| panic!("no line for the revoked file:\n{stderr}"));
    assert!(revoked.contains("AUTH_KEY_UNREGISTERED"), "{revoked}");
    assert!(stderr.contains("2 of 4 imported, 2 failed"), "{stderr}");
    let mut imported: Vec<String> = std::fs::read_dir(m.sessions())
        .expect("sessions.dir")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    imported.sort();
    assert_eq!(imported, ["a.session", "c.session"]);
}

#[tokio::test]
async fn pyrogram_strings_of_every_format_and_a_pyrogram_file_serve_the_same_way() {
    let m = Migration::start(4, v4()).await;
    let dc_address = m.sim.addr.to_string();
    let mut imports: Vec<(String, Vec<String>)> = Vec::new();
    for (i, format) in ["string", "string-old", "string-old-64"]
        .into_iter()
        .enumerate()
    {
        let made = script(
            "pyrogram_session.py",
            &[format, "2", &m.auth_key_hex(i), &account(i).to_string()],
        );
        let string = made["string"].as_str().expect("a string").to_owned();
        let name = format!("pyro{i}");
        imports.push((
            format!("{name}.session"),
            ["--pyrogram-string", &string, "--name", &name]
                .map(String::from)
                .to_vec(),
        ));
    }
    let file = m.path("pyro3.session");
    script(
        "pyrogram_session.py",
        &[
            "file",
            file.to_str().unwrap(),
            "2",
            &m.auth_key_hex(3),
            &account(3).to_string(),
        ],
    );
    imports.push((
        "pyro3.session".into(),
        vec!["--pyrogram-file".into(), file.to_str().unwrap().into()],
    ));

    for (i, (session, args)) in imports.iter().enumerate() {
        let mut command: Vec<&str> = vec!["--dc-address", &dc_address];
        command.extend(args.iter().map(String::as_str));
        let out = m.import(&command).await;
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        assert!(
            stdout.contains(&format!("-> {session}: user {} ", account(i))),
            "{stdout}"
        );
    }

    // The file's cached peers came along (the user Pyrogram holds no access hash for did not).
    let imported = tgc_model::session::SessionFile::open(&m.sessions().join("pyro3.session"))
        .expect("the imported file opens");
    assert_eq!(imported.entities().expect("entities").len(), 5);
    assert!(imported.lookup_username("BobTheBuilder").is_some());
    drop(imported);

    let serve = m.serve().await;
    m.history_through(serve.api, &[0, 1, 2, 3]).await;
    serve.stop().await;
    for i in 0..4 {
        assert_eq!(
            m.asked_who(i),
            0,
            "a Pyrogram session records its user: Telegram is never asked"
        );
    }
    let out = m.tgc(&["accounts", "list"]).await;
    let listed = text(&out.stdout);
    for (i, (session, _)) in imports.iter().enumerate() {
        assert_eq!(
            user_column(&list_row(&listed, session)),
            account(i).to_string()
        );
    }
}
