//! One account's update stream: grammers' updates in, events of joined chats into the
//! outbox, joins and leaves into the join map.
//!
//! Each account runs one of these; they all feed one outbox, whose `seen` table makes the
//! first account to report a change the one that counts (so the union stays in order per
//! chat: each account sees a chat's changes in order, and the earliest report of each
//! change wins). grammers' catch-up is on: its update state lives in the session file, so
//! after downtime it asks Telegram for the difference and what it missed comes through
//! here like any other update. The state written back is that of the updates handled
//! (`handled`), never grammers' own, which runs ahead of the stream: it is saved after the
//! events it covers are committed to the outbox and the outbox is synced to disk, at once
//! for a message box (a channel) not saved before, then at most once a second, and on
//! shutdown; a crash in between replays a little, which the `seen` table absorbs.
//!
//! Updates that arrive together (a burst) are read as one batch of up to 256 and their
//! events written in one outbox transaction; a lone update is written at once, since the batch
//! is written whenever no further update is ready.
//!
//! An update counts as handled only once everything it brings is durable. When the outbox
//! cannot take an event (a full disk, an I/O error, the outbox at its cap) the stream stops
//! there and tries the same update again, backing off, until it can: Telegram keeps what
//! comes meanwhile, and after a restart the saved state, which never passed the update,
//! asks for it again.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use grammers_client::peer::{Peer, PeerMap};
use grammers_client::sender::UpdatesConfiguration;
use grammers_client::session::types::PeerId;
use grammers_client::session::updates::{State, UpdatesLike};
use tgc_model::joinmap::{JoinHow, JoinMap};
use tgc_model::teleclient::{AccountId, InvocationError, TeleClient, tl};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event::{Event, EventKey, EventKind};
use super::handled::HandledState;
use super::membership::{self, MembershipChange};
use super::outbox::{Enqueued, Outbox};
use super::stats::Stats;
use crate::parser::{MediaHook, ParseContext, channel_peer_id};

/// Update batches an account may have waiting for its stream (see [`Relay`]).
const UPDATE_BACKLOG: usize = 1 << 20;

/// The most updates read before their events are written: one transaction for a whole burst
/// instead of one per update (each wrote the outbox's pages again).
const MAX_BATCH: usize = 256;

/// How often the update state is written back to the session file.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Small groups number messages per account, and their deletions name no chat: the
/// chats of this many recent messages are remembered to route such deletions.
const RECENT_IDS: usize = 50_000;

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The longest wait between two tries of an update whose events could not be written.
const MAX_WRITE_BACKOFF: Duration = Duration::from_secs(5);

/// What every account's stream shares.
pub(crate) struct Shared {
    pub joinmap: Arc<JoinMap>,
    pub outbox: Arc<Outbox>,
    pub media: Arc<dyn MediaHook>,
    pub stats: Arc<Stats>,
}

/// Takes `account`'s raw updates and starts draining them into a deep queue at once (see
/// [`Relay`]), before the stream itself starts; None if they were taken already.
pub(crate) fn take_updates(account: &TeleClient) -> Option<Relay> {
    match account.take_updates() {
        Some(updates) => Some(Relay::start(updates)),
        None => {
            tracing::warn!(account = %account.id(), "the account's updates are already taken; not streaming it");
            None
        }
    }
}

/// How one run of a stream ended.
#[derive(Debug)]
pub(crate) enum Ended {
    Shutdown,
    /// The account's client is gone for good (its connection pool was shut down).
    AccountGone,
    /// It could not start (its session file unreadable, say); worth another try.
    Failed(String),
}

/// Keeps `account`'s stream running until `shutdown`: a run that fails to start or panics
/// is started again with a growing wait, over the same relay. Updates that arrive while no
/// run reads are not lost: they were never handled, so the new run's catch-up asks Telegram
/// for them again from the saved state.
pub(crate) async fn supervise(
    account: Arc<TeleClient>,
    relay: Relay,
    shared: Arc<Shared>,
    catch_up: bool,
    shutdown: CancellationToken,
) {
    let id = account.id();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        shared.stats.stream_up();
        let ran = tokio::spawn(run(
            Arc::clone(&account),
            relay.fresh(),
            Arc::clone(&shared),
            catch_up,
            shutdown.clone(),
        ))
        .await;
        shared.stats.stream_down();
        let reason = match ran {
            Ok(Ended::Shutdown) => return,
            Ok(Ended::AccountGone) => {
                shared.stats.stream_ended();
                return;
            }
            Ok(Ended::Failed(reason)) => reason,
            Err(error) if error.is_panic() => format!("it panicked: {error}"),
            Err(_) => return,
        };
        if started.elapsed() >= MAX_BACKOFF {
            backoff = FIRST_BACKOFF;
        }
        shared.stats.stream_restart();
        tracing::error!(account = %id, %reason, retry_in = ?backoff, "the update stream stopped; starting it again");
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Runs `account`'s stream over `updates` (from [`Relay::fresh`]) until `shutdown`, until
/// the account's client is gone, or until it cannot start.
async fn run(
    account: Arc<TeleClient>,
    updates: mpsc::Receiver<UpdatesLike>,
    shared: Arc<Shared>,
    catch_up: bool,
    shutdown: CancellationToken,
) -> Ended {
    let id = account.id();
    let mut stream = match account
        .client()
        .stream_updates(updates, UpdatesConfiguration { catch_up })
        .await
    {
        Ok(stream) => stream,
        Err(error) => return Ended::Failed(format!("cannot start the update stream: {error}")),
    };
    tracing::info!(account = %id, catch_up, "streaming updates");
    let mut reader = Reader {
        account: id,
        shared,
        recent: RecentIds::default(),
        pending: Vec::new(),
    };
    let mut backoff = FIRST_BACKOFF;
    let mut handled = HandledState::default();
    let mut saved = Instant::now();
    let mut batch = Batch::default();
    let ended = loop {
        let next = {
            let next = stream.next_raw();
            tokio::pin!(next);
            // An update ready at once joins the batch. When none is, the batch is made
            // durable while the next update is awaited: by this same future, so nothing is
            // dropped half-read (grammers' `next_raw` is not cancel-safe).
            let ready = std::future::poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx))).await;
            match ready {
                Poll::Ready(next) => next,
                Poll::Pending => {
                    if !batch
                        .settle(&account, &mut reader, &mut handled, &mut saved, &shutdown)
                        .await
                    {
                        break Ended::Shutdown;
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => break Ended::Shutdown,
                        next = &mut next => next,
                    }
                }
            }
        };
        match next {
            Ok((update, state, peers)) => {
                tracing::trace!(account = %id, ?update, "update");
                backoff = FIRST_BACKOFF;
                batch.updates.push((update, state, peers));
                if batch.updates.len() >= MAX_BATCH
                    && !batch
                        .settle(&account, &mut reader, &mut handled, &mut saved, &shutdown)
                        .await
                {
                    break Ended::Shutdown;
                }
            }
            Err(error) => {
                // What arrived before the failure is made durable first.
                if !batch
                    .settle(&account, &mut reader, &mut handled, &mut saved, &shutdown)
                    .await
                {
                    break Ended::Shutdown;
                }
                if let InvocationError::Dropped(_) = error {
                    tracing::warn!(account = %id, "the account's client is gone; its stream ends");
                    break Ended::AccountGone;
                }
                tracing::warn!(account = %id, %error, retry_in = ?backoff, "fetching updates failed");
                tokio::select! {
                    _ = shutdown.cancelled() => break Ended::Shutdown,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    };
    save(&account, &reader.shared, &mut handled);
    ended
}

/// Moves the account's raw updates into a deep queue as fast as they come.
///
/// grammers' own channel holds 100 batches and drops whatever does not fit. A burst that
/// arrives while the stream is busy (its first `updates.getState`, a slow session write)
/// would lose its tail; the gap shows only when the chat's next update arrives, or after
/// grammers' 15-minute no-updates deadline: a quiet chat would go silent for minutes. This
/// relay does nothing but move batches, so grammers' channel never fills; the deep queue
/// costs memory only for what is actually waiting. Each run of the stream gets a fresh
/// queue ([`Relay::fresh`]); what arrives while no run reads is kept and goes first into
/// the next run's queue, in order.
pub(crate) struct Relay {
    state: Arc<std::sync::Mutex<RelayState>>,
    /// The task moving batches; it belongs to the relay and stops with it.
    moving: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.moving.abort();
    }
}

#[derive(Default)]
struct RelayState {
    /// The queue of the run reading now, if one is.
    reader: Option<mpsc::Sender<UpdatesLike>>,
    /// Batches that arrived while no run was reading.
    waiting: VecDeque<UpdatesLike>,
}

impl Relay {
    fn start(mut raw: mpsc::Receiver<UpdatesLike>) -> Relay {
        let state: Arc<std::sync::Mutex<RelayState>> = Arc::default();
        let feeding = Arc::clone(&state);
        let moving = tokio::spawn(async move {
            while let Some(batch) = raw.recv().await {
                let mut next = Some(batch);
                while let Some(batch) = next.take() {
                    let reader = lock(&feeding).reader.clone();
                    let Some(reader) = reader else {
                        let mut state = lock(&feeding);
                        match state.reader {
                            // A run started meanwhile: hand it the batch.
                            Some(_) => next = Some(batch),
                            None => state.waiting.push_back(batch),
                        }
                        continue;
                    };
                    if let Err(mpsc::error::SendError(batch)) = reader.send(batch).await {
                        // That run has ended: keep the batch for the next one.
                        let mut state = lock(&feeding);
                        if state
                            .reader
                            .as_ref()
                            .is_some_and(|r| r.same_channel(&reader))
                        {
                            state.reader = None;
                        }
                        next = Some(batch);
                    }
                }
            }
        });
        Relay { state, moving }
    }

    /// A new queue for a new run of the stream, holding first what waited for one.
    fn fresh(&self) -> mpsc::Receiver<UpdatesLike> {
        let (reader, updates) = mpsc::channel(UPDATE_BACKLOG);
        let mut state = lock(&self.state);
        for batch in state.waiting.drain(..) {
            // The queue is new and as deep as the relay allows: it takes them all.
            let _ = reader.try_send(batch);
        }
        state.reader = Some(reader);
        updates
    }
}

fn lock(state: &std::sync::Mutex<RelayState>) -> std::sync::MutexGuard<'_, RelayState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes the handled update state to the account's session file, once the outbox holding
/// the events it covers and the media tasks those events name are on disk (the session
/// file is synced; the outbox's and the task table's commits are not, one by one): after a
/// power cut the saved state is never ahead of them. The fsyncs run off the async worker.
fn save(account: &TeleClient, shared: &Shared, handled: &mut HandledState) {
    if !handled.is_dirty() {
        return;
    }
    tgc_common::blocking::offload(|| {
        if let Err(error) = shared.outbox.sync() {
            tracing::warn!(account = %account.id(), %error, "syncing the outbox failed; the update state is saved later");
            return;
        }
        if let Err(error) = shared.media.make_durable() {
            tracing::warn!(account = %account.id(), %error, "syncing the media task table failed; the update state is saved later");
            return;
        }
        let changes = handled.take();
        if let Err(error) = account.session().save_update_states(changes) {
            tracing::warn!(account = %account.id(), %error, "saving the update state failed");
        }
    });
}

/// Updates read but not yet handled: their events go to the outbox in one transaction.
#[derive(Default)]
struct Batch {
    updates: Vec<(tl::enums::Update, State, PeerMap)>,
}

impl Batch {
    /// Makes the batch's events durable, marks its updates handled and saves the update state
    /// when due. False if `shutdown` came first: the batch is then not handled, so the next
    /// start asks Telegram for it again.
    async fn settle(
        &mut self,
        account: &TeleClient,
        reader: &mut Reader,
        handled: &mut HandledState,
        saved: &mut Instant,
        shutdown: &CancellationToken,
    ) -> bool {
        if self.updates.is_empty() {
            return true;
        }
        if !reader.read_durably(&self.updates, shutdown).await {
            return false;
        }
        let mut opened = false;
        for (_, state, _) in self.updates.drain(..) {
            opened |= handled.handled(&state);
        }
        if opened || (handled.is_dirty() && saved.elapsed() >= SYNC_EVERY) {
            save(account, &reader.shared, handled);
            *saved = Instant::now();
        }
        true
    }
}

/// Why an update's events are not durable yet.
#[derive(Debug)]
enum NotDurable {
    /// The outbox is at its cap (`rabbitmq.outbox_max_events`).
    Full,
    /// Writing failed (a full disk, an I/O error, the file busy).
    Failed(String),
}

impl std::fmt::Display for NotDurable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotDurable::Full => f.write_str("the outbox is full (rabbitmq.outbox_max_events)"),
            NotDurable::Failed(error) => f.write_str(error),
        }
    }
}

/// Turns one account's updates into outbox events and join map changes.
struct Reader {
    account: AccountId,
    shared: Arc<Shared>,
    recent: RecentIds,
    /// Events read and not yet in the outbox; [`Reader::commit`] writes them at once.
    pending: Vec<Event>,
}

impl Reader {
    /// Reads `updates` until everything they bring is durable, trying again with a growing
    /// wait (or as soon as the outbox has room) while it is not. False if `shutdown` came
    /// first: the updates are then not handled.
    async fn read_durably(
        &mut self,
        updates: &[(tl::enums::Update, State, PeerMap)],
        shutdown: &CancellationToken,
    ) -> bool {
        let mut wait = FIRST_BACKOFF;
        let mut stalled = false;
        loop {
            self.pending.clear();
            let read = updates
                .iter()
                .try_for_each(|(update, _, peers)| self.read(update, peers))
                .and_then(|()| self.commit());
            match read {
                Ok(()) => {
                    if stalled {
                        self.shared.stats.stream_resumed();
                        tracing::info!(account = %self.account, "the outbox takes events again; the stream goes on");
                    }
                    return true;
                }
                Err(reason) => {
                    self.shared.stats.write_retry();
                    if !stalled {
                        stalled = true;
                        self.shared.stats.stream_stalled();
                    }
                    tracing::warn!(account = %self.account, %reason, retry_in = ?wait, "an update's events cannot be made durable; the stream waits (nothing is lost: the update is not marked handled)");
                    let outbox = Arc::clone(&self.shared.outbox);
                    let woke = tokio::select! {
                        _ = shutdown.cancelled() => false,
                        _ = tokio::time::sleep(wait) => true,
                        _ = outbox.room() => true,
                    };
                    if !woke {
                        self.shared.stats.stream_resumed();
                        return false;
                    }
                    wait = (wait * 2).min(MAX_WRITE_BACKOFF);
                }
            }
        }
    }

    /// Hands `update`'s events to the outbox and its membership change to the join map.
    /// Events already in the outbox count as done, so reading an update again after a
    /// failure adds only what is missing.
    fn read(&mut self, update: &tl::enums::Update, peers: &PeerMap) -> Result<(), NotDurable> {
        use tl::enums::Update as U;
        let (users, chats) = raw_peers(peers);
        if let Some(change) = membership::of_update(update, self.account, &chats) {
            // Events read before a leave are written before it: replayed after a crash, they
            // would be dropped as the events of a chat no longer joined.
            self.commit()?;
            self.record(change)?;
        }
        let (account, media) = (self.account, Arc::clone(&self.shared.media));
        let ctx = || {
            let mut ctx = ParseContext::new(account).with_media_hook(media);
            ctx.add_peers(&users, &chats);
            ctx
        };
        match update {
            U::NewMessage(u) => self.message(EventKind::New, &u.message, ctx),
            U::NewChannelMessage(u) => self.message(EventKind::New, &u.message, ctx),
            U::EditMessage(u) => self.message(EventKind::Edit, &u.message, ctx),
            U::EditChannelMessage(u) => self.message(EventKind::Edit, &u.message, ctx),
            U::DeleteChannelMessages(u) => {
                let Some(chat) = channel_peer_id(u.channel_id).and_then(PeerId::bot_api_dialog_id)
                else {
                    tracing::debug!(account = %self.account, channel = u.channel_id, "deletion in a channel whose id is out of range");
                    return Ok(());
                };
                for id in &u.messages {
                    self.offer(Event::deleted(chat, *id, self.account))?;
                }
                Ok(())
            }
            U::DeleteMessages(u) => {
                for id in &u.messages {
                    match self.recent.chat_of(*id) {
                        Some(chat) => self.offer(Event::deleted(chat, *id, self.account))?,
                        None => {
                            tracing::debug!(account = %self.account, id, "deletion of a message whose chat is unknown")
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn message(
        &mut self,
        kind: EventKind,
        message: &tl::enums::Message,
        ctx: impl FnOnce() -> ParseContext,
    ) -> Result<(), NotDurable> {
        let Some(key) = EventKey::of_message(kind, message) else {
            return Ok(());
        };
        if !matches!(message_peer(message), Some(tl::enums::Peer::Channel(_))) {
            self.recent.remember(key.message_id, key.chat_id);
        }
        if !self.wanted(&key) {
            return Ok(());
        }
        // Parsed only now: a duplicate or an ignored chat costs no parsing, and its media
        // is not handed to the pipeline a second time.
        self.enqueue(Event::parsed(key, message, &ctx()))
    }

    /// Hands a deletion to the outbox if it is wanted.
    fn offer(&mut self, event: Event) -> Result<(), NotDurable> {
        if self.wanted(&event.key()) {
            self.enqueue(event)?;
        }
        Ok(())
    }

    /// Whether an event is about a joined chat and not seen before.
    fn wanted(&self, key: &EventKey) -> bool {
        let stats = &self.shared.stats;
        match self.shared.joinmap.is_joined(key.chat_id) {
            Ok(true) => {}
            Ok(false) => {
                stats.ignored();
                return false;
            }
            Err(error) => {
                // Publishing too much beats losing a joined chat's message.
                tracing::error!(%error, "reading the join map failed; publishing anyway");
            }
        }
        match self.shared.outbox.has_seen(&key.id()) {
            Ok(true) => {
                stats.duplicate();
                false
            }
            Ok(false) => true,
            // `enqueue` checks again, atomically; this was only a shortcut.
            Err(_) => true,
        }
    }

    /// The event goes out with the others read since the last commit.
    fn enqueue(&mut self, event: Event) -> Result<(), NotDurable> {
        self.pending.push(event);
        Ok(())
    }

    /// Writes the events read so far to the outbox, in one transaction. What went in stays
    /// in (a retry finds it seen); what did not is tried again with the whole read.
    fn commit(&mut self) -> Result<(), NotDurable> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let stats = &self.shared.stats;
        let fates = match self.shared.outbox.enqueue_many(&self.pending) {
            Ok(fates) => fates,
            Err(error) => {
                let first = self.pending.first().map(Event::id).unwrap_or_default();
                return Err(NotDurable::Failed(format!(
                    "{} events from {first} ({error})",
                    self.pending.len()
                )));
            }
        };
        let mut full = false;
        for fate in fates {
            match fate {
                Enqueued::Added => stats.accepted(),
                Enqueued::Duplicate => stats.duplicate(),
                Enqueued::Full => full = true,
            }
        }
        self.pending.clear();
        if full {
            return Err(NotDurable::Full);
        }
        Ok(())
    }

    fn record(&self, change: MembershipChange) -> Result<(), NotDurable> {
        let joinmap = &self.shared.joinmap;
        let result = match change {
            MembershipChange::Joined(chat) => {
                tracing::info!(account = %self.account, chat = ?chat.bot_api_dialog_id(), "joined (seen in Telegram's updates)");
                joinmap.record_join(chat, self.account, JoinHow::Telegram)
            }
            MembershipChange::Left(chat) => {
                tracing::info!(account = %self.account, chat = ?chat.bot_api_dialog_id(), "left (seen in Telegram's updates)");
                joinmap.record_leave(chat, self.account).map(|_| ())
            }
        };
        result.map_err(|error| {
            tracing::error!(%error, "updating the join map failed; the update is tried again");
            NotDurable::Failed(error.to_string())
        })
    }
}

fn message_peer(message: &tl::enums::Message) -> Option<&tl::enums::Peer> {
    match message {
        tl::enums::Message::Message(m) => Some(&m.peer_id),
        tl::enums::Message::Service(m) => Some(&m.peer_id),
        tl::enums::Message::Empty(m) => m.peer_id.as_ref(),
    }
}

/// The raw users and chats behind grammers' peer map, for the parser's context.
fn raw_peers(peers: &PeerMap) -> (Vec<tl::enums::User>, Vec<tl::enums::Chat>) {
    let mut users = Vec::new();
    let mut chats = Vec::new();
    for peer in peers.iter_peers() {
        match peer {
            Peer::User(user) => users.push(user.raw.clone()),
            Peer::Group(group) => chats.push(group.raw.clone()),
            Peer::Channel(channel) => chats.push(tl::enums::Chat::Channel(channel.raw.clone())),
            // Communities carry no message chat the schema names.
            Peer::Community(_) => {}
        }
    }
    (users, chats)
}

/// The chats of the most recent small-group and private messages, by message id.
#[derive(Default)]
struct RecentIds {
    chats: HashMap<i32, i64>,
    order: VecDeque<i32>,
}

impl RecentIds {
    fn remember(&mut self, id: i32, chat: i64) {
        if self.chats.insert(id, chat).is_none() {
            self.order.push_back(id);
            if self.order.len() > RECENT_IDS
                && let Some(oldest) = self.order.pop_front()
            {
                self.chats.remove(&oldest);
            }
        }
    }

    fn chat_of(&self, id: i32) -> Option<i64> {
        self.chats.get(&id).copied()
    }
}
