//! What can stop the publisher from starting, and what the outbox and the broker link report.
//!
//! Once running, the publisher does not fail as a whole: a lost broker is retried with
//! backoff while the outbox holds the events, a failing account stream is retried. These
//! errors are what start-up, the outbox file and the `tail` command can run into.

use std::path::PathBuf;

use tgc_model::joinmap::JoinMapError;

/// The outbox file could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("cannot create the directory {path} for the outbox: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the outbox {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("outbox {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

tgc_common::from_sqlite_error!(OutboxError);

/// Why the publisher (or `tail`) could not start.
#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    #[error("rabbitmq.enabled is false: live messages are not published")]
    Disabled,
    #[error("rabbitmq.sealed = true seals the stream with crypto.keys: {0}")]
    SealingKeys(#[from] crate::cryptor::CryptorError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    JoinMap(#[from] JoinMapError),
    #[error("RabbitMQ at {url}: {source}")]
    Broker {
        /// The broker URL with its password masked.
        url: String,
        source: lapin::Error,
    },
    #[error(
        "--chat {given:?}: expected a numeric chat id as in the messages' chat.id, e.g. -1001234567890"
    )]
    BadChat { given: String },
}
