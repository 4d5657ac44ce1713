//! `rpc_error`s with Telegram's codes and message strings, which the gateway reacts to.

/// An RPC error as Telegram sends it: an HTTP-like code and an upper-case message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rpc error {code}: {message}")]
pub struct RpcError {
    pub code: i32,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i32, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// 400: the request was wrong (`USERNAME_NOT_OCCUPIED`, `CHANNEL_PRIVATE`, `LIMIT_INVALID`, …).
    pub fn bad_request(message: impl Into<String>) -> RpcError {
        RpcError::new(400, message)
    }

    /// 401: the key is not (or no longer) authorized (`AUTH_KEY_UNREGISTERED`,
    /// `SESSION_PASSWORD_NEEDED`).
    pub fn unauthorized(message: impl Into<String>) -> RpcError {
        RpcError::new(401, message)
    }

    /// 403: privacy or rights forbid the action.
    pub fn forbidden(message: impl Into<String>) -> RpcError {
        RpcError::new(403, message)
    }

    /// 420 `FLOOD_WAIT_<secs>`.
    pub fn flood_wait(secs: u32) -> RpcError {
        RpcError::new(420, format!("FLOOD_WAIT_{secs}"))
    }

    /// 500: the server failed.
    pub fn internal(message: impl Into<String>) -> RpcError {
        RpcError::new(500, message)
    }

    /// 400 `INPUT_METHOD_INVALID`-style refusal of a function the simulator does not implement.
    pub fn not_implemented(constructor_id: u32) -> RpcError {
        let name = grammers_tl_types::name_for_id(constructor_id);
        RpcError::bad_request(format!(
            "METHOD_NOT_SIMULATED_{}",
            name.replace('.', "_").to_uppercase()
        ))
    }

    /// The request bytes did not parse as the function their constructor id names.
    pub fn malformed() -> RpcError {
        RpcError::bad_request("INPUT_REQUEST_INVALID")
    }
}
