//! The keys COM keeps in the registry: classes (`CLSID\{clsid}`), their
//! ProgIDs, and interfaces (`Interface\{iid}`).
//!
//! GUIDs are written as `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` in upper
//! case and read in either case, with or without braces.
//!
//! Layer: com. Uses `guid` of the layers below.

use crate::guid::GUID;

use super::error::RegistryError;
use super::tree::{Tree, text_problem};

/// Longest ProgID, in characters.
pub const MAX_PROGID: usize = 39;

/// How many `CurVer` links [`Tree::clsid_from_progid`] follows before
/// giving up.
pub const MAX_CURVER_HOPS: usize = 8;

/// Top-level keys a ProgID may not be, since registering or unregistering
/// it would replace or delete that whole branch.
const RESERVED: [&str; 8] = [
    "CLSID",
    "Interface",
    "TypeLib",
    "AppID",
    "Record",
    "MIME",
    "FileType",
    "Wow6432Node",
];

/// What the registry records about one class.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClassEntry {
    /// The class identifier.
    pub clsid: GUID,
    /// Human-readable name: the default value of `CLSID\{clsid}` and of the
    /// ProgID keys.
    pub name: Option<String>,
    /// Path of the shared library serving the class in-process
    /// (`InprocServer32`).
    pub inproc_server: Option<String>,
    /// `ThreadingModel` of the in-process server (`Apartment`, `Free`,
    /// `Both`, `Neutral`); needs `inproc_server`.
    pub threading_model: Option<String>,
    /// Command line of the executable serving the class (`LocalServer32`).
    pub local_server: Option<String>,
    /// Versioned ProgID, `Vendor.Component.Version`.
    pub progid: Option<String>,
    /// Version-independent ProgID, `Vendor.Component`.
    pub vi_progid: Option<String>,
    /// The class's version (`Version` subkey).
    pub version: Option<String>,
    /// The type library describing the class (`TypeLib` subkey).
    pub typelib: Option<GUID>,
    /// The application the class belongs to (`AppID` value).
    pub app_id: Option<GUID>,
}

/// The registry's spelling (`ThreadingModel`) of an IDL `threading(...)` value:
/// `apartment` → `Apartment`, `free` → `Free`, `both` → `Both`, `neutral` → `Neutral`,
/// `single` → `Single`; any other word is kept as written.
pub fn threading_model(idl: &str) -> String {
    match idl.to_ascii_lowercase().as_str() {
        "apartment" => "Apartment",
        "free" => "Free",
        "both" => "Both",
        "neutral" => "Neutral",
        "single" => "Single",
        _ => idl,
    }
    .to_string()
}

/// What the registry records about one interface.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InterfaceEntry {
    /// The interface identifier.
    pub iid: GUID,
    /// The interface's name (default value of `Interface\{iid}`).
    pub name: String,
    /// The class that marshals the interface (`ProxyStubClsid32`).
    pub proxy_stub_clsid: Option<GUID>,
    /// The type library describing the interface and its version
    /// (`TypeLib` subkey and its `Version` value).
    pub typelib: Option<(GUID, String)>,
    /// The number of methods, inherited ones included (`NumMethods`).
    pub num_methods: Option<u32>,
}

/// Where and how a class is served in-process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InprocServer {
    /// Path of the shared library.
    pub path: String,
    /// The `ThreadingModel` value, if the class has one.
    pub threading_model: Option<String>,
}

/// The key of a class: `CLSID\{clsid}`.
#[must_use]
pub fn clsid_key(clsid: &GUID) -> String {
    format!("CLSID\\{clsid}")
}

/// The key of an interface: `Interface\{iid}`.
#[must_use]
pub fn interface_key(iid: &GUID) -> String {
    format!("Interface\\{iid}")
}

/// Fails unless `progid` can name a ProgID key: 1 to 39 characters, ASCII
/// letters, digits, `.`, `_` or `-`, starting with a letter, and not one of
/// the top-level keys COM itself uses.
pub fn check_progid(progid: &str) -> Result<(), &'static str> {
    if progid.is_empty() || progid.len() > MAX_PROGID {
        return Err("a ProgID has 1 to 39 characters");
    }
    if !progid.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("a ProgID starts with a letter");
    }
    if !progid
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("a ProgID holds only letters, digits, '.', '_' and '-'");
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(progid)) {
        return Err("this name is a top-level registry key COM uses, not a ProgID");
    }
    Ok(())
}

/// The default value of `path\sub`, if it is a string.
fn sub_default<'t>(tree: &'t Tree, path: &str, sub: &str) -> Option<&'t str> {
    tree.key(path)?.subkey(sub)?.string("")
}

/// The GUID in the default value of `path\sub`, when it parses.
fn sub_guid(tree: &Tree, path: &str, sub: &str) -> Option<GUID> {
    GUID::parse(sub_default(tree, path, sub)?).ok()
}

/// Writes a class's keys into `tree`, replacing whatever an earlier
/// registration of the same CLSID left (including its ProgID keys), so no
/// stale key survives. A ProgID key is rewritten from scratch even when
/// another class held it: the latest registration owns the name.
///
/// Fails, changing nothing, when a ProgID is not valid (see
/// [`check_progid`]), the two ProgIDs are the same, `threading_model` is
/// given without `inproc_server`, or a string holds a control character.
pub fn register_class(tree: &mut Tree, entry: &ClassEntry) -> Result<(), RegistryError> {
    let key = clsid_key(&entry.clsid);
    for (field, progid) in [
        ("ProgID", &entry.progid),
        ("VersionIndependentProgID", &entry.vi_progid),
    ] {
        if let Some(progid) = progid {
            check_progid(progid)
                .map_err(|problem| RegistryError::invalid_value(&key, field, problem))?;
        }
    }
    if let (Some(p), Some(vi)) = (&entry.progid, &entry.vi_progid)
        && p.eq_ignore_ascii_case(vi)
    {
        return Err(RegistryError::invalid_value(
            &key,
            "VersionIndependentProgID",
            "must differ from the versioned ProgID",
        ));
    }
    if entry.threading_model.is_some() && entry.inproc_server.is_none() {
        return Err(RegistryError::invalid_value(
            &key,
            "ThreadingModel",
            "a threading model needs an InprocServer32 path",
        ));
    }
    for (field, text) in [
        ("", &entry.name),
        ("InprocServer32", &entry.inproc_server),
        ("ThreadingModel", &entry.threading_model),
        ("LocalServer32", &entry.local_server),
        ("Version", &entry.version),
    ] {
        if let Some(problem) = text.as_deref().and_then(text_problem) {
            return Err(RegistryError::invalid_value(&key, field, problem));
        }
    }
    // Everything that could fail has been checked: from here on `tree` only
    // receives valid names and strings.
    unregister_class(tree, &entry.clsid)?;
    tree.create_key(&key)?;
    if let Some(name) = &entry.name {
        tree.set_value(&key, "", name)?;
    }
    if let Some(app_id) = &entry.app_id {
        tree.set_value(&key, "AppID", app_id.to_string())?;
    }
    if let Some(path) = &entry.inproc_server {
        let sub = format!("{key}\\InprocServer32");
        tree.set_value(&sub, "", path)?;
        if let Some(model) = &entry.threading_model {
            tree.set_value(&sub, "ThreadingModel", model)?;
        }
    }
    let subkeys = [
        ("LocalServer32", entry.local_server.clone()),
        ("ProgID", entry.progid.clone()),
        ("VersionIndependentProgID", entry.vi_progid.clone()),
        ("Version", entry.version.clone()),
        ("TypeLib", entry.typelib.map(|g| g.to_string())),
    ];
    for (sub, data) in subkeys {
        if let Some(data) = data {
            tree.set_value(&format!("{key}\\{sub}"), "", data)?;
        }
    }
    let clsid_text = entry.clsid.to_string();
    for progid in entry.progid.iter().chain(&entry.vi_progid) {
        tree.delete_key(progid)?;
        tree.create_key(progid)?;
        if let Some(name) = &entry.name {
            tree.set_value(progid, "", name)?;
        }
        tree.set_value(&format!("{progid}\\CLSID"), "", clsid_text.as_str())?;
    }
    if let (Some(vi), Some(progid)) = (&entry.vi_progid, &entry.progid) {
        tree.set_value(&format!("{vi}\\CurVer"), "", progid)?;
    }
    Ok(())
}

/// Removes a class: `CLSID\{clsid}` with everything below it, and the keys of
/// its ProgID and version-independent ProgID when their `CLSID` still names
/// this class (a ProgID since taken over by another class is left alone).
/// Returns whether the class was registered.
pub fn unregister_class(tree: &mut Tree, clsid: &GUID) -> Result<bool, RegistryError> {
    let key = clsid_key(clsid);
    if !tree.key_exists(&key) {
        return Ok(false);
    }
    for sub in ["ProgID", "VersionIndependentProgID"] {
        let Some(progid) = sub_default(tree, &key, sub).map(str::to_owned) else {
            continue;
        };
        if check_progid(&progid).is_ok() && sub_guid(tree, &progid, "CLSID") == Some(*clsid) {
            tree.delete_key(&progid)?;
        }
    }
    tree.delete_key(&key)?;
    Ok(true)
}

/// Writes an interface's keys, replacing an earlier registration of the
/// same IID.
pub fn register_interface(tree: &mut Tree, entry: &InterfaceEntry) -> Result<(), RegistryError> {
    let key = interface_key(&entry.iid);
    let version = entry.typelib.as_ref().map(|(_, v)| v.as_str());
    for (field, text) in [("", Some(entry.name.as_str())), ("Version", version)] {
        if let Some(problem) = text.and_then(text_problem) {
            return Err(RegistryError::invalid_value(&key, field, problem));
        }
    }
    tree.delete_key(&key)?;
    tree.set_value(&key, "", entry.name.as_str())?;
    if let Some(ps) = &entry.proxy_stub_clsid {
        tree.set_value(&format!("{key}\\ProxyStubClsid32"), "", ps.to_string())?;
    }
    if let Some((libid, version)) = &entry.typelib {
        let sub = format!("{key}\\TypeLib");
        tree.set_value(&sub, "", libid.to_string())?;
        tree.set_value(&sub, "Version", version)?;
    }
    if let Some(n) = entry.num_methods {
        tree.set_value(&format!("{key}\\NumMethods"), "", n.to_string())?;
    }
    Ok(())
}

/// Removes `Interface\{iid}` and everything below it. Returns whether it
/// was registered.
pub fn unregister_interface(tree: &mut Tree, iid: &GUID) -> Result<bool, RegistryError> {
    tree.delete_key(&interface_key(iid))
}

impl Tree {
    /// True when `CLSID\{clsid}` exists.
    #[must_use]
    pub fn class_registered(&self, clsid: &GUID) -> bool {
        self.key_exists(&clsid_key(clsid))
    }

    /// The in-process server of a class: the default value of
    /// `CLSID\{clsid}\InprocServer32` (when a non-empty string) and its
    /// `ThreadingModel`.
    #[must_use]
    pub fn inproc_server(&self, clsid: &GUID) -> Option<InprocServer> {
        let key = self.key(&clsid_key(clsid))?.subkey("InprocServer32")?;
        let path = key.string("").filter(|p| !p.is_empty())?;
        Some(InprocServer {
            path: path.to_owned(),
            threading_model: key.string("ThreadingModel").map(str::to_owned),
        })
    }

    /// The command line of a class's executable server: the default value of
    /// `CLSID\{clsid}\LocalServer32`, when a non-empty string.
    #[must_use]
    pub fn local_server(&self, clsid: &GUID) -> Option<String> {
        sub_default(self, &clsid_key(clsid), "LocalServer32")
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
    }

    /// The machine a class is activated on by default when a client asks for
    /// CLSCTX_REMOTE_SERVER without naming one: the `RemoteServerName` value of the
    /// class's application (`AppID\{appid}`, named by the class's `AppID` value).
    #[must_use]
    pub fn remote_server_name(&self, clsid: &GUID) -> Option<String> {
        self.app_value(clsid, "RemoteServerName")
            .filter(|n| !n.is_empty())
    }

    /// A string value of the class's application: `AppID\{appid}` named by the class's
    /// `AppID` value (RemoteServerName, and the remote launch and access lists
    /// `LaunchUsers` and `AccessUsers`).
    #[must_use]
    pub fn app_value(&self, clsid: &GUID, name: &str) -> Option<String> {
        let app = self.key(&clsid_key(clsid))?.string("AppID")?;
        let app = GUID::parse(app).ok()?;
        // Key names compare without regard to case, as GUIDs are written either way.
        let key = self.key(&format!("AppID\\{app}"))?;
        key.string(name).map(str::to_owned)
    }

    /// The versioned ProgID of a class (`CLSID\{clsid}\ProgID`).
    #[must_use]
    pub fn progid_from_clsid(&self, clsid: &GUID) -> Option<String> {
        sub_default(self, &clsid_key(clsid), "ProgID")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
    }

    /// The class a ProgID names, ProgID in any case. When the ProgID's key
    /// has a `CurVer` subkey, that names the current versioned ProgID, whose
    /// `CLSID` is used instead (up to [`MAX_CURVER_HOPS`] links).
    ///
    /// Errors: [`RegistryError::KeyMissing`] when the ProgID (or the
    /// `CurVer` target, or its `CLSID` subkey) is not registered — COM's
    /// `CLSIDFromProgID` reports that as `CO_E_CLASSSTRING`;
    /// [`RegistryError::InvalidValue`] for a `CurVer` loop, a chain that is
    /// too long, or a `CLSID` that is not a GUID;
    /// [`RegistryError::InvalidKey`] when `progid` is empty or contains `\`.
    pub fn clsid_from_progid(&self, progid: &str) -> Result<GUID, RegistryError> {
        if progid.is_empty() || progid.contains('\\') {
            return Err(RegistryError::invalid_key(
                progid,
                "a ProgID is one key name, not empty and without '\\'",
            ));
        }
        let mut current = progid.to_owned();
        let mut chain: Vec<String> = Vec::new();
        loop {
            let Some(key) = self.key(&current) else {
                return Err(RegistryError::KeyMissing { key: current });
            };
            let name = key.name().to_owned();
            chain.push(name.clone());
            if let Some(next) = key.subkey("CurVer").and_then(|k| k.string("")) {
                let curver = format!("{name}\\CurVer");
                if next.is_empty() || next.contains('\\') {
                    return Err(RegistryError::invalid_value(
                        &curver,
                        "",
                        "CurVer must name a ProgID",
                    ));
                }
                if chain.iter().any(|seen| seen.eq_ignore_ascii_case(next)) {
                    return Err(RegistryError::invalid_value(
                        &curver,
                        "",
                        format!("CurVer loop: {} -> {next}", chain.join(" -> ")),
                    ));
                }
                if chain.len() > MAX_CURVER_HOPS {
                    return Err(RegistryError::invalid_value(
                        &curver,
                        "",
                        "too many CurVer links",
                    ));
                }
                current = next.to_owned();
                continue;
            }
            let clsid_path = format!("{name}\\CLSID");
            let Some(text) = key.subkey("CLSID").and_then(|k| k.string("")) else {
                return Err(RegistryError::KeyMissing { key: clsid_path });
            };
            return GUID::parse(text)
                .map_err(|e| RegistryError::invalid_value(&clsid_path, "", e.to_string()));
        }
    }

    /// Reads back what [`register_class`] wrote for `clsid`, or `None` when
    /// the class is not registered. GUIDs that do not parse read as `None`.
    #[must_use]
    pub fn class(&self, clsid: &GUID) -> Option<ClassEntry> {
        let path = clsid_key(clsid);
        let key = self.key(&path)?;
        let text = |sub: &str| sub_default(self, &path, sub).map(str::to_owned);
        Some(ClassEntry {
            clsid: *clsid,
            name: key.string("").map(str::to_owned),
            inproc_server: text("InprocServer32"),
            threading_model: key
                .subkey("InprocServer32")
                .and_then(|k| k.string("ThreadingModel"))
                .map(str::to_owned),
            local_server: text("LocalServer32"),
            progid: text("ProgID"),
            vi_progid: text("VersionIndependentProgID"),
            version: text("Version"),
            typelib: sub_guid(self, &path, "TypeLib"),
            app_id: key.string("AppID").and_then(|g| GUID::parse(g).ok()),
        })
    }

    /// Reads back what [`register_interface`] wrote for `iid`, or `None` when
    /// the interface is not registered.
    #[must_use]
    pub fn interface(&self, iid: &GUID) -> Option<InterfaceEntry> {
        let path = interface_key(iid);
        let key = self.key(&path)?;
        let typelib = key.subkey("TypeLib").and_then(|k| {
            let libid = GUID::parse(k.string("")?).ok()?;
            Some((libid, k.string("Version").unwrap_or_default().to_owned()))
        });
        Some(InterfaceEntry {
            iid: *iid,
            name: key.string("").unwrap_or_default().to_owned(),
            proxy_stub_clsid: sub_guid(self, &path, "ProxyStubClsid32"),
            typelib,
            num_methods: sub_default(self, &path, "NumMethods").and_then(|n| n.parse().ok()),
        })
    }

    /// The class that marshals an interface
    /// (`Interface\{iid}\ProxyStubClsid32`), when registered and a GUID.
    #[must_use]
    pub fn proxy_stub_clsid(&self, iid: &GUID) -> Option<GUID> {
        sub_guid(self, &interface_key(iid), "ProxyStubClsid32")
    }
}
