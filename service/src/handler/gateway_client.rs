//! A client of the sealed API: `tgcollector query`, the load bench and the gateway tests use
//! it, so the one code path that seals requests and opens replies outside the server is the
//! one that is tested.
//!
//! One [`GatewayClient`] is one keep-alive connection (HTTP/1.1, or HTTP/2 prior knowledge
//! for h2c), reused for every call: a bench that reconnected per request would measure TCP
//! setup, not the gateway.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::{http1, http2};
use hyper::header::{CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::route::API_PREFIX;
use crate::cryptor::{Cryptor, EnvelopeError};
use tgc_common::clock::unix_ms;

// The types of this client's signatures, for callers without hyper or serde_json of their own.
pub use hyper::Method;
pub use serde_json::Value;

/// Why a call did not produce a reply.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the gateway at {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP exchange with the gateway failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("cannot build the request: {0}")]
    Request(#[from] hyper::http::Error),
    /// The gateway refused the request before opening it (bad envelope, wrong key, size,
    /// replay, overload): no sealed detail exists.
    #[error("the gateway refused the request with HTTP {status}{}", if text.is_empty() { String::new() } else { format!(": {text}") })]
    Refused { status: u16, text: String },
    /// The API answered with a sealed error.
    #[error("HTTP {status}, error {code}: {message}{}", retry_after.map(|s| format!(" (retry after {s}s)")).unwrap_or_default())]
    Api {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<u64>,
    },
    #[error("the reply did not open: {0}")]
    Open(#[from] EnvelopeError),
    #[error("the reply is not JSON: {0}")]
    ReplyJson(serde_json::Error),
    #[error(
        "the params are not valid JSON: {0}; expected an object such as '{{\"params\": {{\"chat\": \"@name\"}}}}'"
    )]
    ParamsJson(serde_json::Error),
    #[error("the params must be a JSON object, such as '{{\"params\": {{\"chat\": \"@name\"}}}}'")]
    ParamsShape,
}

/// A response as it came, for callers that look at refusals themselves.
#[derive(Debug, Clone)]
pub struct RawReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Bytes,
}

impl RawReply {
    /// Whether the body is a sealed envelope (and not a plain refusal).
    pub fn is_sealed(&self) -> bool {
        self.content_type.as_deref() == Some("application/octet-stream")
    }
}

enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

/// One connection to the gateway, and the keyring to seal with.
pub struct GatewayClient {
    sender: Sender,
    cryptor: Arc<Cryptor>,
    authority: String,
}

/// Which HTTP version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    /// HTTP/2 over cleartext, by prior knowledge (h2c).
    Http2,
}

impl GatewayClient {
    /// Connects over HTTP/1.1.
    pub async fn connect(
        addr: SocketAddr,
        cryptor: Arc<Cryptor>,
    ) -> Result<GatewayClient, ClientError> {
        GatewayClient::connect_with(addr, cryptor, Protocol::Http1).await
    }

    pub async fn connect_with(
        addr: SocketAddr,
        cryptor: Arc<Cryptor>,
        protocol: Protocol,
    ) -> Result<GatewayClient, ClientError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect { addr, source })?;
        // Small sealed requests: do not let Nagle hold them back.
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(stream);
        let sender = match protocol {
            Protocol::Http1 => {
                let (sender, connection) = http1::handshake(io).await?;
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "gateway connection closed");
                    }
                });
                Sender::Http1(sender)
            }
            Protocol::Http2 => {
                let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await?;
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "gateway connection closed");
                    }
                });
                Sender::Http2(sender)
            }
        };
        Ok(GatewayClient {
            sender,
            cryptor,
            authority: addr.to_string(),
        })
    }

    /// Sends `body` as is to `path` with `method`.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<RawReply, ClientError> {
        let request = Request::builder()
            .method(method)
            .uri(match &self.sender {
                Sender::Http1(_) => path.to_string(),
                Sender::Http2(_) => format!("http://{}{path}", self.authority),
            })
            .header(HOST, &self.authority)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(Full::new(Bytes::from(body)))?;
        let response = match &mut self.sender {
            Sender::Http1(sender) => {
                sender.ready().await?;
                sender.send_request(request).await?
            }
            Sender::Http2(sender) => {
                sender.ready().await?;
                sender.send_request(request).await?
            }
        };
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let content_type = header(CONTENT_TYPE);
        let retry_after = header(RETRY_AFTER);
        let body = response.into_body().collect().await?.to_bytes();
        Ok(RawReply {
            status,
            content_type,
            retry_after,
            body,
        })
    }

    /// POSTs `body` as is to `path`.
    pub async fn post(&mut self, path: &str, body: Vec<u8>) -> Result<RawReply, ClientError> {
        self.send(Method::POST, path, body).await
    }

    /// Seals a call to API `method`, sends it, and opens the reply. A sealed error becomes
    /// [`ClientError::Api`], a refusal [`ClientError::Refused`].
    pub async fn query(&mut self, method: &str, params: &Value) -> Result<Value, ClientError> {
        let route = format!("{API_PREFIX}{method}");
        let (sealed, pending) =
            self.cryptor
                .seal_request(&format!("POST {route}"), params, unix_ms());
        let reply = self.post(&route, sealed).await?;
        if !reply.is_sealed() {
            return Err(ClientError::Refused {
                status: reply.status,
                text: String::from_utf8_lossy(&reply.body).trim().to_string(),
            });
        }
        let plaintext = self.cryptor.open_response(&pending, &reply.body)?;
        let value: Value = serde_json::from_slice(&plaintext).map_err(ClientError::ReplyJson)?;
        if reply.status == 200 {
            return Ok(value);
        }
        let error = &value["error"];
        Err(ClientError::Api {
            status: reply.status,
            code: error["code"].as_str().unwrap_or("unknown").to_string(),
            message: error["message"].as_str().unwrap_or_default().to_string(),
            retry_after: error["retry_after"].as_u64(),
        })
    }
}

/// The params of `tgcollector query METHOD [JSON]`: `{"params": {...}}` as the issue writes
/// it, or the params object alone; nothing means none.
pub fn params_from_arg(arg: Option<&str>) -> Result<Value, ClientError> {
    let Some(text) = arg.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Value::Object(Default::default()));
    };
    let value: Value = serde_json::from_str(text).map_err(ClientError::ParamsJson)?;
    let Value::Object(mut object) = value else {
        return Err(ClientError::ParamsShape);
    };
    if object.len() == 1
        && let Some(params) = object.remove("params")
    {
        return match params {
            Value::Object(_) | Value::Null => Ok(params),
            _ => Err(ClientError::ParamsShape),
        };
    }
    Ok(Value::Object(object))
}

/// A reply as `tgcollector query` prints it.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_come_wrapped_bare_or_not_at_all() {
        assert_eq!(params_from_arg(None).unwrap(), json!({}));
        assert_eq!(params_from_arg(Some(" ")).unwrap(), json!({}));
        assert_eq!(
            params_from_arg(Some(r#"{"params": {"chat": "@x"}}"#)).unwrap(),
            json!({"chat": "@x"})
        );
        assert_eq!(
            params_from_arg(Some(r#"{"chat": "@x"}"#)).unwrap(),
            json!({"chat": "@x"})
        );
    }

    #[test]
    fn params_that_are_not_an_object_are_refused_with_the_expected_form() {
        for bad in ["[1]", "\"x\"", r#"{"params": 3}"#] {
            let error = params_from_arg(Some(bad)).unwrap_err();
            assert!(error.to_string().contains("\"params\""), "{bad}: {error}");
        }
        assert!(matches!(
            params_from_arg(Some("{")),
            Err(ClientError::ParamsJson(_))
        ));
    }
}
