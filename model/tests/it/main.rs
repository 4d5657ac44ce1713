//! The session files' integration tests, as one test binary (one link instead of one per file):
//! Telethon and Pyrogram compatibility checked against those libraries themselves, old layouts,
//! the grammers Session trait, and hostile input.

mod support;

mod bad_input;
mod layout_versions;
mod pyrogram_compat;
mod session_trait;
mod telethon_compat;
