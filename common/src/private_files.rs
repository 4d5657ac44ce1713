//! [`keep_new_files_private`]: every file the process creates is its owner's alone.
//!
//! The gateway's own files are opened 0600 one by one, but others are created by code we do
//! not control: object_store's local backend writes each media object through a temporary
//! file with the process's default mode (0644 under the usual umask), and a directory
//! anyone can list names the chats an archive holds. A umask of 077, set before anything is
//! created, covers them all: new files 0600 at most, new directories 0700.

use rustix::fs::Mode;

/// Sets the process's umask to 077; the previous mask is returned for the record.
pub fn keep_new_files_private() -> u32 {
    rustix::process::umask(Mode::from_raw_mode(0o077)).bits()
}
