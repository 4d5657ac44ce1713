//! World data → TL objects, as one account sees them.
//!
//! Everything a client receives is personal: access hashes are derived from (account, peer), so
//! a hash learned by one account fails for another, like on Telegram; `left`/`self` flags
//! depend on the account. File references carry a generation, so expiring one
//! ([`super::Telegram::expire_file_reference`]) invalidates what clients hold until they fetch
//! the message again, which hands out the new one.
//!
//! Layers: grammers 0.11 speaks layer 230 and Telethon 1.45 layer 229; every constructor this
//! module emits has the same id and fields in both (checked against Telethon's generated
//! classes), so nothing here depends on the caller's layer.

use super::state::State;
use crate::world::{Action, Chat, ChatKind, EntityKind, Media, MediaKind, Message, photo_sizes};
use grammers_tl_types::{enums, types};

/// The access hash `owner` sees for `peer` (user, channel, photo or document).
pub fn access_hash(seed: u64, owner: i64, peer: i64) -> i64 {
    use crate::world::media_splitmix as mix;
    mix(seed ^ mix(owner as u64 ^ 0x5eed) ^ (peer as u64).rotate_left(17)) as i64
}

impl State {
    pub fn hash_for(&self, owner: i64, peer: i64) -> i64 {
        access_hash(self.world.seed, owner, peer)
    }

    pub fn tl_user(&self, viewer: i64, user_id: i64) -> enums::User {
        let Some(user) = self.world.users.get(&user_id) else {
            return enums::User::Empty(types::UserEmpty { id: user_id });
        };
        enums::User::User(types::User {
            is_self: viewer == user_id,
            bot: user.bot,
            access_hash: Some(self.hash_for(viewer, user.id)),
            first_name: Some(user.first_name.clone()),
            last_name: user.last_name.clone(),
            username: user.username.clone(),
            phone: if viewer == user_id {
                user.phone.clone()
            } else {
                None
            },
            status: Some(enums::UserStatus::Recently(types::UserStatusRecently {
                by_me: false,
            })),
            bot_info_version: user.bot.then_some(1),
            ..crate::tl_blank::user(user.id)
        })
    }

    pub fn tl_chat(&self, viewer: i64, chat: &Chat) -> enums::Chat {
        let member = chat.is_member(viewer);
        if !chat.is_channel() {
            if !member {
                return enums::Chat::Forbidden(types::ChatForbidden {
                    id: chat.id,
                    title: chat.title.clone(),
                });
            }
            return enums::Chat::Chat(types::Chat {
                creator: false,
                left: false,
                deactivated: false,
                call_active: false,
                call_not_empty: false,
                noforwards: false,
                id: chat.id,
                title: chat.title.clone(),
                photo: enums::ChatPhoto::Empty,
                participants_count: chat.shown_participants(),
                date: chat.date,
                version: 1,
                migrated_to: None,
                admin_rights: None,
                default_banned_rights: None,
            });
        }
        if chat.is_private() && !member {
            return enums::Chat::ChannelForbidden(types::ChannelForbidden {
                broadcast: chat.kind == ChatKind::Channel,
                megagroup: chat.kind == ChatKind::Megagroup,
                monoforum: false,
                id: chat.id,
                access_hash: self.hash_for(viewer, chat.id),
                title: chat.title.clone(),
                until_date: None,
            });
        }
        enums::Chat::Channel(types::Channel {
            left: !member,
            broadcast: chat.kind == ChatKind::Channel,
            megagroup: chat.kind == ChatKind::Megagroup,
            has_link: chat.linked_chat_id.is_some(),
            stories_unavailable: true,
            access_hash: Some(self.hash_for(viewer, chat.id)),
            username: chat.username.clone(),
            date: chat.date,
            participants_count: Some(chat.shown_participants()),
            ..crate::tl_blank::channel(chat.id, &chat.title)
        })
    }

    pub fn tl_peer(chat: &Chat) -> enums::Peer {
        if chat.is_channel() {
            enums::Peer::Channel(types::PeerChannel {
                channel_id: chat.id,
            })
        } else {
            enums::Peer::Chat(types::PeerChat { chat_id: chat.id })
        }
    }

    /// A message as `viewer` sees it; refreshes the file reference of its media.
    pub fn tl_message(&mut self, viewer: i64, chat: &Chat, message: &Message) -> enums::Message {
        let peer_id = State::tl_peer(chat);
        let from_id = message
            .from_id
            .map(|user_id| enums::Peer::User(types::PeerUser { user_id }));
        let reply_to = message.reply_to.map(|id| {
            enums::MessageReplyHeader::Header(types::MessageReplyHeader {
                reply_to_scheduled: false,
                forum_topic: false,
                quote: false,
                reply_to_ephemeral: false,
                reply_to_msg_id: Some(id),
                reply_to_peer_id: None,
                reply_from: None,
                reply_media: None,
                reply_to_top_id: None,
                quote_text: None,
                quote_entities: None,
                quote_offset: None,
                todo_item_id: None,
                poll_option: None,
            })
        });
        let out = message.from_id == Some(viewer);
        if let Some(action) = &message.action {
            return enums::Message::Service(types::MessageService {
                out,
                post: chat.kind == ChatKind::Channel,
                from_id,
                reply_to,
                ..crate::tl_blank::service(message.id, peer_id, message.date, tl_action(action))
            });
        }
        let media = message
            .media
            .as_ref()
            .map(|m| self.tl_media(viewer, m, message.date));
        let fwd_from = message.fwd_from.as_ref().map(|f| {
            enums::MessageFwdHeader::Header(types::MessageFwdHeader {
                imported: false,
                saved_out: false,
                from_id: f
                    .from_channel
                    .map(|channel_id| enums::Peer::Channel(types::PeerChannel { channel_id }))
                    .or(f
                        .from_user
                        .map(|user_id| enums::Peer::User(types::PeerUser { user_id }))),
                from_name: f.from_name.clone(),
                date: f.date,
                channel_post: f.channel_post,
                post_author: None,
                saved_from_peer: None,
                saved_from_msg_id: None,
                saved_from_id: None,
                saved_from_name: None,
                saved_date: None,
                psa_type: None,
            })
        });
        let entities = (!message.entities.is_empty()).then(|| {
            message
                .entities
                .iter()
                .map(|e| tl_entity(&e.kind, e.offset, e.length))
                .collect()
        });
        // views and forwards share flag bit 10: set both or neither.
        let (views, forwards) = match (message.views, message.forwards) {
            (None, None) => (None, None),
            (v, f) => (Some(v.unwrap_or(0)), Some(f.unwrap_or(0))),
        };
        enums::Message::Message(types::Message {
            out,
            post: chat.kind == ChatKind::Channel,
            from_id,
            fwd_from,
            reply_to,
            media,
            entities,
            views,
            forwards,
            edit_date: message.edit_date,
            post_author: message.post_author.clone(),
            grouped_id: message.grouped_id,
            ..crate::tl_blank::message(message.id, peer_id, message.date, &message.text)
        })
    }

    /// The file reference `viewer` gets now for a media; fetching it renews an expired one.
    pub fn hand_out_reference(&mut self, viewer: i64, media_id: i64) -> Vec<u8> {
        let state = self.files.entry(media_id).or_default();
        state.expired = false;
        let generation = state.generation;
        file_reference(media_id, generation, self.hash_for(viewer, media_id) as u32)
    }

    fn tl_media(&mut self, viewer: i64, media: &Media, date: i32) -> enums::MessageMedia {
        let file_reference = self.hand_out_reference(viewer, media.id);
        let access_hash = self.hash_for(viewer, media.id);
        if media.kind == MediaKind::Photo {
            let sizes = photo_sizes(media)
                .into_iter()
                .map(|s| {
                    enums::PhotoSize::Size(types::PhotoSize {
                        r#type: s.kind.to_string(),
                        w: s.width,
                        h: s.height,
                        size: s.size as i32,
                    })
                })
                .collect();
            return enums::MessageMedia::Photo(types::MessageMediaPhoto {
                spoiler: false,
                live_photo: false,
                photo: Some(enums::Photo::Photo(types::Photo {
                    has_stickers: false,
                    id: media.id,
                    access_hash,
                    file_reference,
                    date,
                    sizes,
                    video_sizes: None,
                    dc_id: super::HOME_DC,
                })),
                ttl_seconds: None,
                video: None,
            });
        }
        let mut attributes = Vec::new();
        match media.kind {
            MediaKind::Video => attributes.push(enums::DocumentAttribute::Video(
                types::DocumentAttributeVideo {
                    round_message: false,
                    supports_streaming: true,
                    nosound: false,
                    duration: media.duration,
                    w: media.width,
                    h: media.height,
                    preload_prefix_size: None,
                    video_start_ts: None,
                    video_codec: None,
                },
            )),
            MediaKind::Audio | MediaKind::Voice => attributes.push(
                enums::DocumentAttribute::Audio(types::DocumentAttributeAudio {
                    voice: media.kind == MediaKind::Voice,
                    duration: media.duration as i32,
                    title: media.title.clone(),
                    performer: media.performer.clone(),
                    waveform: None,
                }),
            ),
            MediaKind::Sticker => {
                attributes.push(enums::DocumentAttribute::ImageSize(
                    types::DocumentAttributeImageSize {
                        w: media.width,
                        h: media.height,
                    },
                ));
                attributes.push(enums::DocumentAttribute::Sticker(
                    types::DocumentAttributeSticker {
                        mask: false,
                        alt: media.alt.clone().unwrap_or_default(),
                        stickerset: enums::InputStickerSet::Empty,
                        mask_coords: None,
                    },
                ));
            }
            MediaKind::File | MediaKind::Photo => {}
        }
        if let Some(name) = &media.file_name {
            attributes.push(enums::DocumentAttribute::Filename(
                types::DocumentAttributeFilename {
                    file_name: name.clone(),
                },
            ));
        }
        enums::MessageMedia::Document(types::MessageMediaDocument {
            nopremium: false,
            spoiler: false,
            video: media.kind == MediaKind::Video,
            round: false,
            voice: media.kind == MediaKind::Voice,
            document: Some(enums::Document::Document(types::Document {
                id: media.id,
                access_hash,
                file_reference,
                date,
                mime_type: media.mime(),
                size: media.size as i64,
                thumbs: None,
                video_thumbs: None,
                dc_id: super::HOME_DC,
                attributes,
            })),
            alt_documents: None,
            video_cover: None,
            video_timestamp: None,
            ttl_seconds: None,
        })
    }
}

/// The reference of generation `generation` of a media's file, as handed to the account whose
/// tag (derived from its access hash for the media) is `viewer_tag`: like Telegram's, a
/// reference is good for the account that fetched it only.
pub fn file_reference(media_id: i64, generation: u32, viewer_tag: u32) -> Vec<u8> {
    let mut reference = vec![1u8];
    reference.extend_from_slice(&media_id.to_le_bytes());
    reference.extend_from_slice(&generation.to_le_bytes());
    reference.extend_from_slice(&viewer_tag.to_le_bytes());
    reference
}

fn tl_action(action: &Action) -> enums::MessageAction {
    match action {
        Action::ChannelCreate { title } => {
            enums::MessageAction::ChannelCreate(types::MessageActionChannelCreate {
                title: title.clone(),
            })
        }
        Action::ChatCreate { title, users } => {
            enums::MessageAction::ChatCreate(types::MessageActionChatCreate {
                title: title.clone(),
                users: users.clone(),
            })
        }
        Action::ChatEditTitle { title } => {
            enums::MessageAction::ChatEditTitle(types::MessageActionChatEditTitle {
                title: title.clone(),
            })
        }
        Action::ChatAddUser { users } => {
            enums::MessageAction::ChatAddUser(types::MessageActionChatAddUser {
                users: users.clone(),
            })
        }
        Action::ChatDeleteUser { user_id } => {
            enums::MessageAction::ChatDeleteUser(types::MessageActionChatDeleteUser {
                user_id: *user_id,
            })
        }
        Action::PinMessage => enums::MessageAction::PinMessage,
    }
}

fn tl_entity(kind: &EntityKind, offset: i32, length: i32) -> enums::MessageEntity {
    use enums::MessageEntity as E;
    match kind {
        EntityKind::Bold => E::Bold(types::MessageEntityBold { offset, length }),
        EntityKind::Italic => E::Italic(types::MessageEntityItalic { offset, length }),
        EntityKind::Underline => E::Underline(types::MessageEntityUnderline { offset, length }),
        EntityKind::Strike => E::Strike(types::MessageEntityStrike { offset, length }),
        EntityKind::Code => E::Code(types::MessageEntityCode { offset, length }),
        EntityKind::Pre { language } => E::Pre(types::MessageEntityPre {
            offset,
            length,
            language: language.clone(),
        }),
        EntityKind::Url => E::Url(types::MessageEntityUrl { offset, length }),
        EntityKind::TextUrl { url } => E::TextUrl(types::MessageEntityTextUrl {
            offset,
            length,
            url: url.clone(),
        }),
        EntityKind::Mention => E::Mention(types::MessageEntityMention { offset, length }),
        EntityKind::Hashtag => E::Hashtag(types::MessageEntityHashtag { offset, length }),
        EntityKind::Email => E::Email(types::MessageEntityEmail { offset, length }),
    }
}
