//! tgc-service: what the gateway does, on top of the account pool in `tgc-model`.
//!
//! - [`cryptor`]: sealed envelopes (AES-256-GCM with a keyring, clock window, replay cache).
//! - [`parser`]: raw Telegram messages into the stable, versioned JSON schema.
//! - [`handler`]: the route table and one Tornado-style handler per API method.
//! - [`mediaprocessor`]: account-bound download queues and the upload queue into object storage.
//! - [`publisher`]: live messages of joined chats to RabbitMQ, through a persistent outbox.
//!
//! Nothing here listens on a socket: the binary (`src/`) owns the server and its shutdown.

pub mod cryptor;
pub mod handler;
pub mod mediaprocessor;
pub mod parser;
pub mod publisher;
