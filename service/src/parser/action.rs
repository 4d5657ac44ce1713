//! Service messages' actions: `{"type": ..., <fields of that type>}`.
//!
//! The actions groups and channels live by (created, renamed, members added or removed,
//! pinned, migrated, calls, topics, …) are mapped field by field. Telegram has some eighty
//! more, most about payments and gifts, and adds new ones every layer; those are named by
//! their constructor (`MessageAction::StarGift` → `"star_gift"`) with no fields, so a
//! consumer always learns what happened even where the schema has no detail.

use serde_json::{Map, Value, json};
use tgc_model::teleclient::tl;

/// The schema's `action` object.
pub(crate) fn action_json(action: &tl::enums::MessageAction) -> Value {
    use tl::enums::MessageAction as A;
    let mut fields = Map::new();
    let mut set = |key: &str, value: Value| {
        fields.insert(key.to_string(), value);
    };
    let kind: String = match action {
        A::Empty => "empty".into(),
        A::ChatCreate(a) => {
            set("title", json!(a.title));
            set("users", json!(a.users));
            "chat_create".into()
        }
        A::ChatEditTitle(a) => {
            set("title", json!(a.title));
            "chat_edit_title".into()
        }
        A::ChatEditPhoto(a) => {
            let photo_id = match &a.photo {
                tl::enums::Photo::Photo(p) => p.id,
                tl::enums::Photo::Empty(p) => p.id,
            };
            set("photo_id", json!(photo_id));
            "chat_edit_photo".into()
        }
        A::ChatDeletePhoto => "chat_delete_photo".into(),
        A::ChatAddUser(a) => {
            set("users", json!(a.users));
            "chat_add_user".into()
        }
        A::ChatDeleteUser(a) => {
            set("user_id", json!(a.user_id));
            "chat_delete_user".into()
        }
        A::ChatJoinedByLink(a) => {
            set("inviter_id", json!(a.inviter_id));
            "chat_joined_by_link".into()
        }
        A::ChatJoinedByRequest => "chat_joined_by_request".into(),
        A::ChannelCreate(a) => {
            set("title", json!(a.title));
            "channel_create".into()
        }
        A::ChatMigrateTo(a) => {
            set("channel_id", json!(a.channel_id));
            "chat_migrate_to".into()
        }
        A::ChannelMigrateFrom(a) => {
            set("title", json!(a.title));
            set("chat_id", json!(a.chat_id));
            "channel_migrate_from".into()
        }
        A::PinMessage => "pin_message".into(),
        A::HistoryClear => "history_clear".into(),
        A::ScreenshotTaken => "screenshot_taken".into(),
        A::ContactSignUp => "contact_sign_up".into(),
        A::CustomAction(a) => {
            set("message", json!(a.message));
            "custom_action".into()
        }
        A::GameScore(a) => {
            set("game_id", json!(a.game_id));
            set("score", json!(a.score));
            "game_score".into()
        }
        A::PhoneCall(a) => {
            set("call_id", json!(a.call_id));
            set("video", json!(a.video));
            set("duration", json!(a.duration));
            "phone_call".into()
        }
        A::GroupCall(a) => {
            set("duration", json!(a.duration));
            "group_call".into()
        }
        A::InviteToGroupCall(a) => {
            set("users", json!(a.users));
            "invite_to_group_call".into()
        }
        A::GroupCallScheduled(a) => {
            set("schedule_date", json!(a.schedule_date));
            "group_call_scheduled".into()
        }
        A::SetMessagesTtl(a) => {
            set("period", json!(a.period));
            "set_messages_ttl".into()
        }
        A::TopicCreate(a) => {
            set("title", json!(a.title));
            "topic_create".into()
        }
        A::TopicEdit(a) => {
            set("title", json!(a.title));
            set("closed", json!(a.closed));
            set("hidden", json!(a.hidden));
            "topic_edit".into()
        }
        A::BoostApply(a) => {
            set("boosts", json!(a.boosts));
            "boost_apply".into()
        }
        other => constructor_name(other),
    };
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    out.extend(fields);
    Value::Object(out)
}

/// The snake_case name of an enum value's variant, read from its `Debug` form
/// (`StarGift(MessageActionStarGift { .. })` → `star_gift`). The writer refuses everything
/// after the name, so the (possibly large) payload is never formatted.
fn constructor_name(value: &impl std::fmt::Debug) -> String {
    struct NameOnly(String);
    impl std::fmt::Write for NameOnly {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for c in s.chars() {
                if !c.is_ascii_alphanumeric() {
                    return Err(std::fmt::Error);
                }
                if c.is_ascii_uppercase() && !self.0.is_empty() {
                    self.0.push('_');
                }
                self.0.push(c.to_ascii_lowercase());
            }
            Ok(())
        }
    }
    let mut name = NameOnly(String::new());
    // Stopping at the first non-name character is the point: the error is expected.
    let _ = std::fmt::write(&mut name, format_args!("{value:?}"));
    if name.0.is_empty() {
        "unknown".into()
    } else {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmapped_actions_are_named_by_their_constructor() {
        let action = tl::enums::MessageAction::PaidMessagesPrice(
            tl::types::MessageActionPaidMessagesPrice {
                broadcast_messages_allowed: false,
                stars: 5,
            },
        );
        assert_eq!(action_json(&action), json!({"type": "paid_messages_price"}));
    }

    #[test]
    fn unit_actions_and_mapped_fields() {
        assert_eq!(
            action_json(&tl::enums::MessageAction::PinMessage),
            json!({"type": "pin_message"})
        );
        let added = tl::enums::MessageAction::ChatAddUser(tl::types::MessageActionChatAddUser {
            users: vec![1, 2],
        });
        assert_eq!(
            action_json(&added),
            json!({"type": "chat_add_user", "users": [1, 2]})
        );
    }

    #[test]
    fn a_value_whose_debug_form_has_no_name_is_unknown() {
        assert_eq!(constructor_name(&"quoted"), "unknown");
        assert_eq!(constructor_name(&()), "unknown");
    }
}
