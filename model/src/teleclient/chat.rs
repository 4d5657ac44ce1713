//! What a caller may name a chat by, normalised once so the rest of the pool compares
//! like with like.
//!
//! The forms accepted are those of the API: `@name`, `name`, `t.me/name`,
//! `https://t.me/name/123`, or a numeric id in Bot API form (`-100…` for channels).
//! Usernames are case-insensitive in Telegram, so they are lower-cased here, and the
//! lower-cased form is also the rendezvous key.

use std::fmt;

use grammers_session::types::PeerId;

/// A chat as the caller named it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChatRef {
    /// A public username, lower-case, without `@`.
    Username(String),
    /// A peer by id.
    Id(PeerId),
}

/// The forms, for error messages.
pub const ACCEPTED_FORMS: &str =
    "@name, name, t.me/name, https://t.me/name/123, or a numeric id (-100… for channels)";

/// A chat given in a form the pool does not accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChatError {
    #[error("{input:?} is not a chat: {reason}; expected {ACCEPTED_FORMS}")]
    Invalid { input: String, reason: String },
}

impl ChatRef {
    /// Parses any accepted form; surrounding blanks are ignored.
    pub fn parse(input: &str) -> Result<ChatRef, ChatError> {
        let text = input.trim();
        let invalid = |reason: &str| ChatError::Invalid {
            input: quoted(input),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        if let Some(digits) = text.strip_prefix('-').unwrap_or(text).chars().next()
            && digits.is_ascii_digit()
        {
            let id: i64 = text
                .parse()
                .map_err(|_| invalid("it starts like a number but is not a whole number"))?;
            let peer = PeerId::from_bot_api_dialog_id(id)
                .ok_or_else(|| invalid("the number is not a valid Telegram peer id"))?;
            return Ok(ChatRef::Id(peer));
        }
        let name = strip_link(text).ok_or_else(|| invalid("the link is not a t.me link"))?;
        if name.starts_with('+') || (name.eq_ignore_ascii_case("joinchat") && name != text) {
            return Err(invalid(
                "invite links (t.me/+…, t.me/joinchat/…) are not accepted: have an account join \
                 the chat in a Telegram app, then name it by its id",
            ));
        }
        let name = name.strip_prefix('@').unwrap_or(name);
        if !is_username(name) {
            return Err(invalid(
                "a username has 4 to 32 letters, digits or underscores and starts with a letter",
            ));
        }
        Ok(ChatRef::Username(name.to_ascii_lowercase()))
    }

    /// The key rendezvous hashing uses: the username, or `#` and the Bot API id (a `#`
    /// cannot start a username, so the two never collide).
    pub fn key(&self) -> String {
        match self {
            ChatRef::Username(name) => name.clone(),
            ChatRef::Id(peer) => format!("#{}", peer.bot_api_dialog_id_unchecked()),
        }
    }
}

impl fmt::Display for ChatRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatRef::Username(name) => write!(f, "@{name}"),
            ChatRef::Id(peer) => write!(f, "{}", peer.bot_api_dialog_id_unchecked()),
        }
    }
}

/// The username part of a `t.me` link, or the text itself when it is no link; `None`
/// for a link to another host.
fn strip_link(text: &str) -> Option<&str> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let has_scheme = rest.is_some();
    let rest = rest.unwrap_or(text);
    let host_and_path = ["t.me/", "telegram.me/", "www.t.me/", "telegram.dog/"]
        .iter()
        .find_map(|host| {
            rest.get(..host.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(host))
                .map(|_| &rest[host.len()..])
        });
    match host_and_path {
        // The first path segment is the name; a message id or query may follow.
        Some(path) => path.split(['/', '?', '#']).next(),
        None if has_scheme || text.contains('/') => None,
        None => Some(text),
    }
}

/// The longest part of a bad input an error quotes: enough to recognise it, never a
/// client's whole 10 KB back at it.
const QUOTED_CHARS: usize = 40;

fn quoted(input: &str) -> String {
    if input.chars().count() <= QUOTED_CHARS {
        input.to_owned()
    } else {
        format!("{}…", input.chars().take(QUOTED_CHARS).collect::<String>())
    }
}

fn is_username(name: &str) -> bool {
    (4..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn username(text: &str) -> ChatRef {
        ChatRef::Username(text.to_string())
    }

    #[test]
    fn invite_links_are_refused_by_name() {
        for input in [
            "https://t.me/+AbCdEf123",
            "t.me/joinchat/AbCdEf123",
            "https://telegram.me/joinchat/AbCdEf123",
            "+AbCdEf123",
        ] {
            let error = ChatRef::parse(input).unwrap_err().to_string();
            assert!(error.contains("invite links"), "{input}: {error}");
        }
    }

    #[test]
    fn an_error_quotes_at_most_the_start_of_a_long_input() {
        let long = format!("https://example.com/{}", "x".repeat(10_000));
        let error = ChatRef::parse(&long).unwrap_err().to_string();
        assert!(error.len() < 400, "{} bytes: {error}", error.len());
        assert!(error.contains("https://example.com/xx"), "{error}");
    }

    #[test]
    fn every_accepted_form_of_a_username_gives_the_same_chat() {
        for input in [
            "@Durov",
            "durov",
            "  durov ",
            "t.me/durov",
            "https://t.me/durov/123",
            "http://telegram.me/Durov?start=1",
        ] {
            assert_eq!(ChatRef::parse(input).unwrap(), username("durov"), "{input}");
        }
    }

    #[test]
    fn numeric_ids_follow_the_bot_api_form() {
        assert_eq!(
            ChatRef::parse("-1001234567890").unwrap(),
            ChatRef::Id(PeerId::channel(1234567890).unwrap())
        );
        assert_eq!(
            ChatRef::parse("777").unwrap(),
            ChatRef::Id(PeerId::user(777).unwrap())
        );
        assert_eq!(
            ChatRef::parse("-500").unwrap(),
            ChatRef::Id(PeerId::chat(500).unwrap())
        );
    }

    #[test]
    fn wrong_forms_are_refused_with_the_reason() {
        for (input, reason) in [
            ("", "empty"),
            ("12ab", "whole number"),
            ("https://example.com/durov", "t.me"),
            ("a b", "username"),
            ("_durov", "starts with a letter"),
            ("abc", "4 to 32"),
            ("0", "valid Telegram peer id"),
        ] {
            let error = ChatRef::parse(input).unwrap_err().to_string();
            assert!(error.contains(reason), "{input:?}: {error}");
            assert!(
                error.contains(ACCEPTED_FORMS),
                "{input:?} names the forms: {error}"
            );
        }
    }

    #[test]
    fn keys_of_names_and_ids_never_collide() {
        assert_eq!(username("durov").key(), "durov");
        assert_eq!(ChatRef::parse("-1001").unwrap().key(), "#-1001");
    }
}
