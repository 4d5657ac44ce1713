//! Serving one accepted connection: HTTP/1.1 or cleartext HTTP/2 (h2c, by its preface) on
//! the same port, with a graceful stop.
//!
//! The binary owns the sockets and decides when to stop; this function owns the protocol.
//! When `stop` resolves, the connection stops taking new requests (HTTP/1.1 closes after
//! the current response, HTTP/2 sends GOAWAY) and the future completes once the requests
//! already in flight have been answered.

use std::future::Future;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;

use super::gateway::{Gateway, ResponseBody};
use super::operator::Operator;

/// What a connection answers with.
#[derive(Clone)]
pub enum App {
    /// The sealed API.
    Api(Arc<Gateway>),
    /// `/healthz`, `/readyz`, `/metrics`.
    Operator(Arc<Operator>),
}

impl App {
    async fn answer(self, request: Request<Incoming>) -> Response<ResponseBody> {
        match self {
            App::Api(gateway) => gateway.handle(request).await,
            App::Operator(operator) => operator.handle(&request),
        }
    }
}

/// Serves `stream` until the peer closes it, or until `stop` and then the in-flight requests
/// complete.
pub async fn serve_connection(stream: TcpStream, app: App, stop: impl Future<Output = ()>) {
    let peer = stream.peer_addr().ok();
    let service = service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(app.answer(request).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::pin!(stop);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = &mut stop => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Peers that hang up mid-request are normal traffic, not errors of the server.
        tracing::debug!(?peer, %error, "connection ended with an error");
    }
}
