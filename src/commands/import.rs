//! `tgcollector accounts import`: bringing a collector's existing accounts in, checked.
//!
//! Operators switch with what they have: Telethon session files (of any layout version) and
//! `StringSession`s, Pyrogram session files and strings, often hundreds at once. Each source
//! becomes a session file of ours, and is then checked with Telegram (unless `--offline`): the
//! account answers who it is, or the import says exactly why it cannot serve and removes the
//! copy, so what lands in `sessions.dir` is what serves. The source is never changed. A
//! directory is imported file by file, several checks at once; one bad file is reported and
//! never stops the rest.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tgc_common::Settings;
use tgc_model::session::{self, ImportError, SessionFile};
use tgc_model::teleclient::{ClientConfig, ConnectError, TeleClient, describe_user};

use crate::cli::ImportArgs;

/// Accounts checked with Telegram at once during a bulk import: enough to import hundreds in
/// minutes, few enough not to look like a flood from one address.
const CHECKS_AT_ONCE: usize = 8;

/// How long one account's check may take: an address that swallows packets must not
/// hang an import of hundreds.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One thing to import, and how.
enum Source {
    TelethonString { string: String, name: String },
    TelethonFile(PathBuf),
    PyrogramString { string: String, name: String },
    PyrogramFile(PathBuf),
}

impl Source {
    /// How the operator named it, for the report.
    fn label(&self) -> String {
        match self {
            Source::TelethonString { name, .. } => format!("Telethon string {name}"),
            Source::PyrogramString { name, .. } => format!("Pyrogram string {name}"),
            Source::TelethonFile(path) | Source::PyrogramFile(path) => path.display().to_string(),
        }
    }

    fn import(&self, dir: &Path, dc_address: Option<SocketAddr>) -> Result<PathBuf, ImportError> {
        match self {
            Source::TelethonString { string, name } => {
                session::import_telethon_string(string, dir, name)
            }
            Source::TelethonFile(path) => session::import_telethon_file(path, dir),
            Source::PyrogramString { string, name } => {
                session::import_pyrogram_string(string, dir, name, dc_address)
            }
            Source::PyrogramFile(path) => session::import_pyrogram_file(path, dir, dc_address),
        }
    }
}

/// What became of one source.
enum Outcome {
    Imported {
        path: PathBuf,
        /// Who the account is, as checked with Telegram or as the file records it.
        who: String,
    },
    Failed(String),
}

/// Imports every source the arguments name, checks each with Telegram unless `--offline`,
/// and prints one line per source. Exits non-zero when any source failed.
pub fn import(settings: &Settings, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let dir = &settings.sessions.dir;
    let sources = sources(args)?;
    if args.dc_address.is_some()
        && !sources
            .iter()
            .all(|s| matches!(s, Source::PyrogramString { .. } | Source::PyrogramFile(_)))
    {
        anyhow::bail!(
            "--dc-address is for Pyrogram sessions, which record no address; Telethon's carry their own"
        );
    }
    super::accounts::create_sessions_dir(dir)?;

    let config = ClientConfig::from_settings(settings);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let total = sources.len();
    let outcomes = runtime.block_on(import_all(
        sources,
        dir.clone(),
        args.dc_address,
        (!args.offline).then_some(config),
    ));

    let mut imported = Vec::new();
    for (label, outcome) in &outcomes {
        match outcome {
            Outcome::Imported { path, who } => {
                let file = path.strip_prefix(dir).unwrap_or(path).display();
                println!("imported  {label} -> {file}: {who}");
                imported.push(path.clone());
            }
            Outcome::Failed(why) => eprintln!("failed    {label}: {why}"),
        }
    }
    if total == 1 && imported.len() == 1 {
        let summary = SessionFile::open(&imported[0])
            .with_context(|| format!("imported {} but cannot reopen it", imported[0].display()))?
            .summary();
        print!(
            "{}",
            super::accounts::render_table(dir, std::slice::from_ref(&summary), &Default::default())
        );
    }
    let failed = total - imported.len();
    eprintln!(
        "{} of {total} imported, {failed} failed, into {}",
        imported.len(),
        dir.display()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The sources the arguments name; a directory is every `*.session` file in it, in name order.
fn sources(args: &ImportArgs) -> anyhow::Result<Vec<Source>> {
    let source = &args.source;
    let name = || {
        args.name
            .clone()
            .context("a session string needs --name NAME (the file becomes NAME.session)")
    };
    Ok(
        match (
            &source.telethon_string,
            &source.telethon_file,
            &source.telethon_dir,
            &source.pyrogram_string,
            &source.pyrogram_file,
        ) {
            (Some(string), None, None, None, None) => vec![Source::TelethonString {
                string: string.trim().to_owned(),
                name: name()?,
            }],
            (None, Some(path), None, None, None) => vec![Source::TelethonFile(path.clone())],
            (None, None, Some(dir), None, None) => session_files(dir)?
                .into_iter()
                .map(Source::TelethonFile)
                .collect(),
            (None, None, None, Some(string), None) => vec![Source::PyrogramString {
                string: string.trim().to_owned(),
                name: name()?,
            }],
            (None, None, None, None, Some(path)) => vec![Source::PyrogramFile(path.clone())],
            _ => anyhow::bail!(
                "give exactly one of --telethon-string, --telethon-file, --telethon-dir, --pyrogram-string, --pyrogram-file"
            ),
        },
    )
}

fn session_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "session") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{} holds no *.session file", dir.display());
    }
    Ok(files)
}

/// Imports and (with a config) checks every source, [`CHECKS_AT_ONCE`] at a time, printing a
/// progress line per source as it finishes; the outcomes come back in source order.
async fn import_all(
    sources: Vec<Source>,
    dir: PathBuf,
    dc_address: Option<SocketAddr>,
    check_with: Option<ClientConfig>,
) -> Vec<(String, Outcome)> {
    let total = sources.len();
    let permits = Arc::new(tokio::sync::Semaphore::new(CHECKS_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, source) in sources.into_iter().enumerate() {
        let permits = Arc::clone(&permits);
        let dir = dir.clone();
        let config = check_with.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let outcome = import_one(&source, &dir, dc_address, config.as_ref()).await;
            (index, source.label(), outcome)
        });
    }
    let mut outcomes = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(done) => {
                if total > 1 {
                    eprintln!("[{}/{total}] {}", outcomes.len() + 1, done.1);
                }
                outcomes.push(done);
            }
            Err(crashed) => eprintln!("an import task failed: {crashed}"),
        }
    }
    outcomes.sort_by_key(|(index, ..)| *index);
    outcomes
        .into_iter()
        .map(|(_, label, outcome)| (label, outcome))
        .collect()
}

async fn import_one(
    source: &Source,
    dir: &Path,
    dc_address: Option<SocketAddr>,
    check_with: Option<&ClientConfig>,
) -> Outcome {
    let path = match source.import(dir, dc_address) {
        Ok(path) => path,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    let Some(config) = check_with else {
        let who = offline_description(&path);
        return Outcome::Imported { path, who };
    };
    match check(&path, config).await {
        Ok(who) => Outcome::Imported { path, who },
        Err(why) => {
            // What lands in sessions.dir is what serves; the source is still where it was.
            let _ = std::fs::remove_file(&path);
            Outcome::Failed(format!("not imported: {why}"))
        }
    }
}

/// What the file itself says of an account imported without a check.
fn offline_description(path: &Path) -> String {
    let recorded = SessionFile::open(path)
        .ok()
        .map(|file| file.summary())
        .and_then(|summary| {
            let user = summary.user_id?;
            Some(describe_user(
                user,
                summary.name.as_deref(),
                summary.username.as_deref(),
            ))
        });
    match recorded {
        Some(user) => format!("{user}, not checked (--offline)"),
        None => "not checked (--offline); the gateway learns who the account is at its first start"
            .into(),
    }
}

/// Connects the imported account once: who it is, or why it cannot serve.
async fn check(path: &Path, config: &ClientConfig) -> Result<String, String> {
    let file = SessionFile::open(path).map_err(|error| error.to_string())?;
    let joined = tokio::time::timeout(CHECK_TIMEOUT, TeleClient::join(file, config))
        .await
        .map_err(|_| {
            format!(
                "Telegram did not answer within {} s; import it again when Telegram is reachable, or with --offline to skip the check",
                CHECK_TIMEOUT.as_secs()
            )
        })?
        .map_err(|error| explain(&error))?;
    joined.check.map_err(|error| explain(&error))?;
    let summary = joined.account.session().summary();
    Ok(format!(
        "{} serves",
        describe_user(
            joined.account.id().0,
            summary.name.as_deref(),
            summary.username.as_deref()
        )
    ))
}

/// The error, and for a failure that is not the account's fault, what to do about it.
fn explain(error: &ConnectError) -> String {
    if error.is_unauthorized() || matches!(error, ConnectError::NotLoggedIn { .. }) {
        error.to_string()
    } else {
        format!(
            "{error}; import it again when Telegram is reachable, or with --offline to skip the check"
        )
    }
}
