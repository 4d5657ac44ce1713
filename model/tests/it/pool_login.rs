//! `accounts login` against telesim: with a code, with a code and 2FA, and with a wrong
//! code; the file written must serve as a pool account.

use std::collections::VecDeque;
use std::sync::Arc;

use telesim::Sim;
use telesim::api::LOGIN_CODE;
use telesim::world::World;
use telesim::world::demo::{CAROL, CAROL_PASSWORD, DAVE};
use testkit::guarded;
use testkit::pool_setup::config;
use tgc_model::session::SessionFile;
use tgc_model::teleclient::{LoginError, LoginPrompt, TeleClient, login, session_path_for};

const API_HASH: &str = "b18441a1ff607e10a989891a5462e627";

/// Answers from a script and records what was asked.
struct Scripted {
    codes: VecDeque<&'static str>,
    passwords: VecDeque<&'static str>,
    asked_password: usize,
}

impl Scripted {
    fn new(codes: &[&'static str], passwords: &[&'static str]) -> Scripted {
        Scripted {
            codes: codes.iter().copied().collect(),
            passwords: passwords.iter().copied().collect(),
            asked_password: 0,
        }
    }
}

impl LoginPrompt for Scripted {
    fn code(&mut self) -> std::io::Result<String> {
        self.codes
            .pop_front()
            .map(str::to_owned)
            .ok_or_else(|| std::io::Error::other("no more codes"))
    }

    fn password(&mut self, _hint: Option<&str>) -> std::io::Result<String> {
        self.asked_password += 1;
        self.passwords
            .pop_front()
            .map(str::to_owned)
            .ok_or_else(|| std::io::Error::other("no more passwords"))
    }
}

/// The written file works: a pool account over it connects as the user that logged in.
async fn assert_works(path: &std::path::Path, user_id: i64) {
    let file = SessionFile::open(path).expect("the written session opens");
    assert_eq!(file.self_user().unwrap().map(|u| u.user_id), Some(user_id));
    let account = Arc::new(TeleClient::start(file, &config()).expect("a pool account"));
    guarded("connect", account.connect())
        .await
        .expect("it connects as the user");
}

/// One login attempt of a world account against a fresh telesim: the slot's pre-keyed session,
/// `phone` (the account's own when `None`), scripted answers, and where the file would go.
struct Attempt {
    result: Result<tgc_model::teleclient::LoggedIn, LoginError>,
    prompt: Scripted,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn attempt(
    user_id: i64,
    phone: Option<&str>,
    codes: &[&'static str],
    passwords: &[&'static str],
) -> Attempt {
    let sim = Sim::start(World::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let phone = phone.map_or_else(|| sim.account(user_id).unwrap().phone, str::to_owned);
    let out = session_path_for(dir.path(), &phone).unwrap();
    let mut prompt = Scripted::new(codes, passwords);
    let result = guarded(
        "login",
        login(
            sim.grammers_session(user_id),
            &config(),
            API_HASH,
            &phone,
            &mut prompt,
            &out,
        ),
    )
    .await;
    Attempt {
        result,
        prompt,
        out,
        _dir: dir,
    }
}

#[tokio::test]
async fn login_with_a_code_writes_a_working_session_file() {
    let attempt = attempt(DAVE, None, &[LOGIN_CODE], &[]).await;
    let logged_in = attempt.result.unwrap();
    assert_eq!(logged_in.user_id, DAVE);
    assert_eq!(logged_in.path, attempt.out);
    assert_eq!(
        attempt.prompt.asked_password, 0,
        "no 2FA, no password asked"
    );
    assert_works(&attempt.out, DAVE).await;
}

#[tokio::test]
async fn login_with_2fa_asks_for_the_password_and_forgives_a_typo() {
    let attempt = attempt(CAROL, None, &[LOGIN_CODE], &["hunter3", CAROL_PASSWORD]).await;
    let logged_in = attempt.result.unwrap();
    assert_eq!(logged_in.user_id, CAROL);
    assert_eq!(attempt.prompt.asked_password, 2);
    assert_works(&attempt.out, CAROL).await;
}

#[tokio::test]
async fn a_wrong_code_is_a_clear_error_and_writes_nothing() {
    let attempt = attempt(DAVE, None, &["00000"], &[]).await;
    let error = attempt.result.unwrap_err();
    assert!(matches!(error, LoginError::WrongCode { .. }), "{error:?}");
    assert!(error.to_string().contains("login code is wrong"), "{error}");
    assert!(!attempt.out.exists(), "a failed login leaves no file");
}

#[tokio::test]
async fn a_wrong_password_three_times_is_a_clear_error() {
    let attempt = attempt(CAROL, None, &[LOGIN_CODE], &["a", "b", "c"]).await;
    let error = attempt.result.unwrap_err();
    assert!(
        matches!(error, LoginError::WrongPassword { .. }),
        "{error:?}"
    );
    assert!(!attempt.out.exists());
}

#[tokio::test]
async fn an_unknown_phone_is_refused_by_telegram() {
    let attempt = attempt(DAVE, Some("+19999999999"), &[LOGIN_CODE], &[]).await;
    let error = attempt.result.unwrap_err();
    assert!(
        matches!(error, LoginError::PhoneRefused { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("PHONE_NUMBER_INVALID"),
        "{error}"
    );
    assert!(!attempt.out.exists());
}
