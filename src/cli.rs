//! The command line, as clap types.
//!
//! Kept apart from `main.rs` so the shape of the interface (what an operator types) can be read in
//! one place, and from `commands/` so each command's behaviour lives beside nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A gateway that puts a pool of Telegram user accounts behind an encrypted HTTP API.
#[derive(Debug, Parser)]
#[command(name = "tgcollector", version, about)]
pub struct Cli {
    /// The configuration file (Java properties syntax). Keys can be overridden with TGC_* variables.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "TGC_CONFIG",
        default_value = "config.properties"
    )]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage the accounts (session files) of the pool.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Print a new sealing key as a config line, `crypto.keys = <id>:<base64 32 bytes>`.
    Keygen,
    /// Run the gateway: the sealed HTTP API and the operator endpoints, until SIGTERM/SIGINT.
    Serve,
    /// Send one sealed API call to a running gateway and print the opened reply as JSON.
    Query(QueryArgs),
    /// Print the live stream as consumers see it, from a temporary queue: one line per event.
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Only this chat: its numeric id as in the messages' chat.id, e.g. -1001234567890.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub chat: Option<String>,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The API method: resolve, chat, history, messages, search, similar, join, leave,
    /// subscriptions, media, accounts.
    pub method: String,
    /// The params as JSON, '{"params": {"chat": "@name"}}' (or the params object alone).
    pub params: Option<String>,
    /// The gateway's address (default: server.listen of the configuration).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings (secrets masked) and exit non-zero on any error.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// One row per session file: user, home DC, cached entities, the running gateway's view of
    /// the account, warnings.
    List(ListArgs),
    /// Add accounts from an existing Telethon or Pyrogram collector, each checked with
    /// Telegram unless --offline.
    Import(ImportArgs),
    /// Connect every account once and print its user, state and round-trip time.
    Check,
    /// Log a new account in: asks for the login code and, if set, the 2FA password.
    Login(LoginArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The running gateway to ask for pool state (default: server.listen of the configuration).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The account's phone number in international form, e.g. +15551234567.
    #[arg(long, value_name = "P")]
    pub phone: String,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ImportSource {
    /// A Telethon StringSession string ('1' + URL-safe base64); needs --name.
    #[arg(long, value_name = "STRING", requires = "name")]
    pub telethon_string: Option<String>,
    /// A Telethon .session file (layout versions 1 to 8); it is copied into sessions.dir.
    #[arg(long, value_name = "PATH")]
    pub telethon_file: Option<PathBuf>,
    /// Every *.session file of a directory (a Telethon collector's sessions/), each imported
    /// and checked on its own; a bad file is reported and the others go on.
    #[arg(long, value_name = "DIR")]
    pub telethon_dir: Option<PathBuf>,
    /// A Pyrogram session string (export_session_string); needs --name.
    #[arg(long, value_name = "STRING", requires = "name")]
    pub pyrogram_string: Option<String>,
    /// A Pyrogram .session file; it is read, never changed.
    #[arg(long, value_name = "PATH")]
    pub pyrogram_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub source: ImportSource,
    /// The account's name, for the strings: its file becomes sessions.dir/NAME.session.
    #[arg(long, conflicts_with_all = ["telethon_file", "telethon_dir", "pyrogram_file"])]
    pub name: Option<String>,
    /// Skip the check with Telegram (for a machine without network): the gateway learns
    /// who each account is at its first start.
    #[arg(long)]
    pub offline: bool,
    /// For Pyrogram sessions, which record no server address: where the home DC is
    /// reached (default: Telegram's own address for that DC).
    #[arg(long, value_name = "HOST:PORT")]
    pub dc_address: Option<std::net::SocketAddr>,
}
