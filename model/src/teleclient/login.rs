//! Logging a new account in (`tgcollector accounts login --phone P`): code, then the 2FA
//! password if the account has one, then the session file.
//!
//! The login runs over an in-memory grammers session, and the session file is written
//! only once Telegram has accepted the login, so a failed or abandoned attempt leaves
//! nothing half-made in `sessions/`. The prompts are a trait so the command can read the
//! terminal and tests can answer from code.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use grammers_client::{Client, SenderPool, SignInError};
use grammers_session::Session;
use grammers_session::storages::MemorySession;

use super::client::ClientConfig;
use super::error::LoginError;
use crate::session::SessionFile;

/// How many wrong 2FA passwords are forgiven before the login gives up.
const PASSWORD_TRIES: usize = 3;

/// Where the login asks the operator for what Telegram wants.
pub trait LoginPrompt {
    /// The code Telegram sent to the account's other devices (or by SMS).
    fn code(&mut self) -> std::io::Result<String>;
    /// The 2FA password; `hint` is the one the owner set, if any.
    fn password(&mut self, hint: Option<&str>) -> std::io::Result<String>;
}

/// Who logged in, and the file that now holds the account.
#[derive(Debug)]
pub struct LoggedIn {
    pub user_id: i64,
    pub first_name: Option<String>,
    pub username: Option<String>,
    pub path: PathBuf,
}

/// `+` and 7 to 15 digits (E.164); spaces, dashes and brackets are ignored. Returns the
/// digits with the `+`.
pub fn normalize_phone(phone: &str) -> Result<String, LoginError> {
    let kept: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = kept.strip_prefix('+').unwrap_or(&kept);
    if (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(format!("+{digits}"))
    } else {
        Err(LoginError::InvalidPhone {
            phone: phone.to_owned(),
        })
    }
}

/// The session file a phone's account is written to: `<digits>.session`.
pub fn session_path_for(sessions_dir: &Path, phone: &str) -> Result<PathBuf, LoginError> {
    let phone = normalize_phone(phone)?;
    Ok(sessions_dir.join(format!("{}.session", &phone[1..])))
}

/// Logs `phone` in over `session` (for Telegram, `MemorySession::default()`; tests pass
/// one preset for a simulator) and writes the account to `out` (mode 0600, never
/// overwriting).
pub async fn login(
    session: MemorySession,
    config: &ClientConfig,
    api_hash: &str,
    phone: &str,
    prompt: &mut impl LoginPrompt,
    out: &Path,
) -> Result<LoggedIn, LoginError> {
    let phone = normalize_phone(phone)?;
    if out.exists() {
        return Err(crate::session::SessionError::AlreadyExists {
            path: out.to_owned(),
        }
        .into());
    }
    let session = Arc::new(session);
    let pool = SenderPool::with_configuration(
        Arc::clone(&session),
        config.api_id,
        config.connection_params(),
    );
    let client = Client::new(pool.handle.clone());
    let sender = pool.handle.thin.clone();
    let runner = tokio::spawn(pool.runner.run());
    let outcome = sign_in(&client, api_hash, &phone, prompt).await;
    let result = match outcome {
        Ok(user) => write_session(&session, out, &user),
        Err(error) => Err(error),
    };
    sender.quit();
    runner.abort();
    result
}

async fn sign_in(
    client: &Client,
    api_hash: &str,
    phone: &str,
    prompt: &mut impl LoginPrompt,
) -> Result<grammers_client::peer::User, LoginError> {
    let token = client
        .request_login_code(phone, api_hash)
        .await
        .map_err(|error| LoginError::PhoneRefused {
            phone: phone.to_owned(),
            error,
        })?;
    let code = prompt.code().map_err(|source| LoginError::Prompt {
        what: "login code",
        source,
    })?;
    let mut password_token = match client.sign_in(&token, code.trim()).await {
        Ok(user) => return Ok(user),
        Err(SignInError::PasswordRequired(token)) => token,
        Err(SignInError::InvalidCode) => {
            return Err(LoginError::WrongCode {
                error: "PHONE_CODE_INVALID".into(),
            });
        }
        Err(SignInError::SignUpRequired) => return Err(LoginError::SignUpRequired),
        Err(SignInError::Other(error)) if error.is("PHONE_CODE_*") => {
            return Err(LoginError::WrongCode {
                error: error.to_string(),
            });
        }
        Err(SignInError::Other(error)) => return Err(LoginError::Invocation(error)),
        Err(SignInError::InvalidPassword(_)) => {
            return Err(LoginError::WrongPassword {
                error: "a password was refused before any was given".into(),
            });
        }
    };
    for attempt in 1..=PASSWORD_TRIES {
        let hint = password_token.hint().map(str::to_owned);
        let password = prompt
            .password(hint.as_deref())
            .map_err(|source| LoginError::Prompt {
                what: "2FA password",
                source,
            })?;
        match client
            .check_password(password_token, password.trim_end_matches(['\r', '\n']))
            .await
        {
            Ok(user) => return Ok(user),
            Err(SignInError::InvalidPassword(token)) if attempt < PASSWORD_TRIES => {
                password_token = token;
            }
            Err(SignInError::InvalidPassword(_)) => {
                return Err(LoginError::WrongPassword {
                    error: format!("PASSWORD_HASH_INVALID, {PASSWORD_TRIES} tries"),
                });
            }
            Err(SignInError::Other(error)) => return Err(LoginError::Invocation(error)),
            Err(other) => {
                return Err(LoginError::WrongPassword {
                    error: other.to_string(),
                });
            }
        }
    }
    Err(LoginError::WrongPassword {
        error: format!("{PASSWORD_TRIES} tries"),
    })
}

/// Copies the home DC, its key and the user from the in-memory session into a new file.
fn write_session(
    session: &MemorySession,
    out: &Path,
    user: &grammers_client::peer::User,
) -> Result<LoggedIn, LoginError> {
    let dc_id = session
        .home_dc_id()
        .map_err(|_| LoginError::NoAuthKey { dc_id: 0 })?;
    let option = session
        .dc_option(dc_id)
        .ok()
        .flatten()
        .ok_or(LoginError::NoAuthKey { dc_id })?;
    let auth_key = option.auth_key.ok_or(LoginError::NoAuthKey { dc_id })?;
    let user_id = user.id().bare_id().unwrap_or_default();
    let file = SessionFile::create(out, dc_id, std::net::SocketAddr::V4(option.ipv4), &auth_key)?;
    file.set_self_user(user_id, user.is_bot())?;
    Ok(LoggedIn {
        user_id,
        first_name: user.first_name().map(str::to_owned),
        username: user.username().map(str::to_owned),
        path: out.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(
            normalize_phone("+1 (555) 000-0001").unwrap(),
            "+15550000001"
        );
        assert_eq!(normalize_phone("15550000001").unwrap(), "+15550000001");
        let error = normalize_phone("12ab").unwrap_err().to_string();
        assert!(error.contains("expected + and 7 to 15 digits"), "{error}");
    }

    #[test]
    fn the_session_file_is_named_after_the_digits() {
        let path = session_path_for(Path::new("/s"), "+1 555 000 0001").unwrap();
        assert_eq!(path, Path::new("/s/15550000001.session"));
    }
}
