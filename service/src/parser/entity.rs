//! Text formatting entities: type, offset and length exactly as Telegram gives them (UTF-16
//! code units), the type's own fields (url, user id, language, …), and the text they cover.
//!
//! Offsets stay in UTF-16 units because every Telegram client and library speaks them; the
//! covered `text` is added so a consumer in a language with other string units (Python,
//! Rust) never has to convert. An entity whose range does not fit the text, or cuts a
//! surrogate pair in half, keeps its offsets and gets `text: null`.

use serde_json::{Map, Value, json};
use tgc_model::teleclient::tl;

/// The schema's `entities` array for a message's text.
pub(crate) fn entities_json(
    text: &str,
    entities: Option<&[tl::enums::MessageEntity]>,
) -> Vec<Value> {
    let Some(entities) = entities else {
        return Vec::new();
    };
    let units: Vec<u16> = text.encode_utf16().collect();
    entities.iter().map(|e| entity_json(&units, e)).collect()
}

fn entity_json(units: &[u16], entity: &tl::enums::MessageEntity) -> Value {
    use tl::enums::MessageEntity as E;
    let mut extra = Map::new();
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
            extra.insert("language".into(), json!(e.language));
            ("pre", e.offset, e.length)
        }
        E::TextUrl(e) => {
            extra.insert("url".into(), json!(e.url));
            ("text_url", e.offset, e.length)
        }
        E::MentionName(e) => {
            extra.insert("user_id".into(), json!(e.user_id));
            ("mention_name", e.offset, e.length)
        }
        // Only ever sent by clients; named the same as the form Telegram sends back.
        E::InputMessageEntityMentionName(e) => {
            if let tl::enums::InputUser::User(user) = &e.user_id {
                extra.insert("user_id".into(), json!(user.user_id));
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
            extra.insert("document_id".into(), json!(e.document_id));
            ("custom_emoji", e.offset, e.length)
        }
        E::Blockquote(e) => {
            extra.insert("collapsed".into(), json!(e.collapsed));
            ("blockquote", e.offset, e.length)
        }
        E::FormattedDate(e) => {
            extra.insert("date".into(), json!(e.date));
            ("formatted_date", e.offset, e.length)
        }
        E::DiffInsert(e) => ("diff_insert", e.offset, e.length),
        E::DiffReplace(e) => {
            extra.insert("old_text".into(), json!(e.old_text));
            ("diff_replace", e.offset, e.length)
        }
        E::DiffDelete(e) => ("diff_delete", e.offset, e.length),
        E::TonAddress(e) => ("ton_address", e.offset, e.length),
    };
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    out.insert("offset".into(), json!(offset));
    out.insert("length".into(), json!(length));
    out.insert("text".into(), json!(covered(units, offset, length)));
    out.extend(extra);
    Value::Object(out)
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
