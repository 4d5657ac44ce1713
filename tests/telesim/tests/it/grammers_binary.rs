//! The `telesim` binary: the accounts as Telethon hands them over (files and strings that
//! Telethon itself reads), the control interface, and a clean stop on SIGTERM.

use std::process::Stdio;
use std::sync::Arc;

use grammers_client::sender::{ConnectionParams, NoRetries};
use grammers_client::{Client, SenderPool};
use telesim::sim::preset_session;
use telesim::world::World;
use telesim::world::demo::ALICE;
use testkit::connected::rpc_error;
use testkit::guarded;
use testkit::logging;
use testkit::python::script;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

/// What the binary printed before it started serving.
#[derive(Default)]
struct Banner {
    listening: Option<String>,
    control: Option<String>,
    sessions: Vec<String>,
    strings: Vec<(i64, String)>,
}

async fn control(stream: &mut BufReader<TcpStream>, request: &str) -> serde_json::Value {
    stream
        .get_mut()
        .write_all(format!("{request}\n").as_bytes())
        .await
        .unwrap();
    let mut line = String::new();
    guarded("a control reply", stream.read_line(&mut line))
        .await
        .unwrap();
    serde_json::from_str(&line).unwrap()
}

#[tokio::test]
async fn serve_writes_loadable_sessions_obeys_the_control_port_and_stops_on_sigterm() {
    logging::from_env();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_telesim"))
        .args([
            "serve",
            "--world",
            "demo",
            "--port",
            "0",
            "--control-port",
            "0",
        ])
        .arg("--sessions-out")
        .arg(dir.path())
        .arg("--print-strings")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the telesim binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Banner::default();
    while banner.control.is_none() {
        let line = guarded("the banner", lines.next_line())
            .await
            .unwrap()
            .expect("the binary printed its banner before exiting");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["telesim", "listening", "on", addr] => banner.listening = Some(addr.to_string()),
            ["control", "listening", "on", addr] => banner.control = Some(addr.to_string()),
            ["session", path] => banner.sessions.push(path.to_string()),
            ["string", id, s] => banner.strings.push((id.parse().unwrap(), s.to_string())),
            _ => panic!("unexpected banner line {line:?}"),
        }
    }
    let addr = banner.listening.expect("the listening address is printed");
    let logged_in: Vec<_> = World::demo()
        .account_infos()
        .into_iter()
        .filter(|a| a.logged_in)
        .collect();
    assert_eq!(
        banner.sessions.len(),
        logged_in.len(),
        "one session per logged-in account"
    );
    assert_eq!(banner.strings.len(), logged_in.len());

    // Alice's StringSession carries her key and the simulator's address: Telethon says so.
    let alice_info = logged_in.iter().find(|a| a.user_id == ALICE).unwrap();
    let key_hex: String = alice_info
        .auth_key
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (_, string) = banner.strings.iter().find(|(id, _)| *id == ALICE).unwrap();
    let decoded = script("telethon_session.py", &["string-decode", string]);
    assert_eq!(
        format!(
            "{}:{}",
            decoded["server_address"].as_str().unwrap(),
            decoded["port"]
        ),
        addr
    );
    assert_eq!(decoded["auth_key"], key_hex.as_str());

    // Alice's session file is a Telethon file: Telethon reads her DC, key and user from it.
    let path = dir.path().join("15550001001.session");
    assert!(banner.sessions.contains(&path.display().to_string()));
    let read = script("telethon_session.py", &["read", path.to_str().unwrap()]);
    assert_eq!(read["version"], 8);
    assert_eq!(read["auth_key"], key_hex.as_str());
    assert_eq!(read["self_id"], ALICE);

    // And a client with that key is Alice to the served datacenter.
    let session = Arc::new(preset_session(addr.parse().unwrap(), alice_info));
    let pool = SenderPool::with_configuration(
        session,
        1,
        ConnectionParams {
            retry_policy: Box::new(NoRetries),
            ..Default::default()
        },
    );
    let client = Client::new(pool.handle.clone());
    let runner = tokio::spawn(pool.runner.run());
    let me = guarded("get_me", client.get_me()).await.unwrap();
    assert_eq!(me.id().bare_id(), Some(ALICE));

    // The control interface injects a fault the client then sees.
    let control_addr = banner.control.unwrap();
    let mut control_stream = BufReader::new(TcpStream::connect(&control_addr).await.unwrap());
    let reply = control(
        &mut control_stream,
        r#"{"cmd":"flood_wait","user_id":1001,"method":"users.getUsers","seconds":5,"calls":1}"#,
    )
    .await;
    assert_eq!(reply["ok"], true, "{reply}");
    let flooded = guarded("get_me", client.get_me()).await;
    assert_eq!(rpc_error(flooded), (420, "FLOOD_WAIT".to_string(), Some(5)));
    let counters = control(
        &mut control_stream,
        r#"{"cmd":"counters","user_id":1001,"method":"users.getUsers"}"#,
    )
    .await;
    assert_eq!(counters["total"], 2, "{counters}");
    let bad = control(&mut control_stream, r#"{"cmd":"nonsense"}"#).await;
    assert_eq!(bad["ok"], false);

    pool.handle.quit();
    let _ = runner.await;
    let pid = child.id().expect("still running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = guarded("the binary stopping", child.wait()).await.unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
}
