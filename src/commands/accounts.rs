//! `tgcollector accounts …`: the pool's accounts as session files on disk.
//!
//! `list` works on `sessions.dir` directly and needs no running server or network, so an operator
//! can inspect accounts before the first start. `check` and `login` talk to Telegram, each on a
//! small runtime of its own, through the same code the pool uses (`import` lives in `import.rs`). A bad
//! file is reported with its path and reason and never hides the good ones beside it.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal as _, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tgc_common::Settings;
use tgc_model::session::{self, SessionSummary};
use tgc_model::teleclient::{self, ClientConfig, LoginPrompt, TeleClient};
use tgc_service::cryptor::Cryptor;
use tgc_service::handler::gateway_client::{GatewayClient, Value};

use crate::cli::{ListArgs, LoginArgs};

/// Prints one row per session file, then one line per file that could not be read.
/// Exits non-zero when any file is bad, so scripts notice.
pub fn list(settings: &Settings, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let dir = &settings.sessions.dir;
    if !dir.is_dir() {
        anyhow::bail!(
            "sessions.dir {} does not exist; add an account with `tgcollector accounts import`",
            dir.display()
        );
    }
    let (files, errors) = session::load_dir(dir);
    let rows: Vec<SessionSummary> = files.iter().map(|file| file.summary()).collect();
    let addr = args
        .addr
        .unwrap_or_else(|| super::query::reachable(settings.server.listen));
    let states = match live_states(settings, addr) {
        Ok(states) => states,
        Err(why) => {
            eprintln!("pool state: {why}; showing the files only");
            HashMap::new()
        }
    };
    print!("{}", render_table(dir, &rows, &states));
    for error in &errors {
        eprintln!("error: {error}");
    }
    eprintln!(
        "{} account(s) loaded, {} file(s) failed, from {}",
        rows.len(),
        errors.len(),
        dir.display()
    );
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Connects every account at once and prints one row each: user, state, round-trip time.
/// Exits non-zero when any account cannot serve, so scripts notice.
pub fn check(settings: &Settings) -> anyhow::Result<ExitCode> {
    let dir = &settings.sessions.dir;
    if !dir.is_dir() {
        anyhow::bail!(
            "sessions.dir {} does not exist; add an account with `tgcollector accounts login`",
            dir.display()
        );
    }
    let (files, errors) = session::load_dir(dir);
    let config = ClientConfig::from_settings(settings);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let rows = runtime.block_on(async {
        let mut checks = tokio::task::JoinSet::new();
        for (index, file) in files.into_iter().enumerate() {
            let path = file.path().to_owned();
            let config = config.clone();
            checks.spawn(async move {
                let row = match TeleClient::join(file, &config).await {
                    Ok(joined) => {
                        let user = joined.account.id().to_string();
                        match joined.check {
                            Ok(rtt) => [
                                user,
                                "active".into(),
                                format!("{} ms", rtt.as_millis()),
                                "-".into(),
                            ],
                            Err(error) => [
                                user,
                                joined.account.state().name().into(),
                                "-".into(),
                                error.to_string(),
                            ],
                        }
                    }
                    Err(error) => ["-".into(), "unusable".into(), "-".into(), error.to_string()],
                };
                (index, path, row)
            });
        }
        let mut rows = Vec::new();
        while let Some(done) = checks.join_next().await {
            rows.push(done.context("an account check crashed")?);
        }
        rows.sort_by_key(|(index, ..)| *index);
        anyhow::Ok(rows)
    })?;

    let table: Vec<[String; 5]> = rows
        .into_iter()
        .map(|(_, path, [user, state, rtt, note])| {
            let file = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            [file, user, state, rtt, note]
        })
        .collect();
    let healthy = table.iter().filter(|row| row[2] == "active").count();
    print!(
        "{}",
        align(&["FILE", "USER", "STATE", "RTT", "PROBLEM"], &table)
    );
    for error in &errors {
        eprintln!("error: {error}");
    }
    eprintln!(
        "{healthy} of {} account(s) active, {} file(s) unreadable, in {}",
        table.len(),
        errors.len(),
        dir.display()
    );
    Ok(if healthy == table.len() && errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Logs a new account in and writes `sessions.dir/<digits>.session`.
pub fn login(settings: &Settings, args: &LoginArgs) -> anyhow::Result<ExitCode> {
    let dir = &settings.sessions.dir;
    create_sessions_dir(dir)?;
    let out = teleclient::session_path_for(dir, &args.phone)?;
    if out.exists() {
        anyhow::bail!(
            "{} already exists: that account is logged in already (delete the file to log in again)",
            out.display()
        );
    }
    let config = ClientConfig::from_settings(settings);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let logged_in = runtime.block_on(teleclient::login(
        Default::default(),
        &config,
        settings.telegram.api_hash.expose(),
        &args.phone,
        &mut TerminalPrompt,
        &out,
    ))?;
    let name = logged_in.first_name.as_deref().unwrap_or("-");
    let username = logged_in
        .username
        .as_deref()
        .map_or_else(|| "-".to_string(), |u| format!("@{u}"));
    println!(
        "logged in as {name} ({username}, user {}); session written to {}",
        logged_in.user_id,
        logged_in.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks on stderr and reads answers from stdin, one line each.
struct TerminalPrompt;

impl TerminalPrompt {
    fn ask(question: &str) -> std::io::Result<String> {
        eprint!("{question}");
        std::io::stderr().flush()?;
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "standard input closed before an answer",
            ));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

impl LoginPrompt for TerminalPrompt {
    fn code(&mut self) -> std::io::Result<String> {
        TerminalPrompt::ask("login code (sent to your Telegram app): ")
    }

    /// Hidden on a terminal; read as a plain line when stdin is a pipe (scripts, tests).
    fn password(&mut self, hint: Option<&str>) -> std::io::Result<String> {
        let question = match hint {
            Some(hint) => format!("2FA password (hint: {hint}): "),
            None => "2FA password: ".to_string(),
        };
        if std::io::stdin().is_terminal() {
            rpassword::prompt_password(question)
        } else {
            TerminalPrompt::ask(&question)
        }
    }
}

/// The sessions directory holds secrets: when we create it, only the owner may enter it.
pub(super) fn create_sessions_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create sessions.dir {}", dir.display()))
}

/// The running gateway's view of its accounts (`state`, with the reason when there is one),
/// by session file name; or why it cannot be had. Asked through the sealed `accounts` method,
/// so it is exactly what API clients see.
fn live_states(settings: &Settings, addr: SocketAddr) -> Result<HashMap<String, String>, String> {
    let cryptor = Cryptor::from_settings(&settings.crypto).map_err(|error| error.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let reply = runtime.block_on(async {
        let ask = async {
            let mut client = GatewayClient::connect(addr, Arc::new(cryptor)).await?;
            client
                .query("accounts", &Value::Object(Default::default()))
                .await
        };
        match tokio::time::timeout(Duration::from_secs(5), ask).await {
            Ok(reply) => reply.map_err(|error| format!("no gateway answering at {addr} ({error})")),
            Err(_) => Err(format!("the gateway at {addr} did not answer within 5 s")),
        }
    })?;
    let accounts = reply["accounts"]
        .as_array()
        .ok_or_else(|| format!("the gateway at {addr} sent no account list"))?;
    let unusable = reply["unusable"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    Ok(accounts
        .iter()
        .chain(unusable)
        .filter_map(|account| {
            let session = account["session"].as_str()?;
            let state = account["state"].as_str().unwrap_or("unknown");
            let shown = match account["reason"].as_str() {
                Some(reason) => format!("{state} ({reason})"),
                None => state.to_string(),
            };
            Some((session.to_string(), shown))
        })
        .collect())
}

/// A plain aligned table: operators read it, scripts can split it on runs of spaces.
/// STATE is the running gateway's view of the account, `-` when no gateway answered.
pub(super) fn render_table(
    dir: &Path,
    rows: &[SessionSummary],
    states: &HashMap<String, String>,
) -> String {
    const HEADER: [&str; 9] = [
        "FILE", "USER", "NAME", "USERNAME", "PHONE", "DC", "ENTITIES", "STATE", "WARNINGS",
    ];
    let dash = || "-".to_string();
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|row| {
            let file = row.path.strip_prefix(dir).unwrap_or(&row.path);
            let state = states
                .get(&file.display().to_string())
                .cloned()
                .unwrap_or_else(dash);
            let dc = match row.home_addr {
                Some(addr) => format!("{} {addr}", row.home_dc_id),
                None => row.home_dc_id.to_string(),
            };
            [
                file.display().to_string(),
                row.user_id.map_or_else(dash, |id| id.to_string()),
                row.name.clone().unwrap_or_else(dash),
                row.username
                    .as_ref()
                    .map_or_else(dash, |name| format!("@{name}")),
                row.phone.clone().unwrap_or_else(dash),
                dc,
                row.entity_count.to_string(),
                state,
                if row.warnings.is_empty() {
                    dash()
                } else {
                    row.warnings.join("; ")
                },
            ]
        })
        .collect();
    align(&HEADER, &cells)
}

/// Aligns `rows` under `header`, two spaces between columns, the last column unpadded.
fn align<const N: usize>(header: &[&str; N], cells: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.map(String::from));
    for row in cells {
        line(row);
    }
    out
}
