//! Registration scripts (widl's `-r`): a REGEDIT4 `.reg` file with the keys of every coclass
//! of the main file, which `comidl registry import` (or regedit on Windows) applies.
//!
//! The keys are the ones a server module's `DllRegisterServer` writes (the runtime's
//! `registry::register_class`), so a class registered from the script and a class
//! registered by its module look the same (the CLI's tests import both and compare):
//! `CLSID\{clsid}` with the helpstring (or the class name), `InprocServer32` and its
//! `ThreadingModel` from `threading(...)`, `ProgID`, `VersionIndependentProgID`, `Version`
//! and `TypeLib` (the library's LIBID), and the ProgID keys with their `CLSID` and
//! `CurVer` back-links. The compiler writes the text itself: a build script that generates
//! a script needs no runtime.

use std::fmt::Write as _;

use crate::diag::Diagnostic;
use crate::ir::{Guid, Item, ItemKind, Model};

/// The `InprocServer32` path written when no server path is given: the installer replaces
/// it with the module's path (ATL's registrar scripts use the same word).
pub const MODULE_PLACEHOLDER: &str = "%MODULE%";

/// The longest ProgID COM accepts.
const MAX_PROGID: usize = 39;

/// Top-level keys COM itself uses, which no ProgID may take.
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

/// What the script says beyond the IDL.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The path of the shared library serving the classes (`InprocServer32`); `None` writes
    /// [`MODULE_PLACEHOLDER`].
    pub server_path: Option<String>,
}

/// A generated script, with any warnings met on the way.
#[derive(Debug)]
pub struct Generated {
    /// The REGEDIT4 text.
    pub text: String,
    /// Warnings (errors are returned instead of a script).
    pub diagnostics: Vec<Diagnostic>,
}

/// The registration script of the main file's coclasses.
///
/// Fails with a located error when a coclass's attributes cannot be registered (a ProgID
/// the registry rejects, say), so no half-usable script is written.
pub fn generate(model: &Model, options: &Options) -> Result<Generated, Vec<Diagnostic>> {
    let Some(main) = model.files.first().map(|f| f.file) else {
        return Err(vec![Diagnostic::error(
            "nothing to generate: the model is empty",
        )]);
    };
    let path = options
        .server_path
        .clone()
        .unwrap_or_else(|| MODULE_PLACEHOLDER.to_string());
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    let mut classes = 0;
    for (_, item) in model.items_in(main) {
        if !matches!(item.kind, ItemKind::Coclass(_)) {
            continue;
        }
        let Some(class) = Class::of(model, item, &path) else {
            // A coclass without a uuid has nothing to register (sema reports it).
            continue;
        };
        classes += 1;
        match class.keys() {
            Ok(mut class_keys) => keys.append(&mut class_keys),
            Err(e) => errors.push(
                Diagnostic::error(format!("cannot register coclass `{}`: {e}", item.name))
                    .at(item.span),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut diagnostics = Vec::new();
    if classes == 0 {
        diagnostics.push(Diagnostic::warning(
            "no coclass with a uuid in this file: the registration script registers nothing",
        ));
    }
    Ok(Generated {
        text: format(&keys),
        diagnostics,
    })
}

/// What the registry records about one coclass.
struct Class {
    /// `{XXXXXXXX-...}`, as the registry spells GUIDs.
    clsid: String,
    name: String,
    inproc_server: String,
    threading_model: Option<String>,
    progid: Option<String>,
    vi_progid: Option<String>,
    version: Option<String>,
    typelib: Option<String>,
}

/// A key below `HKEY_CLASSES_ROOT` and its string values (`""` is the default value).
type Key = (String, Vec<(&'static str, String)>);

impl Class {
    fn of(model: &Model, item: &Item, path: &str) -> Option<Class> {
        let text = |name: &str| item.attr_text(name).map(str::to_string);
        let library = item
            .parent
            .and_then(|p| model.item(p))
            .filter(|p| matches!(p.kind, ItemKind::Library(_)))
            .and_then(Item::uuid);
        Some(Class {
            clsid: registry_guid(item.uuid()?),
            name: text("helpstring").unwrap_or_else(|| item.name.clone()),
            inproc_server: path.to_string(),
            threading_model: item.attr_text("threading").map(threading_model),
            progid: text("progid"),
            vi_progid: text("vi_progid"),
            version: text("version"),
            typelib: library.map(registry_guid),
        })
    }

    /// The keys, in the order the script lists them; an error when the registry would
    /// refuse a value.
    fn keys(&self) -> Result<Vec<Key>, String> {
        for progid in self.progid.iter().chain(&self.vi_progid) {
            check_progid(progid).map_err(|why| format!("ProgID `{progid}`: {why}"))?;
        }
        if let (Some(p), Some(vi)) = (&self.progid, &self.vi_progid)
            && p.eq_ignore_ascii_case(vi)
        {
            return Err(format!(
                "the version-independent ProgID `{vi}` must differ from the versioned one"
            ));
        }
        let texts = [Some(&self.name), Some(&self.inproc_server)]
            .into_iter()
            .chain([&self.threading_model, &self.version].map(Option::as_ref));
        if texts
            .flatten()
            .any(|t| t.chars().any(|c| c.is_control() && c != '\t'))
        {
            return Err("control characters (other than tab) cannot be stored".to_string());
        }
        let class = format!("CLSID\\{}", self.clsid);
        let value = |v: &str| vec![("", v.to_string())];
        let mut keys: Vec<Key> = vec![(class.clone(), value(&self.name))];
        let mut server = value(&self.inproc_server);
        if let Some(model) = &self.threading_model {
            server.push(("ThreadingModel", model.clone()));
        }
        keys.push((format!("{class}\\InprocServer32"), server));
        for (sub, data) in [
            ("ProgID", &self.progid),
            ("VersionIndependentProgID", &self.vi_progid),
            ("Version", &self.version),
            ("TypeLib", &self.typelib),
        ] {
            if let Some(data) = data {
                keys.push((format!("{class}\\{sub}"), value(data)));
            }
        }
        for progid in self.progid.iter().chain(&self.vi_progid) {
            keys.push((progid.clone(), value(&self.name)));
            keys.push((format!("{progid}\\CLSID"), value(&self.clsid)));
        }
        if let (Some(vi), Some(progid)) = (&self.vi_progid, &self.progid) {
            keys.push((format!("{vi}\\CurVer"), value(progid)));
        }
        Ok(keys)
    }
}

/// Fails unless `progid` can name a ProgID key: 1 to 39 characters, ASCII letters, digits,
/// `.`, `_` or `-`, starting with a letter, and not one of the top-level keys COM uses.
fn check_progid(progid: &str) -> Result<(), &'static str> {
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

/// The registry's spelling (`ThreadingModel`) of an IDL `threading(...)` value; any other
/// word is kept as written.
fn threading_model(idl: &str) -> String {
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

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`: upper case, in braces.
fn registry_guid(guid: Guid) -> String {
    format!("{{{}}}", guid.to_string().to_ascii_uppercase())
}

/// REGEDIT4 text: the header, then each key with its values, a blank line after each.
fn format(keys: &[Key]) -> String {
    let mut out = String::from("REGEDIT4\n\n");
    for (path, values) in keys {
        let _ = writeln!(out, "[HKEY_CLASSES_ROOT\\{path}]");
        for (name, value) in values {
            if name.is_empty() {
                out.push('@');
            } else {
                out.push_str(&quoted(name));
            }
            let _ = writeln!(out, "={}", quoted(value));
        }
        out.push('\n');
    }
    out
}

/// A REGEDIT4 string: in quotes, with `\` and `"` escaped by a backslash.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progids_as_the_registry_takes_them() {
        assert!(check_progid("Comidl.Calculator.1").is_ok());
        assert!(check_progid("a-b_c").is_ok());
        for bad in ["", "1abc", "a b", "clsid", &"x".repeat(40)] {
            assert!(check_progid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_of_a_class() {
        let class = Class {
            clsid: "{00000001-0000-0000-C000-000000000046}".into(),
            name: "A \"quoted\" C:\\name".into(),
            inproc_server: MODULE_PLACEHOLDER.into(),
            threading_model: Some(threading_model("both")),
            progid: Some("A.B.1".into()),
            vi_progid: Some("A.B".into()),
            version: None,
            typelib: None,
        };
        let text = format(&class.keys().unwrap());
        assert_eq!(
            text,
            "REGEDIT4\n\n\
             [HKEY_CLASSES_ROOT\\CLSID\\{00000001-0000-0000-C000-000000000046}]\n@=\"A \\\"quoted\\\" C:\\\\name\"\n\n\
             [HKEY_CLASSES_ROOT\\CLSID\\{00000001-0000-0000-C000-000000000046}\\InprocServer32]\n@=\"%MODULE%\"\n\"ThreadingModel\"=\"Both\"\n\n\
             [HKEY_CLASSES_ROOT\\CLSID\\{00000001-0000-0000-C000-000000000046}\\ProgID]\n@=\"A.B.1\"\n\n\
             [HKEY_CLASSES_ROOT\\CLSID\\{00000001-0000-0000-C000-000000000046}\\VersionIndependentProgID]\n@=\"A.B\"\n\n\
             [HKEY_CLASSES_ROOT\\A.B.1]\n@=\"A \\\"quoted\\\" C:\\\\name\"\n\n\
             [HKEY_CLASSES_ROOT\\A.B.1\\CLSID]\n@=\"{00000001-0000-0000-C000-000000000046}\"\n\n\
             [HKEY_CLASSES_ROOT\\A.B]\n@=\"A \\\"quoted\\\" C:\\\\name\"\n\n\
             [HKEY_CLASSES_ROOT\\A.B\\CLSID]\n@=\"{00000001-0000-0000-C000-000000000046}\"\n\n\
             [HKEY_CLASSES_ROOT\\A.B\\CurVer]\n@=\"A.B.1\"\n\n"
        );
        let same = Class {
            vi_progid: Some("a.b.1".into()),
            ..class
        };
        assert!(same.keys().unwrap_err().contains("must differ"));
    }
}
