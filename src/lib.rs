//! tgcollector as a library: the [`server`], assembled once and run by the `tgcollector`
//! binary (`serve`), by in-process tests and by the benches.
//!
//! Layout of the workspace, bottom up (dependencies point one way, `src` → `service` →
//! `model` → `common`):
//! - `common` (`tgc-common`): configuration, logging, hashing, the clock;
//! - `model` (`tgc-model`): the Telegram side: session files, the account pool, the join
//!   map, account-bound media;
//! - `service` (`tgc-service`): what the gateway does: sealed envelopes, HTTP handlers, the
//!   parser, the media pipeline, the publisher;
//! - `src`: this library (the server) and the binary (the command line);
//! - `tests/telesim`, `tests/testkit`: the simulated Telegram and what tests share.

pub mod server;
