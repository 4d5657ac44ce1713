//! `tgcollector serve`: the gateway as a long-running process, logging by `log.*` (the log
//! file reopened at SIGHUP), until SIGTERM or SIGINT ends it cleanly with exit status 0.

use std::process::ExitCode;

use anyhow::Context as _;
use tgc_common::Settings;

use tgcollector::server;

/// The most threads blocking work (file I/O, fsyncs, session-file locks) runs on at once.
const BLOCKING_THREADS: usize = 64;

/// How long an idle blocking thread waits for more work before it exits.
const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(2);

pub fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let logging = tgc_common::logging::init(
        &settings.log.level,
        settings.log.format,
        settings.log.file.as_deref(),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Session-file writes hand their worker to a blocking thread (`offload`): at start
        // every account writes at once, and tokio's default of up to 512 such threads, each
        // kept 10 s, left hundreds of idle threads and their stacks and malloc arenas behind
        // (358 threads for 500 accounts). A few dozen serve as well: work past them waits
        // its turn, and idle ones leave soon.
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let stop = server::signal::terminate().context("cannot install the signal handlers")?;
        server::signal::reopen_logs_on_hangup(logging)
            .context("cannot install the SIGHUP handler")?;
        server::run(settings, stop).await
    })?;
    Ok(ExitCode::SUCCESS)
}
