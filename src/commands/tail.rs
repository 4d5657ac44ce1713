//! `tgcollector tail [--chat ID] [--count N]`: watch the live stream as consumers see it.
//!
//! For operators checking that events flow: it binds a temporary, exclusive queue to the
//! configured exchange (so it takes nothing away from real consumers and leaves nothing
//! behind), prints one line per event, `<routing key> <message_id> <JSON body>`, and stops
//! on Ctrl-C or after `--count` events. A sealed body (`rabbitmq.sealed = true`) is opened
//! with the keyring of `crypto.keys`, as any consumer holding the key would; one that does
//! not open is printed as `<not opened: reason>`, and tailing goes on.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use tgc_common::Settings;
use tgc_service::cryptor::Cryptor;
use tgc_service::publisher::{
    SEALED_CONTENT_TYPE, Tail, TailEvent, binding_key, mask_url, parse_chat,
};

use crate::cli::TailArgs;

pub fn run(settings: &Settings, args: &TailArgs) -> anyhow::Result<ExitCode> {
    let chat = args.chat.as_deref().map(parse_chat).transpose()?;
    // Only needed for sealed bodies, so a consumer without keys can still tail plain ones.
    let keyring = Cryptor::from_settings(&settings.crypto).ok();
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
                body_text(&event, keyring.as_ref())
            )
            .and_then(|()| stdout.flush())
            .context("writing to stdout")?;
            seen += 1;
        }
        tail.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// The event's JSON, opened first if it is sealed.
fn body_text(event: &TailEvent, keyring: Option<&Cryptor>) -> String {
    if event.content_type.as_deref() != Some(SEALED_CONTENT_TYPE) {
        return String::from_utf8_lossy(&event.body).into_owned();
    }
    let Some(keyring) = keyring else {
        return "<not opened: sealed, and crypto.keys is empty>".to_owned();
    };
    let message_id = event.message_id.as_deref().unwrap_or_default();
    match keyring.open_stream(&event.routing_key, message_id, &event.body) {
        Ok(json) => String::from_utf8_lossy(&json).into_owned(),
        Err(error) => format!("<not opened: {error}>"),
    }
}
