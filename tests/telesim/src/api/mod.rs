//! The Telegram layer: API semantics over a [`World`], for the server layer to call.
//!
//! [`Telegram`] is the seam with the server: the server decrypts and unwraps a request and calls
//! [`Telegram::call`] with the bare TL function; this layer answers with the serialized result or
//! an [`RpcError`] carrying Telegram's own code and message. Live changes
//! ([`Telegram::post_message`], …) fan out to [`Telegram::subscribe`]rs and are logged for the
//! difference calls. All state sits behind one mutex: calls are short and never await.
//!
//! Each concept has its file: `convert` (world → TL), `peers` (users, usernames, channels,
//! membership), `history` (paging, search), `dialogs` (`messages.getDialogs`), `files`
//! (`upload.getFile`), `live` (updates, pts, differences), `login` (sign-in and 2FA SRP).

mod convert;
mod dialogs;
mod error;
mod files;
mod history;
mod live;
mod login;
mod peers;
mod state;

pub use convert::{access_hash, file_reference};
pub use error::RpcError;
pub use live::NewMessage;
pub use login::LOGIN_CODE;

use crate::world::{AccountInfo, World};
use grammers_tl_types::{Deserializable, Identifiable, Serializable, enums, functions, types};
use state::State;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// The datacenter every account lives on (all five DC options point at the simulator).
pub const HOME_DC: i32 = 2;

/// Who is calling, as the server layer knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallContext {
    pub auth_key_id: i64,
    /// The layer announced in `invokeWithLayer` (grammers 0.11: 230, Telethon 1.45: 229).
    pub layer: i32,
}

/// The simulated Telegram API over a world. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Telegram {
    state: Arc<Mutex<State>>,
}

impl Telegram {
    pub fn new(world: World) -> Telegram {
        Telegram {
            state: Arc::new(Mutex::new(State::new(world))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug in this layer; the data stays usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Where the datacenter listens: `help.getConfig` points all five DCs here.
    pub fn set_address(&self, addr: SocketAddr) {
        self.lock().address = Some(addr);
    }

    /// Every auth key the world knows: logged-in accounts and pre-keyed login slots.
    pub fn auth_key(&self, auth_key_id: i64) -> Option<[u8; 256]> {
        self.lock().slots.get(&auth_key_id).map(|s| s.key)
    }

    /// The user bound to this key; None while the slot is not logged in.
    pub fn account_of(&self, auth_key_id: i64) -> Option<i64> {
        self.lock().user_of_key(auth_key_id)
    }

    /// The world's accounts, with `logged_in` reflecting logins done since start.
    pub fn accounts(&self) -> Vec<AccountInfo> {
        let state = self.lock();
        let mut infos = state.world.account_infos();
        for info in &mut infos {
            info.logged_in = state.user_of_key(info.auth_key_id) == Some(info.user_id);
        }
        infos
    }

    /// The world seed (media bytes and auth keys derive from it).
    pub fn seed(&self) -> u64 {
        self.lock().world.seed
    }

    /// One API call: `request` is a TL function with its constructor id, already unwrapped of
    /// `invokeWithLayer`/`initConnection`/…; the answer is what goes inside `rpc_result`.
    pub fn call(&self, ctx: &CallContext, request: &[u8]) -> Result<Vec<u8>, RpcError> {
        let Some(id_bytes) = request.get(..4) else {
            return Err(RpcError::malformed());
        };
        let mut id = [0u8; 4];
        id.copy_from_slice(id_bytes);
        let id = u32::from_le_bytes(id);
        let body = &request[4..];
        let mut state = self.lock();
        state.dispatch(ctx, id, body)
    }
}

/// Parses the body of function `F` (its constructor id already read).
fn parse<F: Deserializable>(body: &[u8]) -> Result<F, RpcError> {
    F::from_bytes(body).map_err(|_| RpcError::malformed())
}

fn ok<T: Serializable>(value: T) -> Result<Vec<u8>, RpcError> {
    Ok(value.to_bytes())
}

impl State {
    fn dispatch(&mut self, ctx: &CallContext, id: u32, body: &[u8]) -> Result<Vec<u8>, RpcError> {
        use functions as f;
        // Calls allowed before login.
        match id {
            f::help::GetConfig::ID => return ok(self.config()),
            f::help::GetNearestDc::ID => return ok(self.nearest_dc()),
            f::auth::SendCode::ID => return ok(self.send_code(ctx, parse(body)?)?),
            f::auth::SignIn::ID => return ok(self.sign_in(ctx, parse(body)?)?),
            f::auth::CheckPassword::ID => return ok(self.check_password(ctx, parse(body)?)?),
            f::account::GetPassword::ID => return ok(self.get_password(ctx)?),
            _ => {}
        }
        let Some(me) = self.user_of_key(ctx.auth_key_id) else {
            return Err(RpcError::unauthorized("AUTH_KEY_UNREGISTERED"));
        };
        match id {
            f::updates::GetState::ID => ok(self.update_state(me)),
            f::updates::GetDifference::ID => ok(self.get_difference(me, parse(body)?)),
            f::updates::GetChannelDifference::ID => {
                ok(self.get_channel_difference(me, parse(body)?)?)
            }
            f::users::GetUsers::ID => ok(self.get_users(me, parse(body)?)),
            f::users::GetFullUser::ID => ok(self.get_full_user(me, parse(body)?)?),
            f::contacts::ResolveUsername::ID => ok(self.resolve_username(me, parse(body)?)?),
            f::channels::GetChannels::ID => ok(self.get_channels(me, parse(body)?)?),
            f::channels::GetFullChannel::ID => ok(self.get_full_channel(me, parse(body)?)?),
            f::channels::GetMessages::ID => ok(self.get_channel_messages(me, parse(body)?)?),
            f::messages::GetMessages::ID => ok(self.get_messages(me, parse(body)?)),
            f::messages::GetDialogs::ID => ok(self.get_dialogs(me, parse(body)?)),
            f::messages::GetHistory::ID => ok(self.get_history(me, parse(body)?)?),
            f::messages::Search::ID => ok(self.search(me, parse(body)?)?),
            f::messages::SearchGlobal::ID => ok(self.search_global(me, parse(body)?)),
            f::channels::JoinChannel::ID => ok(self.join_channel(me, parse(body)?)?),
            f::channels::LeaveChannel::ID => ok(self.leave_channel(me, parse(body)?)?),
            f::channels::GetChannelRecommendations::ID => {
                ok(self.recommendations(me, parse(body)?)?)
            }
            f::upload::GetFile::ID => ok(self.get_file(me, parse(body)?)?),
            f::upload::GetFileHashes::ID => ok(self.get_file_hashes(me, parse(body)?)?),
            other => Err(RpcError::not_implemented(other)),
        }
    }

    fn config(&self) -> enums::Config {
        let (ip, port, ipv6) = match self.address {
            Some(addr) => (addr.ip().to_string(), addr.port() as i32, addr.is_ipv6()),
            None => ("127.0.0.1".to_string(), 443, false),
        };
        let dc_options = (1..=5)
            .map(|id| {
                enums::DcOption::Option(types::DcOption {
                    ipv6,
                    media_only: false,
                    tcpo_only: false,
                    cdn: false,
                    r#static: false,
                    this_port_only: false,
                    id,
                    ip_address: ip.clone(),
                    port,
                    secret: None,
                })
            })
            .collect();
        let date = self.clock;
        enums::Config::Config(types::Config {
            default_p2p_contacts: false,
            preload_featured_stickers: false,
            revoke_pm_inbox: true,
            blocked_mode: false,
            force_try_ipv6: false,
            date,
            expires: date + 3600,
            test_mode: false,
            this_dc: HOME_DC,
            dc_options,
            dc_txt_domain_name: "telesim.invalid".into(),
            chat_size_max: 200,
            megagroup_size_max: 200_000,
            forwarded_count_max: 100,
            online_update_period_ms: 210_000,
            offline_blur_timeout_ms: 5000,
            offline_idle_timeout_ms: 30_000,
            online_cloud_timeout_ms: 300_000,
            notify_cloud_delay_ms: 30_000,
            notify_default_delay_ms: 1500,
            push_chat_period_ms: 60_000,
            push_chat_limit: 2,
            edit_time_limit: 172_800,
            revoke_time_limit: i32::MAX,
            revoke_pm_time_limit: i32::MAX,
            rating_e_decay: 2_419_200,
            stickers_recent_limit: 200,
            channels_read_media_period: 604_800,
            tmp_sessions: None,
            call_receive_timeout_ms: 20_000,
            call_ring_timeout_ms: 90_000,
            call_connect_timeout_ms: 30_000,
            call_packet_timeout_ms: 10_000,
            me_url_prefix: "https://t.me/".into(),
            autoupdate_url_prefix: None,
            gif_search_username: None,
            venue_search_username: None,
            img_search_username: None,
            static_maps_provider: None,
            caption_length_max: 1024,
            message_length_max: 4096,
            webfile_dc_id: HOME_DC,
            suggested_lang_code: None,
            lang_pack_version: None,
            base_lang_pack_version: None,
            reactions_default: None,
            autologin_token: None,
        })
    }

    fn nearest_dc(&self) -> enums::NearestDc {
        enums::NearestDc::Dc(types::NearestDc {
            country: "ZZ".into(),
            this_dc: HOME_DC,
            nearest_dc: HOME_DC,
        })
    }
}

/// Shorthand for the constructor id of a TL function.
trait Id {
    const ID: u32;
}
impl<T: Identifiable> Id for T {
    const ID: u32 = T::CONSTRUCTOR_ID;
}
