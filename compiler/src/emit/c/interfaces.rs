//! Interfaces → what widl's header declares for them.
//!
//! An object interface gets, inside `#ifndef __IFoo_INTERFACE_DEFINED__`: the items declared
//! in its body, `EXTERN_C const IID IID_IFoo;`, then for C++ (unless `CINTERFACE`) the
//! abstract class `MIDL_INTERFACE("iid") IFoo : public IBase { virtual ... = 0; }` and for C
//! the vtable struct `IFooVtbl`, every inherited slot first, each taking `IFoo *This`, the
//! struct `IFoo { CONST_VTBL IFooVtbl *lpVtbl; }`, and under `COBJMACROS` one call macro
//! per slot (`IFoo_Add(This,a,b)`). Both layouts put the slots in the same order (single
//! inheritance, declaration order), which is what makes a C++ object callable from C.
//!
//! A dispinterface is IDispatch's vtable under its own name (`DIID_`); a WinRT delegate an
//! IUnknown-derived interface with one `Invoke`; a DCE RPC (non-object) interface declares
//! its operations as C functions.

use super::Gen;
use super::names;
use super::records::pad;
use super::types::{Place, callconv};
use crate::ir::{
    Delegate, Dispinterface, Guid, Interface, Item, ItemId, ItemKind, Method, Signature, Type,
};

/// One vtable slot.
#[derive(Clone)]
pub(crate) struct Slot {
    /// The member's name in the C vtable and the C++ class (unique in the vtable).
    pub name: String,
    pub signature: Signature,
}

/// The slots one interface of an inheritance chain contributes.
pub(crate) struct SlotGroup {
    /// The interface's C name (for the `/*** IFoo methods ***/` comments).
    pub owner: String,
    pub slots: Vec<Slot>,
}

/// An interface to write: a declared one or a WinRT instance.
pub(crate) struct Definition {
    pub c_name: String,
    /// `interface`, `dispinterface`, `delegate`: for the banner comment and guard.
    pub what: &'static str,
    pub uuid: Option<Guid>,
    /// `IID` or `DIID`.
    pub iid_prefix: &'static str,
    /// The C++ base class.
    pub base: Option<String>,
    /// Every slot, inherited ones first.
    pub groups: Vec<SlotGroup>,
    /// How many slots at the end the C++ class declares (the rest it inherits).
    pub own: usize,
    /// Items declared in the interface's body, written first.
    pub members: Vec<ItemId>,
}

/// `typedef interface IFoo IFoo;` for every interface of the main file (and coclass
/// names), so declarations can point to them in any order.
pub(super) fn forward_declarations(g: &mut Gen) {
    let mut lines: Vec<String> = Vec::new();
    let model = g.model;
    for (id, item) in model.items_in(g.main) {
        let name = g.names.get(id).to_string();
        let interface = match &item.kind {
            ItemKind::Interface(i) => i.type_params.is_empty() && i.has_vtable(item),
            ItemKind::Dispinterface(_) => true,
            ItemKind::Delegate(d) => d.type_params.is_empty(),
            ItemKind::Coclass(_) => {
                lines.push(format!(
                    "#ifndef __{name}_FWD_DEFINED__\n#define __{name}_FWD_DEFINED__\n\
                     #ifdef __cplusplus\ntypedef class {name} {name};\n#else\n\
                     typedef struct {name} {name};\n#endif\n#endif\n"
                ));
                continue;
            }
            _ => false,
        };
        if interface {
            lines.push(interface_forward(&name));
        }
    }
    for name in super::winrt::instance_names(g) {
        lines.push(interface_forward(&name));
    }
    if lines.is_empty() {
        return;
    }
    g.line("/* Forward declarations */");
    for l in lines {
        g.out.push_str(&l);
    }
    g.line("");
}

fn interface_forward(name: &str) -> String {
    format!(
        "#ifndef __{name}_FWD_DEFINED__\n#define __{name}_FWD_DEFINED__\n\
         typedef interface {name} {name};\n#endif\n"
    )
}

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, iface: &Interface) {
    if !iface.type_params.is_empty() {
        // A parameterized (WinRT) interface: only its instances are types (see winrt.rs).
        return;
    }
    if !iface.has_vtable(item) {
        rpc_interface(g, item, iface);
        return;
    }
    if !iface.defined {
        return;
    }
    let Some(groups) = groups_or_warn(g, id, item, ", so its vtable is unknown") else {
        return;
    };
    let own = groups.last().map_or(0, |grp| grp.slots.len());
    let base = iface
        .base
        .as_ref()
        .and_then(|b| base_interface(g, b))
        .map(|b| g.names.get(b).to_string());
    let own = if base.is_some() {
        own
    } else {
        groups.iter().map(|grp| grp.slots.len()).sum()
    };
    let def = Definition {
        c_name: g.names.get(id).to_string(),
        what: "interface",
        uuid: item.uuid(),
        iid_prefix: "IID",
        base,
        groups,
        own,
        members: iface.members.clone(),
    };
    object(g, item, &def);
}

/// The slot groups of `item`'s vtable, or `None` after a warning that the header only
/// declares the name (`consequence` follows the reason in the message).
fn groups_or_warn(
    g: &mut Gen,
    id: ItemId,
    item: &Item,
    consequence: &str,
) -> Option<Vec<SlotGroup>> {
    match slot_groups(g, id, item) {
        Ok(groups) => Some(groups),
        Err(why) => {
            g.warn_item(
                item,
                "vtable",
                &format!("{why}{consequence}; the C header only declares the name"),
            );
            None
        }
    }
}

pub(super) fn dispinterface(g: &mut Gen, id: ItemId, item: &Item, d: &Dispinterface) {
    if !d.defined {
        return;
    }
    let Some(groups) = groups_or_warn(g, id, item, "") else {
        return;
    };
    let def = Definition {
        c_name: g.names.get(id).to_string(),
        what: "dispinterface",
        uuid: item.uuid(),
        iid_prefix: "DIID",
        base: Some("IDispatch".into()),
        groups,
        own: 0,
        members: Vec::new(),
    };
    object(g, item, &def);
}

pub(super) fn delegate(g: &mut Gen, id: ItemId, item: &Item, d: &Delegate) {
    if !d.type_params.is_empty() {
        return;
    }
    let Some(groups) = groups_or_warn(g, id, item, "") else {
        return;
    };
    let def = Definition {
        c_name: g.names.get(id).to_string(),
        what: "delegate",
        uuid: item.uuid(),
        iid_prefix: "IID",
        base: Some(unknown_name(g)),
        groups,
        own: 1,
        members: Vec::new(),
    };
    object(g, item, &def);
}

fn unknown_name(g: &Gen) -> String {
    g.model
        .names
        .get("IUnknown")
        .map(|id| g.names.get(*id).to_string())
        .unwrap_or_else(|| "IUnknown".into())
}

/// The `Invoke` method of a delegate with this signature.
pub(crate) fn invoke(signature: &Signature) -> Slot {
    Slot {
        name: "Invoke".into(),
        signature: signature.clone(),
    }
}

/// The base interface item of an interface, through typedefs.
pub(crate) fn base_interface(g: &Gen, ty: &Type) -> Option<ItemId> {
    let Type::Named(id) = g.model.unalias(ty) else {
        return None;
    };
    matches!(g.model.item(id)?.kind, ItemKind::Interface(_)).then_some(id)
}

/// An interface's vtable, inherited groups first; slot names are unique across it.
pub(crate) fn slot_groups(g: &Gen, id: ItemId, item: &Item) -> Result<Vec<SlotGroup>, String> {
    let mut groups = chain(g, id, item, 0)?;
    let mut all: Vec<String> = groups
        .iter()
        .flat_map(|grp| grp.slots.iter().map(|s| s.name.clone()))
        .collect();
    crate::emit::rust::names::dedup(&mut all);
    let mut it = all.into_iter();
    for grp in &mut groups {
        for s in &mut grp.slots {
            if let Some(n) = it.next() {
                s.name = n;
            }
        }
    }
    Ok(groups)
}

fn chain(g: &Gen, id: ItemId, item: &Item, depth: usize) -> Result<Vec<SlotGroup>, String> {
    if depth > 64 {
        return Err(format!("`{}` inherits from itself", item.name));
    }
    let owner = g.names.get(id).to_string();
    match &item.kind {
        ItemKind::Interface(i) => {
            if !i.defined {
                return Err(format!(
                    "`{}` is declared but never defined",
                    item.full_name()
                ));
            }
            let mut groups = match &i.base {
                None => Vec::new(),
                Some(b) => {
                    let Some(bid) = base_interface(g, b) else {
                        return Err(format!(
                            "the base of `{}` is not an interface",
                            item.full_name()
                        ));
                    };
                    let base = g.model.item(bid).ok_or("an unknown base interface")?;
                    chain(g, bid, base, depth + 1)?
                }
            };
            groups.push(SlotGroup {
                owner,
                slots: own_slots(&i.methods),
            });
            Ok(groups)
        }
        ItemKind::Dispinterface(_) => {
            let Some(&idispatch) = g.model.names.get("IDispatch") else {
                return Err(
                    "a dispinterface needs IDispatch, which no imported file declares".into(),
                );
            };
            let base = g.model.item(idispatch).ok_or("IDispatch is unknown")?;
            chain(g, idispatch, base, depth + 1)
        }
        ItemKind::Delegate(d) => {
            let Some(&iunknown) = g.model.names.get("IUnknown") else {
                return Err("a delegate needs IUnknown, which no imported file declares".into());
            };
            let base = g.model.item(iunknown).ok_or("IUnknown is unknown")?;
            let mut groups = chain(g, iunknown, base, depth + 1)?;
            groups.push(SlotGroup {
                owner,
                slots: vec![invoke(&d.signature)],
            });
            Ok(groups)
        }
        _ => Err(format!("`{}` is not an interface", item.full_name())),
    }
}

/// The slots of an interface's own methods (`[call_as]` wire forms have none).
pub(crate) fn own_slots(methods: &[Method]) -> Vec<Slot> {
    methods
        .iter()
        .filter(|m| m.has_slot())
        .map(|m| Slot {
            name: m.slot_name(),
            signature: m.signature.clone(),
        })
        .collect()
}

/// Writes an object interface's block.
pub(crate) fn object(g: &mut Gen, item: &Item, def: &Definition) {
    let name = def.c_name.clone();
    let guard_kind = if def.what == "dispinterface" {
        "DISPINTERFACE"
    } else {
        "INTERFACE"
    };
    g.line("/*****************************************************************************");
    g.line(&format!(" * {name} {}", def.what));
    g.line(" */");
    g.line(&format!("#ifndef __{name}_{guard_kind}_DEFINED__"));
    g.line(&format!("#define __{name}_{guard_kind}_DEFINED__"));
    g.line("");
    if !def.members.is_empty() {
        for &m in &def.members {
            g.ensure(m, false);
        }
        g.line("");
    }
    if def.uuid.is_some() {
        let iid_type = g.guid_type("IID");
        let iid = format!("{}_{name}", def.iid_prefix);
        if g.claim_value(&iid, item) {
            g.line(&format!("EXTERN_C const {iid_type} {iid};"));
            g.line("");
        }
    }
    // C++: the abstract class.
    g.line("#if defined(__cplusplus) && !defined(CINTERFACE)");
    let head = match def.uuid {
        Some(uuid) => format!("MIDL_INTERFACE(\"{uuid}\") {name}"),
        None => format!("interface {name}"),
    };
    match &def.base {
        Some(base) => g.line(&format!("{head} : public {base}")),
        None => g.line(&head),
    }
    g.line("{");
    if def.base.is_none() {
        g.line("    BEGIN_INTERFACE");
        g.line("");
    }
    let all: Vec<&Slot> = def.groups.iter().flat_map(|grp| grp.slots.iter()).collect();
    let own_start = all.len().saturating_sub(def.own);
    for (i, slot) in all[own_start..].iter().enumerate() {
        if i > 0 {
            g.line("");
        }
        let cc = method_callconv(&slot.signature);
        let params = param_lines(g, &slot.signature, None);
        let decl = g.declare(
            &slot.signature.ret,
            &format!("{cc} {}({params})", slot.name),
            Place::Other,
        );
        g.line(&format!("    virtual {decl} = 0;"));
    }
    if def.base.is_none() {
        g.line("");
        g.line("    END_INTERFACE");
    }
    g.line("};");
    g.line("#else");
    // C: the vtable struct, the object struct, the call macros.
    let empty = all.is_empty();
    let ext = if empty { "COMIDL_EXTENSION " } else { "" };
    g.line(&format!("{ext}typedef struct {name}Vtbl {{"));
    g.line("    BEGIN_INTERFACE");
    g.line("");
    for grp in &def.groups {
        if grp.slots.is_empty() {
            continue;
        }
        g.line(&format!("    /*** {} methods ***/", grp.owner));
        for slot in &grp.slots {
            let cc = method_callconv(&slot.signature);
            let params = param_lines(g, &slot.signature, Some(&name));
            let decl = g.declare(
                &slot.signature.ret,
                &format!("({cc} *{})({params})", slot.name),
                Place::Other,
            );
            g.line(&format!("    {decl};"));
            g.line("");
        }
    }
    g.line("    END_INTERFACE");
    g.line(&format!("}} {name}Vtbl;"));
    g.line("");
    g.line(&format!("interface {name} {{"));
    g.line(&format!("    CONST_VTBL {name}Vtbl *lpVtbl;"));
    g.line("};");
    g.line("");
    g.line("#ifdef COBJMACROS");
    for grp in &def.groups {
        if grp.slots.is_empty() {
            continue;
        }
        g.line(&format!("/*** {} methods ***/", grp.owner));
        for slot in &grp.slots {
            let args = names::param_names(&slot.signature.params, &slot.name);
            let mut list = vec!["This".to_string()];
            list.extend(args);
            let list = list.join(",");
            g.line(&format!(
                "#define {name}_{slot}({list}) (This)->lpVtbl->{slot}({list})",
                slot = slot.name
            ));
        }
    }
    g.line("#endif");
    g.line("");
    g.line("#endif");
    g.line("");
    g.line(&format!("#endif /* __{name}_{guard_kind}_DEFINED__ */"));
    g.line("");
}

/// `STDMETHODCALLTYPE`, or the calling convention the IDL gives the method.
fn method_callconv(sig: &Signature) -> &'static str {
    match callconv(&sig.callconv) {
        "" => "STDMETHODCALLTYPE",
        cc => cc,
    }
}

/// A method's parameters, one per line (`This` first for the C vtable).
fn param_lines(g: &mut Gen, sig: &Signature, this: Option<&str>) -> String {
    let names = names::param_names(&sig.params, "");
    let mut parts: Vec<String> = Vec::new();
    if let Some(this) = this {
        parts.push(format!("{this} *This"));
    }
    for (p, n) in sig.params.iter().zip(&names) {
        parts.push(g.declare(&p.ty, n, Place::Other));
    }
    if sig.varargs {
        parts.push("...".into());
    }
    if parts.is_empty() {
        return String::new();
    }
    let indent = pad(8);
    format!("\n{indent}{}", parts.join(&format!(",\n{indent}")))
}

/// A DCE RPC interface: its body's items and its operations as C functions.
fn rpc_interface(g: &mut Gen, item: &Item, iface: &Interface) {
    let name = names::sanitize(&item.name);
    let version = item.attr("version").and_then(|a| match a.args.first() {
        Some(crate::ir::AttrValue::Version(v)) => Some(format!(" (v{v})")),
        _ => None,
    });
    g.line("/*****************************************************************************");
    g.line(&format!(
        " * {name} interface{}",
        version.unwrap_or_default()
    ));
    g.line(" */");
    g.line(&format!("#ifndef __{name}_INTERFACE_DEFINED__"));
    g.line(&format!("#define __{name}_INTERFACE_DEFINED__"));
    g.line("");
    for &m in &iface.members {
        g.ensure(m, false);
    }
    for m in &iface.methods {
        let fname = names::sanitize(&m.name);
        if !g.claim_value(&fname, item) {
            continue;
        }
        let cc = callconv(&m.signature.callconv);
        let params = param_lines(g, &m.signature, None);
        let params = if params.is_empty() {
            "void".to_string()
        } else {
            params
        };
        let named = if cc.is_empty() {
            fname
        } else {
            format!("{cc} {fname}")
        };
        let decl = g.declare(
            &m.signature.ret,
            &format!("{named}({params})"),
            Place::Other,
        );
        g.line(&format!("{decl};"));
    }
    g.line("");
    g.line(&format!("#endif /* __{name}_INTERFACE_DEFINED__ */"));
    g.line("");
}
