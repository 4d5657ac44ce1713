//! `accounts`: the pool's state, one entry per account (`TeleClients::report`), and the
//! session files whose accounts could not join (`unusable`, with the reason): what an
//! operator or a scheduling client needs to know before sending work.

use serde_json::{Value, json};
use tgc_model::teleclient::{AccountReport, AccountState};

use crate::handler::route::{Context, Handler, Reply};

pub struct Accounts;

impl Handler for Accounts {
    fn params(&self) -> &'static [&'static str] {
        &[]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let report = cx.pool.report();
            let active = report
                .iter()
                .filter(|a| a.state == AccountState::Active)
                .count();
            let unusable: Vec<Value> = cx
                .pool
                .left_out()
                .iter()
                .map(|left| {
                    json!({
                        "session": file_name(&left.path),
                        "state": "unusable",
                        "reason": left.reason,
                    })
                })
                .collect();
            Ok(json!({
                "total": report.len(),
                "active": active,
                "accounts": report.iter().map(account_json).collect::<Vec<_>>(),
                "unusable": unusable,
            })
            .into())
        })
    }
}

fn account_json(account: &AccountReport) -> Value {
    let reason = match &account.state {
        AccountState::Active => None,
        AccountState::Disconnected { reason, .. } | AccountState::Deauthorized { reason } => {
            Some(reason.clone())
        }
    };
    let cooling: serde_json::Map<String, Value> = account
        .cooling
        .iter()
        .map(|(method, left)| {
            (
                method.clone(),
                json!(crate::handler::error::retry_seconds(*left)),
            )
        })
        .collect();
    let pacing: serde_json::Map<String, serde_json::Value> = account
        .pacing
        .iter()
        .map(|pacing| {
            (
                pacing.method.clone(),
                json!({
                    "per_second": pacing.per_second,
                    "configured": pacing.configured,
                    "flood_waits": pacing.flood_waits,
                }),
            )
        })
        .collect();
    json!({
        "account": account.account.0,
        "session": file_name(&account.path),
        "state": account.state.name(),
        "reason": reason,
        "cooling": cooling,
        "pending_downloads": account.pending_downloads,
        "resolves_left": account.resolves_left,
        "resolves": account.resolves,
        "flood_waits": account.flood_waits,
        "disconnections": account.disconnections,
        "queue_wait": account.queue_wait.as_secs_f64(),
        "pacing": pacing,
        "requests": account.requests,
    })
}

/// The file name only: the server's directory layout is none of the client's business.
fn file_name(path: &std::path::Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}
