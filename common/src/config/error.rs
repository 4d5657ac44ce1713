//! Configuration errors, each saying where, what key, what value, and what was expected.
//!
//! A wrong configuration is usually wrong in more than one place, and fixing errors
//! one restart at a time is tedious, so loading collects every error into
//! [`ConfigErrors`] rather than stopping at the first.

use std::fmt;
use std::path::PathBuf;

use super::origin::Origin;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A problem in the properties syntax itself (duplicate key, malformed escape).
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("{}:{line}: unknown key `{key}`; {}", path.display(), match suggestion {
        Some(known) => format!("did you mean `{known}`?"),
        None => "expected one of the keys documented in config.properties".to_string(),
    })]
    UnknownKey {
        path: PathBuf,
        line: usize,
        key: String,
        suggestion: Option<String>,
    },

    /// `value` is already quoted, or masked when the key holds a secret.
    #[error("{origin}: {key} = {value}: expected {expected}")]
    InvalidValue {
        origin: Origin,
        key: String,
        value: String,
        expected: String,
    },

    #[error(
        "{key} ({key_origin}) and {file_key} ({file_origin}) are both set; expected only one of them"
    )]
    InlineAndFile {
        key: String,
        key_origin: Origin,
        file_key: String,
        file_origin: Origin,
    },

    #[error("{origin}: {file_key} = {}: cannot read secret file: {source}; expected a readable file holding {key}", path.display())]
    SecretFile {
        origin: Origin,
        file_key: String,
        key: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A key that has no default is needed because of another setting.
    #[error("{key} is not set; expected a value because {because}")]
    Missing { key: String, because: String },

    /// Two settings that are each valid but do not fit together.
    #[error("{settings}; expected {expected}")]
    Inconsistent { settings: String, expected: String },
}

/// Every error found while loading a configuration.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [only] => write!(f, "invalid configuration: {only}"),
            all => {
                write!(f, "invalid configuration ({} errors):", all.len())?;
                for error in all {
                    write!(f, "\n  - {error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}
