//! The API's error model (docs/design.md §2): every failure a handler can meet, as one typed value
//! that knows its HTTP status, its stable machine-readable code and, when waiting helps,
//! how long to wait.
//!
//! Clients branch on `code`, people read `message`; the status follows HTTP's meaning so
//! proxies and retry logic behave. Errors of the envelope itself never become an
//! [`ApiError`]: they are answered with a bare status (see `gateway`), because a client
//! that cannot open a sealed reply must not learn why its envelope was refused.

use std::time::Duration;

use serde_json::{Value, json};
use tgc_model::teleclient::PoolError;

/// A failed API call, as the client will see it (sealed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
}

/// Telegram errors that mean the chat exists but this gateway may not read it.
const PRIVATE: [&str; 5] = [
    "CHANNEL_PRIVATE",
    "CHAT_FORBIDDEN",
    "CHANNEL_PUBLIC_GROUP_NA",
    "USER_BANNED_IN_CHANNEL",
    "CHAT_ADMIN_REQUIRED",
];

/// Telegram errors that mean the chat is not there (or not under that name).
const UNKNOWN: [&str; 6] = [
    "USERNAME_NOT_OCCUPIED",
    "USERNAME_INVALID",
    "PEER_ID_INVALID",
    "CHANNEL_INVALID",
    "CHAT_ID_INVALID",
    "USER_ID_INVALID",
];

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: a parameter is missing, of the wrong type, or out of range.
    pub fn bad_params(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "bad_params", message)
    }

    /// 400: the chat is given in a form the API does not accept.
    pub fn bad_chat(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "bad_chat", message)
    }

    /// 404: no such API method.
    pub fn unknown_method(method: &str, known: &[&str]) -> ApiError {
        ApiError::new(
            404,
            "unknown_method",
            format!(
                "there is no API method {method:?}; the methods are: {}",
                known.join(", ")
            ),
        )
    }

    /// 504: the request ran past its deadline.
    pub fn deadline(timeout: Duration) -> ApiError {
        ApiError::new(
            504,
            "deadline_exceeded",
            format!(
                "the request did not complete within the server's {}s deadline (server.request_timeout)",
                timeout.as_secs_f64()
            ),
        )
    }

    /// 503: the gateway cannot make what the reply depends on durable (its disk is full or
    /// failing); nothing was lost, and the same request may be sent again.
    pub fn not_durable(what: &str) -> ApiError {
        ApiError {
            retry_after: Some(Duration::from_secs(5)),
            ..ApiError::new(
                503,
                "not_durable",
                format!("the gateway cannot put {what} on disk now; try again"),
            )
        }
    }

    /// 500: the gateway itself failed; the log has the detail.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "internal", message)
    }

    /// The sealed body: `{"error": {"code", "message", "retry_after"?}}`.
    pub fn to_json(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(wait) = self.retry_after {
            error["retry_after"] = json!(retry_seconds(wait));
        }
        json!({ "error": error })
    }
}

/// Whole seconds to wait, rounded up and at least one: a client told "0" would retry at once.
pub fn retry_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

impl From<PoolError> for ApiError {
    fn from(error: PoolError) -> ApiError {
        let message = error.to_string();
        let retry_after = error.retry_after();
        let (status, code) = match &error {
            PoolError::Chat(_) => (400, "bad_chat"),
            PoolError::AllCooling { .. } => (503, "flood_wait"),
            PoolError::NoAccount { .. } => (503, "no_account"),
            PoolError::Overloaded { .. } => (503, "overloaded"),
            PoolError::ResolveBudgetSpent { .. } => (503, "resolve_budget_spent"),
            PoolError::UsernameNotFound { .. } | PoolError::UnknownChatId { .. } => {
                (404, "unknown_chat")
            }
            PoolError::Telegram { error, .. } if PRIVATE.contains(&error.name.as_str()) => {
                (403, "private_chat")
            }
            PoolError::Telegram { error, .. } if UNKNOWN.contains(&error.name.as_str()) => {
                (404, "unknown_chat")
            }
            PoolError::Telegram { error, .. } if error.name == "MSG_ID_INVALID" => {
                (400, "bad_params")
            }
            // The caller asked for something the account's membership rules out (leaving a
            // chat it is not in): the caller's state, not Telegram's failure.
            PoolError::Telegram { error, .. } if error.name == "USER_NOT_PARTICIPANT" => {
                (409, "not_participant")
            }
            PoolError::Telegram { .. } | PoolError::Invocation { .. } => (502, "telegram_error"),
            PoolError::Directory(_) => (500, "internal"),
        };
        ApiError {
            status,
            code,
            message,
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgc_model::teleclient::ChatRef;

    #[test]
    fn a_flood_wait_of_every_account_is_503_with_the_wait() {
        let error = ApiError::from(PoolError::AllCooling {
            method: "messages.getHistory".into(),
            retry_after: Duration::from_millis(4_200),
        });
        assert_eq!((error.status, error.code), (503, "flood_wait"));
        assert_eq!(error.to_json()["error"]["retry_after"], 5);
    }

    #[test]
    fn a_wrong_chat_form_is_400_naming_the_accepted_forms() {
        let chat_error = ChatRef::parse("https://example.com/x").unwrap_err();
        let error = ApiError::from(PoolError::Chat(chat_error));
        assert_eq!((error.status, error.code), (400, "bad_chat"));
        assert!(error.message.contains("t.me/name"), "{}", error.message);
        assert!(error.to_json()["error"].get("retry_after").is_none());
    }

    #[test]
    fn unknown_chats_are_404() {
        let error = ApiError::from(PoolError::UsernameNotFound {
            username: "nobody_here".into(),
        });
        assert_eq!((error.status, error.code), (404, "unknown_chat"));
    }

    #[test]
    fn retry_seconds_round_up_and_are_never_zero() {
        assert_eq!(retry_seconds(Duration::ZERO), 1);
        assert_eq!(retry_seconds(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_seconds(Duration::from_secs(30)), 30);
    }
}
