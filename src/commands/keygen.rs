//! `tgcollector keygen`: a new key for the sealed API's keyring.
//!
//! The line goes to stdout alone, so it can be appended to a config file or captured by a
//! script; how to use it goes to stderr. The key itself is made by `tgc_service::cryptor::keygen`,
//! next to the code that uses it.

use std::process::ExitCode;

use tgc_service::cryptor::keygen;

pub fn run() -> ExitCode {
    let key = keygen::generate();
    println!("{}", keygen::config_line(&key));
    eprintln!(
        "# Give the same line to the server and to its clients. To rotate, put the new entry \
         first and keep the old one after a comma until every client has moved: \
         crypto.keys = NEW_ID:NEW_KEY,OLD_ID:OLD_KEY"
    );
    ExitCode::SUCCESS
}
