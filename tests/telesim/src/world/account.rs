//! Account credentials: deterministic auth keys and what tests and session writers need.
//!
//! Auth keys are derived from `(seed, user_id)` so a world file need not carry 256 random bytes
//! per account, and a test can recompute them.

use super::{Account, World};
use sha1::{Digest, Sha1};

/// What the server layer and tests need to know about one account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInfo {
    pub user_id: i64,
    pub auth_key: [u8; 256],
    pub auth_key_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub phone: String,
    /// `false` for a pre-keyed slot that must log in (`auth.sendCode`/`signIn`) first.
    pub logged_in: bool,
    /// The 2FA password, if any.
    pub password: Option<String>,
}

impl AccountInfo {
    pub(crate) fn of(world: &World, account: &Account) -> AccountInfo {
        let user = world.users.get(&account.user_id);
        let auth_key = world.auth_key(account);
        AccountInfo {
            user_id: account.user_id,
            auth_key,
            auth_key_id: auth_key_id(&auth_key),
            first_name: user.map(|u| u.first_name.clone()).unwrap_or_default(),
            last_name: user.and_then(|u| u.last_name.clone()),
            username: user.and_then(|u| u.username.clone()),
            phone: account.phone.clone(),
            logged_in: account.logged_in,
            password: account.password.clone(),
        }
    }
}

/// MTProto's key id: the low 64 bits of SHA1(key), i.e. bytes 12..20 read little-endian.
pub fn auth_key_id(key: &[u8; 256]) -> i64 {
    let digest = Sha1::digest(key);
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[12..20]);
    i64::from_le_bytes(id)
}

/// The auth key of `user_id` in a world of this seed.
pub fn auth_key_for(seed: u64, user_id: i64) -> [u8; 256] {
    let mut key = [0u8; 256];
    let mut stream =
        crate::world::media::KeyStream::new(seed ^ 0x6175_7468_6b65_7921, user_id as u64);
    stream.fill(&mut key);
    key
}

pub(crate) fn parse_key_hex(hex: &str) -> Option<[u8; 256]> {
    let hex = hex.trim();
    if hex.len() != 512 {
        return None;
    }
    let mut key = [0u8; 256];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}
