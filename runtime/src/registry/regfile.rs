//! REGEDIT4 text: reading it into a list of operations, and writing a tree
//! out as it.
//!
//! What the reader accepts:
//! - an optional UTF-8 byte order mark, then the header line `REGEDIT4` or
//!   `Windows Registry Editor Version 5.00` (the text itself must be UTF-8);
//! - lines ended by LF or CRLF; blank lines; comment lines starting with `;`;
//!   leading spaces and tabs on any line;
//! - key sections `[ROOT\path]`, where ROOT is `HKEY_CLASSES_ROOT` (`HKCR`)
//!   or `HKEY_LOCAL_MACHINE\Software\Classes` / `HKEY_CURRENT_USER\Software\
//!   Classes` (`HKLM`, `HKCU`), all meaning the classes root, any case;
//!   `[-ROOT\path]` deletes the key and everything under it;
//! - value lines below a section: `@=...` for the default value or
//!   `"Name"=...`, where the data is `"text"`, `dword:` followed by one to
//!   eight hex digits, or `-` to delete the value. Inside quotes `\\` stands
//!   for a backslash and `\"` for a quote; no other escape exists.
//!
//! Anything else is an error located at a 1-based line and a 1-based
//! column counted in characters. Reading never panics, whatever the bytes.
//!
//! The writer emits LF line ends, `REGEDIT4`, a blank line, then one section
//! per key — parents before children, in tree order — each followed by its
//! values (default value first) and a blank line. Keys without values get a
//! section too, so they survive a round trip; the root gets one only when it
//! has values. Reading what the writer wrote gives back the same tree, and
//! writing that again gives the same bytes.

use core::fmt;

use super::error::RegistryError;
use super::tree::{MAX_DEPTH, Tree, Value, is_forbidden_char, key_name_problem};

/// Where and why REGEDIT4 text could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters, of the offending character (one past
    /// the end of the line when something is missing there).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RegParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for RegParseError {}

/// One change a REGEDIT4 text asks for, in the text's own shape: a value
/// operation applies to the key of the nearest [`Operation::CreateKey`]
/// before it (the reader guarantees there is one, with no
/// [`Operation::DeleteKey`] in between). Paths are relative to the classes
/// root, spelled as in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `[ROOT\path]`: create the key (and its parents); later value
    /// operations apply to it.
    CreateKey {
        /// The key.
        key: String,
    },
    /// `[-ROOT\path]`: delete the key and all below it.
    DeleteKey {
        /// The key.
        key: String,
    },
    /// `"name"="text"` or `"name"=dword:n`.
    SetValue {
        /// The value's name (`""` for `@`).
        name: String,
        /// The data.
        value: Value,
    },
    /// `"name"=-`.
    DeleteValue {
        /// The value's name (`""` for `@`).
        name: String,
    },
}

/// A parsed REGEDIT4 text: the operations it describes, in file order.
/// Nothing happens to any tree until [`RegFile::apply`] is called, so a text
/// with an error anywhere changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RegFile {
    operations: Vec<Operation>,
}

impl RegFile {
    /// Reads REGEDIT4 text (see the module documentation for the accepted
    /// forms). The input is bytes so that any file can be handed over;
    /// text that is not UTF-8 is an error located at the first bad byte.
    pub fn parse(text: &[u8]) -> Result<RegFile, RegParseError> {
        Parser::default().parse(text)
    }

    /// The operations, in file order.
    #[must_use]
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// Applies the operations to `tree` in order. Deleting a key or value
    /// that does not exist is not an error.
    pub fn apply(&self, tree: &mut Tree) -> Result<(), RegistryError> {
        // The key of the current section, and where it is in the tree.
        let mut current = None;
        for op in &self.operations {
            match op {
                Operation::CreateKey { key } => {
                    // Names were checked by the reader: the only way to get
                    // a `RegFile` is `RegFile::parse`.
                    current = Some((key.as_str(), tree.key_mut_creating_checked(key)));
                }
                Operation::DeleteKey { key } => {
                    current = None;
                    tree.delete_key(key)?;
                }
                Operation::SetValue { name, value } => match current.as_mut() {
                    Some((key, node)) => node.set_checked(key, name, value.clone())?,
                    None => return Err(value_outside_section()),
                },
                Operation::DeleteValue { name } => match current.as_mut() {
                    Some((_, node)) => {
                        node.remove_value(name);
                    }
                    None => return Err(value_outside_section()),
                },
            }
        }
        Ok(())
    }
}

/// The reader never produces this; `apply` reports it rather than guess.
fn value_outside_section() -> RegistryError {
    RegistryError::invalid_key("", "a value operation without a key section before it")
}

/// Reads REGEDIT4 text; same as [`RegFile::parse`].
pub fn parse(text: &[u8]) -> Result<RegFile, RegParseError> {
    RegFile::parse(text)
}

/// One line of input, for locating errors.
struct Line<'a> {
    text: &'a str,
    number: usize,
}

impl Line<'_> {
    /// An error at byte offset `at` of the line.
    fn error(&self, at: usize, message: impl Into<String>) -> RegParseError {
        let column = self
            .text
            .get(..at)
            .map_or(self.text.chars().count(), |before| before.chars().count())
            + 1;
        RegParseError {
            line: self.number,
            column,
            message: message.into(),
        }
    }

    /// The character at byte offset `at`.
    fn char_at(&self, at: usize) -> Option<char> {
        self.text.get(at..).and_then(|rest| rest.chars().next())
    }

    /// The first offset at or after `at` that is not a space or tab.
    fn skip_blanks(&self, at: usize) -> usize {
        let rest = self.text.get(at..).unwrap_or("");
        at + (rest.len() - rest.trim_start_matches([' ', '\t']).len())
    }

    /// Fails unless only blanks follow offset `at`.
    fn expect_end(&self, at: usize, what: &str) -> Result<(), RegParseError> {
        let at = self.skip_blanks(at);
        if at < self.text.len() {
            Err(self.error(at, format!("unexpected text after {what}")))
        } else {
            Ok(())
        }
    }
}

const HEADERS: [&str; 2] = ["REGEDIT4", "Windows Registry Editor Version 5.00"];

/// Where values go: the current section.
enum Section {
    None,
    Key,
    Deleted,
}

#[derive(Default)]
struct Parser {
    operations: Vec<Operation>,
}

impl Parser {
    fn parse(mut self, text: &[u8]) -> Result<RegFile, RegParseError> {
        if text.starts_with(&[0xFF, 0xFE]) || text.starts_with(&[0xFE, 0xFF]) {
            return Err(RegParseError {
                line: 1,
                column: 1,
                message: "the text is UTF-16; registry files must be UTF-8".into(),
            });
        }
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        let mut section = Section::None;
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let number = index + 1;
            let line_text = match std::str::from_utf8(raw) {
                Ok(s) => s,
                Err(e) => {
                    let valid = raw.get(..e.valid_up_to()).unwrap_or_default();
                    let column = String::from_utf8_lossy(valid).chars().count() + 1;
                    return Err(RegParseError {
                        line: number,
                        column,
                        message: "invalid UTF-8".into(),
                    });
                }
            };
            let line = Line {
                text: line_text,
                number,
            };
            if number == 1 {
                let header = line_text.trim_end_matches([' ', '\t']);
                if !HEADERS.contains(&header) {
                    return Err(line.error(
                        0,
                        "expected the header `REGEDIT4` (or `Windows Registry Editor Version 5.00`) on the first line",
                    ));
                }
                continue;
            }
            let start = line.skip_blanks(0);
            match line.char_at(start) {
                None | Some(';') => {}
                Some('[') => section = self.section(&line, start)?,
                Some('@' | '"') => self.value(&line, start, &section)?,
                Some(_) => {
                    return Err(line.error(
                        start,
                        "expected a [key] section, a value line, a ';' comment or a blank line",
                    ));
                }
            }
        }
        Ok(RegFile {
            operations: self.operations,
        })
    }

    /// `[ROOT\path]` or `[-ROOT\path]`, `open` being the offset of `[`.
    fn section(&mut self, line: &Line<'_>, open: usize) -> Result<Section, RegParseError> {
        let text = line.text;
        let close = match text.rfind(']') {
            Some(close) if close > open => close,
            _ => {
                return Err(line.error(text.len(), "missing ']' at the end of the key section"));
            }
        };
        line.expect_end(close + 1, "the key section's ']'")?;
        let mut at = open + 1;
        let delete = line.char_at(at) == Some('-');
        if delete {
            at += 1;
        }
        let body = text.get(at..close).unwrap_or("");
        // (offset in the line, name)
        let mut parts = Vec::new();
        let mut offset = at;
        for name in body.split('\\') {
            parts.push((offset, name));
            offset += name.len() + 1;
        }
        let outside = "the key is outside the classes root: use HKEY_CLASSES_ROOT, \
                       HKEY_LOCAL_MACHINE\\Software\\Classes or HKEY_CURRENT_USER\\Software\\Classes";
        let (root_at, root) = parts.first().copied().unwrap_or((at, ""));
        let skip = if root.eq_ignore_ascii_case("HKEY_CLASSES_ROOT")
            || root.eq_ignore_ascii_case("HKCR")
        {
            1
        } else if ["HKEY_LOCAL_MACHINE", "HKLM", "HKEY_CURRENT_USER", "HKCU"]
            .iter()
            .any(|r| root.eq_ignore_ascii_case(r))
        {
            for (i, expected) in [(1, "Software"), (2, "Classes")] {
                match parts.get(i) {
                    Some((_, name)) if name.eq_ignore_ascii_case(expected) => {}
                    Some((name_at, _)) => return Err(line.error(*name_at, outside)),
                    None => return Err(line.error(close, outside)),
                }
            }
            3
        } else if root.is_empty() {
            return Err(line.error(root_at, "missing root key: expected HKEY_CLASSES_ROOT\\..."));
        } else {
            return Err(line.error(root_at, format!("unknown root key `{root}`: {outside}")));
        };
        let mut key = String::new();
        for (depth, (name_at, name)) in parts.iter().skip(skip).enumerate() {
            if let Some(problem) = key_name_problem(name) {
                let at = name
                    .char_indices()
                    .find(|&(_, c)| is_forbidden_char(c))
                    .map_or(*name_at, |(i, _)| name_at + i);
                let message = if name.is_empty() {
                    "empty key name (two '\\' in a row, or a '\\' at the end)"
                } else {
                    problem
                };
                return Err(line.error(at, message));
            }
            if depth >= MAX_DEPTH {
                return Err(line.error(*name_at, "a key path has at most 512 levels"));
            }
            if !key.is_empty() {
                key.push('\\');
            }
            key.push_str(name);
        }
        if delete {
            if key.is_empty() {
                return Err(line.error(open + 1, "the classes root cannot be deleted"));
            }
            self.operations.push(Operation::DeleteKey { key });
            Ok(Section::Deleted)
        } else {
            self.operations.push(Operation::CreateKey { key });
            Ok(Section::Key)
        }
    }

    /// `@=...` or `"name"=...`, starting at offset `start`.
    fn value(
        &mut self,
        line: &Line<'_>,
        start: usize,
        section: &Section,
    ) -> Result<(), RegParseError> {
        match section {
            Section::Key => {}
            Section::None => {
                return Err(line.error(start, "a value must follow a [key] section"));
            }
            Section::Deleted => {
                return Err(line.error(
                    start,
                    "a value cannot follow a key deletion ([-...]) section",
                ));
            }
        }
        let (name, after_name) = if line.char_at(start) == Some('@') {
            (String::new(), start + 1)
        } else {
            quoted(line, start)?
        };
        let eq = line.skip_blanks(after_name);
        if line.char_at(eq) != Some('=') {
            return Err(line.error(eq, "expected '=' after the value name"));
        }
        let at = line.skip_blanks(eq + 1);
        match line.char_at(at) {
            Some('"') => {
                let (text, end) = quoted(line, at)?;
                line.expect_end(end, "the value")?;
                self.operations.push(Operation::SetValue {
                    name,
                    value: Value::String(text),
                });
            }
            Some('-') => {
                line.expect_end(at + 1, "'-'")?;
                self.operations.push(Operation::DeleteValue { name });
            }
            _ => {
                let rest = line.text.get(at..).unwrap_or("");
                let word_len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '(' || c == ')'))
                    .unwrap_or(rest.len());
                let word = rest.get(..word_len).unwrap_or("");
                let colon = at + word_len;
                if line.char_at(colon) != Some(':') || word.is_empty() {
                    return Err(line.error(
                        at,
                        "expected a value: \"text\", dword:XXXXXXXX, or - to delete",
                    ));
                }
                if !word.eq_ignore_ascii_case("dword") {
                    return Err(line.error(
                        at,
                        format!(
                            "unsupported value type `{word}`: only \"strings\" and dword: values are supported"
                        ),
                    ));
                }
                let digits_at = colon + 1;
                let digits_rest = line.text.get(digits_at..).unwrap_or("");
                let count = digits_rest
                    .find(|c: char| !c.is_ascii_hexdigit())
                    .unwrap_or(digits_rest.len());
                if count == 0 {
                    return Err(line.error(digits_at, "expected 1 to 8 hex digits after `dword:`"));
                }
                if count > 8 {
                    return Err(line.error(digits_at + 8, "a dword value has at most 8 hex digits"));
                }
                let digits = digits_rest.get(..count).unwrap_or("");
                let number = u32::from_str_radix(digits, 16)
                    .map_err(|_| line.error(digits_at, "invalid dword value"))?;
                line.expect_end(digits_at + count, "the value")?;
                self.operations.push(Operation::SetValue {
                    name,
                    value: Value::Dword(number),
                });
            }
        }
        Ok(())
    }
}

/// The quoted string whose opening `"` is at offset `open`: its text with
/// escapes resolved, and the offset just past the closing quote.
fn quoted(line: &Line<'_>, open: usize) -> Result<(String, usize), RegParseError> {
    let body_at = open + 1;
    let rest = line.text.get(body_at..).unwrap_or("");
    let bytes = rest.as_bytes();
    let mut out = String::new();
    // Scan bytes: every byte that matters here is ASCII, and in UTF-8 an
    // ASCII byte is never part of a longer character, so each cut below
    // falls on a character boundary.
    let mut copied = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                out.push_str(rest.get(copied..i).unwrap_or(""));
                return Ok((out, body_at + i + 1));
            }
            b'\\' => {
                out.push_str(rest.get(copied..i).unwrap_or(""));
                match line.char_at(body_at + i + 1) {
                    Some(c @ ('\\' | '"')) => out.push(c),
                    Some(c) if is_forbidden_char(c) => {
                        return Err(line.error(
                            body_at + i + 1,
                            "control character in a string (not representable in REGEDIT4)",
                        ));
                    }
                    Some(other) => {
                        return Err(line.error(
                            body_at + i,
                            format!(
                                "unknown escape `\\{other}` in a string: write `\\\\` for a backslash and `\\\"` for a quote"
                            ),
                        ));
                    }
                    None => break,
                }
                i += 2;
                copied = i;
            }
            b if (b < 0x20 && b != b'\t') || b == 0x7F => {
                return Err(line.error(
                    body_at + i,
                    "control character in a string (not representable in REGEDIT4)",
                ));
            }
            _ => i += 1,
        }
    }
    Err(line.error(open, "unterminated string: no closing '\"' on this line"))
}

/// Writes `text` between quotes, escaping backslashes and quotes.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// One section (and recursively those of the subkeys).
fn push_key(out: &mut String, path: &mut String, key: &super::tree::Key) {
    if !path.is_empty() || key.values().next().is_some() {
        out.push_str("[HKEY_CLASSES_ROOT");
        if !path.is_empty() {
            out.push('\\');
            out.push_str(path);
        }
        out.push_str("]\n");
        for (name, value) in key.values() {
            if name.is_empty() {
                out.push('@');
            } else {
                push_quoted(out, name);
            }
            out.push('=');
            match value {
                Value::String(s) => push_quoted(out, s),
                Value::Dword(n) => out.push_str(&format!("dword:{n:08x}")),
            }
            out.push('\n');
        }
        out.push('\n');
    }
    for sub in key.subkeys() {
        let len = path.len();
        if !path.is_empty() {
            path.push('\\');
        }
        path.push_str(sub.name());
        push_key(out, path, sub);
        path.truncate(len);
    }
}

/// The tree — or, with `Some(path)`, the key at `path` and everything below
/// it — as REGEDIT4 text (layout in the module documentation). A key that
/// does not exist exports as the header alone.
#[must_use]
pub fn format(tree: &Tree, key: Option<&str>) -> String {
    let mut out = String::from("REGEDIT4\n\n");
    let path = key.unwrap_or("");
    if let (Some(node), Some(mut canonical)) = (tree.key(path), tree.canonical_path(path)) {
        push_key(&mut out, &mut canonical, node);
    }
    out
}
