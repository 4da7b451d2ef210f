//! The one error type of the registry: what went wrong, where, and which
//! `HRESULT` a COM API reports for it.
//!
//! Layer: com. Uses `hresult` of the layers below.

use core::fmt;
use std::io;
use std::path::PathBuf;

use crate::hresult::{
    E_ACCESSDENIED, E_INVALIDARG, HRESULT, REGDB_E_INVALIDVALUE, REGDB_E_KEYMISSING,
    REGDB_E_READREGDB, REGDB_E_WRITEREGDB,
};

use super::regfile::RegParseError;

/// Whether a failed file operation was reading or writing the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoAction {
    /// Reading a layer file or a file to import.
    Read,
    /// Creating the directory, the lock file or the temporary file, writing,
    /// syncing or renaming.
    Write,
}

/// Everything that can go wrong with the class registry.
///
/// `Display` gives one line that names the file (or key) concerned; parse
/// errors read `path:line:column: message`, like a compiler's.
#[derive(Debug)]
pub enum RegistryError {
    /// A file could not be read or written.
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// Reading or writing.
        action: IoAction,
        /// What the operating system said.
        source: io::Error,
    },
    /// Registry text (a layer file or text being imported) is not valid
    /// REGEDIT4.
    Parse {
        /// The file the text came from, when there was one.
        path: Option<PathBuf>,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the offending character.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// Writing was refused: no permission (`EACCES`, `EPERM`) or a read-only
    /// file system (`EROFS`).
    ReadOnly {
        /// The layer file that could not be written.
        path: PathBuf,
    },
    /// A key that the operation needs does not exist.
    KeyMissing {
        /// The key's path below the classes root.
        key: String,
    },
    /// A value is missing, has the wrong type, or its text is not what the
    /// key calls for (for example a malformed GUID or a `CurVer` loop).
    InvalidValue {
        /// The key holding the value.
        key: String,
        /// The value's name (empty for the default value).
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// A key path or key name cannot be used (empty name, a control
    /// character, too deep, the root where a key is needed).
    InvalidKey {
        /// The path as given.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl RegistryError {
    /// The `HRESULT` a COM API returns for this error: `REGDB_E_READREGDB` for
    /// read failures and unparsable text, `REGDB_E_WRITEREGDB` for write
    /// failures, `E_ACCESSDENIED` for [`RegistryError::ReadOnly`],
    /// `REGDB_E_KEYMISSING`, `REGDB_E_INVALIDVALUE`, and `E_INVALIDARG` for a
    /// bad key path.
    #[must_use]
    pub fn hresult(&self) -> HRESULT {
        match self {
            RegistryError::Io {
                action: IoAction::Read,
                ..
            }
            | RegistryError::Parse { .. } => REGDB_E_READREGDB,
            RegistryError::Io {
                action: IoAction::Write,
                ..
            } => REGDB_E_WRITEREGDB,
            RegistryError::ReadOnly { .. } => E_ACCESSDENIED,
            RegistryError::KeyMissing { .. } => REGDB_E_KEYMISSING,
            RegistryError::InvalidValue { .. } => REGDB_E_INVALIDVALUE,
            RegistryError::InvalidKey { .. } => E_INVALIDARG,
        }
    }

    /// A parse error, located in `path` when the text came from a file.
    #[must_use]
    pub fn from_parse(path: Option<PathBuf>, error: RegParseError) -> RegistryError {
        RegistryError::Parse {
            path,
            line: error.line,
            column: error.column,
            message: error.message,
        }
    }

    pub(crate) fn invalid_key(key: &str, message: impl Into<String>) -> RegistryError {
        RegistryError::InvalidKey {
            key: key.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid_value(
        key: &str,
        name: &str,
        message: impl Into<String>,
    ) -> RegistryError {
        RegistryError::InvalidValue {
            key: key.to_owned(),
            name: name.to_owned(),
            message: message.into(),
        }
    }
}

/// Writes a key path the way the registry shows it: rooted at
/// `HKEY_CLASSES_ROOT`.
struct FullKey<'a>(&'a str);

impl fmt::Display for FullKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("HKEY_CLASSES_ROOT")
        } else {
            write!(f, "HKEY_CLASSES_ROOT\\{}", self.0)
        }
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Io {
                path,
                action,
                source,
            } => {
                let verb = match action {
                    IoAction::Read => "read",
                    IoAction::Write => "write",
                };
                write!(f, "cannot {verb} {}: {source}", path.display())
            }
            RegistryError::Parse {
                path,
                line,
                column,
                message,
            } => match path {
                Some(path) => write!(f, "{}:{line}:{column}: {message}", path.display()),
                None => write!(f, "line {line}, column {column}: {message}"),
            },
            RegistryError::ReadOnly { path } => write!(
                f,
                "cannot write the class registry {}: permission denied or read-only file system",
                path.display()
            ),
            RegistryError::KeyMissing { key } => {
                write!(f, "registry key {} does not exist", FullKey(key))
            }
            RegistryError::InvalidValue { key, name, message } => {
                if name.is_empty() {
                    write!(
                        f,
                        "invalid default value of registry key {}: {message}",
                        FullKey(key)
                    )
                } else {
                    write!(
                        f,
                        "invalid value {name:?} of registry key {}: {message}",
                        FullKey(key)
                    )
                }
            }
            RegistryError::InvalidKey { key, message } => {
                write!(f, "invalid registry key {key:?}: {message}")
            }
        }
    }
}

impl std::error::Error for RegistryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RegistryError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<RegistryError> for HRESULT {
    /// Same as [`RegistryError::hresult`].
    fn from(error: RegistryError) -> HRESULT {
        error.hresult()
    }
}
