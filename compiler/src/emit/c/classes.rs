//! Coclasses (`EXTERN_C const CLSID CLSID_Foo;` and C++'s `class DECLSPEC_UUID(..) Foo;`),
//! libraries (`LIBID_`), modules and free functions (prototypes), WinRT runtime classes
//! (their name as a `RuntimeClass_` string) and API contracts (a version macro).

use super::Gen;
use super::types::{Place, callconv};
use crate::ir::{AttrValue, ClassMember, Function, Item, ItemId};

pub(super) fn coclass(g: &mut Gen, id: ItemId, item: &Item) {
    let name = g.names.get(id).to_string();
    g.line("/*****************************************************************************");
    g.line(&format!(" * {name} coclass"));
    g.line(" */");
    let Some(uuid) = item.uuid() else {
        g.line("");
        return;
    };
    let clsid_type = g.guid_type("CLSID");
    let clsid = format!("CLSID_{name}");
    if g.claim_value(&clsid, item) {
        g.line(&format!("EXTERN_C const {clsid_type} {clsid};"));
    }
    g.line("");
    g.line("#ifdef __cplusplus");
    g.line(&format!("class DECLSPEC_UUID(\"{uuid}\") {name};"));
    g.line("#endif");
    g.line("");
}

pub(super) fn library(g: &mut Gen, item: &Item) {
    let name = super::names::sanitize(&item.name);
    g.line(&format!("/* library {name} */"));
    if item.uuid().is_some() {
        let iid_type = g.guid_type("IID");
        let libid = format!("LIBID_{name}");
        if g.claim_value(&libid, item) {
            g.line(&format!("EXTERN_C const {iid_type} {libid};"));
        }
    }
    g.line("");
}

pub(super) fn module(g: &mut Gen, item: &Item) {
    g.line(&format!(
        "/* module {}: its constants and functions follow */",
        item.name
    ));
}

/// A function declared outside an interface: a prototype.
pub(super) fn function(g: &mut Gen, item: &Item, f: &Function) {
    let name = super::names::sanitize(&item.name);
    if !g.claim_value(&name, item) {
        return;
    }
    let params = g.param_list(&f.signature, true);
    let cc = callconv(&f.signature.callconv);
    let named = if cc.is_empty() {
        name
    } else {
        format!("{cc} {name}")
    };
    let decl = g.declare(
        &f.signature.ret,
        &format!("{named}({params})"),
        Place::Other,
    );
    g.line(&format!("{decl};"));
}

/// `RuntimeClass_Ns_Name`: the class's name as a 16-bit string, as widl writes it.
pub(super) fn runtimeclass(g: &mut Gen, item: &Item, _members: &[ClassMember]) {
    let full = item.full_name();
    let name = format!("RuntimeClass_{}", super::names::sanitize(&full));
    if !g.claim_value(&name, item) {
        return;
    }
    let chars: Vec<String> = full
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                format!("'{c}'")
            } else {
                (c as u32).to_string()
            }
        })
        .chain(std::iter::once("0".to_string()))
        .collect();
    let guard = format!("RUNTIMECLASS_{}_DEFINED", super::names::sanitize(&full));
    g.line(&format!("#ifndef {guard}"));
    g.line(&format!("#define {guard}"));
    g.line(&format!(
        "static const comidl_wchar {name}[] = {{{}}};",
        chars.join(",")
    ));
    g.line("#endif");
    g.line("");
}

/// `#define NS_NAME_VERSION 0xMMMMmmmm` for `[contractversion(M.m)]`.
pub(super) fn apicontract(g: &mut Gen, item: &Item) {
    let Some(version) = item
        .attr("contractversion")
        .and_then(|a| a.args.first())
        .and_then(contract_version)
    else {
        return;
    };
    let macro_name = format!(
        "{}_VERSION",
        super::names::sanitize(&item.full_name()).to_ascii_uppercase()
    );
    g.line(&format!("#if !defined({macro_name})"));
    g.line(&format!("#define {macro_name} 0x{version:x}"));
    g.line("#endif");
    g.line("");
}

/// `major << 16 | minor` from `M.m` or `M`.
fn contract_version(value: &AttrValue) -> Option<u32> {
    match value {
        AttrValue::Int(v) => u32::try_from(*v).ok().map(|m| m << 16),
        AttrValue::Version(v) | AttrValue::Str(v) => {
            let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
            let major: u32 = major.trim().parse().ok()?;
            let minor: u32 = minor.trim().parse().ok()?;
            Some(major << 16 | minor)
        }
        AttrValue::Float(f) => {
            let text = f.to_string();
            contract_version(&AttrValue::Version(text))
        }
        _ => None,
    }
}
