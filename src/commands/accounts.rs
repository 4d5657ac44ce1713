//! `tgcollector accounts …`: the pool's accounts as session files on disk.
//!
//! These commands work on `sessions.dir` directly and need no running server or network, so an
//! operator can inspect and migrate accounts before the first start. A bad file is reported with
//! its path and reason and never hides the good ones beside it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tgc_common::Settings;
use tgc_model::session::{self, SessionSummary};

use crate::cli::ImportArgs;

/// Prints one row per session file, then one line per file that could not be read.
/// Exits non-zero when any file is bad, so scripts notice.
pub fn list(settings: &Settings) -> anyhow::Result<ExitCode> {
    let dir = &settings.sessions.dir;
    if !dir.is_dir() {
        anyhow::bail!(
            "sessions.dir {} does not exist; add an account with `tgcollector accounts import`",
            dir.display()
        );
    }
    let (files, errors) = session::load_dir(dir);
    let rows: Vec<SessionSummary> = files.iter().map(|file| file.summary()).collect();
    print!("{}", render_table(dir, &rows));
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

/// Adds an account from a Telethon `StringSession` or `.session` file.
pub fn import(settings: &Settings, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let dir = &settings.sessions.dir;
    create_sessions_dir(dir)?;
    let path = match (&args.source.telethon_string, &args.source.telethon_file) {
        (Some(string), None) => {
            let name = args
                .name
                .as_deref()
                .context("--telethon-string needs --name NAME (the file becomes NAME.session)")?;
            session::import_telethon_string(string.trim(), dir, name)?
        }
        (None, Some(file)) => session::import_telethon_file(file, dir)?,
        _ => anyhow::bail!("give exactly one of --telethon-string or --telethon-file"),
    };
    let summary = session::SessionFile::open(&path)
        .with_context(|| format!("imported {} but cannot reopen it", path.display()))?
        .summary();
    println!("imported {}", path.display());
    print!("{}", render_table(dir, std::slice::from_ref(&summary)));
    Ok(ExitCode::SUCCESS)
}

/// The sessions directory holds secrets: when we create it, only the owner may enter it.
fn create_sessions_dir(dir: &Path) -> anyhow::Result<()> {
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

/// A plain aligned table: operators read it, scripts can split it on runs of spaces.
fn render_table(dir: &Path, rows: &[SessionSummary]) -> String {
    const HEADER: [&str; 8] = [
        "FILE", "USER", "NAME", "USERNAME", "PHONE", "DC", "ENTITIES", "WARNINGS",
    ];
    let dash = || "-".to_string();
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|row| {
            let file = row.path.strip_prefix(dir).unwrap_or(&row.path);
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
                if row.warnings.is_empty() {
                    dash()
                } else {
                    row.warnings.join("; ")
                },
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &cells {
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
    line(&HEADER.map(String::from));
    for row in &cells {
        line(row);
    }
    out
}
