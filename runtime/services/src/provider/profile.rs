//! Profiles: the configuration file naming a host's provider modules, one INI-style section
//! per provider (like a MAPI service profile).
//!
//! ```text
//! ; Comment lines start with `;` or `#`.
//! [Echo]
//! Library    = libecho_provider.so
//! EntryPoint = EchoProviderInit
//! Greeting   = "hello, "
//! ```
//!
//! - `[Name]` starts the section of the provider `Name` (names compare without regard to
//!   ASCII case; a name appears once).
//! - `key = value` lines belong to the section above them. Keys compare without regard to
//!   ASCII case and appear once per section; the value is trimmed and one pair of
//!   surrounding double quotes is removed. There are no inline comments: `;` inside a
//!   value is part of it.
//! - `Library` (the module) and `EntryPoint` (the exported function) are required; every
//!   other key is a setting the provider reads through `IProviderSupport::GetSetting`.
//! - Blank lines are ignored; a UTF-8 byte order mark at the start is skipped; lines may
//!   end with CRLF.
//!
//! Where `Library` points ([`ProviderEntry::library_path`]): an absolute path is used as
//! is; a relative path containing `/` is relative to the profile's directory; a bare file
//! name is looked for next to the host executable, then left to `dlopen`'s search path.
//!
//! Every problem is a [`ProfileError`] carrying the file, the line and (where it helps) the
//! column, rendered `path:line:col: message`. Parsing never panics, whatever the bytes.
//!
//! Layer: services. Uses the other parts of its module and the root items of the layers below (status codes, GUIDs, interface pointers).

use std::fmt;
use std::path::{Path, PathBuf};

/// The key naming a provider's module.
pub const LIBRARY_KEY: &str = "Library";
/// The key naming a provider's entry point.
pub const ENTRY_POINT_KEY: &str = "EntryPoint";

/// A problem with a profile: where it is and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileError {
    /// The profile file.
    pub path: PathBuf,
    /// The 1-based line, or 0 when the problem is the whole file (it cannot be read).
    pub line: usize,
    /// The 1-based column (in characters), when the problem has a position on its line.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ProfileError {}

/// One provider's section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderEntry {
    /// The provider's name, as written in its section line.
    pub name: String,
    /// The line of `[name]`.
    pub line: usize,
    /// The `Library` value, as written.
    pub library: String,
    /// The line of `Library =`.
    pub library_line: usize,
    /// The `EntryPoint` value.
    pub entry_point: String,
    /// The line of `EntryPoint =`.
    pub entry_point_line: usize,
    /// The other keys and their values, in file order.
    pub settings: Vec<(String, String)>,
    /// The directory of the profile (where relative library paths start).
    base: PathBuf,
}

impl ProviderEntry {
    /// The setting `key` (compared without regard to ASCII case), if the section has it.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The path handed to `dlopen`: `Library` resolved as the module documentation says
    /// (absolute as is; relative with `/` from the profile's directory; a bare name next to
    /// the host executable if a file of that name is there, else the bare name, which
    /// `dlopen` looks up in its search path).
    pub fn library_path(&self) -> PathBuf {
        let library = Path::new(&self.library);
        if library.is_absolute() {
            return library.to_path_buf();
        }
        if self.library.contains('/') {
            return self.base.join(library);
        }
        let beside_exe = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(library)));
        match beside_exe {
            Some(candidate) if candidate.is_file() => candidate,
            _ => library.to_path_buf(),
        }
    }

    /// Whether `Library` is a bare file name (left to the search path when not found next
    /// to the executable).
    pub fn library_is_bare_name(&self) -> bool {
        !self.library.contains('/')
    }
}

/// A parsed profile: its file and its providers, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    path: PathBuf,
    providers: Vec<ProviderEntry>,
}

impl Profile {
    /// Reads and parses the profile at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Profile, ProfileError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|error| ProfileError {
            path: path.to_path_buf(),
            line: 0,
            column: None,
            message: format!("cannot read the profile: {error}"),
        })?;
        Profile::parse(path, &bytes)
    }

    /// Parses `text` as the contents of the profile at `path` (which gives error messages
    /// their file name and relative library paths their directory; it is not read).
    pub fn parse(path: impl AsRef<Path>, text: &[u8]) -> Result<Profile, ProfileError> {
        let path = path.as_ref();
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Parser {
            path,
            base,
            providers: Vec::new(),
            open: None,
        }
        .run(text)
    }

    /// The profile's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The providers, in file order.
    pub fn providers(&self) -> &[ProviderEntry] {
        &self.providers
    }

    /// The provider named `name` (compared without regard to ASCII case).
    pub fn provider(&self, name: &str) -> Option<&ProviderEntry> {
        self.providers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// A section being read: its name and line, and its keys so far with their lines.
struct OpenSection {
    name: String,
    line: usize,
    keys: Vec<(String, String, usize)>,
}

struct Parser<'a> {
    path: &'a Path,
    base: PathBuf,
    providers: Vec<ProviderEntry>,
    open: Option<OpenSection>,
}

impl Parser<'_> {
    fn error(&self, line: usize, column: Option<usize>, message: String) -> ProfileError {
        ProfileError {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    fn run(mut self, text: &[u8]) -> Result<Profile, ProfileError> {
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = match std::str::from_utf8(raw) {
                Ok(line) => line,
                Err(error) => {
                    let valid = raw.get(..error.valid_up_to()).unwrap_or_default();
                    let column = String::from_utf8_lossy(valid).chars().count() + 1;
                    return Err(self.error(number, Some(column), "invalid UTF-8".into()));
                }
            };
            if let Some(at) = line.find('\0') {
                let column = column_of(line, at);
                return Err(self.error(number, Some(column), "NUL character".into()));
            }
            self.line(number, line)?;
        }
        self.close()?;
        Ok(Profile {
            path: self.path.to_path_buf(),
            providers: self.providers,
        })
    }

    fn line(&mut self, number: usize, line: &str) -> Result<(), ProfileError> {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
            return Ok(());
        }
        let start = line.len() - line.trim_start().len();
        if trimmed.starts_with('[') {
            return self.section(number, line, start, trimmed);
        }
        let Some(eq) = line.find('=') else {
            return Err(self.error(
                number,
                Some(column_of(line, start)),
                "expected `[Provider]` or `key = value`".into(),
            ));
        };
        let key = line.get(..eq).unwrap_or_default().trim();
        if key.is_empty() {
            return Err(self.error(
                number,
                Some(column_of(line, eq)),
                "missing key before `=`".into(),
            ));
        }
        let value = unquote(line.get(eq + 1..).unwrap_or_default().trim());
        let column = Some(column_of(line, start));
        let Some(open) = self.open.as_mut() else {
            return Err(self.error(
                number,
                column,
                format!("`{key}` is outside any section: start one with `[Provider]` first"),
            ));
        };
        if let Some((_, _, first)) = open
            .keys
            .iter()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
        {
            let (section, first) = (open.name.clone(), *first);
            return Err(self.error(
                number,
                column,
                format!(
                    "duplicate key `{key}` in section `[{section}]` (first set on line {first})"
                ),
            ));
        }
        open.keys.push((key.to_string(), value.to_string(), number));
        Ok(())
    }

    fn section(
        &mut self,
        number: usize,
        line: &str,
        start: usize,
        trimmed: &str,
    ) -> Result<(), ProfileError> {
        let Some(inner) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
            return Err(self.error(
                number,
                Some(column_of(line, start)),
                "a section line is `[Name]`, with nothing after the `]`".into(),
            ));
        };
        let name = inner.trim();
        if name.is_empty() {
            return Err(self.error(
                number,
                Some(column_of(line, start)),
                "empty section name".into(),
            ));
        }
        if name.contains(['[', ']']) {
            return Err(self.error(
                number,
                Some(column_of(line, start)),
                format!("`{name}` is not a section name: it contains a bracket"),
            ));
        }
        self.close()?;
        let first = self
            .providers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.line);
        if let Some(first) = first {
            return Err(self.error(
                number,
                Some(column_of(line, start)),
                format!("duplicate section `[{name}]` (first on line {first})"),
            ));
        }
        self.open = Some(OpenSection {
            name: name.to_string(),
            line: number,
            keys: Vec::new(),
        });
        Ok(())
    }

    /// Finishes the open section, checking it has its required keys.
    fn close(&mut self) -> Result<(), ProfileError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let mut library = None;
        let mut entry_point = None;
        let mut settings = Vec::new();
        for (key, value, line) in open.keys {
            if key.eq_ignore_ascii_case(LIBRARY_KEY) {
                library = Some((value, line));
            } else if key.eq_ignore_ascii_case(ENTRY_POINT_KEY) {
                entry_point = Some((value, line));
            } else {
                settings.push((key, value));
            }
        }
        let name = open.name;
        let required = |found: Option<(String, usize)>, key: &str| match found {
            None => Err(self.error(
                open.line,
                None,
                format!("provider `{name}` has no `{key}` key"),
            )),
            Some((value, line)) if value.is_empty() => {
                Err(self.error(line, None, format!("provider `{name}`: `{key}` is empty")))
            }
            Some(found) => Ok(found),
        };
        let (library, library_line) = required(library, LIBRARY_KEY)?;
        let (entry_point, entry_point_line) = required(entry_point, ENTRY_POINT_KEY)?;
        self.providers.push(ProviderEntry {
            name,
            line: open.line,
            library,
            library_line,
            entry_point,
            entry_point_line,
            settings,
            base: self.base.clone(),
        });
        Ok(())
    }
}

/// The 1-based character column of byte offset `at` in `line`.
fn column_of(line: &str, at: usize) -> usize {
    line.get(..at).map_or(at, |before| before.chars().count()) + 1
}

/// `value` without one pair of surrounding double quotes.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Profile, ProfileError> {
        Profile::parse("/etc/app/profile.ini", text.as_bytes())
    }

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(profile) => panic!("accepted: {profile:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn sections_keys_settings_and_quotes() {
        let profile = parse(
            "\u{feff}; a comment\r\n# another\n\n[Echo]\nlibrary = libecho.so\n\
             ENTRYPOINT=EchoInit\n  Greeting =  \"  hello; world  \" \nEmpty=\n[ Other ]\n\
             Library=/opt/x/libother.so\nEntryPoint = OtherInit\n",
        )
        .unwrap();
        assert_eq!(profile.providers().len(), 2);
        let echo = profile.provider("ECHO").unwrap();
        assert_eq!(echo.name, "Echo");
        assert_eq!(
            (echo.line, echo.library_line, echo.entry_point_line),
            (4, 5, 6)
        );
        assert_eq!(echo.library, "libecho.so");
        assert_eq!(echo.entry_point, "EchoInit");
        assert_eq!(echo.setting("greeting"), Some("  hello; world  "));
        assert_eq!(echo.setting("EMPTY"), Some(""));
        assert_eq!(echo.setting("Library"), None);
        assert_eq!(echo.settings.len(), 2);
        let other = profile.provider("other").unwrap();
        assert_eq!(other.name, "Other");
        assert_eq!(other.library_path(), PathBuf::from("/opt/x/libother.so"));
        assert!(profile.provider("missing").is_none());
    }

    #[test]
    fn library_paths_resolve_against_the_profile_and_the_executable() {
        let profile = parse(
            "[a]\nLibrary=sub/liba.so\nEntryPoint=E\n\
             [b]\nLibrary=libcomidl-no-such-module.so\nEntryPoint=E\n",
        )
        .unwrap();
        let a = profile.provider("a").unwrap();
        assert_eq!(a.library_path(), PathBuf::from("/etc/app/sub/liba.so"));
        assert!(!a.library_is_bare_name());
        let b = profile.provider("b").unwrap();
        assert!(b.library_is_bare_name());
        assert_eq!(
            b.library_path(),
            PathBuf::from("libcomidl-no-such-module.so")
        );
        // A file that is next to the executable is found there.
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_str().unwrap();
        let text = format!("[c]\nLibrary={name}\nEntryPoint=E\n");
        let profile = Profile::parse("p.ini", text.as_bytes()).unwrap();
        assert_eq!(profile.provider("c").unwrap().library_path(), exe);
    }

    #[test]
    fn errors_carry_file_line_and_column() {
        let p = "/etc/app/profile.ini";
        assert_eq!(
            error("Library = x\n"),
            format!("{p}:1:1: `Library` is outside any section: start one with `[Provider]` first")
        );
        assert_eq!(
            error("[a]\n  just words\n"),
            format!("{p}:2:3: expected `[Provider]` or `key = value`")
        );
        assert_eq!(error("[ ]\n"), format!("{p}:1:1: empty section name"));
        assert_eq!(
            error("[a] x\n"),
            format!("{p}:1:1: a section line is `[Name]`, with nothing after the `]`")
        );
        assert_eq!(
            error("[a]\nLibrary=l\nEntryPoint=e\n[A]\nLibrary=l\nEntryPoint=e\n"),
            format!("{p}:4:1: duplicate section `[A]` (first on line 1)")
        );
        assert_eq!(
            error("[a]\nLibrary=l\n library = m\nEntryPoint=e\n"),
            format!("{p}:3:2: duplicate key `library` in section `[a]` (first set on line 2)")
        );
        assert_eq!(
            error("[a]\nEntryPoint=e\n\n[b]\n"),
            format!("{p}:1: provider `a` has no `Library` key")
        );
        assert_eq!(
            error("[a]\nLibrary=l\n"),
            format!("{p}:1: provider `a` has no `EntryPoint` key")
        );
        assert_eq!(
            error("[a]\nLibrary=\"\"\nEntryPoint=e\n"),
            format!("{p}:2: provider `a`: `Library` is empty")
        );
        assert_eq!(
            error("[a]\n= x\n"),
            format!("{p}:2:1: missing key before `=`")
        );
        assert_eq!(error("[é]\nk=a\0b\n"), format!("{p}:2:4: NUL character"));
        let mut bytes = b"[a]\nk=\xC3\xA9\xFF\n".to_vec();
        let e = Profile::parse(p, &bytes).unwrap_err();
        assert_eq!(e.to_string(), format!("{p}:2:4: invalid UTF-8"));
        bytes.clear();
        let e = Profile::load("/nonexistent/comidl/profile.ini").unwrap_err();
        assert_eq!(e.line, 0);
        assert!(
            e.to_string()
                .starts_with("/nonexistent/comidl/profile.ini: cannot read the profile: "),
            "{e}"
        );
    }

    /// A deterministic xorshift generator: the same inputs on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // Bytes drawn mostly from the characters the grammar cares about, so inputs reach
        // deep into the parser, plus any byte at all.
        const ALPHABET: &[u8] = b"[]=;#\"\n\r \tLibraryEntryPoint\0\xC3\xA9\xFF\xEF\xBB\xBFab";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        for round in 0..20_000 {
            let len = (rng.next() % 200) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    if r.is_multiple_of(4) {
                        (r >> 8) as u8
                    } else {
                        ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                    }
                })
                .collect();
            let result = std::panic::catch_unwind(|| Profile::parse("fuzz.ini", &bytes));
            let Ok(result) = result else {
                panic!("round {round}: the parser panicked on {bytes:?}");
            };
            match result {
                Ok(profile) => {
                    accepted += 1;
                    for p in profile.providers() {
                        assert!(!p.library.is_empty() && !p.entry_point.is_empty());
                    }
                }
                Err(error) => {
                    assert!(error.line >= 1, "round {round}: {error}");
                    assert!(error.to_string().starts_with("fuzz.ini:"));
                }
            }
        }
        // Empty and comment-only inputs at least parse.
        assert!(accepted > 0);
        // One huge line.
        let mut huge = b"[a]\nLibrary=".to_vec();
        huge.extend(std::iter::repeat_n(b'x', 4 << 20));
        huge.extend(b"\nEntryPoint=e\n");
        let profile = Profile::parse("huge.ini", &huge).unwrap();
        assert_eq!(profile.providers()[0].library.len(), 4 << 20);
    }
}
