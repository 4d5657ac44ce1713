//! grammers against telesim: logging in on a pre-keyed session that has no user yet, with and
//! without a 2FA password, through `auth.sendCode`/`signIn`/`checkPassword`.

use grammers_client::SignInError;
use telesim::Sim;
use telesim::api::LOGIN_CODE;
use telesim::counters::NO_ACCOUNT;
use telesim::world::World;
use telesim::world::demo::{CAROL, CAROL_PASSWORD, DAVE};
use testkit::connected::{connect, rpc_error};
use testkit::guarded;

#[tokio::test]
async fn a_pre_keyed_slot_logs_in_with_the_code() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let dave = connect(&sim, DAVE);
    let authorized = guarded("is_authorized", dave.client.is_authorized()).await;
    assert!(matches!(authorized, Ok(false)), "{authorized:?}");
    assert_eq!(
        rpc_error(guarded("get_me", dave.client.get_me()).await),
        (401, "AUTH_KEY_UNREGISTERED".to_string(), None)
    );

    let phone = sim.account(DAVE).unwrap().phone;
    let token = guarded("sendCode", dave.client.request_login_code(&phone, "hash"))
        .await
        .unwrap();
    let wrong = guarded("signIn", dave.client.sign_in(&token, "00000")).await;
    assert!(matches!(wrong, Err(SignInError::InvalidCode)), "{wrong:?}");
    let user = guarded("signIn", dave.client.sign_in(&token, LOGIN_CODE))
        .await
        .unwrap();
    assert_eq!(user.id().bare_id(), Some(DAVE));

    // The key is bound now: calls count under Dave, and the account shows as logged in.
    let me = guarded("get_me", dave.client.get_me()).await.unwrap();
    assert_eq!(me.id().bare_id(), Some(DAVE));
    assert!(sim.account(DAVE).unwrap().logged_in);
    assert_eq!(sim.counters.get(NO_ACCOUNT, "auth.sendCode"), 1);
    assert!(sim.counters.get(DAVE, "users.getUsers") >= 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_slot_with_2fa_needs_the_password_after_the_code() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let carol = connect(&sim, CAROL);
    let phone = sim.account(CAROL).unwrap().phone;
    let token = guarded("sendCode", carol.client.request_login_code(&phone, "hash"))
        .await
        .unwrap();
    let password_token = match guarded("signIn", carol.client.sign_in(&token, LOGIN_CODE)).await {
        Err(SignInError::PasswordRequired(token)) => token,
        other => panic!("expected SESSION_PASSWORD_NEEDED, got {other:?}"),
    };
    let user = guarded(
        "checkPassword",
        carol.client.check_password(password_token, CAROL_PASSWORD),
    )
    .await
    .unwrap();
    assert_eq!(user.id().bare_id(), Some(CAROL));
    let me = guarded("get_me", carol.client.get_me()).await.unwrap();
    assert_eq!(me.id().bare_id(), Some(CAROL));
    sim.shutdown().await;
}
