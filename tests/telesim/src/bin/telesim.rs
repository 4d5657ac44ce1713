//! `telesim`: the simulated Telegram datacenter as a process, for demos and for tests of programs
//! that are not in-process (tgcollector itself, Telethon scripts).
//!
//! `telesim serve --world demo|FILE.json|generated:CHANNELS:MESSAGES --port P --sessions-out DIR
//! [--print-strings] [--control-port Q]` starts the datacenter, writes one Telethon-layout session
//! file per logged-in account into DIR, prints where it listens (and the control port, and with
//! `--print-strings` a Telethon `StringSession` per account), and runs until SIGINT or SIGTERM.
//! The control interface is described in `telesim::control`.
//!
//! Standard output is meant for scripts, one fact per line, all before serving starts:
//! `telesim listening on ADDR`, `session PATH` per file written, `string USER_ID STRING` per
//! account with `--print-strings`, and `control listening on ADDR`. Logs go to standard error
//! (`RUST_LOG`, default `telesim=info`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use telesim::Sim;
use telesim::world::World;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "telesim",
    about = "A simulated Telegram datacenter speaking MTProto 2.0"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a world until stopped.
    Serve {
        /// `demo`, a world JSON file, or `generated:CHANNELS:MESSAGES`.
        #[arg(long, default_value = "demo")]
        world: String,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Where to write a session file per logged-in account.
        #[arg(long)]
        sessions_out: Option<PathBuf>,
        /// Also print a Telethon StringSession per logged-in account.
        #[arg(long)]
        print_strings: bool,
        /// Port on 127.0.0.1 for the JSON-lines control interface (0 picks a free one).
        #[arg(long)]
        control_port: Option<u16>,
        /// Seed for generated worlds.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Reads the `--world` argument.
fn load_world(spec: &str, seed: u64) -> anyhow::Result<World> {
    if spec == "demo" {
        return Ok(World::demo());
    }
    if let Some(shape) = spec.strip_prefix("generated:") {
        let Some((channels, messages)) = shape.split_once(':') else {
            bail!(
                "--world generated:{shape} must be generated:CHANNELS:MESSAGES, e.g. generated:100:100000"
            );
        };
        let channels: usize = channels
            .parse()
            .with_context(|| format!("CHANNELS in --world generated:{shape} is not a count"))?;
        let messages: i32 = messages
            .parse()
            .with_context(|| format!("MESSAGES in --world generated:{shape} is not a count"))?;
        return Ok(World::generated(channels, messages, seed));
    }
    World::load(spec.as_ref()).with_context(|| {
        format!("--world {spec} is neither demo, generated:C:M, nor a readable world file")
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "telesim=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve {
        world,
        port,
        sessions_out,
        print_strings,
        control_port,
        seed,
    } = Cli::parse().command;

    let world = load_world(&world, seed)?;
    let sim = Sim::start_on(world, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    println!("telesim listening on {}", sim.addr);
    if let Some(dir) = &sessions_out {
        for path in sim.write_telethon_files(dir)? {
            println!("session {}", path.display());
        }
    }
    if print_strings {
        for (user_id, string) in sim.telethon_strings() {
            println!("string {user_id} {string}");
        }
    }
    let sim = Arc::new(sim);
    let stop = CancellationToken::new();
    let control = match control_port {
        Some(port) => {
            let (listener, addr) = telesim::control::bind(port)
                .await
                .with_context(|| format!("binding the control port 127.0.0.1:{port}"))?;
            println!("control listening on {addr}");
            Some(tokio::spawn(telesim::control::serve(
                Arc::clone(&sim),
                listener,
                stop.clone(),
            )))
        }
        None => None,
    };

    wait_for_signal().await?;
    tracing::info!("stopping");
    stop.cancel();
    if let Some(control) = control {
        let _ = control.await;
    }
    match Arc::try_unwrap(sim) {
        Ok(sim) => sim.shutdown().await,
        Err(_) => tracing::warn!("control clients still hold the simulator; exiting anyway"),
    }
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_specs_are_read_or_refused_with_the_accepted_forms() {
        assert_eq!(load_world("demo", 1).unwrap(), World::demo());
        let generated = load_world("generated:3:500", 9).unwrap();
        assert_eq!(generated.chats.len(), 3);
        for bad in ["generated:3", "generated:x:5", "generated:3:-"] {
            let error = format!("{:#}", load_world(bad, 1).unwrap_err());
            assert!(error.contains("generated:"), "{bad}: {error}");
        }
        let error = format!(
            "{:#}",
            load_world("/nonexistent/world.json", 1).unwrap_err()
        );
        assert!(error.contains("neither demo"), "{error}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("world.json");
        std::fs::write(&path, World::demo().to_json()).unwrap();
        assert_eq!(
            load_world(path.to_str().unwrap(), 1).unwrap(),
            World::demo()
        );
    }
}
