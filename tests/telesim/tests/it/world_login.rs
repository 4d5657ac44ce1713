//! Logging in on pre-keyed slots: code, wrong code, and 2FA through SRP computed the way
//! grammers computes it (`grammers_crypto::two_factor_auth`).

use crate::world_support::*;
use grammers_crypto::two_factor_auth::{calculate_2fa, check_p_and_g};
use grammers_tl_types::{enums, functions, types};
use telesim::api::{LOGIN_CODE, Telegram};
use telesim::world::World;
use telesim::world::demo::{CAROL, CAROL_PASSWORD, DAVE};

fn send_code(tg: &Telegram, key: i64, phone: &str) -> String {
    let request = functions::auth::SendCode {
        phone_number: phone.into(),
        api_id: 1,
        api_hash: "x".into(),
        settings: enums::CodeSettings::Settings(types::CodeSettings {
            allow_flashcall: false,
            current_number: false,
            allow_app_hash: false,
            allow_missed_call: false,
            allow_firebase: false,
            unknown_number: false,
            logout_tokens: None,
            token: None,
            app_sandbox: None,
        }),
    };
    let enums::auth::SentCode::Code(sent) = call_key(tg, key, &request).unwrap() else {
        panic!("expected auth.sentCode")
    };
    sent.phone_code_hash
}

fn sign_in(phone: &str, hash: &str, code: &str) -> functions::auth::SignIn {
    functions::auth::SignIn {
        phone_number: phone.into(),
        phone_code_hash: hash.into(),
        phone_code: Some(code.into()),
        email_verification: None,
    }
}

#[test]
fn a_slot_without_2fa_logs_in_with_the_code() {
    let tg = Telegram::new(World::demo());
    let key = key_of(&tg, DAVE);
    let hash = send_code(&tg, key, "+15550001004");
    let wrong = call_key(&tg, key, &sign_in("+15550001004", &hash, "00000")).unwrap_err();
    assert_eq!(
        (wrong.code, wrong.message.as_str()),
        (400, "PHONE_CODE_INVALID")
    );
    let expired = call_key(
        &tg,
        key,
        &sign_in("+15550001004", "not-the-hash", LOGIN_CODE),
    )
    .unwrap_err();
    assert_eq!(expired.message, "PHONE_CODE_EXPIRED");
    let enums::auth::Authorization::Authorization(auth) =
        call_key(&tg, key, &sign_in("+15550001004", &hash, LOGIN_CODE)).unwrap()
    else {
        panic!("expected auth.authorization")
    };
    assert!(matches!(auth.user, enums::User::User(u) if u.id == DAVE && u.is_self));
    assert_eq!(tg.account_of(key), Some(DAVE));
    assert!(call(&tg, DAVE, &functions::updates::GetState {}).is_ok());
    assert!(
        tg.accounts()
            .iter()
            .any(|a| a.user_id == DAVE && a.logged_in)
    );
}

#[test]
fn an_unknown_phone_is_refused() {
    let tg = Telegram::new(World::demo());
    let key = key_of(&tg, DAVE);
    let request = functions::auth::SendCode {
        phone_number: "+19999999999".into(),
        api_id: 1,
        api_hash: "x".into(),
        settings: enums::CodeSettings::Settings(types::CodeSettings {
            allow_flashcall: false,
            current_number: false,
            allow_app_hash: false,
            allow_missed_call: false,
            allow_firebase: false,
            unknown_number: false,
            logout_tokens: None,
            token: None,
            app_sandbox: None,
        }),
    };
    assert_eq!(
        call_key(&tg, key, &request).unwrap_err().message,
        "PHONE_NUMBER_INVALID"
    );
}

/// Runs the client side of SRP like grammers' `check_password`.
fn check_password(
    tg: &Telegram,
    key: i64,
    password: &str,
) -> Result<enums::auth::Authorization, telesim::api::RpcError> {
    let enums::account::Password::Password(params) =
        call_key(tg, key, &functions::account::GetPassword {}).unwrap();
    assert!(params.has_password);
    let Some(enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(algo)) =
        params.current_algo
    else {
        panic!("expected the SRP algorithm")
    };
    assert!(
        check_p_and_g(&algo.p, &algo.g),
        "grammers accepts the group"
    );
    let a = vec![7u8; 256];
    let (m1, g_a) = calculate_2fa(
        &algo.salt1,
        &algo.salt2,
        &algo.p,
        &algo.g,
        params.srp_b.unwrap(),
        a,
        password,
    );
    call_key(
        tg,
        key,
        &functions::auth::CheckPassword {
            password: enums::InputCheckPasswordSrp::Srp(types::InputCheckPasswordSrp {
                srp_id: params.srp_id.unwrap(),
                a: g_a.to_vec(),
                m1: m1.to_vec(),
            }),
        },
    )
}

#[test]
fn a_slot_with_2fa_needs_the_password_checked_through_srp() {
    let tg = Telegram::new(World::demo());
    let key = key_of(&tg, CAROL);
    let hash = send_code(&tg, key, "+15550001003");
    let needed = call_key(&tg, key, &sign_in("+15550001003", &hash, LOGIN_CODE)).unwrap_err();
    assert_eq!(
        (needed.code, needed.message.as_str()),
        (401, "SESSION_PASSWORD_NEEDED")
    );
    assert_eq!(tg.account_of(key), None);
    let wrong = check_password(&tg, key, "not-it").unwrap_err();
    assert_eq!(
        (wrong.code, wrong.message.as_str()),
        (400, "PASSWORD_HASH_INVALID")
    );
    assert_eq!(tg.account_of(key), None);
    let enums::auth::Authorization::Authorization(auth) =
        check_password(&tg, key, CAROL_PASSWORD).unwrap()
    else {
        panic!("expected auth.authorization")
    };
    assert!(matches!(auth.user, enums::User::User(u) if u.id == CAROL));
    assert_eq!(tg.account_of(key), Some(CAROL));
}
