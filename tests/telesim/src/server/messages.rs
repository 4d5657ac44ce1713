//! MTProto messages inside a decrypted payload: what a client sent, and what the server answers.
//!
//! Inbound, a payload is `salt | session_id | msg_id | seq_no | len | body | padding`; the body may be
//! a `msg_container` of further messages or a `gzip_packed` object, which are flattened here into a
//! list of [`Inbound`] messages so that the connection handles one kind of thing at a time. Service
//! messages (ping, acks, future salts, …) are recognised by constructor; everything else is an RPC.
//!
//! Outbound, the builders produce the bodies Telegram sends. Which of them are top-level and which
//! go inside `rpc_result` matters to grammers: `pong` and `future_salts` are top-level.

use std::io::Read;

use grammers_tl_types::{self as tl, Deserializable, Identifiable, Serializable};

/// `msg_container#73f1f8dc messages:vector<message> = MessageContainer;`
pub const MSG_CONTAINER: u32 = 0x73f1f8dc;
/// `gzip_packed#3072cfa1 packed_data:bytes = Object;`
pub const GZIP_PACKED: u32 = 0x3072cfa1;
/// `rpc_result#f35c6d01 req_msg_id:long result:Object = RpcResult;`
pub const RPC_RESULT: u32 = 0xf35c6d01;

/// salt, session_id, msg_id, seq_no, len.
const PLAINTEXT_HEADER_LEN: usize = 8 + 8 + 8 + 4 + 4;
/// A gzip_packed body may not inflate beyond this (a decompression bomb closes the connection).
const MAX_INFLATED: u64 = 16 * 1024 * 1024;
/// Containers hold at most this many messages (Telegram's limit is 1020).
const MAX_CONTAINER_LEN: usize = 1024;

/// Why a decrypted payload could not be read as MTProto messages.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("payload of {0} bytes is shorter than the 32-byte message header")]
    TooShort(usize),
    #[error("message declares a body of {declared} bytes but {available} bytes follow")]
    BadBodyLength { declared: i64, available: usize },
    #[error("message body is truncated or malformed: {0}")]
    Malformed(String),
    #[error("containers may not be nested")]
    NestedContainer,
    #[error("container holds {0} messages, more than the {MAX_CONTAINER_LEN} allowed")]
    ContainerTooLarge(i32),
    #[error("gzip_packed body does not inflate: {0}")]
    Gzip(String),
}

impl From<tl::deserialize::Error> for MessageError {
    fn from(e: tl::deserialize::Error) -> Self {
        MessageError::Malformed(e.to_string())
    }
}

/// The envelope of one decrypted payload.
#[derive(Debug)]
pub struct Payload {
    pub session_id: i64,
    /// The messages it carried, containers and gzip flattened, in order.
    pub messages: Vec<Inbound>,
}

/// One message from a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub msg_id: i64,
    pub seq_no: i32,
    pub kind: InboundKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InboundKind {
    /// An API call (possibly wrapped in invokeWithLayer & co.), body including constructor id.
    Rpc(Vec<u8>),
    Ping {
        ping_id: i64,
    },
    /// `ping_delay_disconnect`: answered like a ping; the disconnect timer is not simulated.
    PingDelayDisconnect {
        ping_id: i64,
    },
    GetFutureSalts {
        num: i32,
    },
    DestroySession {
        session_id: i64,
    },
    RpcDropAnswer {
        req_msg_id: i64,
    },
    /// Acks, http_wait, state requests: nothing to answer.
    Ignored(u32),
}

/// Reads a decrypted payload (padding included).
pub fn parse_payload(plaintext: &[u8]) -> Result<Payload, MessageError> {
    if plaintext.len() < PLAINTEXT_HEADER_LEN {
        return Err(MessageError::TooShort(plaintext.len()));
    }
    let mut cursor = tl::Cursor::from_slice(&plaintext[8..]);
    let session_id = i64::deserialize(&mut cursor)?;
    let msg_id = i64::deserialize(&mut cursor)?;
    let seq_no = i32::deserialize(&mut cursor)?;
    let len = i32::deserialize(&mut cursor)?;
    let body = checked_body(&plaintext[PLAINTEXT_HEADER_LEN..], len)?;
    let mut messages = Vec::new();
    flatten(msg_id, seq_no, body, true, &mut messages)?;
    Ok(Payload {
        session_id,
        messages,
    })
}

/// The first `len` bytes of `rest`, if `len` is a sane body length.
fn checked_body(rest: &[u8], len: i32) -> Result<&[u8], MessageError> {
    usize::try_from(len)
        .ok()
        .filter(|&l| l <= rest.len() && l % 4 == 0)
        .map(|l| &rest[..l])
        .ok_or(MessageError::BadBodyLength {
            declared: len.into(),
            available: rest.len(),
        })
}

fn flatten(
    msg_id: i64,
    seq_no: i32,
    body: &[u8],
    top_level: bool,
    out: &mut Vec<Inbound>,
) -> Result<(), MessageError> {
    let mut cursor = tl::Cursor::from_slice(body);
    let constructor = u32::deserialize(&mut cursor)?;
    let kind = match constructor {
        MSG_CONTAINER => {
            if !top_level {
                return Err(MessageError::NestedContainer);
            }
            let count = i32::deserialize(&mut cursor)?;
            if !(0..=MAX_CONTAINER_LEN as i32).contains(&count) {
                return Err(MessageError::ContainerTooLarge(count));
            }
            for _ in 0..count {
                let inner_id = i64::deserialize(&mut cursor)?;
                let inner_seq = i32::deserialize(&mut cursor)?;
                let len = i32::deserialize(&mut cursor)?;
                let start = cursor.pos();
                let inner = checked_body(&body[start..], len)?;
                flatten(inner_id, inner_seq, inner, false, out)?;
                let mut skip = vec![0u8; inner.len()];
                cursor.read_exact(&mut skip)?;
            }
            return Ok(());
        }
        GZIP_PACKED => {
            let inflated = gunzip(&Vec::<u8>::deserialize(&mut cursor)?)?;
            return flatten(msg_id, seq_no, &inflated, false, out);
        }
        tl::functions::Ping::CONSTRUCTOR_ID => InboundKind::Ping {
            ping_id: tl::functions::Ping::deserialize(&mut cursor)?.ping_id,
        },
        tl::functions::PingDelayDisconnect::CONSTRUCTOR_ID => InboundKind::PingDelayDisconnect {
            ping_id: tl::functions::PingDelayDisconnect::deserialize(&mut cursor)?.ping_id,
        },
        tl::functions::GetFutureSalts::CONSTRUCTOR_ID => InboundKind::GetFutureSalts {
            num: tl::functions::GetFutureSalts::deserialize(&mut cursor)?.num,
        },
        tl::functions::DestroySession::CONSTRUCTOR_ID => InboundKind::DestroySession {
            session_id: tl::functions::DestroySession::deserialize(&mut cursor)?.session_id,
        },
        tl::functions::RpcDropAnswer::CONSTRUCTOR_ID => InboundKind::RpcDropAnswer {
            req_msg_id: tl::functions::RpcDropAnswer::deserialize(&mut cursor)?.req_msg_id,
        },
        tl::types::MsgsAck::CONSTRUCTOR_ID
        | tl::types::HttpWait::CONSTRUCTOR_ID
        | tl::types::MsgsStateReq::CONSTRUCTOR_ID
        | tl::types::MsgResendReq::CONSTRUCTOR_ID
        | tl::types::MsgsAllInfo::CONSTRUCTOR_ID => InboundKind::Ignored(constructor),
        _ => InboundKind::Rpc(body.to_vec()),
    };
    out.push(Inbound {
        msg_id,
        seq_no,
        kind,
    });
    Ok(())
}

/// Inflates a `gzip_packed` payload, refusing to grow beyond `MAX_INFLATED`.
pub fn gunzip(packed: &[u8]) -> Result<Vec<u8>, MessageError> {
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(packed)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| MessageError::Gzip(e.to_string()))?;
    if inflated.len() as u64 > MAX_INFLATED {
        return Err(MessageError::Gzip(format!(
            "inflates beyond {MAX_INFLATED} bytes"
        )));
    }
    Ok(inflated)
}

/// `rpc_result` around a serialized result (or a serialized `rpc_error`).
pub fn rpc_result(req_msg_id: i64, result: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(12 + result.len());
    body.extend_from_slice(&RPC_RESULT.to_le_bytes());
    body.extend_from_slice(&req_msg_id.to_le_bytes());
    body.extend_from_slice(result);
    body
}

pub fn rpc_error(code: i32, message: &str) -> Vec<u8> {
    tl::enums::RpcError::Error(tl::types::RpcError {
        error_code: code,
        error_message: message.to_owned(),
    })
    .to_bytes()
}

pub fn new_session_created(first_msg_id: i64, unique_id: i64, server_salt: i64) -> Vec<u8> {
    tl::enums::NewSession::Created(tl::types::NewSessionCreated {
        first_msg_id,
        unique_id,
        server_salt,
    })
    .to_bytes()
}

pub fn pong(msg_id: i64, ping_id: i64) -> Vec<u8> {
    tl::enums::Pong::Pong(tl::types::Pong { msg_id, ping_id }).to_bytes()
}

/// `future_salts` with `num` salts (at most 64) of value `salt`, each valid for an hour.
pub fn future_salts(req_msg_id: i64, now: i32, num: i32, salt: i64) -> Vec<u8> {
    let salts = (0..num.clamp(1, 64))
        .map(|i| tl::types::FutureSalt {
            valid_since: now.saturating_add(i * 3600),
            valid_until: now.saturating_add((i + 1) * 3600),
            salt,
        })
        .collect();
    tl::enums::FutureSalts::Salts(tl::types::FutureSalts {
        req_msg_id,
        now,
        salts: tl::RawVec(salts),
    })
    .to_bytes()
}

pub fn destroy_session_result(session_id: i64, existed: bool) -> Vec<u8> {
    if existed {
        tl::enums::DestroySessionRes::DestroySessionOk(tl::types::DestroySessionOk { session_id })
    } else {
        tl::enums::DestroySessionRes::DestroySessionNone(tl::types::DestroySessionNone {
            session_id,
        })
    }
    .to_bytes()
}

pub fn rpc_answer_unknown() -> Vec<u8> {
    tl::enums::RpcDropAnswer::RpcAnswerUnknown.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn payload(msg_id: i64, body: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend(0i64.to_le_bytes());
        p.extend(77i64.to_le_bytes());
        p.extend(msg_id.to_le_bytes());
        p.extend(1i32.to_le_bytes());
        p.extend((body.len() as i32).to_le_bytes());
        p.extend(body);
        p.extend([0u8; 16]);
        p
    }

    fn container(messages: &[(i64, Vec<u8>)]) -> Vec<u8> {
        let mut c = MSG_CONTAINER.to_le_bytes().to_vec();
        c.extend((messages.len() as i32).to_le_bytes());
        for (id, body) in messages {
            c.extend(id.to_le_bytes());
            c.extend(1i32.to_le_bytes());
            c.extend((body.len() as i32).to_le_bytes());
            c.extend(body);
        }
        c
    }

    fn gzip(body: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(body).unwrap();
        let mut packed = GZIP_PACKED.to_le_bytes().to_vec();
        enc.finish().unwrap().serialize(&mut packed);
        packed
    }

    #[test]
    fn a_single_rpc_is_read_with_its_session() {
        let call = tl::functions::updates::GetState {}.to_bytes();
        let parsed = parse_payload(&payload(4, &call)).unwrap();
        assert_eq!(parsed.session_id, 77);
        assert_eq!(
            parsed.messages,
            vec![Inbound {
                msg_id: 4,
                seq_no: 1,
                kind: InboundKind::Rpc(call)
            }]
        );
    }

    #[test]
    fn containers_and_gzip_are_flattened_in_order() {
        let call = tl::functions::updates::GetState {}.to_bytes();
        let ping = tl::functions::Ping { ping_id: 9 }.to_bytes();
        let ack = tl::enums::MsgsAck::Ack(tl::types::MsgsAck { msg_ids: vec![1] }).to_bytes();
        let body = container(&[(8, ping), (12, gzip(&call)), (16, ack)]);
        let kinds: Vec<_> = parse_payload(&payload(20, &body))
            .unwrap()
            .messages
            .into_iter()
            .map(|m| (m.msg_id, m.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (8, InboundKind::Ping { ping_id: 9 }),
                (12, InboundKind::Rpc(call)),
                (16, InboundKind::Ignored(tl::types::MsgsAck::CONSTRUCTOR_ID)),
            ]
        );
    }

    #[test]
    fn malformed_payloads_are_errors_not_panics() {
        assert_eq!(
            parse_payload(&[0u8; 10]).map(|_| ()),
            Err(MessageError::TooShort(10))
        );
        let mut lying = payload(4, &[0u8; 8]);
        lying[28..32].copy_from_slice(&1_000_000i32.to_le_bytes());
        assert!(matches!(
            parse_payload(&lying),
            Err(MessageError::BadBodyLength {
                declared: 1_000_000,
                ..
            })
        ));
        let nested = container(&[(8, container(&[]))]);
        assert_eq!(
            parse_payload(&payload(12, &nested)).map(|_| ()),
            Err(MessageError::NestedContainer)
        );
        let mut bad_gzip = GZIP_PACKED.to_le_bytes().to_vec();
        vec![1u8, 2, 3].serialize(&mut bad_gzip);
        assert!(matches!(
            parse_payload(&payload(4, &bad_gzip)),
            Err(MessageError::Gzip(_))
        ));
        let truncated_ping = tl::functions::Ping::CONSTRUCTOR_ID.to_le_bytes();
        assert!(matches!(
            parse_payload(&payload(4, &truncated_ping)),
            Err(MessageError::Malformed(_))
        ));
    }

    #[test]
    fn outbound_bodies_read_back_as_their_types() {
        let pong_bytes = pong(5, 6);
        assert_eq!(
            tl::enums::Pong::from_bytes(&pong_bytes).unwrap(),
            tl::enums::Pong::Pong(tl::types::Pong {
                msg_id: 5,
                ping_id: 6
            })
        );
        let error = rpc_error(420, "FLOOD_WAIT_3");
        let result = rpc_result(11, &error);
        assert_eq!(&result[..4], &RPC_RESULT.to_le_bytes());
        assert_eq!(&result[4..12], &11i64.to_le_bytes());
        assert_eq!(
            tl::enums::RpcError::from_bytes(&result[12..]).unwrap(),
            tl::enums::RpcError::Error(tl::types::RpcError {
                error_code: 420,
                error_message: "FLOOD_WAIT_3".into()
            })
        );
        let tl::enums::FutureSalts::Salts(salts) =
            tl::enums::FutureSalts::from_bytes(&future_salts(3, 100, 2, 0)).unwrap();
        assert_eq!(salts.req_msg_id, 3);
        assert_eq!(salts.salts.0.len(), 2);
    }
}
