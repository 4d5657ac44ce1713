//! tgcollector: the binary. Parses the command line, loads the configuration, sets up logging,
//! and hands over to one command in `commands/`.
//!
//! Configuration errors are reported before anything else happens, all at once, so an operator
//! fixes a deployment in one pass.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;
use tgc_common::Settings;

use cli::{AccountsCommand, Cli, Command, ConfigCommand};

fn main() -> ExitCode {
    // Before anything is created: session files, media objects, logs, exports.
    tgc_common::private_files::keep_new_files_private();
    let cli = Cli::parse();
    match &cli.command {
        // `config check` prints the errors itself, in full, as its output.
        Command::Config(ConfigCommand::Check) => commands::config::check(&cli.config),
        // Needs no configuration: it makes the key that goes into one.
        Command::Keygen => commands::keygen::run(),
        // A daemon logs by `log.*`, so it starts its own logging.
        Command::Serve => {
            let settings = match Settings::load_with_process_env(&cli.config) {
                Ok(settings) => settings,
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::FAILURE;
                }
            };
            report(commands::serve::run(&settings))
        }
        Command::Query(args) => match load_settings(&cli) {
            Ok(settings) => report(commands::query::run(&settings, args)),
            Err(code) => code,
        },
        Command::Tail(args) => match load_settings(&cli) {
            Ok(settings) => report(commands::tail::run(&settings, args)),
            Err(code) => code,
        },
        Command::Accounts(command) => {
            let settings = match load_settings(&cli) {
                Ok(settings) => settings,
                Err(code) => return code,
            };
            let outcome = match command {
                AccountsCommand::List(args) => commands::accounts::list(&settings, args),
                AccountsCommand::Import(args) => commands::import::import(&settings, args),
                AccountsCommand::Check => commands::accounts::check(&settings),
                AccountsCommand::Login(args) => commands::accounts::login(&settings, args),
            };
            outcome.unwrap_or_else(|error| {
                eprintln!("error: {}", error_chain(&error));
                ExitCode::FAILURE
            })
        }
    }
}

/// The exit status of a command, printing its error chain on failure.
fn report(outcome: anyhow::Result<ExitCode>) -> ExitCode {
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {}", error_chain(&error));
        ExitCode::FAILURE
    })
}

/// Loads the settings and starts logging for a one-shot command; on failure the errors are
/// already printed.
///
/// One-shot commands report to the operator in their own output, so their logs go to stderr at
/// `error` level (or `RUST_LOG`) rather than to the daemon's `log.level` and `log.file`:
/// otherwise every warning would be printed twice, once as a log line and once in the output.
fn load_settings(cli: &Cli) -> Result<Settings, ExitCode> {
    let settings = Settings::load_with_process_env(&cli.config).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::FAILURE
    })?;
    if let Err(error) = tgc_common::logging::init("error", settings.log.format, None) {
        eprintln!("error: {error}");
        return Err(ExitCode::FAILURE);
    }
    Ok(settings)
}

/// An error and its causes as `outer: inner: root`, skipping a cause whose text an outer message
/// already includes: many error types both print their source and expose it, and an operator
/// should read each reason once.
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
