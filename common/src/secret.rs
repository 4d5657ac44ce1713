//! A wrapper that keeps secret values out of `Debug` output and logs.
//!
//! Settings are logged and printed; API hashes, envelope keys and passwords must not be.
//! Holding them as `Secret<T>` makes leaking one a deliberate act (`expose()`) rather
//! than an accident of `{:?}`.

use std::fmt;

/// A value that must not be printed. `Debug` shows `Secret(***)`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value itself, for the code that actually uses it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How a secret of `len` characters is shown in rendered settings and error messages:
/// enough to tell "set" from "empty" and spot a truncated value, nothing more.
pub fn mask(len: usize) -> String {
    format!("*** ({len} chars)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_value() {
        let secret = Secret::new("hunter2".to_string());
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
