//! The control interface of the `telesim` binary: JSON lines over TCP on loopback.
//!
//! One request per line, one reply per line. Every reply has `"ok": true` plus the command's
//! result, or `"ok": false` and an `"error"` saying what was wrong. A malformed line gets an error
//! reply and the connection stays open; a line longer than 64 KiB closes it.
//!
//! Commands (`"cmd"` names the command; other fields are its arguments):
//!
//! | cmd | arguments | reply |
//! |---|---|---|
//! | `flood_wait` | `user_id`, `method` (e.g. `"messages.getHistory"`), `seconds`, and `calls` (next N calls) or `for_seconds` (a time window) | |
//! | `clear_flood_wait` | `user_id`, `method` | |
//! | `rate_limit` | `method`, `calls`, `window_seconds`: each account may call `method` at most `calls` times in any such window, then `FLOOD_WAIT_X` | |
//! | `clear_rate_limit` | `method` | |
//! | `rate_limited` | `user_id`, `method` | `count`: calls the rate rule refused |
//! | `auth_key_unregistered` | `user_id` | |
//! | `restore_auth_key` | `user_id` | |
//! | `latency` | `ms`, optional `method` (else every call) | |
//! | `bandwidth` | `bytes_per_second` (null lifts the cap) for `upload.getFile` | |
//! | `drop_connections` | optional `user_id` (else everyone) | `closed` |
//! | `clear_faults` | | |
//! | `expire_file_reference` | `media_id` | |
//! | `counters` | optional `user_id`, `method` | `total` and `counts: [{user_id, method, count}]` |
//! | `reset_counters` | | |
//! | `accounts` | | `accounts: [{user_id, first_name, last_name, username, phone, logged_in}]` |
//! | `post_message` | `chat_id`, `text`, optional `from_id`, `reply_to` | `message_id` |
//! | `edit_message` | `chat_id`, `message_id`, `text` | |
//! | `delete_messages` | `chat_id`, `message_ids` | |
//!
//! Example: `{"cmd":"flood_wait","user_id":1000001,"method":"contacts.resolveUsername","seconds":30,"calls":1}`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::api::NewMessage;
use crate::faults::FaultSpan;
use crate::sim::Sim;

/// Longest accepted request line.
const MAX_LINE: u64 = 64 * 1024;

/// One control request.
#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    FloodWait {
        user_id: i64,
        method: String,
        seconds: u32,
        calls: Option<u32>,
        for_seconds: Option<u64>,
    },
    ClearFloodWait {
        user_id: i64,
        method: String,
    },
    RateLimit {
        method: String,
        calls: u32,
        window_seconds: f64,
    },
    ClearRateLimit {
        method: String,
    },
    RateLimited {
        user_id: i64,
        method: String,
    },
    AuthKeyUnregistered {
        user_id: i64,
    },
    RestoreAuthKey {
        user_id: i64,
    },
    Latency {
        ms: u64,
        method: Option<String>,
    },
    Bandwidth {
        bytes_per_second: Option<u64>,
    },
    DropConnections {
        user_id: Option<i64>,
    },
    ClearFaults,
    ExpireFileReference {
        media_id: i64,
    },
    Counters {
        user_id: Option<i64>,
        method: Option<String>,
    },
    ResetCounters,
    Accounts,
    PostMessage {
        chat_id: i64,
        text: String,
        from_id: Option<i64>,
        reply_to: Option<i32>,
    },
    EditMessage {
        chat_id: i64,
        message_id: i32,
        text: String,
    },
    DeleteMessages {
        chat_id: i64,
        message_ids: Vec<i32>,
    },
}

/// Parses and runs one request line, returning the reply object.
pub fn handle_line(sim: &Sim, line: &str) -> Value {
    let command: Command = match serde_json::from_str(line) {
        Ok(command) => command,
        Err(e) => {
            return json!({
                "ok": false,
                "error": format!("not a valid command ({e}); expected a JSON object with \"cmd\" \
                    one of flood_wait, clear_flood_wait, rate_limit, clear_rate_limit, rate_limited, auth_key_unregistered, restore_auth_key, \
                    latency, bandwidth, drop_connections, clear_faults, expire_file_reference, \
                    counters, reset_counters, accounts, post_message, edit_message, delete_messages"),
            });
        }
    };
    match run(sim, command) {
        Ok(Value::Object(mut reply)) => {
            reply.insert("ok".into(), Value::Bool(true));
            Value::Object(reply)
        }
        Ok(_) => json!({ "ok": true }),
        Err(error) => json!({ "ok": false, "error": error }),
    }
}

fn run(sim: &Sim, command: Command) -> Result<Value, String> {
    let faults = &sim.faults;
    match command {
        Command::FloodWait {
            user_id,
            method,
            seconds,
            calls,
            for_seconds,
        } => {
            let span = match (calls, for_seconds) {
                (Some(n), None) if n > 0 => FaultSpan::Calls(n),
                (None, Some(s)) => FaultSpan::Until(Instant::now() + Duration::from_secs(s)),
                _ => {
                    return Err(
                        "flood_wait needs exactly one of \"calls\" (a positive count) or \
                         \"for_seconds\""
                            .into(),
                    );
                }
            };
            faults.flood_wait(user_id, &method, seconds, span);
        }
        Command::ClearFloodWait { user_id, method } => faults.clear_flood_wait(user_id, &method),
        Command::RateLimit {
            method,
            calls,
            window_seconds,
        } => {
            let window = Duration::try_from_secs_f64(window_seconds)
                .ok()
                .filter(|w| !w.is_zero() && *w <= Duration::from_secs(7 * 24 * 3600))
                .ok_or("rate_limit needs \"window_seconds\" greater than 0 and at most a week")?;
            if calls == 0 {
                return Err("rate_limit needs \"calls\" of at least 1".into());
            }
            faults.rate_limit(&method, calls, window);
        }
        Command::ClearRateLimit { method } => faults.clear_rate_limit(&method),
        Command::RateLimited { user_id, method } => {
            return Ok(json!({ "count": faults.rate_limited(user_id, &method) }));
        }
        Command::AuthKeyUnregistered { user_id } => faults.auth_key_unregistered(user_id),
        Command::RestoreAuthKey { user_id } => faults.restore_auth_key(user_id),
        Command::Latency { ms, method } => match method {
            Some(method) => faults.method_latency(&method, Duration::from_millis(ms)),
            None => faults.latency(Duration::from_millis(ms)),
        },
        Command::Bandwidth { bytes_per_second } => faults.bandwidth(bytes_per_second),
        Command::DropConnections { user_id } => {
            let closed = match user_id {
                Some(user_id) => faults.drop_connections(user_id),
                None => faults.drop_all_connections(),
            };
            return Ok(json!({ "closed": closed }));
        }
        Command::ClearFaults => faults.clear(),
        Command::ExpireFileReference { media_id } => {
            sim.telegram.expire_file_reference(media_id);
        }
        Command::Counters { user_id, method } => {
            let counts: Vec<Value> = sim
                .counters
                .snapshot()
                .into_iter()
                .filter(|(u, m, _)| {
                    user_id.is_none_or(|id| id == *u) && method.as_ref().is_none_or(|x| x == m)
                })
                .map(|(u, m, n)| json!({ "user_id": u, "method": m, "count": n }))
                .collect();
            let total: u64 = counts.iter().filter_map(|c| c["count"].as_u64()).sum();
            return Ok(json!({ "total": total, "counts": counts }));
        }
        Command::ResetCounters => sim.counters.reset(),
        Command::Accounts => {
            let accounts: Vec<Value> = sim
                .telegram
                .accounts()
                .into_iter()
                .map(|a| {
                    json!({
                        "user_id": a.user_id,
                        "first_name": a.first_name,
                        "last_name": a.last_name,
                        "username": a.username,
                        "phone": a.phone,
                        "logged_in": a.logged_in,
                    })
                })
                .collect();
            return Ok(json!({ "accounts": accounts }));
        }
        Command::PostMessage {
            chat_id,
            text,
            from_id,
            reply_to,
        } => {
            let mut message = NewMessage::text(text);
            message.from_id = from_id;
            message.reply_to = reply_to;
            let message_id = sim
                .telegram
                .post_message(chat_id, message)
                .map_err(|e| e.to_string())?;
            return Ok(json!({ "message_id": message_id }));
        }
        Command::EditMessage {
            chat_id,
            message_id,
            text,
        } => sim
            .telegram
            .edit_message(chat_id, message_id, &text)
            .map_err(|e| e.to_string())?,
        Command::DeleteMessages {
            chat_id,
            message_ids,
        } => sim
            .telegram
            .delete_messages(chat_id, &message_ids)
            .map_err(|e| e.to_string())?,
    }
    Ok(Value::Null)
}

/// Serves the control interface on `listener` until `stop` fires, then waits for its clients to
/// finish, so the caller gets the only handle on `sim` back.
pub async fn serve(
    sim: std::sync::Arc<Sim>,
    listener: TcpListener,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let mut clients = tokio::task::JoinSet::new();
    let result = loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => break Err(e),
            },
            Some(_) = clients.join_next(), if !clients.is_empty() => continue,
        };
        let sim = std::sync::Arc::clone(&sim);
        let stop = stop.clone();
        clients.spawn(async move {
            if let Err(e) = serve_client(&sim, stream, stop).await {
                tracing::debug!(%peer, error = %e, "control connection ended");
            }
        });
    };
    stop.cancel();
    while clients.join_next().await.is_some() {}
    result
}

/// Binds the control interface on loopback.
pub async fn bind(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

async fn serve_client(
    sim: &Sim,
    stream: TcpStream,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE + 1);
        let read = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            read = limited.read_until(b'\n', &mut line) => read?,
        };
        if read == 0 {
            return Ok(());
        }
        if line.len() as u64 > MAX_LINE {
            let reply = json!({ "ok": false, "error": format!("request line longer than {MAX_LINE} bytes") });
            write.write_all(format!("{reply}\n").as_bytes()).await?;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let reply = handle_line(sim, text.trim());
        write.write_all(format!("{reply}\n").as_bytes()).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;
    use crate::world::demo::{ALICE, NEWS};

    #[tokio::test]
    async fn commands_reach_faults_counters_and_the_world() {
        let sim = Sim::start(World::demo()).await.unwrap();
        let ok = |line: &str| {
            let reply = handle_line(&sim, line);
            assert_eq!(reply["ok"], true, "{line} -> {reply}");
            reply
        };
        ok(
            r#"{"cmd":"flood_wait","user_id":1001,"method":"users.getUsers","seconds":9,"calls":1}"#,
        );
        let verdict = sim.faults.check(Some(ALICE), "users.getUsers");
        assert_eq!(
            verdict.error.map(|e| e.message),
            Some("FLOOD_WAIT_9".into())
        );
        ok(r#"{"cmd":"rate_limit","method":"messages.search","calls":1,"window_seconds":60}"#);
        assert!(
            sim.faults
                .check(Some(ALICE), "messages.search")
                .error
                .is_none()
        );
        assert!(
            sim.faults
                .check(Some(ALICE), "messages.search")
                .error
                .is_some()
        );
        let limited = ok(r#"{"cmd":"rate_limited","user_id":1001,"method":"messages.search"}"#);
        assert_eq!(limited["count"], 1);
        ok(r#"{"cmd":"clear_rate_limit","method":"messages.search"}"#);
        assert!(
            sim.faults
                .check(Some(ALICE), "messages.search")
                .error
                .is_none()
        );
        let refused = handle_line(
            &sim,
            r#"{"cmd":"rate_limit","method":"m","calls":1,"window_seconds":0}"#,
        );
        assert_eq!(refused["ok"], false);
        ok(r#"{"cmd":"latency","ms":25}"#);
        assert_eq!(sim.faults.check(None, "x").delay, Duration::from_millis(25));
        ok(r#"{"cmd":"clear_faults"}"#);
        assert_eq!(sim.faults.check(None, "x").delay, Duration::ZERO);
        assert_eq!(ok(r#"{"cmd":"drop_connections"}"#)["closed"], 0);

        sim.counters.record(ALICE, "users.getUsers");
        let counters = ok(r#"{"cmd":"counters","user_id":1001}"#);
        assert_eq!(counters["total"], 1);
        assert_eq!(counters["counts"][0]["method"], "users.getUsers");
        ok(r#"{"cmd":"reset_counters"}"#);
        assert_eq!(sim.counters.total(), 0);

        let accounts = ok(r#"{"cmd":"accounts"}"#);
        assert!(
            accounts["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["user_id"] == ALICE)
        );

        let posted = ok(&format!(
            r#"{{"cmd":"post_message","chat_id":{NEWS},"text":"hi"}}"#
        ));
        let id = posted["message_id"].as_i64().unwrap() as i32;
        assert_eq!(
            sim.telegram.message(NEWS, id).map(|m| m.text),
            Some("hi".into())
        );
        ok(&format!(
            r#"{{"cmd":"edit_message","chat_id":{NEWS},"message_id":{id},"text":"hello"}}"#
        ));
        assert_eq!(
            sim.telegram.message(NEWS, id).map(|m| m.text),
            Some("hello".into())
        );
        ok(&format!(
            r#"{{"cmd":"delete_messages","chat_id":{NEWS},"message_ids":[{id}]}}"#
        ));
        assert!(sim.telegram.message(NEWS, id).is_none());
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn bad_requests_get_an_error_that_says_what_was_expected() {
        let sim = Sim::start(World::demo()).await.unwrap();
        for line in [
            "not json",
            r#"{"cmd":"launch_rockets"}"#,
            r#"{"cmd":"latency"}"#,
            r#"{"cmd":"flood_wait","user_id":1,"method":"m","seconds":1}"#,
            r#"{"cmd":"post_message","chat_id":424242,"text":"x"}"#,
        ] {
            let reply = handle_line(&sim, line);
            assert_eq!(reply["ok"], false, "{line} -> {reply}");
            assert!(
                reply["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{reply}"
            );
        }
        let reply = handle_line(&sim, "not json");
        assert!(reply["error"].as_str().unwrap().contains("flood_wait"));
        sim.shutdown().await;
    }
}
