//! The gateway's HTTP side: the route table and one Tornado-style handler per API method
//! (docs/design.md §2), the error model, and what turns HTTP requests into handler calls and back.
//!
//! - [`route`]: the [`Handler`] trait and the `matchit` route table; [`api`] has one handler
//!   per method and [`api::routes`], the table of API v1.
//! - [`params`] and [`error`]: reading params with precise refusals; the error model.
//! - [`gateway`]: one request's path: size limit, concurrency limit, envelope, dispatch,
//!   deadline, sealed reply. [`operator`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`metrics`]: the Prometheus registry. [`connection`]: HTTP/1.1 and h2c on one accepted
//!   socket, with a graceful stop. [`gateway_client`]: the sealed client the CLI, bench and tests use.
//!
//! Sockets, signals and the shutdown sequence belong to the binary (`src/server`).

pub mod api;
pub mod connection;
pub mod error;
pub mod gateway;
pub mod gateway_client;
pub mod metrics;
pub mod operator;
pub mod params;
pub mod route;

pub use connection::{App, ConnectionLimits, H2_MAX_STREAMS, serve_connection};
pub use error::ApiError;
pub use gateway::{Gateway, Limits, Shared};
pub use metrics::Metrics;
pub use operator::Operator;
pub use route::{Context, Handler, Reply, Routes};
