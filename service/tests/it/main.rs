//! The service crate's integration tests, as one test binary (one link instead of one per file):
//! envelopes (with an independent Python implementation), the parser against telesim and the
//! schema, the media pipeline into local and S3 storage, and the live stream into RabbitMQ.
//! What other crates' tests and the benches share too lives in the `testkit` crate.
//! `subscriptions_kill` kills a gateway process, and that process is this binary itself.

mod envelope_support;
mod media_support;
mod parser_support;

mod envelope_cryptor;
mod envelope_keygen;
mod envelope_python;
mod media_download;
mod media_pipeline;
mod media_storage;
mod parser_edge_cases;
mod parser_schema;
mod parser_telesim;
mod subscriptions_joins;
mod subscriptions_kill;
mod subscriptions_media;
mod subscriptions_outage;
mod subscriptions_routing;
mod subscriptions_sealed;
mod subscriptions_stream;
