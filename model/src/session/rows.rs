//! The rows behind peers, the self user, cached entities and update state.
//!
//! Plain functions over a connection (or a transaction, which derefs to one), so that
//! [`super::SessionFile`] decides the locking and transaction scope and this module
//! only knows the tables: Telethon's `entities` and `update_state`, and our `tgc_self`
//! and `tgc_peer`.

use grammers_session::types::{ChannelState, PeerId, PeerInfo, UpdateState, UpdatesState};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
use tgc_common::clock::unix_secs;

use super::peers::{self, PeerExtras};

/// The logged-in user of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelfUser {
    pub user_id: i64,
    /// Unknown for files written by Telethon, which does not record it.
    pub bot: Option<bool>,
}

/// One row of Telethon's `entities` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    pub peer: PeerId,
    /// 0 for small groups, which need none.
    pub access_hash: i64,
    /// Lower-case, without `@`, as Telethon stores it.
    pub username: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    /// Unix time the row was last written.
    pub date: Option<i64>,
}

pub(super) fn write_self_user(
    conn: &Connection,
    user_id: i64,
    bot: Option<bool>,
) -> rusqlite::Result<()> {
    conn.execute(
        "insert into tgc_self (slot, user_id, bot) values (0, ?1, ?2)
         on conflict(slot) do update set
            bot = case when user_id = excluded.user_id then coalesce(excluded.bot, bot) else excluded.bot end,
            user_id = excluded.user_id",
        params![user_id, bot],
    )?;
    // Telethon's convention (`_save_states_and_entities`): the self id is the hash of row 0.
    conn.execute(
        "insert or replace into entities (id, hash, username, phone, name, date)
         values (0, ?1, null, null, null, ?2)",
        params![user_id, unix_secs()],
    )?;
    Ok(())
}

pub(super) fn read_self_user(conn: &Connection) -> rusqlite::Result<Option<SelfUser>> {
    let ours = conn
        .prepare_cached("select user_id, bot from tgc_self where slot = 0")?
        .query_row([], |row| {
            Ok(SelfUser {
                user_id: row.get(0)?,
                bot: row.get(1)?,
            })
        })
        .optional()?;
    if ours.is_some() {
        return Ok(ours);
    }
    let telethons = conn
        .prepare_cached("select hash from entities where id = 0")?
        .query_row([], |row| row.get::<_, i64>(0))
        .optional()?;
    Ok(telethons
        .filter(|id| PeerId::user(*id).is_some())
        .map(|user_id| SelfUser { user_id, bot: None }))
}

pub(super) fn read_extras(conn: &Connection, marked: i64) -> rusqlite::Result<Option<PeerExtras>> {
    conn.prepare_cached("select bot, channel_kind from tgc_peer where id = ?1")?
        .query_row([marked], |row| {
            Ok(PeerExtras {
                bot: row.get(0)?,
                channel_kind: row
                    .get::<_, Option<i64>>(1)?
                    .and_then(peers::channel_kind_from_code),
            })
        })
        .optional()
}

pub(super) fn load_peer(conn: &Connection, peer: PeerId) -> rusqlite::Result<Option<PeerInfo>> {
    let self_user = read_self_user(conn)?;
    let (id, is_self_query) = if peer == PeerId::self_user() {
        match self_user.and_then(|user| PeerId::user(user.user_id)) {
            Some(id) => (id, true),
            None => return Ok(None),
        }
    } else {
        (peer, false)
    };
    let Some(marked) = id.bot_api_dialog_id() else {
        return Ok(None);
    };
    let hash: Option<i64> = conn
        .prepare_cached("select hash from entities where id = ?1")?
        .query_row([marked], |row| row.get(0))
        .optional()?;
    let extras = read_extras(conn, marked)?;
    if hash.is_none() && extras.is_none() && !is_self_query {
        return Ok(None);
    }
    let mut extras = extras.unwrap_or_default();
    if is_self_query || self_user.is_some_and(|user| Some(user.user_id) == id.bare_id()) {
        extras.bot = extras.bot.or(self_user.and_then(|user| user.bot));
    }
    Ok(peers::peer_info(
        id,
        hash,
        extras,
        self_user.map(|user| user.user_id),
    ))
}

pub(super) fn store_peer(conn: &Connection, marked: i64, peer: &PeerInfo) -> rusqlite::Result<()> {
    let hash = match peer {
        PeerInfo::Chat { .. } => Some(0),
        other => other.auth().map(|auth| auth.hash()),
    };
    if let Some(hash) = hash {
        // Keep Telethon's names (username, phone, name) on the row; only the hash is ours.
        conn.execute(
            "insert into entities (id, hash, date) values (?1, ?2, ?3)
             on conflict(id) do update set hash = excluded.hash, date = excluded.date",
            params![marked, hash, unix_secs()],
        )?;
    }
    let extras = PeerExtras::of(peer);
    conn.execute(
        "insert or replace into tgc_peer (id, bot, channel_kind) values (?1, ?2, ?3)",
        params![
            marked,
            extras.bot,
            extras.channel_kind.map(peers::channel_kind_code)
        ],
    )?;
    if let PeerInfo::User {
        id,
        bot,
        is_self: Some(true),
        ..
    } = peer
    {
        write_self_user(conn, *id, *bot)?;
    }
    Ok(())
}

pub(super) fn read_update_states(conn: &Connection) -> rusqlite::Result<UpdatesState> {
    let mut stmt = conn.prepare("select id, pts, qts, date, seq from update_state order by id")?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                int_value(row.get(1)?),
                int_value(row.get(2)?),
                int_value(row.get(3)?),
                int_value(row.get(4)?),
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut state = UpdatesState::default();
    for (id, pts, qts, date, seq) in rows {
        if id == 0 {
            state.pts = pts;
            state.qts = qts;
            state.date = date;
            state.seq = seq;
        } else {
            state.channels.push(ChannelState { id, pts });
        }
    }
    Ok(state)
}

/// Channel rows carry qts 0, seq 0 and a date, as Telethon writes them; Telethon turns
/// the date back into a datetime and would fail on a NULL.
pub(super) fn write_update_state(conn: &Connection, update: UpdateState) -> rusqlite::Result<()> {
    const UPSERT_CHANNEL: &str = "insert or replace into update_state (id, pts, qts, date, seq)
                                  values (?1, ?2, 0, ?3, 0)";
    match update {
        UpdateState::All(state) => {
            conn.execute("delete from update_state", [])?;
            conn.execute(
                "insert into update_state (id, pts, qts, date, seq) values (0, ?1, ?2, ?3, ?4)",
                params![state.pts, state.qts, state.date, state.seq],
            )?;
            for channel in state.channels {
                conn.execute(
                    UPSERT_CHANNEL,
                    params![channel.id, channel.pts, unix_secs()],
                )?;
            }
        }
        UpdateState::Primary { pts, date, seq } => {
            conn.execute(
                "insert into update_state (id, pts, qts, date, seq) values (0, ?1, 0, ?2, ?3)
                 on conflict(id) do update set pts = excluded.pts, date = excluded.date, seq = excluded.seq",
                params![pts, date, seq],
            )?;
        }
        UpdateState::Secondary { qts } => {
            conn.execute(
                "insert into update_state (id, pts, qts, date, seq) values (0, 0, ?1, 0, 0)
                 on conflict(id) do update set qts = excluded.qts",
                params![qts],
            )?;
        }
        UpdateState::Channel { id, pts } => {
            conn.execute(UPSERT_CHANNEL, params![id, pts, unix_secs()])?;
        }
    }
    Ok(())
}

pub(super) fn entity_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Entity>> {
    let marked: i64 = row.get(0)?;
    let Some(peer) = peers::peer_id(marked) else {
        return Ok(None);
    };
    Ok(Some(Entity {
        peer,
        access_hash: row.get(1)?,
        username: row.get(2)?,
        phone: match row.get::<_, Value>(3)? {
            Value::Integer(n) => Some(n.to_string()),
            Value::Text(text) => Some(text),
            Value::Real(r) => Some(format!("{r:.0}")),
            Value::Null | Value::Blob(_) => None,
        },
        name: row.get(4)?,
        date: match row.get::<_, Value>(5)? {
            Value::Integer(n) => Some(n),
            Value::Real(r) => Some(r as i64),
            _ => None,
        },
    }))
}

/// Telethon writes dates as Python floats; SQLite keeps a fractional one as REAL.
pub(super) fn int_value(value: Value) -> i32 {
    match value {
        Value::Integer(n) => i32::try_from(n).unwrap_or_default(),
        Value::Real(r) => r as i32,
        _ => 0,
    }
}

/// Telethon stores phones in an `integer` column, so digits-only phones become numbers.
pub(super) fn phone_value(phone: &str) -> Value {
    let digits = phone.trim_start_matches('+');
    match digits.parse::<i64>() {
        Ok(n) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Value::Integer(n)
        }
        _ => Value::Text(phone.to_owned()),
    }
}

pub(super) fn normalize_username(username: &str) -> String {
    username.trim().trim_start_matches('@').to_lowercase()
}
