//! The JSON inside a sealed request: `{"ts": unix_ms, "id": "<unique>", "params": {...}}`.
//!
//! Read strictly (each field's type and limits are checked, with a message that says what was
//! expected) because it decides freshness and replay; unknown extra fields are ignored so a newer
//! client can add some without breaking an older server.

use serde_json::{Map, Value};

use super::error::EnvelopeError;

/// The longest request id accepted, in bytes. Ids are remembered for the clock window, so their
/// size is bounded; 128 bytes fits any UUID, ULID or hex token.
pub const MAX_ID_BYTES: usize = 128;

/// A request's plaintext, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestPlaintext {
    pub ts: i64,
    pub id: String,
    pub params: Value,
}

impl RequestPlaintext {
    /// Parses and checks the opened bytes of a request.
    pub fn parse(bytes: &[u8]) -> Result<RequestPlaintext, EnvelopeError> {
        let bad = |what: String| EnvelopeError::BadPlaintext(what);
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|error| bad(format!("not JSON ({error}); expected {SHAPE}")))?;
        let Value::Object(mut object) = value else {
            return Err(bad(format!("not a JSON object; expected {SHAPE}")));
        };
        let ts = match object.get("ts") {
            None => return Err(bad(format!("no `ts`; expected {SHAPE}"))),
            Some(ts) => ts.as_i64().ok_or_else(|| {
                bad("`ts` is not an integer; expected unix time in milliseconds".to_owned())
            })?,
        };
        let id = match object.remove("id") {
            None => return Err(bad(format!("no `id`; expected {SHAPE}"))),
            Some(Value::String(id)) => id,
            Some(_) => return Err(bad("`id` is not a string".to_owned())),
        };
        if id.is_empty() || id.len() > MAX_ID_BYTES {
            return Err(bad(format!(
                "`id` is {} bytes; expected 1 to {MAX_ID_BYTES}",
                id.len()
            )));
        }
        let params = match object.remove("params") {
            None => return Err(bad(format!("no `params`; expected {SHAPE}"))),
            Some(params @ Value::Object(_)) => params,
            Some(_) => {
                return Err(bad(
                    "`params` is not a JSON object; send {} when a method takes none".to_owned(),
                ));
            }
        };
        Ok(RequestPlaintext { ts, id, params })
    }

    /// The bytes to seal.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut object = Map::new();
        object.insert("ts".to_owned(), Value::from(self.ts));
        object.insert("id".to_owned(), Value::from(self.id.as_str()));
        object.insert("params".to_owned(), self.params.clone());
        // Serialising a `Value` with string keys cannot fail.
        serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
    }
}

const SHAPE: &str = r#"{"ts": unix_ms, "id": "<unique string>", "params": {...}}"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_reads_the_three_fields_and_ignores_others() {
        let plain = RequestPlaintext::parse(
            br#"{"ts": 1700000000000, "id": "a1", "params": {"chat": "@x"}, "extra": 1}"#,
        )
        .expect("valid plaintext");
        assert_eq!(
            plain,
            RequestPlaintext {
                ts: 1_700_000_000_000,
                id: "a1".to_owned(),
                params: json!({"chat": "@x"})
            }
        );
        assert_eq!(
            RequestPlaintext::parse(&plain.to_bytes()).expect("round trip"),
            plain
        );
    }

    #[test]
    fn parse_names_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"not json", "not JSON"),
            (b"[1,2]", "not a JSON object"),
            (br#"{"id": "a", "params": {}}"#, "no `ts`"),
            (
                br#"{"ts": 1.5, "id": "a", "params": {}}"#,
                "`ts` is not an integer",
            ),
            (
                br#"{"ts": "1", "id": "a", "params": {}}"#,
                "`ts` is not an integer",
            ),
            (br#"{"ts": 1, "params": {}}"#, "no `id`"),
            (
                br#"{"ts": 1, "id": 5, "params": {}}"#,
                "`id` is not a string",
            ),
            (br#"{"ts": 1, "id": "", "params": {}}"#, "`id` is 0 bytes"),
            (br#"{"ts": 1, "id": "a"}"#, "no `params`"),
            (
                br#"{"ts": 1, "id": "a", "params": []}"#,
                "`params` is not a JSON object",
            ),
        ];
        for (bytes, expected) in cases {
            match RequestPlaintext::parse(bytes) {
                Err(EnvelopeError::BadPlaintext(message)) => assert!(
                    message.contains(expected),
                    "{message:?} should mention {expected:?}"
                ),
                other => panic!(
                    "{:?}: expected BadPlaintext, got {other:?}",
                    String::from_utf8_lossy(bytes)
                ),
            }
        }
        let long_id = format!(
            r#"{{"ts": 1, "id": "{}", "params": {{}}}}"#,
            "x".repeat(MAX_ID_BYTES + 1)
        );
        assert!(matches!(
            RequestPlaintext::parse(long_id.as_bytes()),
            Err(EnvelopeError::BadPlaintext(_))
        ));
    }
}
