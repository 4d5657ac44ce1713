//! Where an effective setting came from.
//!
//! Both error messages and the masked settings dump say where each value was written,
//! so a wrong value can be fixed at its source: a default, a line of the config file,
//! an environment variable, or a secret file named by one of those.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// A line of the config file.
    File { path: PathBuf, line: usize },
    /// An environment variable (`TGC_…`).
    Env { var: String },
    /// The contents of a secret file, whose path was given at `named_at`.
    SecretFile {
        path: PathBuf,
        key: String,
        named_at: Box<Origin>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Env { var } => write!(f, "environment variable {var}"),
            Origin::SecretFile {
                path,
                key,
                named_at,
            } => write!(
                f,
                "secret file {} (named by {key} at {named_at})",
                path.display()
            ),
        }
    }
}
