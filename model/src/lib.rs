//! The Telegram side of tgcollector.
//!
//! This crate holds everything that talks to Telegram on behalf of an account: the
//! account session files ([`session`]), the account pool ([`teleclient`]) with its shared
//! username [`directory`], and later the join map and account-bound media objects. It
//! knows nothing of HTTP or of the sealed envelopes the gateway speaks; `tgc-service`
//! builds on it, and it builds only on `tgc-common`.

pub mod directory;
pub mod joinmap;
pub mod media;
pub mod session;
pub mod teleclient;
