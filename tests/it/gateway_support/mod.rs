//! What the gateway tests share: telesim with the demo world in-process, its accounts as
//! session files, and the gateway over them, configured through a config file as an operator
//! would, reached over TCP with the sealed client. The gateway runs in this process
//! ([`Gateway`], the same `Server` assembly `serve` runs) unless the test is about the process
//! itself ([`ServedGateway`], [`Serve`]: the real `tgcollector serve` binary).
//!
//! Servers bind port 0; a served binary reports its addresses in its "listening" log line,
//! which the harness reads from stderr, so tests never guess ports.
//!
//! The live stream is off (`rabbitmq.enabled = false`) unless a test names an exchange of
//! its own ([`Options::rabbitmq_exchange`]), so tests running at once never publish into
//! each other's exchanges, nor into the shipped default one.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use telesim::Sim;
use telesim::world::World;
use tgc_common::config::{CryptoKey, CryptoSettings};
use tgc_service::cryptor::{Cryptor, keygen};
use tgc_service::handler::gateway_client::{GatewayClient, Method, Protocol, Value};
use tgc_service::publisher::Tail;

pub use testkit::broker::amqp_url;
use testkit::broker::{delete_exchange, exchange};
use testkit::gateway_config::gateway_properties;
use testkit::logging::{address_field, strip_ansi};
use testkit::tmpfs::Tmpfs;
pub use testkit::{HANG_GUARD, guarded};
use tgc_common::Settings;
use tgcollector::server::Server;

/// Settings a test changes from the defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub request_timeout: &'static str,
    pub max_body: &'static str,
    pub max_concurrency: usize,
    /// Publish the live stream to this exchange of the test broker (127.0.0.1:5672).
    pub rabbitmq_exchange: Option<String>,
    /// The broker's URL, when not the test broker itself (a proxy before it).
    pub rabbitmq_url: Option<String>,
    /// Put `data/` on a tmpfs of this size (`16m`), which the test can fill.
    pub data_tmpfs: Option<&'static str>,
    /// Start the served binary with these (soft, hard) limits on open files (`prlimit`).
    pub open_files: Option<(u64, u64)>,
    /// More `key = value` lines of configuration.
    pub extra: &'static str,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            request_timeout: "20s",
            max_body: "64KiB",
            max_concurrency: 64,
            rabbitmq_exchange: None,
            rabbitmq_url: None,
            data_tmpfs: None,
            open_files: None,
            extra: "",
        }
    }
}

/// Where a running gateway listens and the key it opens requests with: what a test needs to
/// talk to it, in-process or served.
pub struct Endpoints {
    pub key: CryptoKey,
    pub api: SocketAddr,
    pub operator: SocketAddr,
}

impl Endpoints {
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
        operator_get(self.operator, &self.key, path).await
    }
}

/// The whole gateway in this process ([`tgcollector::server::Server`], exactly what `serve`
/// runs) in front of a running telesim: for the API tests, which need no process of their own.
/// Its [`Endpoints`] are reached through it.
pub struct Gateway {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    endpoints: Endpoints,
    _server: InProcess,
}

impl std::ops::Deref for Gateway {
    type Target = Endpoints;
    fn deref(&self) -> &Endpoints {
        &self.endpoints
    }
}

impl Gateway {
    pub async fn start() -> Gateway {
        Gateway::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Gateway {
        let prepared = prepare(&options).await;
        assert!(
            prepared.data_fs.is_none(),
            "an in-process gateway shares the test's filesystem"
        );
        let server = InProcess::start(&prepared.config).await;
        Gateway {
            endpoints: Endpoints {
                key: prepared.key,
                api: server.api,
                operator: server.operator,
            },
            _server: server,
            sim: prepared.sim,
            dir: prepared.dir,
        }
    }
}

/// [`tgcollector::server::Server`] running in this process over a configuration file, until
/// [`InProcess::stop`] or drop (which only asks it to stop, as SIGTERM would).
pub struct InProcess {
    pub api: SocketAddr,
    pub operator: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl InProcess {
    pub async fn start(config: &std::path::Path) -> InProcess {
        let no_env = |_: &str| None;
        let settings = Settings::load(config, &no_env)
            .unwrap_or_else(|errors| panic!("the test configuration: {errors}"));
        let server = guarded("the server's start", Server::start(&settings))
            .await
            .expect("the server starts");
        let (api, operator) = (server.api_addr(), server.operator_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.run_until(async {
            let _ = stopped.await;
        }));
        InProcess {
            api,
            operator,
            stop: Some(stop),
            running: Some(running),
        }
    }

    /// Shuts the server down as SIGTERM would and waits until it has: its files are saved
    /// and closed, so another server may start over them.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            guarded("the server's shutdown", running)
                .await
                .expect("the server task")
                .expect("the server stops cleanly");
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// telesim with the demo world, its accounts' session files in a new directory, a new key,
/// and `config.properties` there with `options`.
async fn prepare(options: &Options) -> Prepared {
    let testkit::Setup { sim, dir, .. } = testkit::Setup::start("gateway", World::demo()).await;
    let data_fs = options
        .data_tmpfs
        .map(|size| Tmpfs::mount(&dir.path().join("data"), size));
    let key = keygen::generate();
    let rabbitmq = match &options.rabbitmq_exchange {
        Some(exchange) => format!(
            // The gateway's own queue is named after the test's exchange, so the test's
            // clean-up (`delete_exchange`) removes it too.
            "rabbitmq.enabled = true\nrabbitmq.url = {}\nrabbitmq.exchange = {exchange}\nrabbitmq.queue = {exchange}\n",
            options.rabbitmq_url.clone().unwrap_or_else(amqp_url)
        ),
        None => String::new(),
    };
    let config = dir.path().join("config.properties");
    let overrides = format!(
        "server.request_timeout = {}\n\
         server.max_body_bytes = {}\n\
         server.max_concurrency = {}\n\
         {rabbitmq}\n\
         {}",
        options.request_timeout, options.max_body, options.max_concurrency, options.extra,
    );
    std::fs::write(&config, gateway_properties(&key, &overrides)).expect("config file");
    Prepared {
        sim,
        data_fs,
        dir,
        key,
        config,
    }
}

/// What [`prepare`] made.
struct Prepared {
    sim: Sim,
    data_fs: Option<Tmpfs>,
    dir: tempfile::TempDir,
    key: CryptoKey,
    config: std::path::PathBuf,
}

/// `tgcollector serve` as a process in front of a running telesim: for the tests about the
/// process itself (SIGTERM, SIGKILL and restart, its log).
pub struct ServedGateway {
    pub sim: Sim,
    /// `data/` on a tmpfs, when [`Options::data_tmpfs`] asked for it (unmounted before `dir`
    /// is removed: fields drop in order).
    pub data_fs: Option<Tmpfs>,
    pub dir: tempfile::TempDir,
    endpoints: Endpoints,
    child: Child,
    /// The server's stderr, line by line.
    pub log: ServerLog,
    open_files: Option<(u64, u64)>,
}

impl std::ops::Deref for ServedGateway {
    type Target = Endpoints;
    fn deref(&self) -> &Endpoints {
        &self.endpoints
    }
}

impl ServedGateway {
    pub async fn start() -> ServedGateway {
        ServedGateway::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> ServedGateway {
        let prepared = prepare(&options).await;
        let Started {
            child,
            api,
            operator,
            log,
        } = spawn(&prepared.config, options.open_files).await;
        ServedGateway {
            open_files: options.open_files,
            sim: prepared.sim,
            data_fs: prepared.data_fs,
            dir: prepared.dir,
            endpoints: Endpoints {
                key: prepared.key,
                api,
                operator,
            },
            child,
            log,
        }
    }

    /// Kills the server with SIGKILL (no shutdown at all) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the killed server");
    }

    /// Joins the demo's Tech Digest through the sealed API, as a client would (so the join
    /// map is written by the handler).
    pub async fn join_tech_digest(&self) {
        self.client()
            .await
            .query("join", &json(r#"{"chat": "@tech_digest"}"#))
            .await
            .expect("join");
    }

    /// Posts `count` messages to the demo's Tech Digest, returning their ids.
    pub fn post(&self, count: usize, label: &str) -> Vec<i32> {
        (0..count)
            .map(|i| {
                self.sim
                    .telegram
                    .post_message(
                        telesim::world::demo::TECH_DIGEST,
                        telesim::api::NewMessage::text(format!("{label} {i}")),
                    )
                    .expect("posting")
            })
            .collect()
    }

    /// Starts the server again over the same sessions, data and configuration (after
    /// [`ServedGateway::kill`] or an exit), with new addresses.
    pub async fn restart(&mut self) {
        assert!(!self.is_running(), "restart: the server is still running");
        let started = spawn(&self.dir.path().join("config.properties"), self.open_files).await;
        self.endpoints.api = started.api;
        self.endpoints.operator = started.operator;
        self.child = started.child;
        self.log = started.log;
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

    /// Waits for the server to exit (after [`ServedGateway::terminate`]).
    pub async fn wait(mut self) -> ExitStatus {
        let status = tokio::task::spawn_blocking(move || {
            let status = self.child.wait().expect("wait for the server");
            (status, self)
        })
        .await
        .expect("waiter");
        status.0
    }

    /// Waits for the server to exit by itself (after [`ServedGateway::terminate`]) and reaps it,
    /// keeping the harness for a [`ServedGateway::restart`]. Its stderr closing is the event.
    pub async fn exited(&mut self) -> ExitStatus {
        self.log.closed().await;
        self.child.wait().expect("reap the server")
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServedGateway {
    fn drop(&mut self) {
        // Only the process this harness started, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tgcollector serve` over a directory the test prepared (its `sessions/`), configured
/// with the harness's defaults plus `extra` lines; for tests that build their own world,
/// restart the server over the same files, or watch the process itself. The live stream
/// is off unless `extra` sets `rabbitmq.enabled`.
pub struct Serve {
    pub api: SocketAddr,
    pub operator: SocketAddr,
    child: Child,
    /// The server's stderr, line by line.
    pub log: ServerLog,
}

impl Serve {
    /// Writes `dir/config.properties` as [`Serve::spawn`] does and runs the server on it in
    /// this process: for tests that do not watch the process itself.
    pub async fn in_process(dir: &std::path::Path, key: &CryptoKey, extra: &str) -> InProcess {
        let config = dir.join("config.properties");
        std::fs::write(&config, gateway_properties(key, extra)).expect("config file");
        InProcess::start(&config).await
    }

    /// Writes `dir/config.properties` and starts the server on it.
    pub async fn spawn(dir: &std::path::Path, key: &CryptoKey, extra: &str) -> Serve {
        let config = dir.join("config.properties");
        std::fs::write(&config, gateway_properties(key, extra)).expect("config file");
        let started = spawn(&config, None).await;
        Serve {
            api: started.api,
            operator: started.operator,
            child: started.child,
            log: started.log,
        }
    }

    pub async fn client(&self, key: &CryptoKey) -> GatewayClient {
        GatewayClient::connect(self.api, Arc::new(cryptor_for(key)))
            .await
            .expect("connects to the gateway")
    }

    /// A plain GET on the operator listener: (status, body).
    pub async fn operator_get(&self, key: &CryptoKey, path: &str) -> (u16, String) {
        operator_get(self.operator, key, path).await
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL (no shutdown at all) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the killed server");
    }

    /// The process's peak resident memory so far (`VmHWM` of /proc/<pid>/status), bytes.
    pub fn peak_rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the server's /proc status (Linux, still running)");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib * 1024)
            .unwrap_or_else(|| panic!("no VmHWM line in /proc/{}/status", self.pid()))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // Only the process this harness started, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain GET on an operator listener: (status, body).
async fn operator_get(operator: SocketAddr, key: &CryptoKey, path: &str) -> (u16, String) {
    let mut client = GatewayClient::connect(operator, Arc::new(cryptor_for(key)))
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

/// A started server process and what its "listening" line said.
struct Started {
    child: Child,
    api: SocketAddr,
    operator: SocketAddr,
    log: ServerLog,
}

/// A server's stderr, as it comes: tests wait for the line that says what they wait for
/// (the reader wakes them), and every line read stays in [`ServerLog::seen`].
pub struct ServerLog {
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl ServerLog {
    /// Reads `stderr` on a thread of its own until it closes (the process exited).
    fn read(stderr: std::process::ChildStderr) -> ServerLog {
        let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        ServerLog {
            lines,
            seen: Vec::new(),
        }
    }

    /// Every line read so far, the one a wait ended on included.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Reads what has arrived without waiting, and returns every line read so far.
    pub fn drain(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// Waits for the next line `wanted` accepts; a hang or the end of the log fails the
    /// test with the log.
    pub async fn wait_for(&mut self, what: &str, mut wanted: impl FnMut(&str) -> bool) -> String {
        let found = tokio::time::timeout(HANG_GUARD, async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line.clone());
                if wanted(&line) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "{what}: the server exited first; its log:\n{}",
                self.seen.join("\n")
            ),
            Err(_) => panic!(
                "{what}: not in the server's log within {HANG_GUARD:?}; its log:\n{}",
                self.seen.join("\n")
            ),
        }
    }

    /// Waits until the log ends, which it does when the process exits.
    pub async fn closed(&mut self) {
        let ended = tokio::time::timeout(HANG_GUARD, async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line);
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "the server did not exit within {HANG_GUARD:?}; its log:\n{}",
            self.seen.join("\n")
        );
    }
}

/// Starts `tgcollector --config <config> serve` and waits for its "listening" line.
async fn spawn(config: &std::path::Path, open_files: Option<(u64, u64)>) -> Started {
    let binary = env!("CARGO_BIN_EXE_tgcollector");
    let mut command = match open_files {
        Some((soft, hard)) => {
            let mut command = Command::new("prlimit");
            command.arg(format!("--nofile={soft}:{hard}")).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    let mut child = command
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tgcollector binary starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut log = ServerLog::read(stderr);
    let line = log
        .wait_for("the gateway reporting listening", |line| {
            line.contains("listening")
        })
        .await;
    Started {
        child,
        api: address_field(&line, "api"),
        operator: address_field(&line, "operator"),
        log,
    }
}

/// A live-stream test's broker side: an exchange no other test uses, and a consumer bound
/// to it before the gateway starts, so everything published from the first post on is queued.
pub struct Stream {
    pub exchange: String,
    pub tail: Tail,
}

impl Stream {
    pub async fn bind(test: &str) -> Stream {
        let exchange = exchange(test);
        let tail = guarded("the consumer", Tail::connect(&amqp_url(), &exchange, None))
            .await
            .expect("RabbitMQ on 127.0.0.1:5672 (run ./test.sh to start it)");
        Stream { exchange, tail }
    }

    /// A gateway process publishing to this stream's exchange.
    pub async fn gateway(&self) -> ServedGateway {
        self.gateway_with(Options::default()).await
    }

    /// A gateway process publishing to this stream's exchange, otherwise as `options` say.
    pub async fn gateway_with(&self, options: Options) -> ServedGateway {
        ServedGateway::start_with(Options {
            rabbitmq_exchange: Some(self.exchange.clone()),
            ..options
        })
        .await
    }

    /// Closes the consumer and deletes the exchange: a test leaves nothing in the broker.
    pub async fn finish(self) {
        self.tail.close().await;
        delete_exchange(&self.exchange).await;
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

/// JSON from text (the tests write params as JSON text; the root crate has no JSON
/// dependency of its own).
pub fn json(text: &str) -> Value {
    tgc_service::handler::gateway_client::params_from_arg(Some(text)).expect("valid test JSON")
}
