//! How fast telesim serves one grammers client: messages per second over `messages.getHistory`
//! and megabytes per second over `upload.getFile`. Run with `cargo bench -p telesim`.
//!
//! The calls are raw `client.invoke`s, so the figures measure the simulator and the protocol
//! (framing, encryption, TL) rather than grammers' own message wrappers. History is read both one
//! page at a time and with several pages in flight, which is how a gateway with many requests
//! loads it. The aim is that telesim is never the bottleneck of a test: 200,000 messages/s or more.

use std::sync::Arc;
use std::time::{Duration, Instant};

use grammers_client::sender::{ConnectionParams, NoRetries};
use grammers_client::{Client, SenderPool, tl};
use telesim::Sim;
use telesim::world::World;
use telesim::world::demo::ALICE;
use telesim::world::generated::{ACCOUNT_IDS, FIRST_CHANNEL_ID};

const MESSAGES: i32 = 100_000;
const PAGE: i32 = 100;
const IN_FLIGHT: usize = 8;
/// 512 KiB, grammers' download chunk.
const CHUNK: i32 = 512 * 1024;

fn client_for(sim: &Sim, user_id: i64) -> Client {
    let pool = SenderPool::with_configuration(
        Arc::new(sim.grammers_session(user_id)),
        1,
        ConnectionParams {
            retry_policy: Box::new(NoRetries),
            ..Default::default()
        },
    );
    let client = Client::new(pool.handle.clone());
    tokio::spawn(pool.runner.run());
    client
}

fn history_page(sim: &Sim, reader: i64, offset_id: i32) -> tl::functions::messages::GetHistory {
    tl::functions::messages::GetHistory {
        peer: tl::types::InputPeerChannel {
            channel_id: FIRST_CHANNEL_ID,
            access_hash: telesim::api::access_hash(sim.telegram.seed(), reader, FIRST_CHANNEL_ID),
        }
        .into(),
        offset_id,
        offset_date: 0,
        add_offset: 0,
        limit: PAGE,
        max_id: 0,
        min_id: 0,
        hash: 0,
    }
}

fn page_len(result: &tl::enums::messages::Messages) -> usize {
    match result {
        tl::enums::messages::Messages::Messages(m) => m.messages.len(),
        tl::enums::messages::Messages::Slice(m) => m.messages.len(),
        tl::enums::messages::Messages::ChannelMessages(m) => m.messages.len(),
        tl::enums::messages::Messages::NotModified(_) => 0,
    }
}

fn report(what: &str, amount: f64, unit: &str, elapsed: Duration) {
    println!(
        "{what}: {amount:.0} {unit} in {:.3} s = {:.0} {unit}/s",
        elapsed.as_secs_f64(),
        amount / elapsed.as_secs_f64()
    );
}

async fn history_sequential(sim: &Sim, client: &Client, reader: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut offset_id = 0;
    let mut total = 0usize;
    loop {
        let page = client.invoke(&history_page(sim, reader, offset_id)).await?;
        let n = page_len(&page);
        if n == 0 {
            break;
        }
        total += n;
        offset_id = MESSAGES + 1 - total as i32;
    }
    report(
        "getHistory, one page at a time",
        total as f64,
        "messages",
        started.elapsed(),
    );
    Ok(())
}

async fn history_pipelined(sim: &Sim, client: &Client, reader: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    let offsets: Vec<i32> = (0..MESSAGES / PAGE)
        .map(|p| MESSAGES + 1 - p * PAGE)
        .collect();
    let mut total = 0usize;
    for batch in offsets.chunks(IN_FLIGHT) {
        let mut calls = tokio::task::JoinSet::new();
        for &offset_id in batch {
            let client = client.clone();
            let request = history_page(sim, reader, offset_id);
            calls.spawn(async move { client.invoke(&request).await });
        }
        while let Some(done) = calls.join_next().await {
            total += page_len(&done??);
        }
    }
    report(
        &format!("getHistory, {IN_FLIGHT} pages in flight"),
        total as f64,
        "messages",
        started.elapsed(),
    );
    Ok(())
}

async fn downloads(sim: &Sim, client: &Client) -> anyhow::Result<()> {
    // The demo's launch video: 2.6 MB, fetched in 512 KiB chunks like grammers does.
    let news = client
        .resolve_username("telesim_news")
        .await?
        .ok_or_else(|| anyhow::anyhow!("telesim_news missing"))?
        .to_ref()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| anyhow::anyhow!("telesim_news unusable"))?;
    let mut iter = client.iter_messages(news);
    let mut video = None;
    while let Some(m) = iter.next().await? {
        if let Some(media @ grammers_client::media::Media::Document(_)) = m.media()
            && m.text() == "Launch video"
        {
            video = Some(media);
        }
    }
    let video = video.ok_or_else(|| anyhow::anyhow!("no launch video in the demo"))?;
    let started = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..20 {
        let mut chunks = client.iter_download(&video).chunk_size(CHUNK);
        while let Some(chunk) = chunks.next().await? {
            bytes += chunk.len();
        }
    }
    let _ = sim;
    report(
        "upload.getFile",
        bytes as f64 / 1e6,
        "MB",
        started.elapsed(),
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let sim = Sim::start(World::generated(1, MESSAGES, 5)).await?;
        let reader = ACCOUNT_IDS[0];
        let client = client_for(&sim, reader);
        history_sequential(&sim, &client, reader).await?;
        history_pipelined(&sim, &client, reader).await?;
        sim.shutdown().await;

        let sim = Sim::start(World::demo()).await?;
        let client = client_for(&sim, ALICE);
        downloads(&sim, &client).await?;
        sim.shutdown().await;
        Ok(())
    })
}
