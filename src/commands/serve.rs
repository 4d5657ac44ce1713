//! `tgcollector serve`: the gateway as a long-running process, logging by `log.*` (the log
//! file reopened at SIGHUP), until SIGTERM or SIGINT ends it cleanly with exit status 0.

use std::process::ExitCode;

use anyhow::Context as _;
use tgc_common::Settings;

use tgcollector::server;

pub fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let logging = tgc_common::logging::init(
        &settings.log.level,
        settings.log.format,
        settings.log.file.as_deref(),
    )?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let stop = server::signal::terminate().context("cannot install the signal handlers")?;
        server::signal::reopen_logs_on_hangup(logging)
            .context("cannot install the SIGHUP handler")?;
        server::run(settings, stop).await
    })?;
    Ok(ExitCode::SUCCESS)
}
