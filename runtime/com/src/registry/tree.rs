//! The key tree: keys below the classes root, each holding named values and
//! subkeys.
//!
//! Names compare without regard to ASCII case (`clsid` finds `CLSID`) but
//! keep the spelling they were created with. Subkeys and values are kept
//! sorted by their case-folded names, so every listing and every export is
//! in one deterministic order whatever order the keys were added in; the
//! default value (empty name) sorts before all others.
//!
//! Layer: com. Uses the other parts of its module and the root items of the layers below (status codes, GUIDs, interface pointers).

use core::cmp::Ordering;

use super::error::RegistryError;
use super::regfile;

/// Deepest key path the tree accepts. Deeper paths are refused so that the
/// recursive walks over the tree (export, merge, drop) stay shallow.
pub const MAX_DEPTH: usize = 512;

/// Longest key name, in characters (as on Windows).
pub const MAX_KEY_NAME: usize = 255;

/// The data of one registry value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// Text (`"name"="text"` in REGEDIT4).
    String(String),
    /// A 32-bit number (`"name"=dword:0000002a`).
    Dword(u32),
}

impl Value {
    /// The text, when this is a string value.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dword(_) => None,
        }
    }

    /// The number, when this is a DWORD value.
    #[must_use]
    pub fn as_dword(&self) -> Option<u32> {
        match self {
            Value::Dword(n) => Some(*n),
            Value::String(_) => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::String(s.clone())
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::Dword(n)
    }
}

/// Orders names as their ASCII-lower-case forms would sort, without
/// building those forms. Two names compare equal exactly when they differ
/// only in ASCII case.
pub(crate) fn cmp_folded(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // A plain indexed loop (both indexes are below `n`): this runs for every
    // step of every lookup, and iterators are slow in unoptimised builds.
    let n = a.len().min(b.len());
    let mut i = 0;
    while i < n {
        let (x, y) = (a[i], b[i]);
        if x != y {
            let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
            if x != y {
                return x.cmp(&y);
            }
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

/// True for the bytes of the characters no name or string may contain:
/// ASCII control characters other than tab (REGEDIT4 is line-based and has
/// no escapes for them). In UTF-8 these bytes only ever stand for
/// themselves.
#[inline(always)] // Called per byte; keep unoptimised builds fast too.
pub(crate) fn is_control_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7F
}

/// The offset of the first `byte` in `b[from..to]`, or `to` (clamped to
/// the length of `b`) when there is none. A plain indexed loop (the index
/// stays below the clamped end): lookups and the reader split on every
/// call, and iterator adaptors are slow in unoptimised builds.
pub(crate) fn find_byte(b: &[u8], from: usize, to: usize, byte: u8) -> usize {
    let to = to.min(b.len());
    if from >= to {
        return to;
    }
    let mut i = from;
    while i < to && b[i] != byte {
        i += 1;
    }
    i
}

/// True when `text` holds a character [`is_control_byte`] refuses.
fn has_forbidden_char(text: &str) -> bool {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let mut i = 0;
    while i < len {
        if is_control_byte(bytes[i]) {
            return true;
        }
        i += 1;
    }
    false
}

/// Why `name` cannot be a key name, if it cannot.
pub(crate) fn key_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("a key name cannot be empty")
    } else if name.contains('\\') {
        Some("a key name cannot contain '\\'")
    } else if has_forbidden_char(name) {
        Some("a key name cannot contain control characters")
    } else if name.len() > MAX_KEY_NAME && name.chars().count() > MAX_KEY_NAME {
        Some("a key name has at most 255 characters")
    } else {
        None
    }
}

/// Why `text` cannot be a value name or string data, if it cannot.
pub(crate) fn text_problem(text: &str) -> Option<&'static str> {
    if has_forbidden_char(text) {
        Some("control characters (other than tab) cannot be stored")
    } else {
        None
    }
}

/// Splits a path into names; the empty path is the root (no names).
fn names(path: &str) -> Names<'_> {
    Names {
        rest: (!path.is_empty()).then_some(path),
    }
}

/// The names of a path (a plain byte scan: paths are split on every
/// lookup).
struct Names<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Names<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let len = rest.len();
        let i = find_byte(rest.as_bytes(), 0, len, b'\\');
        // '\\' is ASCII, so `i` and `i + 1` are character boundaries.
        self.rest = rest.get(i + 1..).filter(|_| i < len);
        Some(rest.get(..i).unwrap_or(rest))
    }
}

/// Checks every name of a path that is about to be written.
fn check_path(path: &str) -> Result<(), RegistryError> {
    let mut depth = 0;
    for name in names(path) {
        if let Some(problem) = key_name_problem(name) {
            return Err(RegistryError::invalid_key(path, problem));
        }
        depth += 1;
    }
    if depth > MAX_DEPTH {
        return Err(RegistryError::invalid_key(
            path,
            "a key path has at most 512 levels",
        ));
    }
    Ok(())
}

/// One key: its name, its values and its subkeys.
///
/// Equality compares names exactly (spelling included), values and
/// subkeys.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Key {
    name: String,
    /// (name as written, data), sorted by [`cmp_folded`] on the name.
    values: Vec<(String, Value)>,
    /// Sorted by [`cmp_folded`] on their names.
    subkeys: Vec<Key>,
}

impl Key {
    fn new(name: &str) -> Key {
        Key {
            name: name.to_owned(),
            ..Key::default()
        }
    }

    /// The key's name as it was created (empty for the root).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    fn value_index(&self, name: &str) -> Result<usize, usize> {
        if let Some((last, _)) = self.values.last() {
            match cmp_folded(last, name) {
                Ordering::Less => return Err(self.values.len()),
                Ordering::Equal => return Ok(self.values.len() - 1),
                Ordering::Greater => {}
            }
        }
        self.values.binary_search_by(|(n, _)| cmp_folded(n, name))
    }

    fn subkey_index(&self, name: &str) -> Result<usize, usize> {
        // Text is written sorted, so while reading it each new key sorts
        // after, or is, the last one: check there before searching.
        if let Some(last) = self.subkeys.last() {
            match cmp_folded(&last.name, name) {
                Ordering::Less => return Err(self.subkeys.len()),
                Ordering::Equal => return Ok(self.subkeys.len() - 1),
                Ordering::Greater => {}
            }
        }
        self.subkeys.binary_search_by(|k| cmp_folded(&k.name, name))
    }

    /// The value called `name` (`""` for the default value), any case.
    #[must_use]
    pub fn value(&self, name: &str) -> Option<&Value> {
        let i = self.value_index(name).ok()?;
        self.values.get(i).map(|(_, v)| v)
    }

    /// The value called `name` if it is a string.
    #[must_use]
    pub fn string(&self, name: &str) -> Option<&str> {
        self.value(name).and_then(Value::as_str)
    }

    /// The value called `name` if it is a DWORD.
    #[must_use]
    pub fn dword(&self, name: &str) -> Option<u32> {
        self.value(name).and_then(Value::as_dword)
    }

    /// All values as (name, data), the default value first, then by
    /// case-folded name.
    pub fn values(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The direct subkey called `name`, any case.
    #[must_use]
    pub fn subkey(&self, name: &str) -> Option<&Key> {
        let i = self.subkey_index(name).ok()?;
        self.subkeys.get(i)
    }

    fn subkey_mut(&mut self, name: &str) -> Option<&mut Key> {
        let i = self.subkey_index(name).ok()?;
        self.subkeys.get_mut(i)
    }

    /// The subkey called `name`, created (with that spelling) if missing.
    fn subkey_or_insert(&mut self, name: &str) -> &mut Key {
        let i = match self.subkey_index(name) {
            Ok(i) => i,
            Err(i) => {
                self.subkeys.insert(i, Key::new(name));
                i
            }
        };
        // In bounds: `i` was found, or an element was just inserted there.
        &mut self.subkeys[i]
    }

    /// Checks and sets a value (see [`Tree::set_value`]); `path` is only for
    /// the error.
    pub(crate) fn set_checked(
        &mut self,
        path: &str,
        name: &str,
        value: Value,
    ) -> Result<(), RegistryError> {
        if let Some(problem) = text_problem(name) {
            return Err(RegistryError::invalid_value(path, name, problem));
        }
        if let Value::String(s) = &value
            && let Some(problem) = text_problem(s)
        {
            return Err(RegistryError::invalid_value(path, name, problem));
        }
        self.put_value(name, value);
        Ok(())
    }

    /// Sets a value, replacing one of the same name in any case (the new
    /// spelling wins).
    fn put_value(&mut self, name: &str, value: Value) {
        self.put_value_owned(name.to_owned(), value);
    }

    /// [`Key::put_value`] taking the name by value, for a name already
    /// checked.
    pub(crate) fn put_value_owned(&mut self, name: String, value: Value) {
        match self.value_index(&name) {
            Ok(i) => {
                if let Some(slot) = self.values.get_mut(i) {
                    *slot = (name, value);
                }
            }
            Err(i) => self.values.insert(i, (name, value)),
        }
    }

    pub(crate) fn remove_value(&mut self, name: &str) -> bool {
        match self.value_index(name) {
            Ok(i) => {
                self.values.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    fn remove_subkey(&mut self, name: &str) -> bool {
        match self.subkey_index(name) {
            Ok(i) => {
                self.subkeys.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// The direct subkeys, by case-folded name.
    pub fn subkeys(&self) -> impl Iterator<Item = &Key> {
        self.subkeys.iter()
    }

    /// True when the key has neither values nor subkeys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.subkeys.is_empty()
    }

    /// Adds `other`'s values and subkeys to this key, recursively; where both
    /// have a value of the same name, `other`'s wins. Existing names keep
    /// their spelling.
    pub(crate) fn overlay(&mut self, other: &Key) {
        for (name, value) in &other.values {
            self.put_value(name, value.clone());
        }
        for sub in &other.subkeys {
            self.subkey_or_insert(&sub.name).overlay(sub);
        }
    }
}

/// A tree of registry keys below the classes root (`HKEY_CLASSES_ROOT`).
///
/// Paths name keys relative to the root with `\` between names, e.g.
/// `CLSID\{00000000-0000-0000-C000-000000000046}\InprocServer32`; the empty
/// path is the root itself. Lookups with a malformed path simply find
/// nothing; writes with one fail with [`RegistryError::InvalidKey`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Tree {
    root: Key,
}

impl Tree {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Tree {
        Tree::default()
    }

    /// A tree holding what a REGEDIT4 text describes (see
    /// [`RegFile::parse`](super::RegFile::parse)).
    pub fn parse(text: &[u8]) -> Result<Tree, RegistryError> {
        regfile::RegFile::parse(text)
            .map_err(|e| RegistryError::from_parse(None, e))?
            .into_tree()
    }

    /// The root key.
    #[must_use]
    pub fn root(&self) -> &Key {
        &self.root
    }

    /// True when the tree holds no keys and the root no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    /// The key at `path`, any case.
    #[must_use]
    pub fn key(&self, path: &str) -> Option<&Key> {
        let mut key = &self.root;
        for name in names(path) {
            key = key.subkey(name)?;
        }
        Some(key)
    }

    /// The path of the key at `path` spelled as its keys were created, or
    /// `None` when there is no such key.
    #[must_use]
    pub fn canonical_path(&self, path: &str) -> Option<String> {
        let mut key = &self.root;
        let mut out = String::new();
        for name in names(path) {
            key = key.subkey(name)?;
            if !out.is_empty() {
                out.push('\\');
            }
            out.push_str(&key.name);
        }
        Some(out)
    }

    /// True when the key at `path` exists.
    #[must_use]
    pub fn key_exists(&self, path: &str) -> bool {
        self.key(path).is_some()
    }

    /// Walks to the key at `path`, creating missing keys (with the spelling
    /// given) on the way.
    pub(crate) fn key_mut_creating(&mut self, path: &str) -> Result<&mut Key, RegistryError> {
        check_path(path)?;
        Ok(self.key_mut_creating_checked(path))
    }

    /// Like `key_mut_creating`, for a path already checked (by the REGEDIT4
    /// reader).
    pub(crate) fn key_mut_creating_checked(&mut self, path: &str) -> &mut Key {
        let mut key = &mut self.root;
        for name in names(path) {
            key = key.subkey_or_insert(name);
        }
        key
    }

    fn key_mut(&mut self, path: &str) -> Option<&mut Key> {
        let mut key = &mut self.root;
        for name in names(path) {
            key = key.subkey_mut(name)?;
        }
        Some(key)
    }

    /// Creates the key at `path` and any missing parents. An existing key is
    /// left as it is.
    pub fn create_key(&mut self, path: &str) -> Result<(), RegistryError> {
        self.key_mut_creating(path).map(|_| ())
    }

    /// Deletes the key at `path` with all its values and subkeys. Returns
    /// whether it existed. The root cannot be deleted (use
    /// [`Tree::clear`]).
    pub fn delete_key(&mut self, path: &str) -> Result<bool, RegistryError> {
        if path.is_empty() {
            return Err(RegistryError::invalid_key(
                path,
                "the classes root cannot be deleted",
            ));
        }
        let (parent, last) = match path.rsplit_once('\\') {
            Some((parent, last)) => (parent, last),
            None => ("", path),
        };
        if key_name_problem(last).is_some() {
            return Ok(false);
        }
        Ok(self
            .key_mut(parent)
            .is_some_and(|key| key.remove_subkey(last)))
    }

    /// Removes every key and every value of the root.
    pub fn clear(&mut self) {
        self.root = Key::default();
    }

    /// Sets the value `name` (`""` for the default value) of the key at
    /// `path`, creating the key and its parents if needed. A value of the
    /// same name (any case) is replaced, and takes the new spelling.
    pub fn set_value(
        &mut self,
        path: &str,
        name: &str,
        value: impl Into<Value>,
    ) -> Result<(), RegistryError> {
        let value = value.into();
        // Check the value before creating the key, so a refused write
        // changes nothing.
        if let Some(problem) = text_problem(name) {
            return Err(RegistryError::invalid_value(path, name, problem));
        }
        if let Some(problem) = value.as_str().and_then(text_problem) {
            return Err(RegistryError::invalid_value(path, name, problem));
        }
        self.key_mut_creating(path)?.set_checked(path, name, value)
    }

    /// The value `name` of the key at `path`.
    #[must_use]
    pub fn value(&self, path: &str, name: &str) -> Option<&Value> {
        self.key(path)?.value(name)
    }

    /// The value `name` of the key at `path`, if it is a string.
    #[must_use]
    pub fn string(&self, path: &str, name: &str) -> Option<&str> {
        self.key(path)?.string(name)
    }

    /// The value `name` of the key at `path`, if it is a DWORD.
    #[must_use]
    pub fn dword(&self, path: &str, name: &str) -> Option<u32> {
        self.key(path)?.dword(name)
    }

    /// Deletes the value `name` of the key at `path`. Returns whether it
    /// existed.
    pub fn delete_value(&mut self, path: &str, name: &str) -> bool {
        self.key_mut(path).is_some_and(|key| key.remove_value(name))
    }

    /// The names of the direct subkeys of the key at `path`, in tree order
    /// (empty when the key does not exist).
    #[must_use]
    pub fn subkeys(&self, path: &str) -> Vec<String> {
        self.key(path)
            .map(|key| key.subkeys().map(|k| k.name.clone()).collect())
            .unwrap_or_default()
    }

    /// The values of the key at `path` as (name, data), the default value
    /// first (empty when the key does not exist).
    #[must_use]
    pub fn values(&self, path: &str) -> Vec<(String, Value)> {
        self.key(path)
            .map(|key| {
                key.values()
                    .map(|(n, v)| (n.to_owned(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tree, or the subtree at `key`, as REGEDIT4 text (see
    /// [`format()`](super::format())).
    #[must_use]
    pub fn export(&self, key: Option<&str>) -> String {
        regfile::format(self, key)
    }

    /// Adds `other`'s keys and values to this tree; values present in both
    /// take `other`'s data.
    pub(crate) fn overlay(&mut self, other: &Tree) {
        self.root.overlay(&other.root);
    }
}
