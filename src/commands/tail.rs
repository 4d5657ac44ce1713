//! `tgcollector tail [--chat ID] [--count N]`: watch the live stream as consumers see it.
//!
//! For operators checking that events flow: it binds a temporary, exclusive queue to the
//! configured exchange (so it takes nothing away from real consumers and leaves nothing
//! behind), prints one line per event, `<routing key> <message_id> <JSON body>`, and stops
//! on Ctrl-C or after `--count` events.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use tgc_common::Settings;
use tgc_service::publisher::{Tail, binding_key, mask_url, parse_chat};

use crate::cli::TailArgs;

pub fn run(settings: &Settings, args: &TailArgs) -> anyhow::Result<ExitCode> {
    let chat = args.chat.as_deref().map(parse_chat).transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let url = settings.rabbitmq.url.expose().to_string();
        let exchange = &settings.rabbitmq.exchange;
        let mut tail = Tail::connect(&url, exchange, chat).await.with_context(|| {
            format!(
                "cannot consume from RabbitMQ at {} (rabbitmq.url)",
                mask_url(&url)
            )
        })?;
        eprintln!(
            "tailing exchange {exchange} with binding {}; Ctrl-C to stop",
            binding_key(chat)
        );
        let mut stdout = std::io::stdout().lock();
        let mut seen = 0u64;
        while args.count.is_none_or(|count| seen < count) {
            let next = tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                next = tail.next() => next,
            };
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(error)) => return Err(error).context("the broker link failed"),
                None => anyhow::bail!("the broker closed the consumer"),
            };
            writeln!(
                stdout,
                "{} {} {}",
                event.routing_key,
                event.message_id.as_deref().unwrap_or("-"),
                String::from_utf8_lossy(&event.body)
            )
            .and_then(|()| stdout.flush())
            .context("writing to stdout")?;
            seen += 1;
        }
        tail.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
