//! telesim: a simulated Telegram datacenter speaking real MTProto 2.0 over TCP on 127.0.0.1.
//!
//! Tests drive the real grammers client (and Telethon) against it, so every test exercises the
//! same code path as production. The crate is split at one seam:
//!
//! - the **server layer** ([`server`], [`faults`], [`counters`], [`sim`]) speaks the protocol:
//!   Full transport framing, MTProto 2.0 encryption with preset auth keys, sessions, salts, acks,
//!   containers, and the unwrapping of `invokeWithLayer`/`initConnection`; it checks faults and
//!   counts requests before handing each call to the Telegram layer;
//! - the **Telegram layer** ([`world`], [`api`]) holds the data and the semantics of each method.
//!
//! [`Sim`] is the handle tests start and stop; [`control`] exposes the same faults, counters and
//! live changes to other processes when telesim runs as a binary; [`telethon`] writes the
//! world's accounts as Telethon hands them over; [`tl_blank`] gives TL objects with
//! everything empty, for code that sets only the fields it is about. telesim depends on grammers, not on the
//! gateway: what writes the gateway's own session files for tests is in the `testkit` crate.

pub mod api;
pub mod control;
pub mod counters;
pub mod faults;
pub mod server;
pub mod sim;
pub mod telethon;
pub mod tl_blank;
pub mod world;

pub use counters::Counters;
pub use faults::{FaultSpan, Faults};
pub use sim::Sim;
