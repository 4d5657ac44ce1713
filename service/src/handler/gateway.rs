//! The gateway: one HTTP request in, one response out, along the request path of docs/design.md §2.
//!
//! The order of the checks is the security design: the path and method are checked first
//! (cheap, no secrets), then the body size (before reading more than the limit), then a
//! concurrency permit (before spending CPU on AES), then the envelope. Only a request that
//! opened is answered with detail, sealed to it; anything earlier gets a bare status, so a
//! caller without a key learns nothing but "no". Every reply is counted in [`Metrics`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body;
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tgc_common::clock::unix_ms;
use tgc_common::config::ServerSettings;
use tgc_model::joinmap::JoinMap;

use crate::mediaprocessor::MediaProcessor;
use tgc_model::teleclient::TeleClients;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::error::{ApiError, retry_seconds};
use super::metrics::Metrics;
use super::params::Params;
use super::route::{API_PREFIX, Context, Json, Routes};
use crate::cryptor::{Cryptor, EnvelopeError, OpenedRequest};

/// The body type of every response: small and complete, so one buffer.
pub type ResponseBody = Full<Bytes>;

/// What a request body's error may be.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Metrics label for requests that never reached an API method.
const NO_ROUTE: &str = "none";

/// The limits of [`ServerSettings`] the gateway enforces per request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: u64,
    pub request_timeout: Duration,
    pub max_concurrency: usize,
    /// Body bytes being read at once over all requests (`server.max_body_bytes_in_flight`).
    pub max_body_bytes_in_flight: u64,
}

impl Limits {
    pub fn from_settings(server: &ServerSettings) -> Limits {
        Limits {
            max_body_bytes: server.max_body_bytes,
            request_timeout: server.request_timeout,
            max_concurrency: server.max_concurrency,
            max_body_bytes_in_flight: server.max_body_bytes_in_flight,
        }
    }
}

/// The most permits a tokio semaphore holds; byte budgets are counted in KiB to stay below.
const BUDGET_UNIT: u64 = 1024;

/// The API server's request handler, shared by every connection.
pub struct Gateway {
    routes: Routes,
    cryptor: Cryptor,
    pool: Arc<TeleClients>,
    metrics: Arc<Metrics>,
    limits: Limits,
    permits: Semaphore,
    /// `limits.max_body_bytes_in_flight`, in KiB.
    body_budget: Semaphore,
    joinmap: Arc<JoinMap>,
    media: Arc<MediaProcessor>,
}

/// What the handlers share with the rest of the server.
pub struct Shared {
    pub pool: Arc<TeleClients>,
    /// Written by `join`/`leave`, read by `subscriptions` and the live stream.
    pub joinmap: Arc<JoinMap>,
    /// Queues the media of parsed messages; answers the `media` method.
    pub media: Arc<MediaProcessor>,
}

impl Gateway {
    pub fn new(
        routes: Routes,
        cryptor: Cryptor,
        shared: Shared,
        metrics: Arc<Metrics>,
        limits: Limits,
    ) -> Gateway {
        Gateway {
            routes,
            cryptor,
            pool: shared.pool,
            metrics,
            permits: Semaphore::new(limits.max_concurrency.min(Semaphore::MAX_PERMITS)),
            body_budget: Semaphore::new(
                usize::try_from(limits.max_body_bytes_in_flight.div_ceil(BUDGET_UNIT))
                    .unwrap_or(usize::MAX)
                    .min(Semaphore::MAX_PERMITS),
            ),
            limits,
            joinmap: shared.joinmap,
            media: shared.media,
        }
    }

    pub fn pool(&self) -> &Arc<TeleClients> {
        &self.pool
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Answers one request. Never fails: every outcome is a response.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let started = Instant::now();
        let (route, response) = self.respond(request, started).await;
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        self.metrics.record(route, status, elapsed);
        tracing::debug!(route, status, ?elapsed, "answered");
        response
    }

    async fn respond<B>(
        &self,
        request: Request<B>,
        started: Instant,
    ) -> (&'static str, Response<ResponseBody>)
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let path = request.uri().path().to_owned();
        let Some(method) = path.strip_prefix(API_PREFIX) else {
            return (
                NO_ROUTE,
                plain(
                    StatusCode::NOT_FOUND,
                    "not found: the API lives under /api/v1/<method>",
                ),
            );
        };
        // The label is the route's static name, or `unknown` for any other text.
        let route = self
            .routes
            .methods()
            .iter()
            .find(|known| **known == method)
            .copied()
            .unwrap_or("unknown");
        if request.method() != Method::POST {
            let mut response = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "the API takes sealed POST requests only",
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return (route, response);
        }
        let deadline = started + self.limits.request_timeout;
        // The body's bytes are reserved before a byte is read: what every unauthenticated
        // sender can make the gateway buffer is bounded, whatever the number of senders.
        // The concurrency permit comes only once the body is in (below), so senders that
        // trickle their bodies hold bytes of this budget, never the permits good requests need.
        let Some(reserved) = self.reserve_body(&request) else {
            return (
                route,
                busy(
                    "the gateway is reading as many request bytes as it may (server.max_body_bytes_in_flight)",
                ),
            );
        };
        // A body trickling in slower than the deadline is cut off: it would hold a
        // connection (and, under h2, a stream) for as long as the sender liked.
        let body = match tokio::time::timeout_at(deadline.into(), self.read_body(request)).await {
            Ok(Ok(body)) => body,
            Ok(Err(response)) => return (route, response),
            Err(_) => {
                let text =
                    "the request body did not arrive within the deadline (server.request_timeout)";
                return (route, plain(StatusCode::REQUEST_TIMEOUT, text));
            }
        };
        drop(reserved);
        // At the limit, shed load at once rather than queue: a queued request would spend
        // its deadline waiting, and the client can retry elsewhere or a second later.
        let Ok(permit) = self.permits.try_acquire() else {
            return (
                route,
                busy("the gateway is at its concurrency limit (server.max_concurrency)"),
            );
        };
        let opened = match self
            .cryptor
            .open_request(&format!("POST {path}"), &body, unix_ms())
        {
            Ok(opened) => opened,
            Err(error) => return (route, envelope_refused(&error)),
        };
        let result = self.serve(method, opened.params.clone(), deadline).await;
        drop(permit);
        let (status, reply, retry_after) = match result {
            Ok(json) => (StatusCode::OK, json, None),
            Err(error) => {
                tracing::info!(route, status = error.status, code = error.code, message = %error.message, "request failed");
                let retry_after = error.retry_after.map(retry_seconds);
                (
                    status_of(error.status),
                    Json::from(error.to_json()),
                    retry_after,
                )
            }
        };
        (route, self.sealed(&opened, status, &reply, retry_after))
    }

    /// Runs the method's handler within the deadline.
    async fn serve(
        &self,
        method: &str,
        params: Value,
        deadline: Instant,
    ) -> Result<Json, ApiError> {
        let Some(handler) = self.routes.find(&format!("{API_PREFIX}{method}")) else {
            return Err(ApiError::unknown_method(method, self.routes.methods()));
        };
        let params = Params::from_value(params)?;
        params.only(handler.params())?;
        let cx = Context {
            params,
            pool: Arc::clone(&self.pool),
            timeout: deadline.saturating_duration_since(Instant::now()),
            joinmap: Arc::clone(&self.joinmap),
            media: Arc::clone(&self.media),
        };
        // The pool sees the deadline too: work that could not start before it is refused
        // at once (503, Retry-After) rather than waiting to time out.
        let work = tgc_model::teleclient::deadline::within(deadline, handler.post(&cx));
        let reply = match tokio::time::timeout_at(deadline.into(), work).await {
            Ok(result) => result?,
            Err(_) => return Err(ApiError::deadline(self.limits.request_timeout)),
        };
        // The reply names the media tasks of the messages it carries: they reach the disk
        // before it leaves, or it does not leave.
        if let Err(error) = self.media.make_durable() {
            tracing::error!(%error, "syncing the media task table failed; the reply is refused");
            return Err(ApiError::not_durable("the media tasks this reply names"));
        }
        Ok(reply)
    }

    /// Reserves the bytes `request`'s body may take (its declared length, or the most a
    /// body may be), or None when the budget has no room for them now.
    fn reserve_body<B: Body>(&self, request: &Request<B>) -> Option<SemaphorePermit<'_>> {
        let bytes = declared_length(request)
            .unwrap_or(self.limits.max_body_bytes)
            .min(self.limits.max_body_bytes);
        let units = u32::try_from(bytes.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX);
        self.body_budget.try_acquire_many(units).ok()
    }

    /// The body, refused with 413 past the limit (by its declared length first, so an
    /// oversized upload is refused before it is read).
    async fn read_body<B>(&self, request: Request<B>) -> Result<Bytes, Response<ResponseBody>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let limit = self.limits.max_body_bytes;
        let too_large = || {
            plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is larger than {limit} bytes (server.max_body_bytes)"),
            )
        };
        if declared_length(&request).is_some_and(|length| length > limit) {
            return Err(too_large());
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        match Limited::new(request.into_body(), limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.is::<LengthLimitError>() => Err(too_large()),
            Err(error) => {
                tracing::debug!(%error, "reading a request body failed");
                Err(plain(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                ))
            }
        }
    }

    fn sealed(
        &self,
        opened: &OpenedRequest,
        status: StatusCode,
        reply: &Json,
        retry_after: Option<u64>,
    ) -> Response<ResponseBody> {
        let plaintext = reply.as_bytes();
        let mut response = Response::new(Full::new(Bytes::from(
            self.cryptor.seal_response(opened, plaintext),
        )));
        *response.status_mut() = status;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        if let Some(wait) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }
}

/// An envelope that did not open gets its bare status; one that opened but is refused
/// (stale, replayed, bad plaintext) also says why, in plain text, since its sender holds a key.
fn envelope_refused(error: &EnvelopeError) -> Response<ResponseBody> {
    tracing::info!(%error, "envelope refused");
    let status = status_of(error.status());
    let mut response = if error.is_unopened() {
        empty(status)
    } else {
        plain(status, &error.to_string())
    };
    if let Some(wait) = error.retry_after_secs() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(wait));
    }
    response
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A plain-text response (never for anything secret).
pub fn plain(status: StatusCode, text: &str) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn empty(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// 503 with `Retry-After: 1`: the gateway sheds load rather than queue it.
fn busy(text: &str) -> Response<ResponseBody> {
    let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, text);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The body length a request declares (`Content-Length`), if it declares a valid one.
fn declared_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}
