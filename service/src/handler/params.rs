//! A request's `params`, read with the checks every handler needs, so each refusal names the
//! parameter, what was wrong, and what is accepted.
//!
//! Handlers declare the parameters they accept (see [`super::route::Handler::params`]); an
//! unknown one is refused rather than ignored, because a misspelt `limit` silently ignored is
//! a client bug that surfaces weeks later as missing data.

use std::ops::RangeInclusive;

use serde_json::{Map, Value};
use tgc_model::teleclient::{ACCEPTED_FORMS, ChatRef};

use super::error::ApiError;

/// The `params` object of an opened request.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: Map<String, Value>,
}

impl Params {
    /// `params` must be a JSON object (absent or `null` reads as empty).
    pub fn from_value(value: Value) -> Result<Params, ApiError> {
        match value {
            Value::Object(values) => Ok(Params { values }),
            Value::Null => Ok(Params::default()),
            other => Err(ApiError::bad_params(format!(
                "params must be a JSON object, got {}",
                kind(&other)
            ))),
        }
    }

    /// Refuses any parameter not in `accepted`.
    pub fn only(&self, accepted: &[&str]) -> Result<(), ApiError> {
        let mut unknown: Vec<&str> = self
            .values
            .keys()
            .map(String::as_str)
            .filter(|name| !accepted.contains(name))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort_unstable();
        let accepted = if accepted.is_empty() {
            "none".to_string()
        } else {
            accepted.join(", ")
        };
        Err(ApiError::bad_params(format!(
            "unknown parameter {}; this method accepts: {accepted}",
            unknown.join(", ")
        )))
    }

    pub fn has(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(|v| !v.is_null())
    }

    /// A required chat, in any accepted form.
    pub fn chat(&self, name: &str) -> Result<ChatRef, ApiError> {
        self.optional_chat(name)?.ok_or_else(|| {
            ApiError::bad_params(format!(
                "`{name}` is required: the chat as {ACCEPTED_FORMS}"
            ))
        })
    }

    /// An optional chat, in any accepted form.
    pub fn optional_chat(&self, name: &str) -> Result<Option<ChatRef>, ApiError> {
        let text = match self.values.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(text)) => text.clone(),
            // A numeric id may come as a JSON number: it is the same chat.
            Some(Value::Number(number)) => number.to_string(),
            Some(other) => {
                return Err(ApiError::bad_chat(format!(
                    "`{name}` must be a string or a number, got {}; expected {ACCEPTED_FORMS}",
                    kind(other)
                )));
            }
        };
        ChatRef::parse(&text)
            .map(Some)
            .map_err(|error| ApiError::bad_chat(format!("`{name}`: {error}")))
    }

    /// An optional whole number within `range`, `default` when absent.
    pub fn int(
        &self,
        name: &str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, ApiError> {
        match self.values.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => match value.as_i64() {
                Some(n) if range.contains(&n) => Ok(n),
                _ => Err(ApiError::bad_params(format!(
                    "`{name}` must be a whole number from {} to {}, got {}",
                    range.start(),
                    range.end(),
                    shown(value)
                ))),
            },
        }
    }

    /// A required whole number within `range`.
    pub fn required_int(&self, name: &str, range: RangeInclusive<i64>) -> Result<i64, ApiError> {
        if !self.has(name) {
            return Err(ApiError::bad_params(format!(
                "`{name}` is required: a whole number from {} to {}",
                range.start(),
                range.end()
            )));
        }
        self.int(name, 0, range)
    }

    /// A required, non-empty list of message ids (positive 32-bit numbers), at most `max`.
    pub fn message_ids(&self, name: &str, max: usize) -> Result<Vec<i32>, ApiError> {
        let expected =
            format!("a list of 1 to {max} message ids (whole numbers from 1 to 2147483647)");
        let Some(value) = self.values.get(name).filter(|v| !v.is_null()) else {
            return Err(ApiError::bad_params(format!(
                "`{name}` is required: {expected}"
            )));
        };
        let wrong =
            || ApiError::bad_params(format!("`{name}` must be {expected}, got {}", shown(value)));
        let items = value.as_array().ok_or_else(wrong)?;
        if items.is_empty() || items.len() > max {
            return Err(wrong());
        }
        items
            .iter()
            .map(|item| {
                item.as_i64()
                    .filter(|n| (1..=i64::from(i32::MAX)).contains(n))
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(wrong)
            })
            .collect()
    }

    /// An optional string, `None` when absent.
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.values.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(ApiError::bad_params(format!(
                "`{name}` must be a string, got {}",
                kind(other)
            ))),
        }
    }

    /// A required, non-blank string.
    pub fn required_string(&self, name: &str, what: &str) -> Result<String, ApiError> {
        match self.string(name)? {
            Some(text) if !text.trim().is_empty() => Ok(text),
            _ => Err(ApiError::bad_params(format!(
                "`{name}` is required: {what}"
            ))),
        }
    }
}

/// The JSON type of a value, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value as it may appear in a message: short, so a huge input does not flood the reply.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 40 {
        text
    } else {
        format!("{}…", text.chars().take(40).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Params {
        Params::from_value(value).unwrap()
    }

    #[test]
    fn params_must_be_an_object() {
        let error = Params::from_value(json!([1])).unwrap_err();
        assert_eq!(error.status, 400);
        assert!(error.message.contains("a list"), "{}", error.message);
        assert!(Params::from_value(Value::Null).is_ok());
    }

    #[test]
    fn unknown_parameters_are_named_with_the_accepted_ones() {
        let error = params(json!({"chat": "@x", "limt": 5}))
            .only(&["chat", "limit"])
            .unwrap_err();
        assert!(error.message.contains("limt"), "{}", error.message);
        assert!(error.message.contains("chat, limit"), "{}", error.message);
    }

    #[test]
    fn a_missing_or_wrong_chat_names_the_accepted_forms() {
        let missing = params(json!({})).chat("chat").unwrap_err();
        assert!(
            missing.message.contains(ACCEPTED_FORMS),
            "{}",
            missing.message
        );
        for wrong in [
            json!("https://example.com/x"),
            json!(true),
            json!(""),
            json!("a b"),
        ] {
            let error = params(json!({ "chat": wrong })).chat("chat").unwrap_err();
            assert_eq!((error.status, error.code), (400, "bad_chat"), "{wrong}");
            assert!(error.message.contains(ACCEPTED_FORMS), "{}", error.message);
        }
    }

    #[test]
    fn a_numeric_chat_id_may_be_a_json_number() {
        let chat = params(json!({"chat": -1001234})).chat("chat").unwrap();
        assert_eq!(chat, ChatRef::parse("-1001234").unwrap());
    }

    #[test]
    fn numbers_are_checked_against_their_range() {
        let p = params(json!({"limit": 500, "offset_id": "7"}));
        assert!(
            p.int("limit", 20, 1..=100)
                .unwrap_err()
                .message
                .contains("1 to 100")
        );
        assert!(p.int("offset_id", 0, 0..=10).is_err());
        assert_eq!(p.int("min_id", 3, 0..=10).unwrap(), 3);
    }

    #[test]
    fn message_ids_are_a_bounded_list_of_positive_numbers() {
        assert_eq!(
            params(json!({"ids": [1, 2]}))
                .message_ids("ids", 10)
                .unwrap(),
            vec![1, 2]
        );
        for wrong in [
            json!([]),
            json!([0]),
            json!("1"),
            json!([1.5]),
            json!([1; 11].to_vec()),
        ] {
            assert!(
                params(json!({ "ids": wrong }))
                    .message_ids("ids", 10)
                    .is_err(),
                "{wrong}"
            );
        }
        assert!(
            params(json!({}))
                .message_ids("ids", 10)
                .unwrap_err()
                .message
                .contains("required")
        );
    }
}
