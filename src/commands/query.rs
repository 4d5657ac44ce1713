//! `tgcollector query METHOD ['{"params": {...}}']`: one sealed call to a running gateway,
//! with the configured key, and its opened reply printed as pretty JSON.
//!
//! Any failure (no key, no gateway, a refused envelope, an API error) exits non-zero with
//! the HTTP status and error code on stderr, so scripts and people can tell them apart.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tgc_common::Settings;
use tgc_service::cryptor::Cryptor;
use tgc_service::handler::gateway_client::{GatewayClient, params_from_arg, pretty};

use crate::cli::QueryArgs;

pub fn run(settings: &Settings, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let params = params_from_arg(args.params.as_deref())?;
    let cryptor = Arc::new(Cryptor::from_settings(&settings.crypto)?);
    let addr = args
        .addr
        .unwrap_or_else(|| reachable(settings.server.listen));
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let reply = runtime.block_on(async {
        let mut client = GatewayClient::connect(addr, cryptor).await?;
        client.query(&args.method, &params).await
    })?;
    // A closed pipe (`| head`) is the reader's choice, not a failure worth a panic.
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{}", pretty(&reply)) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).context("writing the reply")
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Where to reach a server listening on `listen`: a wildcard address means this host.
pub(crate) fn reachable(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
        }
        _ => listen,
    }
}
