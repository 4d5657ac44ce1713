//! Logging in on a pre-keyed slot: `auth.sendCode` → `auth.signIn` → (2FA) `account.getPassword`
//! → `auth.checkPassword`, binding the key to the account's user.
//!
//! The code is always [`LOGIN_CODE`]. 2FA uses Telegram's SRP
//! (`passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow`) over the RFC 3526
//! 2048-bit safe prime with g = 2, which passes grammers' `check_p_and_g`; the server side below
//! mirrors grammers-crypto's `calculate_2fa` (<https://core.telegram.org/api/srp>).

use super::CallContext;
use super::RpcError;
use super::state::{LoginFlow, SrpSession, State};
use crate::world::media_splitmix as mix;
use grammers_tl_types::{enums, functions, types};
use num_bigint::BigUint;
use sha2::{Digest, Sha256};

/// The login code every phone receives.
pub const LOGIN_CODE: &str = "12345";

/// RFC 3526 group 14 (2048-bit MODP): a safe prime with p ≡ 7 (mod 8), so g = 2 is valid.
const PRIME_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879",
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B",
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836",
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804",
    "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6",
    "955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF"
);
const G: u32 = 2;

impl State {
    pub(crate) fn send_code(
        &mut self,
        ctx: &CallContext,
        request: functions::auth::SendCode,
    ) -> Result<enums::auth::SentCode, RpcError> {
        let phone = normalize(&request.phone_number);
        if !self
            .world
            .accounts
            .iter()
            .any(|a| normalize(&a.phone) == phone)
        {
            return Err(RpcError::bad_request("PHONE_NUMBER_INVALID"));
        }
        let phone_code_hash = format!(
            "{:016x}",
            mix(ctx.auth_key_id as u64 ^ mix(self.clock as u64))
        );
        self.logins.insert(
            ctx.auth_key_id,
            LoginFlow {
                phone,
                phone_code_hash: phone_code_hash.clone(),
                awaiting_password: None,
            },
        );
        Ok(enums::auth::SentCode::Code(types::auth::SentCode {
            r#type: enums::auth::SentCodeType::App(types::auth::SentCodeTypeApp {
                length: LOGIN_CODE.len() as i32,
            }),
            phone_code_hash,
            next_type: None,
            timeout: None,
        }))
    }

    pub(crate) fn sign_in(
        &mut self,
        ctx: &CallContext,
        request: functions::auth::SignIn,
    ) -> Result<enums::auth::Authorization, RpcError> {
        if request.phone_code_hash.is_empty() {
            return Err(RpcError::bad_request("PHONE_CODE_HASH_EMPTY"));
        }
        let flow = self
            .logins
            .get(&ctx.auth_key_id)
            .cloned()
            .ok_or_else(|| RpcError::bad_request("PHONE_CODE_EXPIRED"))?;
        if flow.phone_code_hash != request.phone_code_hash {
            return Err(RpcError::bad_request("PHONE_CODE_EXPIRED"));
        }
        if flow.phone != normalize(&request.phone_number) {
            return Err(RpcError::bad_request("PHONE_NUMBER_INVALID"));
        }
        let code = request
            .phone_code
            .ok_or_else(|| RpcError::bad_request("PHONE_CODE_EMPTY"))?;
        if code != LOGIN_CODE {
            return Err(RpcError::bad_request("PHONE_CODE_INVALID"));
        }
        let account = self
            .world
            .accounts
            .iter()
            .find(|a| normalize(&a.phone) == flow.phone)
            .cloned()
            .ok_or_else(|| RpcError::bad_request("PHONE_NUMBER_UNOCCUPIED"))?;
        if account.password.is_some() {
            if let Some(flow) = self.logins.get_mut(&ctx.auth_key_id) {
                flow.awaiting_password = Some(account.user_id);
            }
            return Err(RpcError::unauthorized("SESSION_PASSWORD_NEEDED"));
        }
        Ok(self.bind(ctx.auth_key_id, account.user_id))
    }

    pub(crate) fn get_password(
        &mut self,
        ctx: &CallContext,
    ) -> Result<enums::account::Password, RpcError> {
        let user = self
            .logins
            .get(&ctx.auth_key_id)
            .and_then(|f| f.awaiting_password)
            .or_else(|| self.user_of_key(ctx.auth_key_id));
        let password = user
            .and_then(|u| self.world.accounts.iter().find(|a| a.user_id == u))
            .and_then(|a| a.password.clone());
        let secure_random = mix(ctx.auth_key_id as u64).to_le_bytes().repeat(32);
        let (Some(user_id), Some(password)) = (user, password) else {
            return Ok(enums::account::Password::Password(
                types::account::Password {
                    has_recovery: false,
                    has_secure_values: false,
                    has_password: false,
                    current_algo: None,
                    srp_b: None,
                    srp_id: None,
                    hint: None,
                    email_unconfirmed_pattern: None,
                    new_algo: enums::PasswordKdfAlgo::Unknown,
                    new_secure_algo: enums::SecurePasswordKdfAlgo::Unknown,
                    secure_random,
                    pending_reset_date: None,
                    login_email_pattern: None,
                },
            ));
        };
        let p = prime();
        let salt1 = mix(user_id as u64 ^ 0x5a17).to_le_bytes().to_vec();
        let salt2 = [
            mix(user_id as u64 ^ 0x5a27).to_le_bytes(),
            mix(user_id as u64 ^ 0x5a37).to_le_bytes(),
        ]
        .concat();
        let g = BigUint::from(G);
        // PBKDF2 with 100,000 rounds is slow: compute each account's verifier once.
        let v = self
            .verifiers
            .entry(user_id)
            .or_insert_with(|| {
                g.modpow(
                    &BigUint::from_bytes_be(&ph2(password.as_bytes(), &salt1, &salt2)),
                    &p,
                )
            })
            .clone();
        let nonce = mix(ctx.auth_key_id as u64 ^ mix(self.clock as u64) ^ self.srp.len() as u64);
        let b_bytes: Vec<u8> = (0..32u64)
            .flat_map(|i| mix(nonce ^ i).to_le_bytes())
            .collect();
        let b = BigUint::from_bytes_be(&b_bytes);
        let k = BigUint::from_bytes_be(&h(&[&pad(&p.to_bytes_be()), &pad(&[G as u8])]));
        let g_b_num = (k * &v + g.modpow(&b, &p)) % &p;
        let g_b = pad(&g_b_num.to_bytes_be());
        let srp_id = nonce as i64;
        self.srp.insert(
            ctx.auth_key_id,
            SrpSession {
                user_id,
                srp_id,
                b,
                g_b,
                v,
                salt1: salt1.clone(),
                salt2: salt2.clone(),
            },
        );
        Ok(enums::account::Password::Password(
            types::account::Password {
                has_recovery: false,
                has_secure_values: false,
                has_password: true,
                current_algo: Some(
                    enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(
                        types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
                            salt1,
                            salt2,
                            g: G as i32,
                            p: pad(&p.to_bytes_be()).to_vec(),
                        },
                    ),
                ),
                srp_b: Some(g_b.to_vec()),
                srp_id: Some(srp_id),
                hint: None,
                email_unconfirmed_pattern: None,
                new_algo: enums::PasswordKdfAlgo::Unknown,
                new_secure_algo: enums::SecurePasswordKdfAlgo::Unknown,
                secure_random,
                pending_reset_date: None,
                login_email_pattern: None,
            },
        ))
    }

    pub(crate) fn check_password(
        &mut self,
        ctx: &CallContext,
        request: functions::auth::CheckPassword,
    ) -> Result<enums::auth::Authorization, RpcError> {
        let enums::InputCheckPasswordSrp::Srp(input) = request.password else {
            return Err(RpcError::bad_request("PASSWORD_HASH_INVALID"));
        };
        let session = self
            .srp
            .get(&ctx.auth_key_id)
            .ok_or_else(|| RpcError::bad_request("SRP_ID_INVALID"))?;
        if session.srp_id != input.srp_id {
            return Err(RpcError::bad_request("SRP_ID_INVALID"));
        }
        let p = prime();
        let g_a_num = BigUint::from_bytes_be(&input.a);
        if g_a_num == BigUint::ZERO || g_a_num >= p {
            return Err(RpcError::bad_request("SRP_A_INVALID"));
        }
        let g_a = pad(&input.a);
        let u = BigUint::from_bytes_be(&h(&[&g_a, &session.g_b]));
        // S = (A · v^u)^b mod p; the client computes the same as (B − k·v)^(a + u·x).
        let s = (&g_a_num * session.v.modpow(&u, &p) % &p).modpow(&session.b, &p);
        let k_a = h(&[&pad(&s.to_bytes_be())]);
        let h_p = h(&[&pad(&p.to_bytes_be())]);
        let h_g = h(&[&pad(&[G as u8])]);
        let xored: Vec<u8> = h_p.iter().zip(h_g.iter()).map(|(a, b)| a ^ b).collect();
        let m1 = h(&[
            &xored,
            &h(&[&session.salt1]),
            &h(&[&session.salt2]),
            &g_a,
            &session.g_b,
            &k_a,
        ]);
        if input.m1 != m1 {
            return Err(RpcError::bad_request("PASSWORD_HASH_INVALID"));
        }
        let user_id = session.user_id;
        self.srp.remove(&ctx.auth_key_id);
        Ok(self.bind(ctx.auth_key_id, user_id))
    }

    /// Binds the key to the user and answers `auth.authorization`.
    fn bind(&mut self, key_id: i64, user_id: i64) -> enums::auth::Authorization {
        if let Some(slot) = self.slots.get_mut(&key_id) {
            slot.bound = Some(user_id);
        }
        self.logins.remove(&key_id);
        enums::auth::Authorization::Authorization(types::auth::Authorization {
            setup_password_required: false,
            otherwise_relogin_days: None,
            tmp_sessions: None,
            future_auth_token: None,
            user: self.tl_user(user_id, user_id),
        })
    }
}

fn normalize(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

fn prime() -> BigUint {
    // The constant is valid hex; parse_bytes only fails on invalid digits.
    BigUint::parse_bytes(PRIME_HEX.as_bytes(), 16).unwrap_or_default()
}

fn pad(bytes: &[u8]) -> [u8; 256] {
    let mut out = [0u8; 256];
    let take = bytes.len().min(256);
    out[256 - take..].copy_from_slice(&bytes[bytes.len() - take..]);
    out
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// PH2(password, salt1, salt2) := SH(pbkdf2(sha512, PH1(password, salt1, salt2), salt1, 100000), salt2)
fn ph2(password: &[u8], salt1: &[u8], salt2: &[u8]) -> [u8; 32] {
    let sh = |data: &[u8], salt: &[u8]| h(&[salt, data, salt]);
    let ph1 = sh(&sh(password, salt1), salt2);
    let mut dk = [0u8; 64];
    // HMAC accepts keys of any length, so this cannot fail.
    let _ = pbkdf2::pbkdf2::<hmac::Hmac<sha2_011::Sha512>>(&ph1, salt1, 100_000, &mut dk);
    sh(&dk, salt2)
}
