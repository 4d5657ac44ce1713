//! Looks up each setting in its layers (environment over file over default), parses it,
//! and keeps a record of every effective value and every error.
//!
//! The loader asks for each setting once, in render order. A bad value is recorded as an
//! error and replaced by the default so that loading carries on and reports every
//! problem at once; the `Settings` built from such a run are never handed out.

use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::keys::{self, env_var_name};
use super::origin::Origin;
use super::values::Expected;
use crate::properties::Properties;
use crate::secret::mask;

/// The environment as the loader sees it: variable name → value.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One effective setting, as shown by `Settings::render_masked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveSetting {
    pub key: &'static str,
    /// The value as shown: normalised, with secrets masked.
    pub shown: String,
    pub origin: Origin,
}

/// A value as written, before parsing.
#[derive(Debug, Clone)]
pub struct RawValue {
    pub text: String,
    pub origin: Origin,
}

enum Lookup {
    Unset,
    Found(RawValue),
    /// The lookup itself failed (and said so); the caller adds no further error.
    Failed,
}

/// Keys whose values are never shown, in the dump or in errors.
pub(crate) const SECRET_KEYS: &[&str] = &[
    "telegram.api_hash",
    "crypto.keys",
    "media.storage.s3.secret_key",
];

/// Keys holding URLs that may carry a password.
pub(crate) const URL_KEYS_WITH_PASSWORD: &[&str] = &["rabbitmq.url", "telegram.proxy"];

pub struct Reader<'a> {
    path: PathBuf,
    base_dir: PathBuf,
    file: Properties,
    env: EnvLookup<'a>,
    errors: Vec<ConfigError>,
    effective: Vec<EffectiveSetting>,
}

impl<'a> Reader<'a> {
    pub fn new(path: &Path, text: &str, env: EnvLookup<'a>) -> Reader<'a> {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let parent = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        // Canonical when the directory exists, so that paths shown to the operator have
        // no `..` in them; the text may also come from a file that was never on disk.
        let base_dir = std::fs::canonicalize(&parent).unwrap_or(parent);
        let (file, syntax_errors) = Properties::parse_collecting(text);
        let mut errors: Vec<ConfigError> = syntax_errors
            .into_iter()
            .map(|error| ConfigError::Syntax {
                path: path.to_path_buf(),
                line: error.line(),
                message: strip_line_prefix(&error.to_string()),
            })
            .collect();
        for property in file.iter() {
            if !keys::is_known(&property.key) {
                errors.push(ConfigError::UnknownKey {
                    path: path.to_path_buf(),
                    line: property.line,
                    key: property.key.clone(),
                    suggestion: keys::nearest_known_key(&property.key).map(str::to_string),
                });
            }
        }
        Reader {
            path: path.to_path_buf(),
            base_dir,
            file,
            env,
            errors,
            effective: Vec::new(),
        }
    }

    /// The directory relative paths are resolved against: the config file's.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// A setting with a default: unset means the default; a bad value is an error.
    pub fn value<T: Clone>(
        &mut self,
        key: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, Expected>,
        show: impl Fn(&T) -> String,
    ) -> T {
        match self.lookup(key) {
            Lookup::Unset => {
                self.record(key, show(&default), Origin::Default);
                default
            }
            Lookup::Found(raw) => match parse(&raw.text) {
                Ok(value) => {
                    self.record(key, show(&value), raw.origin);
                    value
                }
                Err(expected) => {
                    self.invalid(key, &raw, expected);
                    default
                }
            },
            Lookup::Failed => default,
        }
    }

    /// A setting without a default: unset or empty means `None`.
    pub fn optional<T>(
        &mut self,
        key: &'static str,
        parse: impl Fn(&str) -> Result<T, Expected>,
        show: impl Fn(&T) -> String,
    ) -> Option<T> {
        match self.lookup(key) {
            Lookup::Found(raw) if !raw.text.is_empty() => match parse(&raw.text) {
                Ok(value) => {
                    self.record(key, show(&value), raw.origin);
                    Some(value)
                }
                Err(expected) => {
                    self.invalid(key, &raw, expected);
                    None
                }
            },
            Lookup::Found(raw) => {
                self.record(key, "(not set)".into(), raw.origin);
                None
            }
            Lookup::Unset => {
                self.record(key, "(not set)".into(), Origin::Default);
                None
            }
            Lookup::Failed => None,
        }
    }

    /// Where the effective value of an already-read `key` came from.
    pub fn origin_of(&self, key: &str) -> Origin {
        self.effective
            .iter()
            .find(|setting| setting.key == key)
            .map(|setting| setting.origin.clone())
            .unwrap_or(Origin::Default)
    }

    /// Whether an already-read `key` was read without error.
    pub fn read_ok(&self, key: &str) -> bool {
        self.effective.iter().any(|setting| setting.key == key)
    }

    pub fn error(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    pub fn finish(self) -> Result<(PathBuf, Vec<EffectiveSetting>), Vec<ConfigError>> {
        if self.errors.is_empty() {
            Ok((self.path, self.effective))
        } else {
            Err(self.errors)
        }
    }

    fn record(&mut self, key: &'static str, shown: String, origin: Origin) {
        let shown = if SECRET_KEYS.contains(&key) && shown != "(not set)" {
            shown_secret(key, shown)
        } else {
            shown
        };
        self.effective.push(EffectiveSetting { key, shown, origin });
    }

    fn invalid(&mut self, key: &'static str, raw: &RawValue, expected: Expected) {
        self.errors.push(ConfigError::InvalidValue {
            origin: raw.origin.clone(),
            key: key.to_string(),
            value: shown_in_error(key, &raw.text),
            expected,
        });
    }

    fn env_value(&self, key: &str) -> Option<RawValue> {
        let var = env_var_name(key);
        (self.env)(&var).map(|text| RawValue {
            text: text.trim().to_string(),
            origin: Origin::Env { var },
        })
    }

    fn file_value(&self, key: &str) -> Option<RawValue> {
        self.file.get(key).map(|property| RawValue {
            // Java keeps trailing blanks; in a config file they are always a mistake.
            text: property.value.trim().to_string(),
            origin: Origin::File {
                path: self.path.clone(),
                line: property.line,
            },
        })
    }

    /// Environment over file. A key with a `<key>_file` variant is looked up as a pair:
    /// the environment wins if it gives either form, and within one layer giving both
    /// is an error. Empty values of the pair count as not given, so the shipped file
    /// can list both forms.
    fn lookup(&mut self, key: &'static str) -> Lookup {
        let file_key = format!("{key}_file");
        if !keys::is_known(&file_key) {
            return match self.env_value(key).or_else(|| self.file_value(key)) {
                Some(raw) => Lookup::Found(raw),
                None => Lookup::Unset,
            };
        }
        let given = |raw: Option<RawValue>| raw.filter(|raw| !raw.text.is_empty());
        let env_pair = (given(self.env_value(key)), given(self.env_value(&file_key)));
        let (inline, named_file) = if env_pair.0.is_some() || env_pair.1.is_some() {
            env_pair
        } else {
            (
                given(self.file_value(key)),
                given(self.file_value(&file_key)),
            )
        };
        match (inline, named_file) {
            (Some(inline), Some(named_file)) => {
                self.errors.push(ConfigError::InlineAndFile {
                    key: key.to_string(),
                    key_origin: inline.origin,
                    file_key,
                    file_origin: named_file.origin,
                });
                Lookup::Failed
            }
            (Some(inline), None) => Lookup::Found(inline),
            (None, Some(named_file)) => self.read_secret_file(key, file_key, named_file),
            (None, None) => Lookup::Unset,
        }
    }

    fn read_secret_file(&mut self, key: &str, file_key: String, named: RawValue) -> Lookup {
        let path = resolve(&self.base_dir, &named.text);
        match std::fs::read_to_string(&path) {
            Ok(contents) => Lookup::Found(RawValue {
                text: contents.trim().to_string(),
                origin: Origin::SecretFile {
                    path,
                    key: file_key,
                    named_at: Box::new(named.origin),
                },
            }),
            Err(source) => {
                self.errors.push(ConfigError::SecretFile {
                    origin: named.origin,
                    file_key,
                    key: key.to_string(),
                    path,
                    source,
                });
                Lookup::Failed
            }
        }
    }
}

/// `relative` anchored at `base` (an absolute `relative` stays as it is), with `.`
/// components dropped.
pub fn resolve(base: &Path, relative: &str) -> PathBuf {
    base.join(relative).components().collect()
}

/// Secrets are shown as their length only; the keyring also lists its key ids, which
/// are not secret and tell the operator which key seals.
fn shown_secret(key: &str, shown: String) -> String {
    if key == "crypto.keys" {
        shown
    } else {
        mask(shown.chars().count())
    }
}

/// How a bad value appears in an error: quoted, unless it is (or may hold) a secret.
fn shown_in_error(key: &str, text: &str) -> String {
    if SECRET_KEYS.contains(&key) {
        mask(text.chars().count())
    } else if URL_KEYS_WITH_PASSWORD.contains(&key) {
        format!("{:?}", mask_url_password(text))
    } else {
        format!("{text:?}")
    }
}

/// Replaces the password of `scheme://user:password@host…` with `***`, also when the
/// text is not a valid URL, so that a malformed URL never leaks its password.
pub fn mask_url_password(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let authority_start = scheme_end + 3;
    let authority_end = text[authority_start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| authority_start + i);
    let authority = &text[authority_start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return text.to_string();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return text.to_string();
    };
    format!(
        "{}{}:***{}",
        &text[..authority_start],
        &userinfo[..colon],
        &text[authority_start + at..]
    )
}

/// `PropertiesError` messages start with "line N: "; the config error puts the file
/// and line in front itself.
fn strip_line_prefix(message: &str) -> String {
    match message.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") => rest.to_string(),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_even_in_malformed_urls() {
        assert_eq!(
            mask_url_password("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            mask_url_password("amqp://u:p@ss@host:notaport"),
            "amqp://u:***@host:notaport"
        );
        assert_eq!(mask_url_password("amqp://host/"), "amqp://host/");
        assert_eq!(mask_url_password("not a url"), "not a url");
    }
}
