//! What parsing costs per message, apart from the network: allocations, bytes allocated and
//! time to turn a page of Telegram's messages into the reply's JSON bytes, two ways on the
//! same pages:
//!
//! - **typed**: `message_of` for each message, the page serialized straight to bytes (what
//!   `history`, `search`, `messages` and the live stream do);
//! - **Value tree**: `parse_message` for each message (a `serde_json::Value` per message,
//!   as the gateway built before), then serialized.
//!
//! The pages are real answers: telesim's generated channel (text, entities, replies,
//! forwards, albums, media) fetched once through grammers. A counting allocator measures
//! only the parsing and serializing. `cargo bench -p tgc-service --bench parse`;
//! `TGC_BENCH_PAGES` sets the pages of 100 (default 20), `TGC_BENCH_ROUNDS` how often each
//! is parsed (default 20).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use telesim::Sim;
use telesim::world::World;
use telesim::world::generated::{ACCOUNT_IDS, FIRST_CHANNEL_ID};
use testkit::connected::connect;
use tgc_model::teleclient::{AccountId, tl};
use tgc_service::parser::{ParseContext, message_of, messages_of, parse_message};

/// Counts every allocation of the process (the bench reads it around the work it measures).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters only add.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, that is from `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PAGE: i32 = 100;

fn main() {
    let pages: i32 = testkit::bench::env_number("TGC_BENCH_PAGES", 20);
    let rounds: usize = testkit::bench::env_number("TGC_BENCH_ROUNDS", 20);
    let runtime = testkit::bench::runtime();
    let answers = runtime.block_on(fetch(pages));
    let messages: usize = answers.iter().map(|a| messages_of(a).len()).sum::<usize>() * rounds;
    let account = AccountId(ACCOUNT_IDS[0]);
    let typed = measure(rounds, || {
        answers.iter().map(|answer| {
            let cx = ParseContext::from_messages(answer, account);
            let page: Vec<_> = messages_of(answer)
                .iter()
                .map(|m| message_of(m, &cx))
                .collect();
            serde_json::to_vec(&page).expect("serializes").len()
        })
    });
    let tree = measure(rounds, || {
        answers.iter().map(|answer| {
            let cx = ParseContext::from_messages(answer, account);
            let page: Vec<_> = messages_of(answer)
                .iter()
                .map(|m| parse_message(m, &cx))
                .collect();
            serde_json::to_vec(&page).expect("serializes").len()
        })
    });
    println!(
        "{messages} messages ({pages} pages of {PAGE} from telesim's generated channel, parsed {rounds} times)\n"
    );
    println!(
        "{:<12} {:>14} {:>14} {:>12} {:>14}",
        "", "allocs/msg", "bytes/msg", "µs/msg", "JSON bytes/msg"
    );
    for (name, cost) in [("typed", &typed), ("Value tree", &tree)] {
        println!(
            "{:<12} {:>14.1} {:>14.0} {:>12.2} {:>14.0}",
            name,
            cost.allocations as f64 / messages as f64,
            cost.bytes as f64 / messages as f64,
            cost.seconds * 1e6 / messages as f64,
            cost.output as f64 / messages as f64,
        );
    }
}

/// The channel's newest `pages` pages, as Telegram answered them.
async fn fetch(pages: i32) -> Vec<tl::enums::messages::Messages> {
    let sim = Sim::start(World::generated(1, pages * PAGE, 17))
        .await
        .expect("telesim starts");
    let viewer = ACCOUNT_IDS[0];
    let connected = connect(&sim, viewer);
    let peer = tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
        channel_id: FIRST_CHANNEL_ID,
        access_hash: telesim::api::access_hash(17, viewer, FIRST_CHANNEL_ID),
    });
    let mut answers = Vec::new();
    let mut offset_id = 0;
    for _ in 0..pages {
        let answer = connected
            .client
            .invoke(&tl::functions::messages::GetHistory {
                peer: peer.clone(),
                offset_id,
                offset_date: 0,
                add_offset: 0,
                limit: PAGE,
                max_id: 0,
                min_id: 0,
                hash: 0,
            })
            .await
            .expect("messages.getHistory");
        offset_id = messages_of(&answer)
            .iter()
            .map(|m| match m {
                tl::enums::Message::Message(m) => m.id,
                tl::enums::Message::Service(m) => m.id,
                tl::enums::Message::Empty(m) => m.id,
            })
            .min()
            .unwrap_or(0);
        answers.push(answer);
    }
    answers
}

struct Cost {
    allocations: u64,
    bytes: u64,
    seconds: f64,
    /// JSON bytes written.
    output: usize,
}

/// Runs `work` `rounds` times, counting what it allocates and how long it takes; `work`
/// yields the JSON bytes written per page.
fn measure<I: Iterator<Item = usize>>(rounds: usize, work: impl Fn() -> I) -> Cost {
    let (allocations, bytes) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    let mut output = 0;
    for _ in 0..rounds {
        output += work().sum::<usize>();
    }
    Cost {
        seconds: started.elapsed().as_secs_f64(),
        allocations: ALLOCATIONS.load(Ordering::Relaxed) - allocations,
        bytes: BYTES.load(Ordering::Relaxed) - bytes,
        output,
    }
}
