//! Peeling the invoke wrappers off an API call.
//!
//! Clients wrap their calls: grammers' first message is
//! `invokeWithLayer(initConnection(help.getConfig))`, Telethon's likewise, and any call may come as
//! `invokeWithoutUpdates`, `invokeAfterMsg(s)`, `invokeWithTakeout`, … or `gzip_packed`. The
//! Telegram layer wants the bare function, and the server wants the layer the client announced (so
//! results are serialized for it). The generated function types parse every wrapper's own fields;
//! `RawQuery` stands in for the wrapped query so that it stays bytes.

use grammers_tl_types::{self as tl, Cursor, Deserializable, Identifiable, functions as f};

use super::messages::{GZIP_PACKED, MessageError, gunzip};

/// Wrappers may nest, but not without end.
const MAX_WRAPPERS: usize = 16;

/// The rest of a buffer, unparsed: the query a wrapper carries.
struct RawQuery(Vec<u8>);

impl Deserializable for RawQuery {
    fn deserialize(buf: &mut Cursor) -> tl::deserialize::Result<Self> {
        let mut rest = Vec::new();
        buf.read_to_end(&mut rest)?;
        Ok(RawQuery(rest))
    }
}

/// An API call with its wrappers removed.
#[derive(Debug, PartialEq)]
pub struct Unwrapped {
    /// The layer from `invokeWithLayer`, when the call carried one.
    pub layer: Option<i32>,
    /// The bare function, starting with its constructor id.
    pub query: Vec<u8>,
}

impl Unwrapped {
    pub fn constructor(&self) -> Option<u32> {
        let bytes: [u8; 4] = self.query.get(..4)?.try_into().ok()?;
        Some(u32::from_le_bytes(bytes))
    }
}

/// Removes every known wrapper from `call` (which starts with a constructor id).
pub fn unwrap_call(call: &[u8]) -> Result<Unwrapped, MessageError> {
    let mut layer = None;
    let mut query = call.to_vec();
    for _ in 0..MAX_WRAPPERS {
        let mut cursor = Cursor::from_slice(&query);
        let constructor = u32::deserialize(&mut cursor)?;
        let inner = match constructor {
            f::InvokeWithLayer::<RawQuery>::CONSTRUCTOR_ID => {
                let call = f::InvokeWithLayer::<RawQuery>::deserialize(&mut cursor)?;
                layer = Some(call.layer);
                call.query.0
            }
            f::InitConnection::<RawQuery>::CONSTRUCTOR_ID => {
                f::InitConnection::<RawQuery>::deserialize(&mut cursor)?
                    .query
                    .0
            }
            f::InvokeWithoutUpdates::<RawQuery>::CONSTRUCTOR_ID => {
                f::InvokeWithoutUpdates::<RawQuery>::deserialize(&mut cursor)?
                    .query
                    .0
            }
            f::InvokeAfterMsg::<RawQuery>::CONSTRUCTOR_ID => {
                f::InvokeAfterMsg::<RawQuery>::deserialize(&mut cursor)?
                    .query
                    .0
            }
            f::InvokeAfterMsgs::<RawQuery>::CONSTRUCTOR_ID => {
                f::InvokeAfterMsgs::<RawQuery>::deserialize(&mut cursor)?
                    .query
                    .0
            }
            f::InvokeWithTakeout::<RawQuery>::CONSTRUCTOR_ID => {
                f::InvokeWithTakeout::<RawQuery>::deserialize(&mut cursor)?
                    .query
                    .0
            }
            f::InvokeWithMessagesRange::<RawQuery>::CONSTRUCTOR_ID => {
                f::InvokeWithMessagesRange::<RawQuery>::deserialize(&mut cursor)?
                    .query
                    .0
            }
            f::InvokeWithBusinessConnection::<RawQuery>::CONSTRUCTOR_ID => {
                f::InvokeWithBusinessConnection::<RawQuery>::deserialize(&mut cursor)?
                    .query
                    .0
            }
            GZIP_PACKED => gunzip(&Vec::<u8>::deserialize(&mut cursor)?)?,
            _ => return Ok(Unwrapped { layer, query }),
        };
        query = inner;
    }
    Err(MessageError::Malformed(format!(
        "more than {MAX_WRAPPERS} nested invoke wrappers"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_tl_types::Serializable;

    fn init_connection<X: Serializable>(query: X) -> f::InitConnection<X> {
        f::InitConnection {
            api_id: 1,
            device_model: "test".into(),
            system_version: "1".into(),
            app_version: "1".into(),
            system_lang_code: "en".into(),
            lang_pack: String::new(),
            lang_code: "en".into(),
            proxy: None,
            params: Some(tl::enums::Jsonvalue::JsonNull),
            query,
        }
    }

    #[test]
    fn the_grammers_connect_call_is_unwrapped_with_its_layer() {
        let call = f::InvokeWithLayer {
            layer: 230,
            query: init_connection(f::help::GetConfig {}),
        }
        .to_bytes();
        assert_eq!(
            unwrap_call(&call).unwrap(),
            Unwrapped {
                layer: Some(230),
                query: f::help::GetConfig {}.to_bytes()
            }
        );
    }

    #[test]
    fn nested_wrappers_come_off_and_a_bare_call_stays() {
        let bare = f::updates::GetState {}.to_bytes();
        let call = f::InvokeWithoutUpdates {
            query: f::InvokeAfterMsg {
                msg_id: 5,
                query: f::updates::GetState {},
            },
        }
        .to_bytes();
        let unwrapped = unwrap_call(&call).unwrap();
        assert_eq!(unwrapped.layer, None);
        assert_eq!(unwrapped.query, bare);
        assert_eq!(
            unwrapped.constructor(),
            Some(f::updates::GetState::CONSTRUCTOR_ID)
        );
        assert_eq!(unwrap_call(&bare).unwrap().query, bare);
    }

    #[test]
    fn a_truncated_wrapper_is_an_error() {
        let mut call = f::InvokeWithLayer {
            layer: 230,
            query: init_connection(f::help::GetConfig {}),
        }
        .to_bytes();
        call.truncate(20);
        assert!(matches!(
            unwrap_call(&call),
            Err(MessageError::Malformed(_))
        ));
    }
}
