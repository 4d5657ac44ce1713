//! A reader for Java `.properties` text that remembers where every key was written.
//!
//! Configuration errors must point at a line, so the reader keeps the 1-based line on
//! which each key starts, and reports every problem it meets (duplicate keys, malformed
//! escapes) instead of stopping at the first. The `java-properties` crate exists, but
//! it reads ISO-8859-1 by default and brings in `regex` and `encoding_rs` for what is
//! a hundred lines of code; this reader works on UTF-8 text and has no dependencies.
//!
//! The syntax is Java's (`java.util.Properties::load`):
//! - `key = value`, `key: value` and `key value`; whitespace around the separator
//!   is dropped, whitespace at the end of the value is kept (callers may trim);
//! - lines whose first non-blank character is `#` or `!` are comments;
//! - a line ending in an odd number of `\` continues on the next line, whose leading
//!   whitespace is dropped;
//! - escapes `\t \n \r \f \uXXXX`, and `\` before any other character stands for
//!   that character (so `\\ \= \: \# \! \ ` work in keys and values).

use std::collections::HashMap;
use std::fmt;

/// One `key = value` entry and the line where its key starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    /// 1-based line number of the first physical line of the entry.
    pub line: usize,
}

/// The entries of a properties text, in file order, each key at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<Property>,
    index: HashMap<String, usize>,
}

/// A problem found while reading properties text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertiesError {
    #[error(
        "line {line}: duplicate key `{key}` (first set on line {first_line}); expected each key once"
    )]
    DuplicateKey {
        key: String,
        first_line: usize,
        line: usize,
    },
    #[error("line {line}: malformed escape `{escape}`; expected `\\u` followed by four hex digits")]
    MalformedUnicodeEscape { escape: String, line: usize },
}

impl PropertiesError {
    /// The 1-based line the error is about.
    pub fn line(&self) -> usize {
        match self {
            PropertiesError::DuplicateKey { line, .. }
            | PropertiesError::MalformedUnicodeEscape { line, .. } => *line,
        }
    }
}

impl Properties {
    /// Reads `text`, failing with every problem found if there is any.
    pub fn parse(text: &str) -> Result<Properties, Vec<PropertiesError>> {
        let (properties, errors) = Properties::parse_collecting(text);
        if errors.is_empty() {
            Ok(properties)
        } else {
            Err(errors)
        }
    }

    /// Reads `text` as far as possible: entries with a malformed escape are left out,
    /// a duplicate key keeps its first value, and every problem is returned alongside.
    /// This lets a caller report these problems together with its own.
    pub fn parse_collecting(text: &str) -> (Properties, Vec<PropertiesError>) {
        let mut properties = Properties::default();
        let mut errors = Vec::new();
        for logical in logical_lines(text) {
            match parse_entry(&logical.text, logical.line) {
                Ok(Some((key, value))) => {
                    if let Some(&first) = properties.index.get(&key) {
                        errors.push(PropertiesError::DuplicateKey {
                            key,
                            first_line: properties.entries[first].line,
                            line: logical.line,
                        });
                    } else {
                        properties
                            .index
                            .insert(key.clone(), properties.entries.len());
                        properties.entries.push(Property {
                            key,
                            value,
                            line: logical.line,
                        });
                    }
                }
                Ok(None) => {}
                Err(error) => errors.push(error),
            }
        }
        (properties, errors)
    }

    /// The entry for `key`, if the text sets it.
    pub fn get(&self, key: &str) -> Option<&Property> {
        self.index.get(key).map(|&i| &self.entries[i])
    }

    /// All entries in the order they were written.
    pub fn iter(&self) -> impl Iterator<Item = &Property> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {} (line {})", self.key, self.value, self.line)
    }
}

/// A logical line: physical lines joined across `\` continuations, still escaped.
struct LogicalLine {
    text: String,
    line: usize,
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Splits on `\n`, `\r\n` and lone `\r`, as Java does.
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\n', '\r']) {
            Some(end) => {
                let line = &rest[..end];
                let after = if rest[end..].starts_with("\r\n") {
                    end + 2
                } else {
                    end + 1
                };
                rest = &rest[after..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

/// True when `line` ends in an odd number of backslashes, i.e. the last one is not
/// itself escaped.
fn continues(line: &str) -> bool {
    line.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut result = Vec::new();
    let mut current: Option<LogicalLine> = None;
    for (index, raw) in physical_lines(text).enumerate() {
        let number = index + 1;
        let trimmed = raw.trim_start_matches(is_blank);
        match current.as_mut() {
            Some(open) => {
                if continues(trimmed) {
                    open.text.push_str(&trimmed[..trimmed.len() - 1]);
                } else {
                    open.text.push_str(trimmed);
                    result.extend(current.take());
                }
            }
            None => {
                if trimmed.is_empty() || trimmed.starts_with(['#', '!']) {
                    continue;
                }
                if continues(trimmed) {
                    current = Some(LogicalLine {
                        text: trimmed[..trimmed.len() - 1].to_string(),
                        line: number,
                    });
                } else {
                    result.push(LogicalLine {
                        text: trimmed.to_string(),
                        line: number,
                    });
                }
            }
        }
    }
    // A continuation on the last line of the file simply ends the entry.
    result.extend(current);
    result
}

/// Splits a logical line into its unescaped key and value.
fn parse_entry(text: &str, line: usize) -> Result<Option<(String, String)>, PropertiesError> {
    let mut key_end = text.len();
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_blank(c) {
            key_end = i;
            break;
        }
    }
    let raw_key = &text[..key_end];
    let mut rest = text[key_end..].trim_start_matches(is_blank);
    if let Some(stripped) = rest.strip_prefix(['=', ':']) {
        rest = stripped.trim_start_matches(is_blank);
    }
    if raw_key.is_empty() && rest.is_empty() {
        return Ok(None);
    }
    Ok(Some((unescape(raw_key, line)?, unescape(rest, line)?)))
}

fn unescape(text: &str, line: usize) -> Result<String, PropertiesError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let (decoded, consumed) = decode_unicode_escape(chars.as_str());
                match decoded {
                    Some(decoded) => {
                        out.push(decoded);
                        chars = chars.as_str()[consumed..].chars();
                    }
                    None => {
                        let shown: String = chars.as_str().chars().take(consumed.max(4)).collect();
                        return Err(PropertiesError::MalformedUnicodeEscape {
                            escape: format!("\\u{shown}"),
                            line,
                        });
                    }
                }
            }
            Some(other) => out.push(other),
            // A lone trailing backslash has nothing to escape: Java drops it.
            None => {}
        }
    }
    Ok(out)
}

/// Reads four hex digits, and when they are a UTF-16 high surrogate, the `\\uXXXX`
/// low surrogate that must follow (Java strings are UTF-16, so characters outside the
/// Basic Multilingual Plane are written as pairs). Returns the character, if valid, and
/// how many bytes of `after_u` it spans.
fn decode_unicode_escape(after_u: &str) -> (Option<char>, usize) {
    let hex4 = |s: &str| -> Option<u32> {
        let digits = s.get(..4)?;
        if digits.chars().all(|d| d.is_ascii_hexdigit()) {
            u32::from_str_radix(digits, 16).ok()
        } else {
            None
        }
    };
    let Some(unit) = hex4(after_u) else {
        return (None, 4);
    };
    if !(0xD800..0xDC00).contains(&unit) {
        return (char::from_u32(unit), 4);
    }
    let low = after_u
        .get(4..)
        .and_then(|rest| rest.strip_prefix("\\u"))
        .and_then(hex4)
        .filter(|low| (0xDC00..0xE000).contains(low));
    match low {
        Some(low) => (
            char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)),
            10,
        ),
        None => (None, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(String, String, usize)> {
        Properties::parse(text)
            .expect("valid properties")
            .iter()
            .map(|p| (p.key.clone(), p.value.clone(), p.line))
            .collect()
    }

    fn entry(key: &str, value: &str, line: usize) -> (String, String, usize) {
        (key.to_string(), value.to_string(), line)
    }

    #[test]
    fn all_three_separators_are_understood() {
        assert_eq!(
            entries("a = 1\nb: 2\nc 3\nd=4\ne:5\n  f\t=\t6"),
            vec![
                entry("a", "1", 1),
                entry("b", "2", 2),
                entry("c", "3", 3),
                entry("d", "4", 4),
                entry("e", "5", 5),
                entry("f", "6", 6),
            ]
        );
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_but_counted() {
        assert_eq!(
            entries("# comment\n! also a comment\n\n   \nkey = v\n  # indented comment\n"),
            vec![entry("key", "v", 5)]
        );
    }

    #[test]
    fn line_continuation_joins_lines_and_drops_leading_whitespace() {
        let text = "first = a,\\\n        b,\\\n    c\nsecond = x\n";
        assert_eq!(
            entries(text),
            vec![entry("first", "a,b,c", 1), entry("second", "x", 4)]
        );
    }

    #[test]
    fn an_escaped_backslash_at_line_end_does_not_continue() {
        assert_eq!(
            entries("path = C:\\\\\nnext = 1"),
            vec![entry("path", "C:\\", 1), entry("next", "1", 2)]
        );
    }

    #[test]
    fn a_comment_line_ending_in_backslash_does_not_continue() {
        assert_eq!(entries("# note \\\nkey = v"), vec![entry("key", "v", 2)]);
    }

    #[test]
    fn unicode_and_character_escapes_are_decoded() {
        assert_eq!(
            entries(
                "greeting = caf\\u00e9 \\u041f\\u0440\\u0438\\u0432\\u0435\\u0442\nesc = a\\tb\\nc\\rd\\\\e\\=f\\:g\\#h"
            ),
            vec![
                entry("greeting", "café Привет", 1),
                entry("esc", "a\tb\nc\rd\\e=f:g#h", 2),
            ]
        );
    }

    #[test]
    fn escaped_separators_belong_to_the_key() {
        assert_eq!(
            entries("a\\=b\\:c\\ d = value"),
            vec![entry("a=b:c d", "value", 1)]
        );
    }

    #[test]
    fn only_the_first_separator_splits() {
        assert_eq!(
            entries("url = amqp://u:p@h:5672/%2f\nkv = a=b"),
            vec![
                entry("url", "amqp://u:p@h:5672/%2f", 1),
                entry("kv", "a=b", 2)
            ]
        );
    }

    #[test]
    fn key_without_value_has_empty_value() {
        assert_eq!(
            entries("empty =\nbare\n"),
            vec![entry("empty", "", 1), entry("bare", "", 2)]
        );
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        assert_eq!(
            entries("a = 1\r\nb = 2\rc = 3"),
            vec![entry("a", "1", 1), entry("b", "2", 2), entry("c", "3", 3)]
        );
    }

    #[test]
    fn duplicate_key_names_both_lines() {
        let errors = Properties::parse("a = 1\nb = 2\n\na = 3\n").expect_err("duplicate");
        assert_eq!(
            errors,
            vec![PropertiesError::DuplicateKey {
                key: "a".into(),
                first_line: 1,
                line: 4
            }]
        );
        let message = errors[0].to_string();
        assert!(message.contains("line 4"), "{message}");
        assert!(message.contains("line 1"), "{message}");
        assert!(message.contains("`a`"), "{message}");
    }

    #[test]
    fn malformed_unicode_escape_is_an_error_naming_it() {
        let (properties, errors) = Properties::parse_collecting("ok = 1\nbad = x\\u12G4\n");
        assert_eq!(
            errors,
            vec![PropertiesError::MalformedUnicodeEscape {
                escape: "\\u12G4".into(),
                line: 2
            }]
        );
        assert!(properties.get("bad").is_none());
        assert_eq!(properties.get("ok").map(|p| p.value.as_str()), Some("1"));
        let (_, short) = Properties::parse_collecting("k = \\u12");
        assert_eq!(short[0].line(), 1);
        assert!(short[0].to_string().contains("four hex digits"));
    }

    #[test]
    fn surrogate_escape_is_rejected_rather_than_panicking() {
        let errors = Properties::parse("k = \\ud800").expect_err("lone surrogate");
        assert!(matches!(
            errors[0],
            PropertiesError::MalformedUnicodeEscape { line: 1, .. }
        ));
    }

    #[test]
    fn surrogate_pair_escape_decodes_to_one_character() {
        assert_eq!(
            entries("k = \\ud83d\\ude00!"),
            vec![entry("k", "\u{1F600}!", 1)]
        );
    }

    #[test]
    fn continuation_on_last_line_ends_the_entry() {
        assert_eq!(entries("k = v\\"), vec![entry("k", "v", 1)]);
    }
}
