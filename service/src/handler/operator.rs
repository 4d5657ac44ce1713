//! The operator endpoints, plain and unsealed, on their own listener (loopback by default,
//! `server.operator_listen`): `GET /healthz` (the process answers), `GET /readyz` (at least
//! one account can serve), `GET /metrics` (Prometheus text).
//!
//! `/readyz` also reports the live stream's publisher when one runs (link state, outbox
//! size, published count), but a broker outage does not make the gateway unready: the
//! outbox holds the events, and the API does not depend on RabbitMQ.
//!
//! They are apart from the API so that a load balancer or Prometheus never needs a key, and
//! so that exposing the API publicly does not expose the pool's internals.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tgc_model::teleclient::{AccountState, TeleClients};

use super::gateway::{ResponseBody, plain};
use super::metrics::Metrics;
use crate::publisher::PublisherMonitor;

/// The operator listener's request handler.
pub struct Operator {
    pool: Arc<TeleClients>,
    metrics: Arc<Metrics>,
    publisher: Option<PublisherMonitor>,
}

impl Operator {
    pub fn new(pool: Arc<TeleClients>, metrics: Arc<Metrics>) -> Operator {
        Operator {
            pool,
            metrics,
            publisher: None,
        }
    }

    /// Reports the publisher in `/readyz` too.
    pub fn with_publisher(mut self, monitor: PublisherMonitor) -> Operator {
        self.publisher = Some(monitor);
        self
    }

    pub fn handle<B>(&self, request: &Request<B>) -> Response<ResponseBody> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "operator endpoints take GET",
            );
        }
        match request.uri().path() {
            "/healthz" => plain(StatusCode::OK, "ok"),
            "/readyz" => self.readiness(),
            "/metrics" => {
                let mut response = Response::new(Full::new(Bytes::from(self.metrics.render())));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                response
            }
            _ => plain(
                StatusCode::NOT_FOUND,
                "not found: try /healthz, /readyz or /metrics",
            ),
        }
    }

    /// Ready when at least one account is active; the text says how many of how many.
    fn readiness(&self) -> Response<ResponseBody> {
        let report = self.pool.report();
        let active = report
            .iter()
            .filter(|a| a.state == AccountState::Active)
            .count();
        let mut text = format!("{active} of {} accounts active", report.len());
        let unusable = self.pool.left_out().len();
        if unusable > 0 {
            text.push_str(&format!(
                "; {unusable} session file(s) unusable (see the accounts method)"
            ));
        }
        if let Some((open, limit)) = tgc_common::descriptors::usage()
            && tgc_common::descriptors::running_short(open, limit)
        {
            text.push_str(&format!(
                "; file descriptors running short: {open} of {limit} open (raise the hard limit: ulimit -Hn, LimitNOFILE)"
            ));
        }
        if let Some(publisher) = &self.publisher {
            let stats = publisher.stats();
            text.push_str(&format!(
                "; publisher: link {}, outbox {}, published {}",
                if stats.link_up { "up" } else { "down" },
                stats.outbox,
                stats.published
            ));
            if stats.streams_up < stats.streams {
                let ended = stats.streams_ended;
                let restarting = (stats.streams - stats.streams_up).saturating_sub(ended);
                text.push_str(&format!(
                    "; update streams: {} of {} running, {restarting} restarting, {ended} ended (see the log)",
                    stats.streams_up, stats.streams
                ));
            }
            if stats.unroutable_now {
                text.push_str(
                    "; events routed to no queue wait in the outbox (bind a queue to the exchange, or set rabbitmq.queue)",
                );
            }
            if stats.streams_waiting > 0 {
                text.push_str(&format!(
                    "; {} stream(s) waiting for the outbox to take their events (disk full or outbox at its cap; see the log)",
                    stats.streams_waiting
                ));
            }
        }
        if active > 0 {
            plain(StatusCode::OK, &format!("ready: {text}"))
        } else {
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("not ready: {text}"),
            )
        }
    }
}
