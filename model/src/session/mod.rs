//! Account session files in Telethon's SQLite layout.
//!
//! One `<name>.session` file per account, readable and writable by Telethon 1.45 as it
//! is, so the original collector's files keep working and their `entities` table warms
//! the peer cache on day one. [`SessionFile`] exposes a file to grammers through its
//! [`grammers_session::Session`] trait; what Telethon has no place for (other DCs, the
//! self user's bot flag, peer kinds) lives in extra `tgc_` tables Telethon ignores.
//!
//! The module is split by concern: the on-disk [`layout`] (create, upgrade, validate),
//! the marked-id mapping in [`peers`], the file handle itself in `file`, its DCs in
//! `dcs`, the SQL of its other rows in `rows`, the grammers adaptor in `grammers`,
//! directory loading in `dir`, Telethon's `StringSession` in `string`, Pyrogram's
//! session strings and files (read only) in `pyrogram`, and account import in `import`.

mod dcs;
mod dir;
mod error;
mod file;
mod grammers;
mod import;
pub mod layout;
pub mod peers;
mod pyrogram;
mod rows;
mod string;

pub use dir::load_dir;
pub use error::{ImportError, SessionError};
pub use file::{HomeDc, SessionFile, SessionSummary};
pub use import::{
    import_pyrogram_file, import_pyrogram_string, import_telethon_file, import_telethon_string,
    validate_account_name,
};
pub use pyrogram::{PyrogramError, PyrogramSession};
pub use rows::{Entity, SelfUser};
pub use string::TelethonString;
