//! What tgcollector's tests and benches share, in one place, so each crate's tests are one
//! binary of test cases and nothing of the harness is written twice.
//!
//! Layout:
//! - [`guard`]: the one hang guard every await of a test goes through;
//! - [`logging`]: `RUST_LOG=…` shows a test's logs, nothing else does;
//! - [`python`]: the workspace, its venv's Python, and the cross-check scripts of `tests/py`;
//! - [`connected`]: a grammers client connected to telesim as one of its accounts;
//! - [`gateway_config`]: the configuration a test or bench runs the gateway with;
//! - [`mod@bench`]: the benches' size knobs and runtime;
//! - [`broker`]: the test RabbitMQ on 127.0.0.1:5672 and exchanges of a test's own;
//! - [`proxy`]: a TCP proxy a test cuts and restores (a broker or storage outage);
//! - [`moto`]: a real S3 server (moto) with IAM-checked credentials;
//! - [`served`]: `tgcollector serve` as a process of its own, its memory and CPU time;
//! - [`sessions`]: the gateway's own session files for a telesim world's accounts;
//! - [`setup`]: the one set-up: a telesim world, its session files, a pool, and optionally a
//!   publisher or a media pipeline over it;
//! - [`pool_setup`]: N accounts and M public channels, their session files and a pool;
//! - [`stream_setup`]: two accounts in two channels, a pool and a publisher (the live stream);
//! - [`pipeline_setup`]: five accounts, ten channels, 200 media (the media pipeline);
//! - [`tmpfs`]: a small filesystem a test mounts under the gateway and fills.
//!
//! Tests wait on events, never on time: the guard only turns a hang into a failure that says
//! what hung.

pub mod bench;
pub mod broker;
pub mod connected;
pub mod gateway_config;
pub mod guard;
pub mod logging;
pub mod moto;
pub mod pipeline_setup;
pub mod pool_setup;
pub mod proxy;
pub mod python;
pub mod served;
pub mod sessions;
pub mod setup;
pub mod stream_setup;
pub mod tmpfs;

pub use guard::{HANG_GUARD, guarded};
pub use sessions::SimSessions;
pub use setup::Setup;
