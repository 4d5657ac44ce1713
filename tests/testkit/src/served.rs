//! The `tgcollector serve` binary as a process of its own, for the benches that measure it
//! from outside: started over a configuration file, its addresses read from its log, and
//! its resources read from `/proc` (peak memory, CPU time).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tgc_common::config::{CryptoKey, CryptoSettings};
use tgc_service::cryptor::Cryptor;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::gateway_config::gateway_properties;
use crate::logging::{address_field, strip_ansi};

/// A running `serve`; killed when dropped.
pub struct Served {
    pub child: tokio::process::Child,
    pub pid: u32,
    pub api: SocketAddr,
    pub operator: SocketAddr,
}

impl Served {
    /// Starts `binary serve` over `config` (logging at `info` whatever the file says, since
    /// its "listening" line gives the addresses) and waits until it listens; the rest of its
    /// log is read and dropped.
    pub async fn start(binary: &str, config: &Path) -> Served {
        let mut child = tokio::process::Command::new(binary)
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("tgcollector serve starts");
        let pid = child.id().expect("a pid");
        let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let (api, operator) = loop {
            let line = log
                .next_line()
                .await
                .expect("its log")
                .expect("serve exited before listening");
            let line = strip_ansi(&line);
            if line.contains("listening") {
                break (
                    address_field(&line, "api"),
                    address_field(&line, "operator"),
                );
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
        Served {
            child,
            pid,
            api,
            operator,
        }
    }

    /// Writes `config.properties` into `dir` (the test defaults of [`gateway_properties`] with
    /// `key` as the keyring and `overrides` on top) and starts `binary serve` over it.
    pub async fn start_in(binary: &str, dir: &Path, key: &CryptoKey, overrides: &str) -> Served {
        let config = dir.join("config.properties");
        std::fs::write(&config, gateway_properties(key, overrides)).expect("config file");
        Served::start(binary, &config).await
    }

    /// Its peak resident memory so far (`VmHWM`), bytes.
    pub fn peak_rss(&self) -> u64 {
        status_kib(self.pid, "VmHWM:") * 1024
    }

    /// Its resident memory now (`VmRSS`), bytes.
    pub fn rss(&self) -> u64 {
        status_kib(self.pid, "VmRSS:") * 1024
    }

    /// The CPU time it has used so far, user and system, all threads, seconds.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid)
    }
}

/// The keyring of one key a client of the served gateway seals with.
pub fn cryptor_of(key: &CryptoKey) -> Arc<Cryptor> {
    Arc::new(
        Cryptor::from_settings(&CryptoSettings {
            keys: vec![key.clone()],
            clock_window: Duration::from_secs(60),
        })
        .expect("a keyring of one key"),
    )
}

/// A `kB` field of `/proc/<pid>/status` (`VmHWM:`, `VmRSS:`); 0 if the process is gone.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
}

/// A process's CPU time so far, user and system over all its threads (`utime` and `stime`
/// of `/proc/<pid>/stat`), seconds; 0 if gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name may hold spaces; the fields counted here come after its ')'.
    let Some((_, after_name)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}
