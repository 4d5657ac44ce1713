//! The schema file itself: a valid draft 2020-12 document, every field described, closed
//! where the shape is ours, and strict enough to reject what the parser must never emit.

use crate::parser_support::schema_validator;
use serde_json::{Value, json};
use tgc_model::teleclient::{AccountId, tl};
use tgc_service::parser::{MESSAGE_SCHEMA_V1, ParseContext, SCHEMA_VERSION, parse_message};

fn schema() -> Value {
    serde_json::from_str(MESSAGE_SCHEMA_V1).expect("schema/message.v1.json is JSON")
}

/// Every object schema (one with `properties`) under `node`, with its JSON pointer.
fn object_schemas<'a>(node: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match node {
        Value::Object(map) => {
            if map.contains_key("properties") {
                out.push((at.clone(), node));
            }
            for (key, child) in map {
                object_schemas(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                object_schemas(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_document_for_this_version() {
    let schema = schema();
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("schema/message.v1.json is not a valid JSON Schema: {e}");
    }
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        schema["$defs"]["message"]["properties"]["schema"]["const"],
        SCHEMA_VERSION
    );
}

#[test]
fn every_field_is_described_and_every_object_of_ours_is_closed() {
    let schema = schema();
    let mut objects = Vec::new();
    object_schemas(&schema["$defs"], "#/$defs".into(), &mut objects);
    // Only the top-level definitions are object schemas; nested "properties" inside an
    // `if/then` only narrow fields, so they need neither descriptions nor closing.
    let defined: Vec<_> = objects
        .into_iter()
        .filter(|(at, _)| at.matches('/').count() == 2)
        .collect();
    assert!(
        defined.len() >= 10,
        "found {} object definitions",
        defined.len()
    );
    for (at, object) in defined {
        assert_eq!(
            object["additionalProperties"], false,
            "{at} must not allow unknown keys"
        );
        assert!(object["description"].is_string(), "{at} has no description");
        let properties = object["properties"].as_object().expect("properties object");
        for (name, property) in properties {
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{at}/properties/{name} has no description"
            );
        }
    }
}

fn sample() -> Value {
    let message = tl::enums::Message::Empty(tl::types::MessageEmpty {
        id: 1,
        peer_id: Some(tl::enums::Peer::Chat(tl::types::PeerChat { chat_id: 5 })),
    });
    parse_message(&message, &ParseContext::new(AccountId(42)))
}

#[test]
fn the_schema_rejects_extra_keys_missing_keys_and_wrong_types() {
    let validator = schema_validator();
    let good = sample();
    assert!(validator.is_valid(&good), "{good}");

    let mut extra = good.clone();
    extra["surprise"] = json!(true);
    assert!(!validator.is_valid(&extra), "an unknown key is refused");

    let mut missing = good.clone();
    missing.as_object_mut().map(|m| m.remove("account_id"));
    assert!(!validator.is_valid(&missing), "a missing key is refused");

    let mut wrong = good.clone();
    wrong["chat"]["type"] = json!("planet");
    assert!(
        !validator.is_valid(&wrong),
        "an unknown peer type is refused"
    );

    let mut future = good;
    future["schema"] = json!(2);
    assert!(!validator.is_valid(&future), "another version is refused");
}

#[test]
fn a_service_message_with_media_or_a_regular_one_with_an_action_is_refused() {
    let validator = schema_validator();
    let service = tl::enums::Message::Service(tl::types::MessageService {
        post: true,
        ..telesim::tl_blank::service(
            1,
            tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id: 10 }),
            1_700_000_000,
            tl::enums::MessageAction::PinMessage,
        )
    });
    let parsed = parse_message(&service, &ParseContext::new(AccountId(42)));
    assert!(validator.is_valid(&parsed), "{parsed}");

    let mut with_media = parsed.clone();
    with_media["media"] = json!({
        "kind": "geo", "id": null, "size": null, "mime_type": null, "file_name": null,
        "width": null, "height": null, "duration": null, "title": null, "performer": null,
        "emoji": null, "spoiler": false, "storage": null,
    });
    assert!(
        !validator.is_valid(&with_media),
        "a service message has no media"
    );

    let mut with_text = parsed.clone();
    with_text["text"] = json!("words");
    assert!(!validator.is_valid(&with_text));

    let mut as_regular = parsed.clone();
    as_regular["type"] = json!("message");
    assert!(
        !validator.is_valid(&as_regular),
        "a regular message has action null"
    );

    let mut bad_date = parsed;
    bad_date["date_iso"] = json!("yesterday");
    assert!(!validator.is_valid(&bad_date), "date_iso is RFC 3339");
}
