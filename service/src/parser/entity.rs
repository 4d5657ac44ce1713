//! Text formatting entities: type, offset and length exactly as Telegram gives them (UTF-16
//! code units), the type's own fields (url, user id, language, …), and the text they cover.
//!
//! Offsets stay in UTF-16 units because every Telegram client and library speaks them; the
//! covered `text` is added so a consumer in a language with other string units (Python,
//! Rust) never has to convert. An entity whose range does not fit the text, or cuts a
//! surrogate pair in half, keeps its offsets and gets `text: null`.

use serde::Serialize;
use tgc_model::teleclient::tl;

/// One entry of the schema's `entities` array: the type, its range, the text it covers, and
/// the fields of its type (present only for that type).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Entity<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    offset: i32,
    length: i32,
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collapsed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_text: Option<&'a str>,
}

/// The schema's `entities` array for a message's text.
pub(crate) fn entities<'a>(
    text: &str,
    entities: Option<&'a [tl::enums::MessageEntity]>,
) -> Vec<Entity<'a>> {
    let Some(entities) = entities else {
        return Vec::new();
    };
    let units: Vec<u16> = text.encode_utf16().collect();
    entities.iter().map(|e| entity(&units, e)).collect()
}

fn entity<'a>(units: &[u16], entity: &'a tl::enums::MessageEntity) -> Entity<'a> {
    use tl::enums::MessageEntity as E;
    let mut out = Entity::default();
    let (kind, offset, length) = match entity {
        E::Unknown(e) => ("unknown", e.offset, e.length),
        E::Mention(e) => ("mention", e.offset, e.length),
        E::Hashtag(e) => ("hashtag", e.offset, e.length),
        E::BotCommand(e) => ("bot_command", e.offset, e.length),
        E::Url(e) => ("url", e.offset, e.length),
        E::Email(e) => ("email", e.offset, e.length),
        E::Bold(e) => ("bold", e.offset, e.length),
        E::Italic(e) => ("italic", e.offset, e.length),
        E::Code(e) => ("code", e.offset, e.length),
        E::Pre(e) => {
            out.language = Some(&e.language);
            ("pre", e.offset, e.length)
        }
        E::TextUrl(e) => {
            out.url = Some(&e.url);
            ("text_url", e.offset, e.length)
        }
        E::MentionName(e) => {
            out.user_id = Some(e.user_id);
            ("mention_name", e.offset, e.length)
        }
        // Only ever sent by clients; named the same as the form Telegram sends back.
        E::InputMessageEntityMentionName(e) => {
            if let tl::enums::InputUser::User(user) = &e.user_id {
                out.user_id = Some(user.user_id);
            }
            ("mention_name", e.offset, e.length)
        }
        E::Phone(e) => ("phone", e.offset, e.length),
        E::Cashtag(e) => ("cashtag", e.offset, e.length),
        E::Underline(e) => ("underline", e.offset, e.length),
        E::Strike(e) => ("strike", e.offset, e.length),
        E::BankCard(e) => ("bank_card", e.offset, e.length),
        E::Spoiler(e) => ("spoiler", e.offset, e.length),
        E::CustomEmoji(e) => {
            out.document_id = Some(e.document_id);
            ("custom_emoji", e.offset, e.length)
        }
        E::Blockquote(e) => {
            out.collapsed = Some(e.collapsed);
            ("blockquote", e.offset, e.length)
        }
        E::FormattedDate(e) => {
            out.date = Some(e.date);
            ("formatted_date", e.offset, e.length)
        }
        E::DiffInsert(e) => ("diff_insert", e.offset, e.length),
        E::DiffReplace(e) => {
            out.old_text = Some(&e.old_text);
            ("diff_replace", e.offset, e.length)
        }
        E::DiffDelete(e) => ("diff_delete", e.offset, e.length),
        E::TonAddress(e) => ("ton_address", e.offset, e.length),
    };
    Entity {
        kind,
        offset,
        length,
        text: covered(units, offset, length),
        ..out
    }
}

/// The text `offset..offset + length` (UTF-16 units) covers, if that is a whole string.
fn covered(units: &[u16], offset: i32, length: i32) -> Option<String> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(length).ok()?)?;
    String::from_utf16(units.get(start..end)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(text: &str) -> Vec<u16> {
        text.encode_utf16().collect()
    }

    #[test]
    fn offsets_count_utf16_units_so_an_emoji_takes_two() {
        let text = units("🙂 bold");
        assert_eq!(covered(&text, 3, 4).as_deref(), Some("bold"));
        assert_eq!(covered(&text, 0, 2).as_deref(), Some("🙂"));
    }

    #[test]
    fn a_range_cutting_a_surrogate_pair_or_past_the_end_covers_nothing() {
        let text = units("🙂 bold");
        assert_eq!(covered(&text, 1, 2), None, "starts inside the emoji");
        assert_eq!(covered(&text, 3, 5), None, "one unit past the end");
        assert_eq!(covered(&text, -1, 2), None);
        assert_eq!(covered(&text, 0, -1), None);
        assert_eq!(covered(&text, i32::MAX, i32::MAX), None);
    }
}
