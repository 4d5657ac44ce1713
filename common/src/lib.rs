//! tgc-common: the bottom layer of tgcollector.
//!
//! Everything here is free of Telegram and HTTP so that every other crate can depend on
//! it: reading `config.properties` into typed, validated [`config::Settings`]
//! ([`properties`] is the file syntax, [`config`] the meaning), turning the logging
//! settings into a tracing subscriber ([`logging`]), keeping secrets out of logs
//! ([`secret`]), the murmur3 hashing shared by the pool and the media pipeline
//! ([`hashing`]), the one way the gateway opens its own SQLite files ([`sqlite`]), the
//! process's open-file limit ([`descriptors`]) and its umask ([`private_files`]), and
//! blocking work inside async code ([`blocking`]).

pub mod blocking;
pub mod clock;
pub mod config;
pub mod descriptors;
pub mod hashing;
pub mod logging;
pub mod private_files;
pub mod properties;
pub mod secret;
pub mod sqlite;

pub use config::{ConfigError, ConfigErrors, Settings};
pub use secret::Secret;
