//! The demo world: a handful of accounts, public and private channels, a megagroup linked to
//! its channel, a small group, and every kind of message and media the gateway must handle.
//!
//! Ids are fixed so tests and the product demo can name them (see the constants).

use super::{
    Action, Chat, ChatKind, Entity, EntityKind, Forward, Media, MediaKind, Message, User, World,
    WorldBuilder,
};

pub const ALICE: i64 = 1001;
pub const BOB: i64 = 1002;
/// A login slot with a 2FA password ([`CAROL_PASSWORD`]).
pub const CAROL: i64 = 1003;
pub const CAROL_PASSWORD: &str = "hunter2";
/// A login slot without 2FA.
pub const DAVE: i64 = 1004;
pub const EVE: i64 = 1010;
pub const NEWS: i64 = 100_001;
pub const NEWS_CHAT: i64 = 100_002;
pub const SECRET_LAB: i64 = 100_003;
pub const TECH_DIGEST: i64 = 100_004;
pub const FRIENDS: i64 = 500;
pub const DEMO_SEED: u64 = 0x7e1e_5100;

pub(crate) fn world() -> World {
    let epoch = super::default_epoch();
    let day = 86_400;
    let t0 = epoch - 30 * day;
    let at = |i: i32| t0 + i * 3600;

    let mut news = Chat::new(NEWS, ChatKind::Channel, "Telesim News");
    news.username = Some("telesim_news".into());
    news.about = "Everything that happens in the simulated world.".into();
    news.participants_count = Some(15_320);
    news.linked_chat_id = Some(NEWS_CHAT);
    news.members = vec![ALICE, BOB];
    news.recommendations = vec![TECH_DIGEST];
    news.date = t0;
    news.messages = news_messages(&at);

    let mut chat = Chat::new(NEWS_CHAT, ChatKind::Megagroup, "Telesim News Chat");
    chat.username = Some("telesim_chat".into());
    chat.about = "Discussion of Telesim News".into();
    chat.linked_chat_id = Some(NEWS);
    chat.members = vec![ALICE, EVE];
    chat.date = t0;
    chat.messages = vec![
        Message::service(
            1,
            at(0),
            Action::ChannelCreate {
                title: chat.title.clone(),
            },
        ),
        Message::text(2, at(2), "Welcome to the discussion!").with_from(EVE),
        Message {
            reply_to: Some(2),
            ..Message::text(3, at(3), "Thanks, glad to be here").with_from(ALICE)
        },
        Message::text(4, at(4), "Anyone seen the launch report?").with_from(EVE),
    ];

    let mut lab = Chat::new(SECRET_LAB, ChatKind::Channel, "Secret Lab");
    lab.about = "Members only.".into();
    lab.members = vec![ALICE];
    lab.date = t0;
    lab.messages = vec![
        Message::service(
            1,
            at(0),
            Action::ChannelCreate {
                title: lab.title.clone(),
            },
        ),
        Message::text(2, at(5), "Prototype 7 passed its tests."),
        Message::text(3, at(6), "Blueprints attached.").with_media(Media::document(
            9_001,
            MediaKind::File,
            1_300_000,
        )),
    ];

    let mut digest = Chat::new(TECH_DIGEST, ChatKind::Channel, "Tech Digest");
    digest.username = Some("tech_digest".into());
    digest.about = "A daily digest of technology news.".into();
    digest.participants_count = Some(48_000);
    digest.recommendations = vec![NEWS];
    digest.date = t0;
    digest.messages = (1..=25)
        .map(|i| {
            let mut m = Message::text(
                i,
                at(i),
                format!("Digest #{i}: compilers, networks and more"),
            );
            m.views = Some(1000 + i * 17);
            m
        })
        .collect();

    let mut friends = Chat::new(FRIENDS, ChatKind::Group, "Friends");
    friends.members = vec![ALICE, BOB, EVE];
    friends.date = t0;
    friends.messages = vec![
        Message::service(
            1,
            at(0),
            Action::ChatCreate {
                title: "Friends".into(),
                users: vec![ALICE, BOB, EVE],
            },
        ),
        Message::text(2, at(1), "Dinner on Friday?").with_from(BOB),
        Message {
            reply_to: Some(2),
            ..Message::text(3, at(2), "Yes! 8pm works").with_from(ALICE)
        },
        Message::text(4, at(3), "Photo from last time")
            .with_from(EVE)
            .with_media(Media::photo(9_101, 180_000)),
    ];

    let built = WorldBuilder::new(DEMO_SEED)
        .epoch(epoch)
        .account(
            User::new(ALICE, "Alice")
                .with_last_name("Liddell")
                .with_username("alice"),
            "+15550001001",
        )
        .account(
            User::new(BOB, "Bob").with_username("bob_builder"),
            "+15550001002",
        )
        .account_with(
            User::new(CAROL, "Carol"),
            "+15550001003",
            Some(CAROL_PASSWORD),
            false,
        )
        .account_with(User::new(DAVE, "Dave"), "+15550001004", None, false)
        .user(User::new(EVE, "Eve").with_username("eve_sim"))
        .chat(news)
        .chat(chat)
        .chat(lab)
        .chat(digest)
        .chat(friends)
        .build();
    // The demo is fixed data: a failure here is a bug in this file, caught by its tests.
    built.unwrap_or_else(|e| panic!("the demo world is inconsistent: {e}"))
}

fn news_messages(at: &dyn Fn(i32) -> i32) -> Vec<Message> {
    let mut messages = vec![Message::service(
        1,
        at(0),
        Action::ChannelCreate {
            title: "Telesim News".into(),
        },
    )];
    let mut id = 1;
    let mut next = || {
        id += 1;
        id
    };
    let hello = "Hello world! Read more at https://example.com #launch";
    messages.push(Message::text(next(), at(2), hello).with_entities(vec![
        Entity {
            kind: EntityKind::Bold,
            offset: 0,
            length: 5,
        },
        Entity {
            kind: EntityKind::Url,
            offset: 26,
            length: 19,
        },
        Entity {
            kind: EntityKind::Hashtag,
            offset: 46,
            length: 7,
        },
    ]));
    messages.push(Message {
        views: Some(1200),
        forwards: Some(14),
        ..Message::text(next(), at(3), "Launch report: all systems nominal")
    });
    let reply = next();
    messages.push(Message {
        reply_to: Some(reply - 1),
        ..Message::text(reply, at(4), "Follow-up on the launch report")
    });
    messages.push(Message {
        fwd_from: Some(Forward {
            from_user: None,
            from_channel: Some(TECH_DIGEST),
            from_name: None,
            date: at(1),
            channel_post: Some(3),
        }),
        ..Message::text(next(), at(5), "Digest #3: compilers, networks and more")
    });
    messages.push(Message {
        fwd_from: Some(Forward {
            from_user: None,
            from_channel: None,
            from_name: Some("Anonymous Reader".into()),
            date: at(1),
            channel_post: None,
        }),
        ..Message::text(next(), at(6), "A reader writes in")
    });
    messages.push(Message {
        edit_date: Some(at(8)),
        ..Message::text(next(), at(7), "Corrected: the launch is on Tuesday")
    });
    let album = 777_000_111;
    for k in 0..3 {
        let id = next();
        messages.push(Message {
            grouped_id: Some(album),
            ..Message::text(id, at(9), if k == 0 { "Launch album" } else { "" })
                .with_media(Media::photo(9_200 + k, 150_000 + 10_000 * k as u64))
        });
    }
    messages.push(
        Message::text(next(), at(10), "Launch video").with_media(Media::document(
            9_301,
            MediaKind::Video,
            2_600_000,
        )),
    );
    messages.push(
        Message::text(next(), at(11), "Podcast episode 1").with_media(Media::document(
            9_302,
            MediaKind::Audio,
            1_100_000,
        )),
    );
    messages.push(
        Message::text(next(), at(12), "").with_media(Media::document(
            9_303,
            MediaKind::Voice,
            48_000,
        )),
    );
    messages.push(
        Message::text(next(), at(13), "").with_media(Media::document(
            9_304,
            MediaKind::Sticker,
            24_000,
        )),
    );
    messages.push(
        Message::text(next(), at(14), "The full report").with_media(Media::document(
            9_305,
            MediaKind::File,
            700_000,
        )),
    );
    messages.push(Message::service(next(), at(15), Action::PinMessage));
    messages.push(Message {
        post_author: Some("Editor".into()),
        ..Message::text(next(), at(16), "Signed post: see you tomorrow").with_entities(vec![
            Entity {
                kind: EntityKind::TextUrl {
                    url: "https://example.com/tomorrow".into(),
                },
                offset: 21,
                length: 8,
            },
        ])
    });
    messages
}
