//! The model crate's integration tests, as one test binary (one link instead of one per file):
//! the account pool against telesim (resolves, faults, logins), and the session files: Telethon
//! and Pyrogram compatibility checked against those libraries themselves, old layouts, the
//! grammers Session trait, and hostile input.

mod support;

mod bad_input;
mod layout_versions;
mod pool_faults;
mod pool_login;
mod pool_resolve;
mod pyrogram_compat;
mod session_trait;
mod telethon_compat;
