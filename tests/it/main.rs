//! The gateway's end-to-end tests, as one test binary (one link instead of one per file): the
//! `tgcollector` binary as an operator runs it (account commands, `serve` killed, stopped and
//! restarted), the sealed API, the media pipeline and the live
//! stream through the served binary.

mod gateway_support;

mod accounts_import;
mod cli;
mod gateway_api;
mod gateway_errors;
mod gateway_hostile;
mod gateway_python;
mod gateway_shutdown;
mod media_serve;
mod pool_cli;
mod serve_kill_mixed;
mod subscriptions_full_disk;
mod subscriptions_kill_serve;
mod subscriptions_serve_shutdown;
mod subscriptions_tail;
