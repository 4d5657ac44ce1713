//! One file per command family; each takes the parsed arguments and returns the process outcome.
//!
//! Commands report problems to the operator as text on stderr and a non-zero exit; they return
//! `anyhow::Result` so a failure carries its whole context chain to `main`, which prints it.

pub mod accounts;
pub mod config;
pub mod import;
pub mod keygen;
pub mod query;
pub mod serve;
pub mod tail;
