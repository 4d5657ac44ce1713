//! The `telesim` binary: sessions a program can load, Telethon strings, the control interface,
//! and a clean stop on SIGTERM.

mod grammers_support;

use std::process::Stdio;
use std::sync::Arc;

use grammers_client::sender::{ConnectionParams, NoRetries};
use grammers_client::{Client, SenderPool};
use grammers_support::{guarded, init_logging, rpc_error};
use telesim::world::World;
use telesim::world::demo::ALICE;
use tgc_model::session::{SessionFile, TelethonString};
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
    init_logging();
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

    // A Telethon StringSession for Alice carries her key and the simulator's address.
    let alice_info = logged_in.iter().find(|a| a.user_id == ALICE).unwrap();
    let (_, string) = banner.strings.iter().find(|(id, _)| *id == ALICE).unwrap();
    let decoded = TelethonString::parse(string).unwrap();
    assert_eq!(decoded.addr.to_string(), addr);
    assert!(decoded.auth_key == alice_info.auth_key);

    // Alice's session file is what tgcollector loads: grammers runs on it as it is.
    let path = dir.path().join("15550001001.session");
    assert!(banner.sessions.contains(&path.display().to_string()));
    let session = Arc::new(SessionFile::open(&path).unwrap());
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
