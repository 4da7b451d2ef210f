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
//!
//! Layer: com. Uses the other parts of its module and the root items of the layers below (status codes, GUIDs, interface pointers).

use core::fmt;
use core::fmt::Write as _;

use super::error::RegistryError;
use super::tree::{MAX_DEPTH, MAX_KEY_NAME, Tree, Value, find_byte, is_control_byte};

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

    /// The tree the operations build from nothing, moving the parsed
    /// strings into it (how layer files are loaded).
    pub(crate) fn into_tree(self) -> Result<Tree, RegistryError> {
        let mut tree = Tree::new();
        let mut current = None;
        for op in self.operations {
            match op {
                Operation::CreateKey { key } => {
                    current = Some(tree.key_mut_creating_checked(&key));
                }
                Operation::DeleteKey { key } => {
                    current = None;
                    tree.delete_key(&key)?;
                }
                // Checked by the reader, which is the only maker of a
                // `RegFile`.
                Operation::SetValue { name, value } => match current.as_mut() {
                    Some(node) => node.put_value_owned(name, value),
                    None => return Err(value_outside_section()),
                },
                Operation::DeleteValue { name } => match current.as_mut() {
                    Some(node) => {
                        node.remove_value(&name);
                    }
                    None => return Err(value_outside_section()),
                },
            }
        }
        Ok(tree)
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

// The reader scans bytes with plain indexed loops (each index is below the
// length it is checked against). Every byte it looks for is ASCII, and in
// UTF-8 an ASCII byte only ever stands for itself, so every offset where it
// cuts the text is a character boundary. Plain loops keep unoptimised
// (test) builds fast: the registry re-reads its file on every update.

/// One line of input (without its line end), for scanning and for locating
/// errors.
struct Line<'a> {
    text: &'a str,
    bytes: &'a [u8],
    number: usize,
}

impl<'a> Line<'a> {
    fn new(text: &'a str, number: usize) -> Line<'a> {
        Line {
            text,
            bytes: text.as_bytes(),
            number,
        }
    }

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

    /// The byte at offset `at`.
    fn byte(&self, at: usize) -> Option<u8> {
        self.bytes.get(at).copied()
    }

    /// The character at byte offset `at` (for messages).
    fn char_at(&self, at: usize) -> Option<char> {
        self.text.get(at..).and_then(|rest| rest.chars().next())
    }

    /// The text between two offsets found by scanning.
    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.text.get(from..to).unwrap_or("")
    }

    /// The first offset at or after `at` that is not a space or tab.
    fn skip_blanks(&self, mut at: usize) -> usize {
        let b = self.bytes;
        let len = b.len();
        while at < len && (b[at] == b' ' || b[at] == b'\t') {
            at += 1;
        }
        at
    }

    /// Fails unless only blanks follow offset `at`.
    fn expect_end(&self, at: usize, what: &str) -> Result<(), RegParseError> {
        let at = self.skip_blanks(at);
        if at < self.bytes.len() {
            Err(self.error(at, format!("unexpected text after {what}")))
        } else {
            Ok(())
        }
    }
}

const HEADERS: [&str; 2] = ["REGEDIT4", "Windows Registry Editor Version 5.00"];

const OUTSIDE: &str = "the key is outside the classes root: use HKEY_CLASSES_ROOT, \
                       HKEY_LOCAL_MACHINE\\Software\\Classes or HKEY_CURRENT_USER\\Software\\Classes";

/// The names of a section, as (start, end) offsets: the text between
/// `next` and `close` split at each '\\'.
struct Names<'l, 'a> {
    line: &'l Line<'a>,
    next: Option<usize>,
    close: usize,
}

impl Iterator for Names<'_, '_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let start = self.next?;
        let close = self.close;
        let i = find_byte(self.line.bytes, start, close, b'\\');
        self.next = if i < close { Some(i + 1) } else { None };
        Some((start, i))
    }
}

/// Where values go: the current section.
enum Section {
    None,
    Key,
    Deleted,
}

/// The offset of the first `\n` at or after `from`, or the length of `b`.
fn find_newline(b: &[u8], from: usize) -> usize {
    find_byte(b, from, b.len(), b'\n')
}

/// The error for text that is not UTF-8: the line and column of the first
/// bad byte.
fn utf8_error(text: &[u8], valid: usize) -> RegParseError {
    let before = text.get(..valid).unwrap_or_default();
    let mut line = 1;
    let mut line_start = 0;
    for (i, &b) in before.iter().enumerate() {
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
        }
    }
    let column = before
        .get(line_start..)
        .map_or(0, |l| String::from_utf8_lossy(l).chars().count())
        + 1;
    RegParseError {
        line,
        column,
        message: "invalid UTF-8".into(),
    }
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
        let text = std::str::from_utf8(text).map_err(|e| utf8_error(text, e.valid_up_to()))?;
        let b = text.as_bytes();
        let len = b.len();
        let mut section = Section::None;
        let mut start = 0;
        let mut number = 0;
        loop {
            number += 1;
            let end = find_newline(b, start);
            let mut line_end = end;
            if line_end > start && b[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            let line = Line::new(text.get(start..line_end).unwrap_or(""), number);
            self.line(&line, &mut section)?;
            if end >= len {
                break;
            }
            start = end + 1;
        }
        Ok(RegFile {
            operations: self.operations,
        })
    }

    fn line(&mut self, line: &Line<'_>, section: &mut Section) -> Result<(), RegParseError> {
        if line.number == 1 {
            let header = line.text.trim_end_matches([' ', '\t']);
            if !HEADERS.contains(&header) {
                return Err(line.error(
                    0,
                    "expected the header `REGEDIT4` (or `Windows Registry Editor Version 5.00`) on the first line",
                ));
            }
            return Ok(());
        }
        let start = line.skip_blanks(0);
        match line.byte(start) {
            None | Some(b';') => {}
            Some(b'[') => *section = self.section(line, start)?,
            Some(b'@' | b'"') => self.value(line, start, section)?,
            Some(_) => {
                return Err(line.error(
                    start,
                    "expected a [key] section, a value line, a ';' comment or a blank line",
                ));
            }
        }
        Ok(())
    }

    /// `[ROOT\path]` or `[-ROOT\path]`, `open` being the offset of `[`.
    fn section(&mut self, line: &Line<'_>, open: usize) -> Result<Section, RegParseError> {
        let b = line.bytes;
        // The section ends at the last ']' of the line (a key name may hold
        // a ']').
        let mut close = None;
        let mut i = b.len();
        while i > open + 1 {
            i -= 1;
            if b[i] == b']' {
                close = Some(i);
                break;
            }
        }
        let Some(close) = close else {
            return Err(line.error(b.len(), "missing ']' at the end of the key section"));
        };
        line.expect_end(close + 1, "the key section's ']'")?;
        let mut at = open + 1;
        let delete = line.byte(at) == Some(b'-');
        if delete {
            at += 1;
        }
        // The names, separated by '\\', each checked once; the first one is
        // the root.
        let names = Names {
            line,
            next: Some(at),
            close,
        };
        let mut names = names.peekable();
        let root_at = at;
        let root_end = names.next().map_or(close, |(_, e)| e);
        let root = line.slice(root_at, root_end);
        // The exact spelling the writer uses first: a cheap comparison.
        if root == "HKEY_CLASSES_ROOT"
            || root.eq_ignore_ascii_case("HKEY_CLASSES_ROOT")
            || root.eq_ignore_ascii_case("HKCR")
        {
        } else if ["HKEY_LOCAL_MACHINE", "HKLM", "HKEY_CURRENT_USER", "HKCU"]
            .iter()
            .any(|r| root.eq_ignore_ascii_case(r))
        {
            for expected in ["Software", "Classes"] {
                match names.next() {
                    Some((s, e)) if line.slice(s, e).eq_ignore_ascii_case(expected) => {}
                    Some((s, _)) => return Err(line.error(s, OUTSIDE)),
                    None => return Err(line.error(close, OUTSIDE)),
                }
            }
        } else if root.is_empty() {
            return Err(line.error(root_at, "missing root key: expected HKEY_CLASSES_ROOT\\..."));
        } else {
            return Err(line.error(root_at, format!("unknown root key `{root}`: {OUTSIDE}")));
        }
        // The key path is the rest of the section, checked name by name.
        let key_start = names.peek().map(|&(s, _)| s);
        let mut depth = 0;
        for (s, e) in names {
            if s == e {
                return Err(line.error(
                    s,
                    "empty key name (two '\\' in a row, or a '\\' at the end)",
                ));
            }
            let b = line.bytes;
            let mut i = s;
            while i < e {
                if is_control_byte(b[i]) {
                    return Err(line.error(i, "a key name cannot contain control characters"));
                }
                i += 1;
            }
            if e - s > MAX_KEY_NAME && line.slice(s, e).chars().count() > MAX_KEY_NAME {
                return Err(line.error(s, "a key name has at most 255 characters"));
            }
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(line.error(s, "a key path has at most 512 levels"));
            }
        }
        let key = key_start.map_or("", |s| line.slice(s, close)).to_owned();
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
        let (name, after_name) = if line.byte(start) == Some(b'@') {
            (String::new(), start + 1)
        } else {
            quoted(line, start)?
        };
        let eq = line.skip_blanks(after_name);
        if line.byte(eq) != Some(b'=') {
            return Err(line.error(eq, "expected '=' after the value name"));
        }
        let at = line.skip_blanks(eq + 1);
        let operation = match line.byte(at) {
            Some(b'"') => {
                let (text, end) = quoted(line, at)?;
                line.expect_end(end, "the value")?;
                Operation::SetValue {
                    name,
                    value: Value::String(text),
                }
            }
            Some(b'-') => {
                line.expect_end(at + 1, "'-'")?;
                Operation::DeleteValue { name }
            }
            _ => Operation::SetValue {
                name,
                value: Value::Dword(dword(line, at)?),
            },
        };
        self.operations.push(operation);
        Ok(())
    }
}

/// `dword:XXXXXXXX` at offset `at` (the only typed value supported), up to
/// the end of the line.
fn dword(line: &Line<'_>, at: usize) -> Result<u32, RegParseError> {
    let b = line.bytes;
    let len = b.len();
    let mut word_end = at;
    while word_end < len
        && (b[word_end].is_ascii_alphanumeric() || b[word_end] == b'(' || b[word_end] == b')')
    {
        word_end += 1;
    }
    if word_end == at || line.byte(word_end) != Some(b':') {
        return Err(line.error(
            at,
            "expected a value: \"text\", dword:XXXXXXXX, or - to delete",
        ));
    }
    let word = line.slice(at, word_end);
    if !word.eq_ignore_ascii_case("dword") {
        return Err(line.error(
            at,
            format!(
                "unsupported value type `{word}`: only \"strings\" and dword: values are supported"
            ),
        ));
    }
    let digits_at = word_end + 1;
    let mut digits_end = digits_at;
    while digits_end < len && b[digits_end].is_ascii_hexdigit() {
        digits_end += 1;
    }
    match digits_end - digits_at {
        0 => {
            return Err(line.error(digits_at, "expected 1 to 8 hex digits after `dword:`"));
        }
        9.. => {
            return Err(line.error(digits_at + 8, "a dword value has at most 8 hex digits"));
        }
        _ => {}
    }
    let number = u32::from_str_radix(line.slice(digits_at, digits_end), 16)
        .map_err(|_| line.error(digits_at, "invalid dword value"))?;
    line.expect_end(digits_end, "the value")?;
    Ok(number)
}

/// The quoted string whose opening `"` is at offset `open`: its text with
/// escapes resolved, and the offset just past the closing quote.
fn quoted(line: &Line<'_>, open: usize) -> Result<(String, usize), RegParseError> {
    const CONTROL: &str = "control character in a string (not representable in REGEDIT4)";
    let b = line.bytes;
    let len = b.len();
    let mut out = String::new();
    let mut copied = open + 1;
    let mut i = open + 1;
    while i < len {
        let c = b[i];
        if c == b'"' {
            out.push_str(line.slice(copied, i));
            return Ok((out, i + 1));
        }
        if c == b'\\' {
            out.push_str(line.slice(copied, i));
            match line.byte(i + 1) {
                Some(b'\\') => out.push('\\'),
                Some(b'"') => out.push('"'),
                Some(n) if is_control_byte(n) => return Err(line.error(i + 1, CONTROL)),
                Some(_) => {
                    let other = line.char_at(i + 1).unwrap_or(char::REPLACEMENT_CHARACTER);
                    return Err(line.error(
                        i,
                        format!(
                            "unknown escape `\\{other}` in a string: write `\\\\` for a backslash and `\\\"` for a quote"
                        ),
                    ));
                }
                None => break,
            }
            i += 2;
            copied = i;
            continue;
        }
        if is_control_byte(c) {
            return Err(line.error(i, CONTROL));
        }
        i += 1;
    }
    Err(line.error(open, "unterminated string: no closing '\"' on this line"))
}

/// Writes `text` between quotes, escaping backslashes and quotes.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    let b = text.as_bytes();
    let len = b.len();
    let mut copied = 0;
    let mut i = 0;
    while i < len {
        if b[i] == b'\\' || b[i] == b'"' {
            out.push_str(text.get(copied..i).unwrap_or(""));
            out.push('\\');
            copied = i;
        }
        i += 1;
    }
    out.push_str(text.get(copied..).unwrap_or(""));
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
                Value::Dword(n) => {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "dword:{n:08x}");
                }
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
