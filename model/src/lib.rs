//! The Telegram side of tgcollector.
//!
//! This crate holds everything that talks to Telegram on behalf of an account: the
//! account session files ([`session`]), the account pool ([`teleclient`]) with its shared
//! username [`directory`], the [`joinmap`] of who joined which chat, and account-bound media
//! downloads with their task table ([`media`]). It
//! knows nothing of HTTP or of the sealed envelopes the gateway speaks; `tgc-service`
//! builds on it, and it builds only on `tgc-common`.

pub mod directory;
pub mod joinmap;
pub mod media;
pub mod session;
pub mod teleclient;
