//! What the gateway tests share: telesim with the demo world in-process, its accounts as
//! session files, and the real `tgcollector serve` binary over them, configured through a
//! config file as an operator would, reached over TCP with the sealed client.
//!
//! The server binds port 0 and reports its addresses in its "listening" log line; the
//! harness reads stderr for it, so tests never guess ports.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use telesim::Sim;
use telesim::world::World;
use tgc_common::config::{CryptoKey, CryptoSettings};
use tgc_service::cryptor::{Cryptor, keygen};
use tgc_service::handler::client::{GatewayClient, Method, Protocol, Value};

/// A guard against a hang: generous, never a measurement.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// Settings a test changes from the defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub request_timeout: &'static str,
    pub max_body: &'static str,
    pub max_concurrency: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            request_timeout: "20s",
            max_body: "64KiB",
            max_concurrency: 64,
        }
    }
}

/// A running gateway in front of a running telesim.
pub struct Gateway {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    pub key: CryptoKey,
    pub api: SocketAddr,
    pub operator: SocketAddr,
    child: Child,
    /// The server's stderr lines after the "listening" line.
    pub log: mpsc::Receiver<String>,
}

impl Gateway {
    pub async fn start() -> Gateway {
        Gateway::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Gateway {
        let sim = Sim::start(World::demo()).await.expect("telesim starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        sim.write_sessions(&dir.path().join("sessions"))
            .expect("session files");
        let key = keygen::generate();
        let config = dir.path().join("config.properties");
        std::fs::write(
            &config,
            format!(
                "telegram.api_id = 2040\n\
                 telegram.api_hash = b18441a1ff607e10a989891a5462e627\n\
                 sessions.dir = sessions\n\
                 data.dir = data\n\
                 server.listen = 127.0.0.1:0\n\
                 server.operator_listen = 127.0.0.2:0\n\
                 server.request_timeout = {}\n\
                 server.max_body_bytes = {}\n\
                 server.max_concurrency = {}\n\
                 crypto.keys = {}\n\
                 pool.requests_per_second = 1000\n\
                 log.level = info\n",
                options.request_timeout,
                options.max_body,
                options.max_concurrency,
                keygen::config_value(&key),
            ),
        )
        .expect("config file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_tgcollector"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the tgcollector binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (lines, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if lines.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        let listening = tokio::task::spawn_blocking({
            move || {
                let mut seen = Vec::new();
                loop {
                    match log.recv_timeout(HANG_GUARD) {
                        Ok(line) if line.contains("listening") => return (line, log),
                        Ok(line) => seen.push(line),
                        Err(_) => panic!(
                            "the gateway never reported listening; its log:\n{}",
                            seen.join("\n")
                        ),
                    }
                }
            }
        })
        .await
        .expect("log reader");
        let (line, log) = listening;
        Gateway {
            sim,
            dir,
            api: field(&line, "api"),
            operator: field(&line, "operator"),
            key,
            child,
            log,
        }
    }

    pub fn cryptor(&self) -> Arc<Cryptor> {
        Arc::new(cryptor_for(&self.key))
    }

    pub async fn client(&self) -> GatewayClient {
        GatewayClient::connect(self.api, self.cryptor())
            .await
            .expect("connects to the gateway")
    }

    pub async fn client_h2(&self) -> GatewayClient {
        GatewayClient::connect_with(self.api, self.cryptor(), Protocol::Http2)
            .await
            .expect("connects to the gateway over h2c")
    }

    /// A plain GET on the operator listener: (status, body).
    pub async fn operator_get(&self, path: &str) -> (u16, String) {
        let mut client = GatewayClient::connect(self.operator, self.cryptor())
            .await
            .expect("connects to the operator listener");
        let reply = client
            .send(Method::GET, path, Vec::new())
            .await
            .expect("operator reply");
        (
            reply.status,
            String::from_utf8_lossy(&reply.body).into_owned(),
        )
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM to the server.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the server to exit (after [`Gateway::terminate`]).
    pub async fn wait(mut self) -> ExitStatus {
        let status = tokio::task::spawn_blocking(move || {
            let status = self.child.wait().expect("wait for the server");
            (status, self)
        })
        .await
        .expect("waiter");
        status.0
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn sessions(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // Only the process this harness started, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keyring of one key, as the server's.
pub fn cryptor_for(key: &CryptoKey) -> Cryptor {
    Cryptor::from_settings(&CryptoSettings {
        keys: vec![key.clone()],
        clock_window: Duration::from_secs(60),
    })
    .expect("a keyring of one key")
}

/// `name=value` from a log line.
fn field(line: &str, name: &str) -> SocketAddr {
    let prefix = format!("{name}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&prefix))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= address in {line:?}"))
}

/// The text of a line without terminal colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// JSON from text (the tests write params as JSON text; the root crate has no JSON
/// dependency of its own).
pub fn json(text: &str) -> Value {
    tgc_service::handler::client::params_from_arg(Some(text)).expect("valid test JSON")
}
