//! The configuration and logging tests, as one test binary. `logging` installs the process's one
//! global subscriber: no other test here may install one.

mod config;
mod logging;
