//! The broker link: one AMQP connection and channel in confirm mode, and the drainer that
//! moves events from the outbox to RabbitMQ in order.
//!
//! The drainer takes the oldest events in batches, publishes the whole batch (persistent,
//! `application/json` or, sealed, `application/vnd.tgc.sealed`, `message_id` = the event id)
//! and takes the confirms in order; only a batch's confirmed prefix leaves the outbox. Up to
//! 16 batches are in flight: the next is published as soon as its events are in the outbox,
//! while the confirms of those before it are still to come (a confirm of a persistent
//! message waits for the broker's disk; a consumer gets the message before that). Taking the
//! confirms in order keeps the order: after a nack or a broken link everything from the first
//! unconfirmed event on is sent again, after the events before it, carrying the same ids. Any
//! failure of the link drops it and the drainer reconnects with capped exponential backoff;
//! the outbox holds everything meanwhile.
//!
//! A confirm alone does not mean delivered: RabbitMQ confirms a message that reached no
//! queue. Every publish is `mandatory`, so such a message comes back with its confirm; it
//! stays in the outbox (with everything after it, to keep the order) and is tried again
//! with backoff, counted as unroutable and shown in `/readyz`. By default the link declares
//! a durable queue bound to the exchange with `#` (`rabbitmq.queue`), so a fresh deployment
//! keeps every event before any consumer has bound its own.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio_util::sync::CancellationToken;

use super::outbox::{Outbox, Pending};
use super::stats::Stats;
use crate::cryptor::{Cryptor, SEALED_CONTENT_TYPE};

/// Events published before their confirms are awaited.
const BATCH: usize = 512;

/// Batches in flight at once, their confirms still to come.
const WINDOW: usize = 16;

/// A confirm that takes longer than this means the link is dead even if no error says so.
const CONFIRM_GUARD: Duration = Duration::from_secs(30);

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The longest wait before an unroutable event is tried again (someone must bind a queue).
const MAX_UNROUTABLE_BACKOFF: Duration = Duration::from_secs(30);

/// Where events go.
#[derive(Debug, Clone)]
pub struct Target {
    /// `amqp://…` (the password is never logged).
    pub url: String,
    pub exchange: String,
    /// A durable queue to declare and bind with `#`; None declares none.
    pub queue: Option<String>,
}

/// How a batch went: its first `confirmed` events were delivered to a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub confirmed: usize,
    /// The event after them came back unroutable (no queue bound for its routing key).
    pub unroutable: bool,
}

/// An open channel in confirm mode, with the exchange declared.
pub struct BrokerLink {
    connection: Connection,
    channel: Channel,
    exchange: String,
    seal: Option<Arc<Cryptor>>,
}

impl BrokerLink {
    /// Connects, opens a channel, turns on publisher confirms and declares the durable
    /// topic exchange (and `queue`, bound to it with `#`, when given).
    pub async fn open(
        url: &str,
        exchange: &str,
        queue: Option<&str>,
    ) -> Result<BrokerLink, lapin::Error> {
        let connection = Connection::connect(url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare_exchange(&channel, exchange).await?;
        if let Some(queue) = queue {
            declare_bound_queue(&channel, exchange, queue).await?;
        }
        Ok(BrokerLink {
            connection,
            channel,
            exchange: exchange.to_owned(),
            seal: None,
        })
    }

    /// Seals every body from now on (`rabbitmq.sealed = true`), or not.
    pub fn with_seal(mut self, seal: Option<Arc<Cryptor>>) -> BrokerLink {
        self.seal = seal;
        self
    }

    /// Publishes `batch` in order and returns how many of its first events RabbitMQ
    /// confirmed as delivered to a queue: all of them unless it nacked one or returned one
    /// as unroutable. A broken link is an error that still says how many were confirmed
    /// before it broke, so they are not sent twice.
    pub async fn publish(&self, batch: &[Pending]) -> Result<Published, LinkFailure> {
        confirm_all(self.send(batch).await?).await
    }

    /// Publishes `batch` in order and returns its confirms, still to come. A broken link is
    /// an error saying how many of the publishes already sent were confirmed.
    pub async fn send(
        &self,
        batch: &[Pending],
    ) -> Result<Vec<lapin::PublisherConfirm>, LinkFailure> {
        let mut confirms = Vec::with_capacity(batch.len());
        for event in batch {
            let (content_type, sealed) = match &self.seal {
                Some(cryptor) => (
                    SEALED_CONTENT_TYPE,
                    Some(cryptor.seal_stream(&event.routing_key, &event.event_id, &event.body)),
                ),
                None => ("application/json", None),
            };
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type(content_type.into())
                .with_message_id(event.event_id.as_str().into());
            let published = self
                .channel
                .basic_publish(
                    self.exchange.as_str().into(),
                    event.routing_key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    sealed.as_deref().unwrap_or(&event.body),
                    properties,
                )
                .await;
            match published {
                Ok(confirm) => confirms.push(confirm),
                // Publishes already sent may still be confirmed: wait for those first.
                Err(error) => return Err(settle(confirms, error).await),
            }
        }
        Ok(confirms)
    }

    /// Closes the channel and the connection politely.
    pub async fn close(self) {
        let _ = self.channel.close(200, "shutting down".into()).await;
        let _ = self.connection.close(200, "shutting down".into()).await;
    }
}

/// Waits for a batch's confirms in order: how many of its first events RabbitMQ confirmed as
/// delivered to a queue (all unless it nacked one or returned one unroutable), or the broken
/// link, saying how many were confirmed before it broke.
async fn confirm_all(confirms: Vec<lapin::PublisherConfirm>) -> Result<Published, LinkFailure> {
    let mut confirmed = 0;
    for confirm in confirms {
        let confirmation = match tokio::time::timeout(CONFIRM_GUARD, confirm).await {
            Ok(Ok(confirmation)) => confirmation,
            Ok(Err(error)) => return Err(LinkFailure { confirmed, error }),
            Err(_) => {
                return Err(LinkFailure {
                    confirmed,
                    error: confirm_timeout(),
                });
            }
        };
        if !confirmation.is_ack() {
            break;
        }
        if confirmation.take_message().is_some() {
            return Ok(Published {
                confirmed,
                unroutable: true,
            });
        }
        confirmed += 1;
    }
    Ok(Published {
        confirmed,
        unroutable: false,
    })
}

/// The link broke while publishing a batch, after its first `confirmed` events were
/// confirmed.
#[derive(Debug)]
pub struct LinkFailure {
    pub confirmed: usize,
    pub error: lapin::Error,
}

impl std::fmt::Display for LinkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (after {} confirmed)", self.error, self.confirmed)
    }
}

impl std::error::Error for LinkFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// How many of the publishes already sent were confirmed, once publishing itself failed.
async fn settle(confirms: Vec<lapin::PublisherConfirm>, error: lapin::Error) -> LinkFailure {
    let mut confirmed = 0;
    for confirm in confirms {
        match tokio::time::timeout(CONFIRM_GUARD, confirm).await {
            Ok(Ok(confirmation)) if confirmation.is_ack() => {
                if confirmation.take_message().is_some() {
                    break;
                }
                confirmed += 1;
            }
            _ => break,
        }
    }
    LinkFailure { confirmed, error }
}

fn confirm_timeout() -> lapin::Error {
    lapin::Error::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no publisher confirm within {CONFIRM_GUARD:?}"),
    ))
}

/// Removes `batch`'s confirmed prefix from the outbox (or keeps it in `unremoved` when that
/// fails), counts it, and says what comes next.
fn apply(
    batch: &[Pending],
    result: Result<Published, LinkFailure>,
    outbox: &Outbox,
    stats: &Stats,
    unremoved: &mut Vec<i64>,
) -> Settled {
    let (confirmed, unroutable, failure) = match result {
        Ok(published) => (published.confirmed, published.unroutable, None),
        Err(failure) => (failure.confirmed, false, Some(failure.error)),
    };
    let seqs: Vec<i64> = batch[..confirmed].iter().map(|p| p.seq).collect();
    let removed = match outbox.remove(&seqs) {
        Ok(()) => true,
        Err(error) => {
            // Tried again before anything else is published. Should the gateway stop first,
            // the next start publishes them again, with the same ids.
            tracing::warn!(%error, "removing confirmed events from the outbox failed; trying again");
            unremoved.extend(seqs);
            false
        }
    };
    stats.published(confirmed as u64);
    if let Some(error) = failure {
        return Settled::LinkLost(error);
    }
    if unroutable {
        return Settled::Refused {
            confirmed,
            unroutable,
        };
    }
    if confirmed > 0 {
        stats.routed();
    }
    if confirmed < batch.len() {
        Settled::Refused {
            confirmed,
            unroutable,
        }
    } else if removed {
        Settled::Whole
    } else {
        Settled::NotRemoved
    }
}

/// Waits for the confirms of every batch in flight, in order, removing what they confirm,
/// until one is not wholly confirmed; the window is empty after. True if all were.
async fn settle_window(
    window: &mut VecDeque<(Vec<Pending>, Confirming)>,
    outbox: &Outbox,
    stats: &Stats,
    unremoved: &mut Vec<i64>,
) -> bool {
    while let Some((batch, confirming)) = window.pop_front() {
        if !matches!(
            apply(&batch, confirming.await, outbox, stats, unremoved),
            Settled::Whole
        ) {
            window.clear();
            return false;
        }
    }
    true
}

/// Declares `exchange` as a durable topic exchange (idempotent; consumers may declare it
/// too, with the same arguments).
pub async fn declare_exchange(channel: &Channel, exchange: &str) -> Result<(), lapin::Error> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}

/// Declares `queue` as a durable queue and binds it to `exchange` for every routing key
/// (idempotent).
pub async fn declare_bound_queue(
    channel: &Channel,
    exchange: &str,
    queue: &str,
) -> Result<(), lapin::Error> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// A published batch whose confirms are still to come.
type Confirming = Pin<Box<dyn Future<Output = Result<Published, LinkFailure>> + Send>>;

/// What the drainer does after a batch's confirms came in.
enum Settled {
    /// Every event of it was confirmed and removed: go on.
    Whole,
    /// The first `confirmed` events left the outbox; the next one was refused (nacked, or
    /// returned unroutable), and it and every batch after it are sent again after a backoff,
    /// the link kept.
    Refused { confirmed: usize, unroutable: bool },
    /// The link broke: reconnect.
    LinkLost(lapin::Error),
    /// Removing confirmed events failed: nothing more is published until they are gone.
    NotRemoved,
}

/// Moves events from the outbox to the broker until `shutdown`, then closes the link.
/// What is not confirmed by then stays in the outbox for the next start.
///
/// Up to [`WINDOW`] batches are in flight: a batch is published as soon as its events are in
/// the outbox, without waiting for the confirms of the one before (a confirm of a persistent
/// message waits for the broker's disk, 15 to 30 ms under load, and a consumer gets the
/// message before that). Confirms are still taken in order, and only a batch's confirmed
/// prefix leaves the outbox; after a refusal or a broken link every batch from the first
/// unconfirmed event on is sent again, in order, with the same ids.
pub async fn drain(
    target: Target,
    seal: Option<Arc<Cryptor>>,
    outbox: Arc<Outbox>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
) {
    let Target {
        url,
        exchange,
        queue,
    } = target;
    let masked = super::mask_url(&url);
    let mut link: Option<BrokerLink> = None;
    let mut backoff = FIRST_BACKOFF;
    // Confirmed events whose removal from the outbox failed (a full disk): nothing more is
    // published until they are gone, or they would be published again.
    let mut unremoved: Vec<i64> = Vec::new();
    // Batches published, oldest first, with their confirms to come.
    let mut window: VecDeque<(Vec<Pending>, Confirming)> = VecDeque::new();
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        if !unremoved.is_empty() {
            match outbox.remove(&unremoved) {
                Ok(()) => unremoved.clear(),
                Err(error) => {
                    tracing::warn!(%error, events = unremoved.len(), "removing confirmed events from the outbox failed again; publishing waits");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(MAX_BACKOFF) => {}
                    }
                    continue;
                }
            }
        }
        let current = match link.take() {
            Some(link) => link,
            None => match BrokerLink::open(&url, &exchange, queue.as_deref()).await {
                Ok(opened) => {
                    let opened = opened.with_seal(seal.clone());
                    tracing::info!(url = %masked, exchange, backlog = outbox.len(), "RabbitMQ link up");
                    stats.set_link_up(true);
                    backoff = FIRST_BACKOFF;
                    opened
                }
                Err(error) => {
                    tracing::warn!(url = %masked, %error, retry_in = ?backoff, "RabbitMQ unreachable; events wait in the outbox");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        // Publish what the outbox holds beyond the batches in flight, while there is room.
        if window.len() < WINDOW {
            let after = window
                .back()
                .and_then(|(batch, _)| batch.last())
                .map_or(0, |pending| pending.seq);
            match outbox.oldest_after(after, BATCH) {
                Ok(batch) if !batch.is_empty() => match current.send(&batch).await {
                    Ok(confirms) => {
                        window.push_back((batch, Box::pin(confirm_all(confirms))));
                        link = Some(current);
                        continue;
                    }
                    Err(failure) => {
                        // The batches before it may be confirmed: settle them first, in order.
                        if settle_window(&mut window, &outbox, &stats, &mut unremoved).await {
                            apply(&batch, Err(failure), &outbox, &stats, &mut unremoved);
                        }
                        tracing::warn!(url = %masked, "RabbitMQ link lost while publishing; reconnecting");
                        stats.set_link_up(false);
                        drop(current);
                        continue;
                    }
                },
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(%error, "reading the outbox failed");
                    if window.is_empty() {
                        link = Some(current);
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(MAX_BACKOFF) => {}
                        }
                        continue;
                    }
                }
            }
        }
        let room = window.len() < WINDOW;
        let Some((_, confirming)) = window.front_mut() else {
            link = Some(current);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = outbox.added() => {}
            }
            continue;
        };
        let result = tokio::select! {
            biased;
            result = confirming => Some(result),
            // More events to publish meanwhile (the confirm future is kept, not dropped).
            _ = outbox.added(), if room => None,
            _ = shutdown.cancelled() => {
                link = Some(current);
                break;
            }
        };
        let Some(result) = result else {
            link = Some(current);
            continue;
        };
        let (batch, _) = window
            .pop_front()
            .expect("the front batch was just settled");
        match apply(&batch, result, &outbox, &stats, &mut unremoved) {
            Settled::Whole => {
                backoff = FIRST_BACKOFF;
                link = Some(current);
            }
            Settled::NotRemoved => {
                window.clear();
                link = Some(current);
            }
            Settled::LinkLost(error) => {
                window.clear();
                tracing::warn!(url = %masked, %error, "RabbitMQ link lost; reconnecting");
                stats.set_link_up(false);
                // The connection is broken; dropping it only tidies up what is left.
                drop(current);
            }
            Settled::Refused {
                confirmed,
                unroutable,
            } => {
                // Everything after the refused event goes again, after it.
                window.clear();
                let event = &batch[confirmed];
                if unroutable {
                    stats.unroutable();
                    tracing::warn!(
                        event = %event.event_id,
                        routing_key = %event.routing_key,
                        exchange,
                        retry_in = ?backoff,
                        "RabbitMQ routed an event to no queue (none is bound to the exchange for its routing key; see rabbitmq.queue): it stays in the outbox and is tried again"
                    );
                } else {
                    tracing::warn!(event = %event.event_id, "RabbitMQ refused an event (nack); retrying");
                }
                link = Some(current);
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                let most = if unroutable {
                    MAX_UNROUTABLE_BACKOFF
                } else {
                    MAX_BACKOFF
                };
                backoff = (backoff * 2).min(most);
            }
        }
    }
    // What is in flight at shutdown is confirmed (or not) before the link closes.
    settle_window(&mut window, &outbox, &stats, &mut unremoved).await;
    if !unremoved.is_empty()
        && let Err(error) = outbox.remove(&unremoved)
    {
        tracing::warn!(%error, events = unremoved.len(), "confirmed events stay in the outbox: the next start publishes them again, with the same ids");
    }
    if let Some(link) = link {
        stats.set_link_up(false);
        link.close().await;
    }
}
