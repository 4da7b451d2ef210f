//! Type libraries: a library's description as ECMA-335 metadata (a `.winmd`, what
//! `comidl -t` and `comidl_build::Config::winmd` write), registered in the class registry
//! and loaded again by LIBID, like Windows's `RegisterTypeLib` and `LoadRegTypeLib`.
//!
//! Registering stores the .winmd beside the registry layer it is registered in
//! (`<layer dir>/typelib/{LIBID}-<major>.<minor>.winmd`), so a module can carry its type
//! library inside itself, and writes the keys Windows writes:
//!
//! ```text
//! TypeLib\{libid}\<major>.<minor>          = the library's helpstring (else its name)
//! TypeLib\{libid}\<major>.<minor>\0\win64  = the .winmd's path (win32 on 32-bit targets)
//! TypeLib\{libid}\<major>.<minor>\FLAGS    = 0
//! TypeLib\{libid}\<major>.<minor>\HELPDIR  = the .winmd's directory
//! Interface\{iid}                          = the interface's name, for each interface
//! Interface\{iid}\TypeLib                  = {libid}, "Version" = <major>.<minor>
//! ```
//!
//! Versions in key names are hexadecimal, as Windows writes them (`1.a` is 1.10). The
//! version key also holds `"SHA1"`, the digest of the stored file.
//!
//! What is parsed: windows-metadata's reader trusts its input (a malformed file can make
//! it panic, and in debug builds abort), so the runtime parses only metadata it has reason
//! to trust: the bytes a module carries in its own image (code the process already runs),
//! and a stored file whose SHA-1 matches the digest recorded when those bytes were
//! registered. A file changed, truncated or replaced since is refused with
//! TYPE_E_CANTLOADLIBRARY before any of it is read.
//!
//! A .winmd comes from comidl's winmd backend (its encoding is documented in
//! `comidl::emit::winmd`): the library is the abstract class carrying the LIBID as its
//! `GuidAttribute` and `VersionAttribute` (major << 16 | minor); its InterfaceImpl rows
//! list its members, of which the interfaces are registered.
//!
//! Layer: com. Uses `host` and `registry` of this layer.

use std::path::{Path, PathBuf};

use crate::guid::GUID;
use crate::hresult::{HRESULT, Result};
use crate::registry::{self, InterfaceEntry, Registry, RegistryError, Scope, Tree};

/// windows-metadata, the reader [`TypeLibrary::metadata`] returns, re-exported so a caller
/// needs no dependency of its own (or a matching version) to walk the types.
pub use windows_metadata as metadata;

/// The library is not registered (or not in a version with the requested major).
pub const TYPE_E_LIBNOTREGISTERED: HRESULT = HRESULT(0x8002_801D_u32 as i32);
/// The registered file is missing or is not a type library comidl can read.
pub const TYPE_E_CANTLOADLIBRARY: HRESULT = HRESULT(0x8002_9C4A_u32 as i32);

/// The value of the version key holding the stored file's SHA-1 (hex).
const DIGEST: &str = "SHA1";

fn sha1(bytes: &[u8]) -> String {
    sha1_smol::Sha1::from(bytes).digest().to_string()
}

/// The platform subkey naming the file: Windows's names for the pointer width.
const PLATFORM: &str = if cfg!(target_pointer_width = "64") {
    "win64"
} else {
    "win32"
};

/// What a type library declares about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryInfo {
    /// The LIBID.
    pub libid: GUID,
    /// The major version.
    pub major: u16,
    /// The minor version.
    pub minor: u16,
    /// The library's name (`library CalculatorLib`).
    pub name: String,
    /// The namespace its types are in.
    pub namespace: String,
    /// Its `helpstring`, if the IDL gave one.
    pub helpstring: Option<String>,
    /// The interfaces it describes: IID and name.
    pub interfaces: Vec<(GUID, String)>,
}

impl LibraryInfo {
    /// Reads the library's description from the bytes of a .winmd that comidl wrote (see
    /// the module documentation: the bytes are trusted). Fails with
    /// TYPE_E_CANTLOADLIBRARY (and a message) for metadata without a library class.
    pub fn parse(bytes: &[u8]) -> Result<LibraryInfo> {
        let (info, _) = read(bytes.to_vec())?;
        Ok(info)
    }

    fn version(&self) -> String {
        format!("{:x}.{:x}", self.major, self.minor)
    }
}

/// A type library loaded from the registry: its description, where it was, and the
/// metadata itself.
pub struct TypeLibrary {
    info: LibraryInfo,
    path: PathBuf,
    index: metadata::reader::Index,
}

impl TypeLibrary {
    /// LIBID, version, name and interfaces.
    pub fn info(&self) -> &LibraryInfo {
        &self.info
    }

    /// The .winmd the registry named.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every type, method, field and attribute, through windows-metadata's reader.
    pub fn metadata(&self) -> &metadata::reader::Index {
        &self.index
    }
}

impl std::fmt::Debug for TypeLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeLibrary")
            .field("info", &self.info)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Parses a .winmd into its library description and an index over it. The reader is not
/// written for hostile input and may panic on a corrupt file: the panic is caught here
/// and becomes TYPE_E_CANTLOADLIBRARY.
fn read(bytes: Vec<u8>) -> Result<(LibraryInfo, metadata::reader::Index)> {
    let parsed = std::panic::catch_unwind(move || {
        let file = metadata::reader::File::new(bytes)?;
        let index = metadata::reader::Index::new(vec![file]);
        let info = describe(&index)?;
        Some((info, index))
    });
    match parsed {
        Ok(Some(found)) => Ok(found),
        _ => Err(fail(
            TYPE_E_CANTLOADLIBRARY,
            "not a type library: no ECMA-335 metadata with a library class (LIBID and version)",
        )),
    }
}

/// The library class of an indexed .winmd and the interfaces it lists.
fn describe(index: &metadata::reader::Index) -> Option<LibraryInfo> {
    use metadata::TypeAttributes;
    use metadata::reader::{HasAttributes, TypeCategory};
    let library = index.types().find(|ty| {
        ty.category() == TypeCategory::Class
            && ty.flags().contains(TypeAttributes::Abstract)
            && guid_attribute(ty.attributes()).is_some()
    })?;
    let libid = guid_attribute(library.attributes())?;
    let version = library
        .attributes()
        .find(|a| a.name() == "VersionAttribute")
        .and_then(|a| match a.value().first() {
            Some((_, metadata::Value::U32(v))) => Some(*v),
            _ => None,
        })
        .unwrap_or(0);
    // The library's members are its InterfaceImpl rows: keep the interfaces (a coclass
    // listed there is a class).
    let mut interfaces = Vec::new();
    for member in library.interface_impls() {
        let (metadata::Type::ClassName(name) | metadata::Type::ValueName(name)) =
            member.interface(&[])
        else {
            continue;
        };
        for ty in index.get(&name.namespace, &name.name) {
            if ty.category() == TypeCategory::Interface
                && let Some(iid) = guid_attribute(ty.attributes())
            {
                interfaces.push((iid, ty.name().to_string()));
            }
        }
    }
    Some(LibraryInfo {
        libid,
        major: (version >> 16) as u16,
        minor: version as u16,
        name: library.name().to_string(),
        namespace: library.namespace().to_string(),
        helpstring: library
            .attributes()
            .find(|a| a.name() == "DescriptionAttribute")
            .and_then(|a| match a.value().into_iter().next() {
                Some((_, metadata::Value::Utf8(text))) => Some(text),
                _ => None,
            }),
        interfaces,
    })
}

/// The GUID of a `GuidAttribute(u32, u16, u16, u8 × 8)` among `attributes`.
fn guid_attribute<'a>(
    mut attributes: impl Iterator<Item = metadata::reader::Attribute<'a>>,
) -> Option<GUID> {
    use metadata::Value::{U8, U16, U32};
    let attribute = attributes.find(|a| a.name() == "GuidAttribute")?;
    let values = attribute.value();
    let mut v = values.iter().map(|(_, v)| v);
    let (Some(U32(d1)), Some(U16(d2)), Some(U16(d3))) = (v.next(), v.next(), v.next()) else {
        return None;
    };
    let mut data4 = [0u8; 8];
    for byte in &mut data4 {
        let Some(U8(b)) = v.next() else {
            return None;
        };
        *byte = *b;
    }
    Some(GUID::from_values(*d1, *d2, *d3, data4))
}

fn fail(hr: HRESULT, message: impl Into<String>) -> HRESULT {
    crate::host::set_error_message(hr, message);
    hr
}

fn registry_failure(error: RegistryError) -> HRESULT {
    let hr = error.hresult();
    fail(hr, error.to_string())
}

/// `TypeLib\{libid}\<major>.<minor>`.
fn version_key(libid: &GUID, major: u16, minor: u16) -> String {
    format!("TypeLib\\{libid}\\{major:x}.{minor:x}")
}

/// Registers a type library (`RegisterTypeLib`): stores `winmd` beside the `scope` layer
/// of the default registry and writes the TypeLib and Interface keys. Returns what was
/// registered. An earlier registration of the same LIBID and version is replaced.
pub fn register(winmd: &[u8], scope: Scope) -> Result<LibraryInfo> {
    let info = LibraryInfo::parse(winmd)?;
    let registry = Registry::open_default().map_err(registry_failure)?;
    let dir = registry
        .path(scope)
        .parent()
        .unwrap_or(Path::new("."))
        .join("typelib");
    let path = dir.join(format!("{}-{}.winmd", info.libid, info.version()));
    registry
        .update(scope, |tree| {
            // Under the layer's lock: the file and the keys naming it change together.
            std::fs::create_dir_all(&dir).map_err(|source| RegistryError::Io {
                path: dir.clone(),
                action: registry::IoAction::Write,
                source,
            })?;
            registry::write_atomically(&path, winmd)?;
            write_keys(tree, &info, &path, &sha1(winmd))
        })
        .map_err(registry_failure)?;
    Ok(info)
}

fn write_keys(
    tree: &mut Tree,
    info: &LibraryInfo,
    path: &Path,
    digest: &str,
) -> core::result::Result<(), RegistryError> {
    let key = version_key(&info.libid, info.major, info.minor);
    tree.delete_key(&key)?;
    let title = info.helpstring.as_deref().unwrap_or(&info.name);
    tree.set_value(&key, "", title)?;
    tree.set_value(&key, DIGEST, digest)?;
    let file = path.to_string_lossy();
    tree.set_value(&format!("{key}\\0\\{PLATFORM}"), "", file.as_ref())?;
    tree.set_value(&format!("{key}\\FLAGS"), "", "0")?;
    let dir = path
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    tree.set_value(&format!("{key}\\HELPDIR"), "", dir)?;
    for (iid, name) in &info.interfaces {
        registry::register_interface(
            tree,
            &InterfaceEntry {
                iid: *iid,
                name: name.clone(),
                proxy_stub_clsid: None,
                typelib: Some((info.libid, info.version())),
                num_methods: None,
            },
        )?;
    }
    Ok(())
}

/// Unregisters a type library (`UnRegisterTypeLib`): removes its version key (and the
/// LIBID key when no version is left), the Interface keys that name it, and the stored
/// .winmd. Fails with TYPE_E_LIBNOTREGISTERED when that version is not registered in
/// `scope`.
pub fn unregister(libid: &GUID, major: u16, minor: u16, scope: Scope) -> Result<()> {
    let registry = Registry::open_default().map_err(registry_failure)?;
    let key = version_key(libid, major, minor);
    let path = registry
        .update(scope, |tree| {
            let Some(path) = tree
                .string(&format!("{key}\\0\\{PLATFORM}"), "")
                .map(PathBuf::from)
            else {
                return Ok(None);
            };
            let libid_text = libid.to_string();
            let interfaces: Vec<GUID> = tree
                .key("Interface")
                .map(|k| {
                    k.subkeys()
                        .filter(|i| {
                            i.subkey("TypeLib")
                                .and_then(|t| t.string(""))
                                .is_some_and(|l| l.eq_ignore_ascii_case(&libid_text))
                        })
                        .filter_map(|i| GUID::parse(i.name()).ok())
                        .collect()
                })
                .unwrap_or_default();
            for iid in interfaces {
                registry::unregister_interface(tree, &iid)?;
            }
            tree.delete_key(&key)?;
            let library = format!("TypeLib\\{libid}");
            if tree
                .key(&library)
                .is_some_and(|k| k.subkeys().next().is_none())
            {
                tree.delete_key(&library)?;
            }
            Ok(Some(path))
        })
        .map_err(registry_failure)?;
    let Some(path) = path else {
        return Err(fail(
            TYPE_E_LIBNOTREGISTERED,
            format!("type library {libid} {major}.{minor} is not registered"),
        ));
    };
    // Only a file registration stored is removed, never one the registry merely named.
    if path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "typelib")
    {
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

/// Where the registered library is (`QueryPathOfRegTypeLib`): the version with `major`
/// and the highest minor version at least `minor`, as Windows picks it.
pub fn registered_path(libid: &GUID, major: u16, minor: u16) -> Result<PathBuf> {
    registered(libid, major, minor).map(|(path, _)| path)
}

/// The registered file of the version [`registered_path`] picks, and its recorded digest.
fn registered(libid: &GUID, major: u16, minor: u16) -> Result<(PathBuf, Option<String>)> {
    let snapshot = Registry::open_default()
        .and_then(|r| r.shared_snapshot())
        .map_err(registry_failure)?;
    let not_registered = || {
        fail(
            TYPE_E_LIBNOTREGISTERED,
            format!("type library {libid} {major}.{minor} is not registered"),
        )
    };
    let library = snapshot
        .tree()
        .key(&format!("TypeLib\\{libid}"))
        .ok_or_else(not_registered)?;
    let best = library
        .subkeys()
        .filter_map(|k| {
            let (ma, mi) = k.name().split_once('.')?;
            let (ma, mi) = (
                u16::from_str_radix(ma, 16).ok()?,
                u16::from_str_radix(mi, 16).ok()?,
            );
            (ma == major && mi >= minor).then_some((mi, k))
        })
        .max_by_key(|(mi, _)| *mi)
        .ok_or_else(not_registered)?;
    let path = best
        .1
        .subkey("0")
        .and_then(|k| k.subkey(PLATFORM))
        .and_then(|k| k.string(""))
        .map(PathBuf::from)
        .ok_or_else(not_registered)?;
    Ok((path, best.1.string(DIGEST).map(str::to_string)))
}

/// Loads a registered type library by LIBID (`LoadRegTypeLib`), choosing the version as
/// [`registered_path`] does, and parses it.
pub fn load_registered(libid: &GUID, major: u16, minor: u16) -> Result<TypeLibrary> {
    let (path, digest) = registered(libid, major, minor)?;
    let bytes = std::fs::read(&path).map_err(|e| {
        fail(
            TYPE_E_CANTLOADLIBRARY,
            format!("cannot read type library {}: {e}", path.display()),
        )
    })?;
    if digest.as_deref() != Some(sha1(&bytes).as_str()) {
        return Err(fail(
            TYPE_E_CANTLOADLIBRARY,
            format!(
                "{} is not the type library that was registered (its SHA-1 differs from the \
                 registry's); register the library again",
                path.display()
            ),
        ));
    }
    let (info, index) = read(bytes).map_err(|hr| {
        fail(
            hr,
            format!("{} is not a type library comidl can read", path.display()),
        )
    })?;
    if info.libid != *libid {
        return Err(fail(
            TYPE_E_CANTLOADLIBRARY,
            format!(
                "{} describes library {}, not {libid}",
                path.display(),
                info.libid
            ),
        ));
    }
    Ok(TypeLibrary { info, path, index })
}
