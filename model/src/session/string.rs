//! Telethon's `StringSession`: a whole login in one pasteable line.
//!
//! The format is Telethon's `StringSession.save`: the version character `'1'`, then
//! URL-safe base64 (padded) of `dc_id: u8 | ip: 4 or 16 bytes | port: u16 BE |
//! auth_key: 256 bytes`. The IP length is told apart by the decoded length, as Telethon
//! does by the string's. Parsing says exactly what is wrong, because these strings are
//! copied by hand between terminals and a truncated paste is the common failure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::error::ImportError;

/// The only version Telethon has ever written.
const VERSION_PREFIX: char = '1';

const AUTH_KEY_LEN: usize = 256;
const IPV4_LEN: usize = 1 + 4 + 2 + AUTH_KEY_LEN;
const IPV6_LEN: usize = 1 + 16 + 2 + AUTH_KEY_LEN;

/// Telethon pads; some tools strip the `=`. Both decode to the same bytes.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const PADDED_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&URL_SAFE, GeneralPurposeConfig::new());

/// A decoded Telethon `StringSession`.
#[derive(Clone, PartialEq, Eq)]
pub struct TelethonString {
    pub dc_id: i32,
    pub addr: SocketAddr,
    pub auth_key: [u8; 256],
}

impl std::fmt::Debug for TelethonString {
    /// Never prints the key: it is the account.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelethonString")
            .field("dc_id", &self.dc_id)
            .field("addr", &self.addr)
            .field("auth_key", &"<256 bytes>")
            .finish()
    }
}

impl TelethonString {
    /// Decodes a `StringSession` string; surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, ImportError> {
        let s = s.trim();
        let mut chars = s.chars();
        let version = chars.next().ok_or(ImportError::EmptyString)?;
        if version != VERSION_PREFIX {
            return Err(ImportError::WrongVersion { found: version });
        }
        let bytes = LENIENT_URL_SAFE.decode(chars.as_str())?;
        let ip_len = match bytes.len() {
            IPV4_LEN => 4,
            IPV6_LEN => 16,
            len => return Err(ImportError::WrongLength { len }),
        };
        let dc_id = bytes[0];
        if dc_id == 0 {
            return Err(ImportError::BadDcId);
        }
        let ip_bytes = &bytes[1..1 + ip_len];
        let ip = if ip_len == 4 {
            let octets: [u8; 4] = ip_bytes
                .try_into()
                .map_err(|_| ImportError::WrongLength { len: bytes.len() })?;
            IpAddr::V4(Ipv4Addr::from(octets))
        } else {
            let octets: [u8; 16] = ip_bytes
                .try_into()
                .map_err(|_| ImportError::WrongLength { len: bytes.len() })?;
            IpAddr::V6(Ipv6Addr::from(octets))
        };
        let port = u16::from_be_bytes([bytes[1 + ip_len], bytes[2 + ip_len]]);
        if port == 0 {
            return Err(ImportError::BadPort);
        }
        let auth_key: [u8; AUTH_KEY_LEN] = bytes[3 + ip_len..]
            .try_into()
            .map_err(|_| ImportError::WrongLength { len: bytes.len() })?;
        if auth_key.iter().all(|&b| b == 0) {
            return Err(ImportError::EmptyAuthKey);
        }
        Ok(TelethonString {
            dc_id: i32::from(dc_id),
            addr: SocketAddr::new(ip, port),
            auth_key,
        })
    }

    /// Encodes as Telethon's `StringSession.save` does.
    ///
    /// A `dc_id` outside `0..=255` cannot be represented; it is written modulo 256, as
    /// Python's `struct.pack('B')` would refuse to, so callers keep ids in range.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(IPV6_LEN);
        bytes.push(self.dc_id as u8);
        match self.addr.ip() {
            IpAddr::V4(ip) => bytes.extend_from_slice(&ip.octets()),
            IpAddr::V6(ip) => bytes.extend_from_slice(&ip.octets()),
        }
        bytes.extend_from_slice(&self.addr.port().to_be_bytes());
        bytes.extend_from_slice(&self.auth_key);
        let mut out = String::from(VERSION_PREFIX);
        PADDED_URL_SAFE.encode_string(&bytes, &mut out);
        out
    }
}
