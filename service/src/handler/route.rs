//! The route table: `/api/v1/<method>` to a handler value, Tornado-style.
//!
//! A handler is a value implementing [`Handler`]; adding an endpoint is one handler and one
//! row in [`super::api::routes`]. Only `POST` exists on the API: every call is sealed, and a
//! sealed reply is bound to the nonce of the sealed request it answers (docs/design.md §3), so a
//! bodiless `GET` could never get one. The table is a `matchit` router so that routes with
//! path parameters can be added without changing how dispatch works.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tgc_model::joinmap::JoinMap;

use crate::mediaprocessor::MediaProcessor;
use crate::parser::MediaHook;
use tgc_model::teleclient::TeleClients;

use super::error::ApiError;
use super::params::Params;

/// The prefix of every API route.
pub const API_PREFIX: &str = "/api/v1/";

/// What a handler's `post` returns: the JSON reply (sealed by the gateway) or an error.
pub type Reply<'a> = Pin<Box<dyn Future<Output = Result<Json, ApiError>> + Send + 'a>>;

/// A reply's JSON, serialized once. Handlers of large replies (pages of messages) serialize
/// typed values straight into it, with no `serde_json::Value` tree on the way; small replies
/// come from `json!` values. The gateway seals the bytes as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json(Vec<u8>);

impl Json {
    /// `value` serialized.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Json, ApiError> {
        serde_json::to_vec(value).map(Json).map_err(|error| {
            ApiError::internal(format!("the reply could not be serialised: {error}"))
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Json {
        // A `Value` always serializes: its map keys are strings and its floats finite.
        Json(serde_json::to_vec(&value).unwrap_or_else(|_| b"null".to_vec()))
    }
}

/// One API method.
pub trait Handler: Send + Sync + 'static {
    /// The parameters this method accepts; any other is refused with 400 before `post` runs.
    fn params(&self) -> &'static [&'static str];

    /// Serves a `POST` of an opened, sealed request.
    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a>;
}

/// What a handler works with: the opened request and the gateway's shared state.
pub struct Context {
    pub params: Params,
    pub pool: Arc<TeleClients>,
    /// The request's budget; the gateway answers 504 when it runs out, so a handler that
    /// makes several calls may use it to stop early with a partial answer.
    pub timeout: Duration,
    /// Which account joined which chat: written by `join`/`leave`, read by
    /// `subscriptions` and by the live stream.
    pub joinmap: Arc<JoinMap>,
    /// The media pipeline: queues the media of the messages a handler parses, and answers
    /// the `media` method.
    pub media: Arc<MediaProcessor>,
}

impl Context {
    /// The hook that gives each parsed media its storage reference (and queues it).
    pub fn media_hook(&self) -> Arc<dyn MediaHook> {
        self.media.hook()
    }
}

/// The table: method name (the last path segment) to its handler.
pub struct Routes {
    router: matchit::Router<Arc<dyn Handler>>,
    methods: Vec<&'static str>,
}

/// A route could not be added (two handlers for one method, or a malformed name).
#[derive(Debug, thiserror::Error)]
#[error("route /api/v1/{method}: {source}")]
pub struct RouteError {
    method: String,
    source: matchit::InsertError,
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: matchit::Router::new(),
            methods: Vec::new(),
        }
    }

    /// Adds `/api/v1/<method>`.
    pub fn add(
        mut self,
        method: &'static str,
        handler: impl Handler,
    ) -> Result<Routes, RouteError> {
        self.router
            .insert(
                format!("{API_PREFIX}{method}"),
                Arc::new(handler) as Arc<dyn Handler>,
            )
            .map_err(|source| RouteError {
                method: method.to_string(),
                source,
            })?;
        self.methods.push(method);
        Ok(self)
    }

    /// The handler of a request path, if any.
    pub fn find(&self, path: &str) -> Option<&Arc<dyn Handler>> {
        self.router.at(path).ok().map(|found| found.value)
    }

    /// The method names, in table order (for error messages and metrics labels).
    pub fn methods(&self) -> &[&'static str] {
        &self.methods
    }
}

impl Default for Routes {
    fn default() -> Routes {
        Routes::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    impl Handler for Echo {
        fn params(&self) -> &'static [&'static str] {
            &[]
        }
        fn post<'a>(&'a self, _cx: &'a Context) -> Reply<'a> {
            Box::pin(async { Ok(Value::Null.into()) })
        }
    }

    #[test]
    fn routes_are_found_by_path_and_only_there() {
        let routes = Routes::new().add("echo", Echo).unwrap();
        assert!(routes.find("/api/v1/echo").is_some());
        assert!(routes.find("/api/v1/echo/more").is_none());
        assert!(routes.find("/api/v1/other").is_none());
        assert_eq!(routes.methods(), &["echo"]);
    }

    #[test]
    fn a_method_cannot_have_two_handlers() {
        let result = Routes::new().add("echo", Echo).unwrap().add("echo", Echo);
        assert!(result.is_err());
    }
}
