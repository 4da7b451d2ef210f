//! The .winmd backend, read back: every fixture and the calculator are compiled to a .winmd,
//! read with windows-metadata's reader, and every item of the IR is looked up and compared
//! with what the IR says (IIDs, bases, methods in vtable order, parameter names, flags and
//! types, fields, enumerators, constants, typedefs, coclasses, the library). The expected
//! metadata types are derived from the IR here, by the rules the backend documents, not
//! taken from the backend. A test of concrete calculator values keeps the comparison from
//! passing vacuously.
//!
//! (The windows-bindgen round trip is tests/winmd, a crate of its own.)

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use comidl::Outcome;
use comidl::emit::rust::names::{ItemNames, sanitize};
use comidl::emit::winmd;
use comidl::ir::{
    Base, Enum, Field, Item, ItemId, ItemKind, Model, Param, PointerKind, Type, Value as IrValue,
};
use comidl::layout::Layouts;
use windows_metadata::reader::{File, HasAttributes, Index, TypeCategory, TypeDef};
use windows_metadata::{
    FieldAttributes, ParamAttributes, Type as Md, TypeAttributes, TypeName, Value,
};

use common::{fixtures_dir, idl_files, repo_root, stem};

const WIN32: &str = "Windows.Win32";

/// Checks a file the way the build scripts do: fixtures and idl/ on the search path.
fn check(path: &Path) -> Outcome {
    common::check_with_idl(path)
}

fn calculator_idl() -> std::path::PathBuf {
    repo_root().join("examples/calculator/calculator.idl")
}

/// Compiles, generates and reads back.
fn generate(path: &Path) -> (Outcome, winmd::Generated, Index) {
    let outcome = check(path);
    assert!(
        !outcome.has_errors(),
        "{}:\n{}",
        path.display(),
        common::render(&outcome)
    );
    let generated = winmd::generate(&outcome.model, &winmd::Options::default())
        .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
    let file = File::new(generated.bytes.clone())
        .unwrap_or_else(|| panic!("{}: the .winmd is not readable", path.display()));
    (outcome, generated, Index::new(vec![file]))
}

// ---------------------------------------------------------------------------------------
// What the IR says the metadata must hold.

/// What an item is in the metadata, per the documented rules.
#[derive(Clone, Debug)]
enum Kind {
    /// A `Windows.Win32` type: name, and whether it is a class (an interface).
    Win32(&'static str, bool),
    Alias(Type),
    /// A delegate; `true` for a typedef of a pointer to a function.
    Delegate(bool),
    Value,
    Interface,
    /// An anonymous enum's enumerators: `i32`.
    Int,
    /// A stand-in: idl/comidl_ctypes.idl's type of this name.
    StandIn(&'static str),
    Missing,
}

struct Expect<'m> {
    model: &'m Model,
    names: ItemNames,
    main_ns: String,
    stand_ins: HashMap<ItemId, &'static str>,
}

impl<'m> Expect<'m> {
    fn new(model: &'m Model) -> Expect<'m> {
        let names = ItemNames::new(model);
        Expect {
            model,
            stand_ins: comidl::emit::rust::ctypes::stand_ins(model, &names),
            names,
            main_ns: winmd::namespace(model, &winmd::Options::default()),
        }
    }

    fn item(&self, id: ItemId) -> &'m Item {
        self.model.item(id).expect("an item of the model")
    }

    /// A file's namespace: the library's name, else the stem.
    fn file_ns(&self, item: &Item) -> String {
        if Some(item.file) == self.model.files.first().map(|f| f.file) {
            return self.main_ns.clone();
        }
        if let Some((_, lib)) = self
            .model
            .items_in(item.file)
            .find(|(_, it)| matches!(it.kind, ItemKind::Library(_)))
        {
            return lib.name.clone();
        }
        let file = self
            .model
            .files
            .iter()
            .find(|f| f.file == item.file)
            .expect("the item's file");
        stem(&file.path)
    }

    fn ns(&self, id: ItemId) -> String {
        let item = self.item(id);
        if item.namespace.is_empty() {
            self.file_ns(item)
        } else {
            item.namespace.clone()
        }
    }

    fn name(&self, id: ItemId) -> String {
        match self.item(id).kind {
            ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_) => {
                self.names.get(id).to_string()
            }
            _ => sanitize(&self.item(id).name),
        }
    }

    fn type_name(&self, id: ItemId) -> TypeName {
        TypeName::named(&self.ns(id), &self.name(id))
    }

    fn kind(&self, id: ItemId) -> Kind {
        let item = self.item(id);
        if let Some(c_name) = self.stand_ins.get(&id) {
            return Kind::StandIn(c_name);
        }
        let iid = item.uuid().map(|g| g.to_string());
        match &item.kind {
            ItemKind::Typedef(ty) => {
                let pointee = match self.model.unalias(ty) {
                    Type::Pointer { pointee, .. } => Some(pointee),
                    _ => None,
                };
                let chars = |bits: u32, konst: bool| {
                    pointee.as_ref().is_some_and(|p| {
                        let width = match self.model.unalias(p) {
                            Type::Base(Base::WChar | Base::Int16 { .. }) => 16,
                            Type::Base(Base::Char { .. } | Base::Int8 { .. } | Base::Byte) => 8,
                            _ => 0,
                        };
                        width == bits && matches!(**p, Type::Const(_)) == konst
                    })
                };
                let known = match item.name.as_str() {
                    "HRESULT" => Some("HRESULT"),
                    "GUID" => Some("GUID"),
                    "BSTR" => Some("BSTR"),
                    "HSTRING" => Some("HSTRING"),
                    "BOOL"
                        if self.model.unalias(ty) == Type::Base(Base::Int32 { signed: true }) =>
                    {
                        Some("BOOL")
                    }
                    "LPWSTR" | "PWSTR" if chars(16, false) => Some("PWSTR"),
                    "LPCWSTR" | "PCWSTR" if chars(16, true) => Some("PCWSTR"),
                    "LPSTR" | "PSTR" if chars(8, false) => Some("PSTR"),
                    "LPCSTR" | "PCSTR" if chars(8, true) => Some("PCSTR"),
                    _ => None,
                };
                if let Some(name) = known {
                    return Kind::Win32(name, false);
                }
                let mut t = ty;
                while let Type::Const(inner) = t {
                    t = inner;
                }
                let function = |t: &Type| match t {
                    Type::Function(sig) => Some(!sig.varargs),
                    Type::Const(inner) => match &**inner {
                        Type::Function(sig) => Some(!sig.varargs),
                        _ => None,
                    },
                    _ => None,
                };
                match t {
                    Type::Function(sig) if !sig.varargs => Kind::Delegate(false),
                    Type::Pointer { pointee, .. } if function(pointee) == Some(true) => {
                        Kind::Delegate(true)
                    }
                    _ => Kind::Alias(ty.clone()),
                }
            }
            ItemKind::Struct(_) if item.name == "_GUID" || item.name == "GUID" => {
                Kind::Win32("GUID", false)
            }
            ItemKind::Struct(_) | ItemKind::Union(_) => Kind::Value,
            ItemKind::Enum(_) => {
                if self.names.get(id).starts_with("__Anonymous") {
                    Kind::Int
                } else {
                    Kind::Value
                }
            }
            ItemKind::Interface(i) => match iid.as_deref() {
                Some("00000000-0000-0000-c000-000000000046") => Kind::Win32("IUnknown", true),
                Some("af86e2e0-b12d-4c6a-9c5a-d7aa65101e90") => Kind::Win32("IInspectable", true),
                _ if !i.type_params.is_empty() || !i.has_vtable(item) => Kind::Missing,
                _ => Kind::Interface,
            },
            ItemKind::Dispinterface(_) => Kind::Interface,
            _ => Kind::Missing,
        }
    }

    /// The metadata type of an IDL type (parameters decay arrays and functions).
    fn ty(&self, ty: &Type, param: bool) -> Md {
        match ty {
            Type::Base(b) => base(*b),
            Type::Const(inner) => self.ty(inner, param),
            Type::Named(id) => match self.kind(*id) {
                Kind::Win32(name, class) => win32(name, class),
                Kind::Alias(inner) => self.ty(&inner, param),
                Kind::Delegate(_) | Kind::Interface => Md::ClassName(self.type_name(*id)),
                Kind::Value => Md::ValueName(self.type_name(*id)),
                Kind::Int => Md::I32,
                Kind::StandIn(c_name) => Md::ValueName(TypeName::named("comidl_ctypes", c_name)),
                Kind::Missing => Md::Void,
            },
            Type::Pointer { pointee, .. } => self.pointer(pointee),
            Type::Array { element, len } => {
                if param {
                    self.pointer(element)
                } else {
                    Md::ArrayFixed(Box::new(self.ty(element, false)), len.unwrap_or(1) as usize)
                }
            }
            Type::Function(_) if param => void_ptr(),
            Type::SafeArray(_) => {
                let inner = match self.model.names.get("SAFEARRAY") {
                    Some(id) => self.ty(&Type::Named(*id), false),
                    None => Md::Void,
                };
                Md::PtrMut(Box::new(inner), 1)
            }
            Type::Function(_) | Type::Instance { .. } | Type::Param(_) => Md::Void,
        }
    }

    fn pointer(&self, pointee: &Type) -> Md {
        // Interfaces, functions and what the metadata lacks take the pointer in.
        let mut t = pointee.clone();
        loop {
            while let Type::Const(inner) = t {
                t = *inner;
            }
            match &t {
                Type::Function(_) | Type::Instance { .. } => return void_ptr(),
                Type::Named(id) => match self.kind(*id) {
                    Kind::Win32(name, true) => return win32(name, true),
                    Kind::Interface | Kind::Delegate(false) => {
                        return Md::ClassName(self.type_name(*id));
                    }
                    Kind::Missing => return void_ptr(),
                    Kind::Alias(inner)
                        if matches!(
                            strip(&inner),
                            Type::Named(_) | Type::Function(_) | Type::Instance { .. }
                        ) =>
                    {
                        t = inner;
                        continue;
                    }
                    _ => break,
                },
                _ => break,
            }
        }
        let konst = matches!(pointee, Type::Const(_));
        match self.ty(pointee, false) {
            Md::PtrConst(b, n) => Md::PtrConst(b, n + 1),
            Md::PtrMut(b, n) if konst => Md::PtrConst(b, n + 1),
            Md::PtrMut(b, n) => Md::PtrMut(b, n + 1),
            other if konst => Md::PtrConst(Box::new(other), 1),
            other => Md::PtrMut(Box::new(other), 1),
        }
    }

    /// Whether a typedef is written as a TypeDef of its own.
    fn typedef_written(&self, id: ItemId, ty: &Type) -> bool {
        let item = self.item(id);
        if item.name.is_empty() || self.names.is_absorbed(id) {
            return false;
        }
        match self.kind(id) {
            Kind::Delegate(_) => true,
            Kind::Alias(_) => match strip(ty) {
                Type::Named(t) => {
                    !(matches!(
                        self.item(*t).kind,
                        ItemKind::Struct(_)
                            | ItemKind::Union(_)
                            | ItemKind::Enum(_)
                            | ItemKind::Typedef(_)
                    ) && self.name(*t) == sanitize(&item.name)
                        && self.ns(*t) == self.ns(id))
                }
                _ => true,
            },
            _ => false,
        }
    }
}

fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Const(inner) => strip(inner),
        other => other,
    }
}

fn base(b: Base) -> Md {
    match b {
        Base::Void => Md::Void,
        Base::Char { signed: true } | Base::Int8 { signed: true } => Md::I8,
        Base::Char { signed: false } | Base::Int8 { signed: false } => Md::U8,
        Base::Byte | Base::Boolean => Md::U8,
        Base::Int16 { signed: true } => Md::I16,
        Base::Int16 { signed: false } | Base::WChar => Md::U16,
        Base::Int32 { signed: true } => Md::I32,
        Base::Int32 { signed: false } | Base::ErrorStatus => Md::U32,
        Base::Int64 { signed: true } => Md::I64,
        Base::Int64 { signed: false } => Md::U64,
        Base::IntPtr { signed: true } => Md::ISize,
        Base::IntPtr { signed: false } => Md::USize,
        Base::Float => Md::F32,
        Base::Double => Md::F64,
        Base::Handle => void_ptr(),
    }
}

fn win32(name: &str, class: bool) -> Md {
    let tn = TypeName::named(WIN32, name);
    if class {
        Md::ClassName(tn)
    } else {
        Md::ValueName(tn)
    }
}

fn void_ptr() -> Md {
    Md::PtrMut(Box::new(Md::Void), 1)
}

// ---------------------------------------------------------------------------------------
// Reading the metadata.

fn find<'a>(index: &'a Index, tn: &TypeName) -> TypeDef<'a> {
    let mut found = index.get(&tn.namespace, &tn.name);
    let def = found
        .next()
        .unwrap_or_else(|| panic!("`{}.{}` is not in the .winmd", tn.namespace, tn.name));
    assert!(
        found.next().is_none(),
        "`{}.{}` is defined twice",
        tn.namespace,
        tn.name
    );
    def
}

/// The eleven GuidAttribute arguments as the IR's GUID text.
fn guid_of<'a>(row: &impl HasAttributes<'a>) -> Option<String> {
    let attr = row.find_attribute("GuidAttribute")?;
    let values: Vec<Value> = attr.value().into_iter().map(|(_, v)| v).collect();
    let [
        Value::U32(a),
        Value::U16(b),
        Value::U16(c),
        Value::U8(d0),
        Value::U8(d1),
        Value::U8(d2),
        Value::U8(d3),
        Value::U8(d4),
        Value::U8(d5),
        Value::U8(d6),
        Value::U8(d7),
    ] = values.as_slice()
    else {
        panic!("a GuidAttribute with unexpected arguments: {values:?}");
    };
    Some(format!(
        "{a:08x}-{b:04x}-{c:04x}-{d0:02x}{d1:02x}-{d2:02x}{d3:02x}{d4:02x}{d5:02x}{d6:02x}{d7:02x}"
    ))
}

fn version_of<'a>(row: &impl HasAttributes<'a>) -> Option<u32> {
    let attr = row.find_attribute("VersionAttribute")?;
    match attr.value().first() {
        Some((_, Value::U32(v))) => Some(*v),
        other => panic!("a VersionAttribute with {other:?}"),
    }
}

fn description_of<'a>(row: &impl HasAttributes<'a>) -> Option<String> {
    let attr = row.find_attribute("DescriptionAttribute")?;
    match attr.value().first() {
        Some((_, Value::Utf8(s))) => Some(s.clone()),
        other => panic!("a DescriptionAttribute with {other:?}"),
    }
}

fn helpstring(attrs: &[comidl::ir::Attr]) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.name == "helpstring")
        .and_then(|a| match a.args.first() {
            Some(comidl::ir::AttrValue::Str(s)) => Some(s.clone()),
            _ => None,
        })
}

fn version_attr(item: &Item) -> Option<u32> {
    let attr = item.attr("version")?;
    let text = match attr.args.first()? {
        comidl::ir::AttrValue::Version(v) | comidl::ir::AttrValue::Str(v) => v.clone(),
        _ => return None,
    };
    let (major, minor) = text.split_once('.').unwrap_or((&text, "0"));
    Some(major.parse::<u32>().ok()? << 16 | minor.parse::<u32>().ok()?)
}

// ---------------------------------------------------------------------------------------
// The comparison.

/// What one file's check looked at.
#[derive(Default, Debug)]
struct Stats {
    interfaces: usize,
    methods: usize,
    params: usize,
    records: usize,
    fields: usize,
    enums: usize,
    enumerators: usize,
    constants: usize,
    typedefs: usize,
    delegates: usize,
    coclasses: usize,
    libraries: usize,
    functions: usize,
}

fn check_file(path: &Path) -> Stats {
    let (outcome, _, index) = generate(path);
    let model = &outcome.model;
    let e = Expect::new(model);
    let main = model.files[0].file;
    let mut stats = Stats::default();
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    let mut layouts = Layouts::new(model);
    // Per namespace: the names of the Apis fields and methods expected.
    let mut apis: HashMap<String, Vec<String>> = HashMap::new();
    let name = stem(path);

    for (id, item) in model.items_in(main) {
        let what = format!("{name}: {} `{}`", item.kind.describe(), item.name);
        if let Kind::StandIn(c_name) = e.kind(id) {
            // An alias of the C definition, unless it is a typedef naming its record.
            if e.names.is_absorbed(id) {
                continue;
            }
            let tn = e.type_name(id);
            expected.insert((tn.namespace.clone(), tn.name.clone()));
            let def = find(&index, &tn);
            assert!(def.has_attribute("NativeTypedefAttribute"), "{what}");
            let fields: Vec<Md> = def.fields().map(|f| f.ty()).collect();
            assert_eq!(
                fields,
                vec![Md::ValueName(TypeName::named("comidl_ctypes", c_name))],
                "{what}: stand-in"
            );
            stats.typedefs += 1;
            continue;
        }
        match &item.kind {
            ItemKind::Interface(iface) => {
                if !matches!(e.kind(id), Kind::Interface) {
                    continue;
                }
                let tn = e.type_name(id);
                expected.insert((tn.namespace.clone(), tn.name.clone()));
                let def = find(&index, &tn);
                assert_eq!(def.category(), TypeCategory::Interface, "{what}");
                assert_eq!(
                    guid_of(&def),
                    item.uuid().map(|g| g.to_string()),
                    "{what}: IID"
                );
                assert_eq!(description_of(&def), helpstring(&item.attrs), "{what}");
                let bases: Vec<Md> = def.interface_impls().map(|i| i.interface(&[])).collect();
                let want_base = match &iface.base {
                    Some(base) => vec![match e.pointer(base) {
                        Md::ClassName(tn) => Md::ClassName(tn),
                        _ => win32("IUnknown", true),
                    }],
                    None if !iface.defined => vec![win32("IUnknown", true)],
                    None => vec![],
                };
                assert_eq!(bases, want_base, "{what}: base");
                let methods: Vec<_> = def.methods().collect();
                let slots: Vec<_> = iface.methods.iter().filter(|m| m.has_slot()).collect();
                assert_eq!(
                    methods
                        .iter()
                        .map(|m| m.name().to_string())
                        .collect::<Vec<_>>(),
                    slots.iter().map(|m| m.slot_name()).collect::<Vec<_>>(),
                    "{what}: methods in vtable order"
                );
                for (m, ir) in methods.iter().zip(&slots) {
                    let what = format!("{what}: method `{}`", ir.name);
                    let sig = m.signature(&[]);
                    assert_eq!(sig.return_type, e.ty(&ir.signature.ret, true), "{what}");
                    check_params(&e, &what, m, &sig.types, &ir.signature.params, &mut stats);
                    stats.methods += 1;
                }
                stats.interfaces += 1;
            }
            ItemKind::Dispinterface(_) => {
                let tn = e.type_name(id);
                expected.insert((tn.namespace.clone(), tn.name.clone()));
                let def = find(&index, &tn);
                assert_eq!(def.category(), TypeCategory::Interface, "{what}");
                assert_eq!(guid_of(&def), item.uuid().map(|g| g.to_string()), "{what}");
                assert!(def.has_attribute("DispInterfaceAttribute"), "{what}");
                assert_eq!(def.methods().count(), 0, "{what}: IDispatch's vtable");
                let base: Vec<Md> = def.interface_impls().map(|i| i.interface(&[])).collect();
                let Some(Md::ClassName(base)) = base.first() else {
                    panic!("{what}: no base")
                };
                assert_eq!(base.name, "IDispatch", "{what}");
                stats.interfaces += 1;
            }
            ItemKind::Struct(r) => {
                if !matches!(e.kind(id), Kind::Value) {
                    continue;
                }
                let tn = e.type_name(id);
                expected.insert((tn.namespace.clone(), tn.name.clone()));
                let def = find(&index, &tn);
                assert_eq!(def.category(), TypeCategory::Struct, "{what}");
                assert!(
                    def.flags().contains(TypeAttributes::SequentialLayout),
                    "{what}"
                );
                check_pack(&mut layouts, &what, &def, &r.fields, r.pack);
                if !r.defined {
                    assert_eq!(def.fields().count(), 0, "{what}: undefined");
                } else if r.fields.iter().any(|f| f.bits.is_some()) {
                    check_bitfields(&e, &what, &def, &r.fields, &mut stats);
                } else {
                    check_fields(&e, &what, &def, &r.fields, &mut stats);
                }
                stats.records += 1;
            }
            ItemKind::Union(u) => {
                if !matches!(e.kind(id), Kind::Value) {
                    continue;
                }
                let tn = e.type_name(id);
                expected.insert((tn.namespace.clone(), tn.name.clone()));
                let def = find(&index, &tn);
                let fields: Vec<Field> = u.arms.iter().map(|a| a.field.clone()).collect();
                let union_def = match &u.switch {
                    Some(switch) => {
                        // The struct holding the discriminant and the union.
                        let got: Vec<(String, Md)> = def
                            .fields()
                            .map(|f| (f.name().to_string(), f.ty()))
                            .collect();
                        let arms = TypeName::named(
                            &tn.namespace,
                            &format!("{}_{}", tn.name, switch.member()),
                        );
                        assert_eq!(
                            got,
                            vec![
                                (switch.name.clone(), e.ty(&switch.ty, false)),
                                (switch.member().to_string(), Md::ValueName(arms.clone())),
                            ],
                            "{what}: encapsulated"
                        );
                        expected.insert((arms.namespace.clone(), arms.name.clone()));
                        find(&index, &arms)
                    }
                    None => def,
                };
                assert!(
                    union_def.flags().contains(TypeAttributes::ExplicitLayout),
                    "{what}"
                );
                check_pack(&mut layouts, &what, &union_def, &fields, u.pack);
                let typed: Vec<Field> = fields.into_iter().filter(|f| f.ty.is_some()).collect();
                check_fields(&e, &what, &union_def, &typed, &mut stats);
                stats.records += 1;
            }
            ItemKind::Enum(en) => match e.kind(id) {
                Kind::Value => {
                    let tn = e.type_name(id);
                    expected.insert((tn.namespace.clone(), tn.name.clone()));
                    check_enum(
                        &index,
                        &what,
                        &tn,
                        en,
                        !item.namespace.is_empty(),
                        &mut stats,
                    );
                }
                Kind::Int => {
                    let list = apis.entry(e.ns(id)).or_default();
                    for v in &en.variants {
                        list.push(v.name.clone());
                        let field = apis_field(&index, &e.ns(id), &v.name, &what);
                        assert_eq!(field.ty(), Md::I32, "{what}");
                        assert_eq!(
                            field.constant().map(|c| c.value()),
                            Some(Value::I32(v.value as i32)),
                            "{what}: `{}`",
                            v.name
                        );
                        stats.enumerators += 1;
                    }
                }
                _ => {}
            },
            ItemKind::Const(c) => {
                let ns = e.ns(id);
                let want = constant_value(&e, &c.ty, &c.value);
                if let Some((ty, value)) = want {
                    apis.entry(ns.clone()).or_default().push(item.name.clone());
                    let field = apis_field(&index, &ns, &item.name, &what);
                    assert_eq!(field.ty(), ty, "{what}: type");
                    assert_eq!(field.constant().map(|c| c.value()), Some(value), "{what}");
                    stats.constants += 1;
                }
            }
            ItemKind::Typedef(ty) => {
                if !e.typedef_written(id, ty) {
                    continue;
                }
                let tn = e.type_name(id);
                expected.insert((tn.namespace.clone(), tn.name.clone()));
                let def = find(&index, &tn);
                match e.kind(id) {
                    Kind::Delegate(_) => {
                        assert_eq!(def.category(), TypeCategory::Delegate, "{what}");
                        let sig = match strip(ty) {
                            Type::Function(sig) => sig,
                            Type::Pointer { pointee, .. } => match strip(pointee) {
                                Type::Function(sig) => sig,
                                _ => unreachable!(),
                            },
                            _ => unreachable!(),
                        };
                        let invoke = def.methods().next().expect("Invoke");
                        assert_eq!(invoke.name(), "Invoke", "{what}");
                        let msig = invoke.signature(&[]);
                        assert_eq!(msig.return_type, e.ty(&sig.ret, true), "{what}");
                        check_params(&e, &what, &invoke, &msig.types, &sig.params, &mut stats);
                        stats.delegates += 1;
                    }
                    _ => {
                        assert!(def.has_attribute("NativeTypedefAttribute"), "{what}");
                        let fields: Vec<_> = def.fields().collect();
                        assert_eq!(fields.len(), 1, "{what}");
                        assert_eq!(fields[0].name(), "Value", "{what}");
                        assert_eq!(fields[0].ty(), e.ty(ty, false), "{what}: aliased type");
                        stats.typedefs += 1;
                    }
                }
            }
            ItemKind::Coclass(members) => {
                let tn = e.type_name(id);
                expected.insert((tn.namespace.clone(), tn.name.clone()));
                let def = find(&index, &tn);
                assert_eq!(def.category(), TypeCategory::Class, "{what}");
                assert!(!def.flags().contains(TypeAttributes::Abstract), "{what}");
                assert_eq!(
                    guid_of(&def),
                    item.uuid().map(|g| g.to_string()),
                    "{what}: CLSID"
                );
                assert_eq!(version_of(&def), version_attr(item), "{what}: version");
                let impls: Vec<_> = def.interface_impls().collect();
                let listed: Vec<Md> = members.iter().map(|m| e.pointer(&m.ty)).collect();
                assert_eq!(
                    impls.iter().map(|i| i.interface(&[])).collect::<Vec<_>>(),
                    listed,
                    "{what}: interfaces"
                );
                for (row, m) in impls.iter().zip(members) {
                    let default = m.attrs.iter().any(|a| a.name == "default");
                    assert_eq!(row.has_attribute("DefaultAttribute"), default, "{what}");
                    let source = m.attrs.iter().any(|a| a.name == "source");
                    assert_eq!(row.has_attribute("SourceAttribute"), source, "{what}");
                }
                stats.coclasses += 1;
            }
            ItemKind::Library(members) => {
                let tn = e.type_name(id);
                expected.insert((tn.namespace.clone(), tn.name.clone()));
                let def = find(&index, &tn);
                assert_eq!(def.category(), TypeCategory::Class, "{what}");
                assert!(def.flags().contains(TypeAttributes::Abstract), "{what}");
                assert!(def.flags().contains(TypeAttributes::Sealed), "{what}");
                assert_eq!(def.fields().count() + def.methods().count(), 0, "{what}");
                assert_eq!(
                    guid_of(&def),
                    item.uuid().map(|g| g.to_string()),
                    "{what}: LIBID"
                );
                assert_eq!(version_of(&def), version_attr(item), "{what}: version");
                assert_eq!(description_of(&def), helpstring(&item.attrs), "{what}");
                // Members: interfaces and coclasses named in the block, then each coclass's
                // interfaces, first mention first.
                let mut want: Vec<Md> = Vec::new();
                let mut push = |t: Md| {
                    if !want.contains(&t) {
                        want.push(t);
                    }
                };
                for &m in members {
                    match &e.item(m).kind {
                        ItemKind::Interface(_) | ItemKind::Dispinterface(_)
                            if matches!(e.kind(m), Kind::Interface) =>
                        {
                            push(Md::ClassName(e.type_name(m)));
                        }
                        ItemKind::Coclass(listed) => {
                            push(Md::ClassName(e.type_name(m)));
                            for c in listed {
                                if let Md::ClassName(tn) = e.pointer(&c.ty)
                                    && tn.namespace != WIN32
                                {
                                    push(Md::ClassName(tn));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let got: Vec<Md> = def.interface_impls().map(|i| i.interface(&[])).collect();
                assert_eq!(got, want, "{what}: members");
                stats.libraries += 1;
            }
            ItemKind::Function(f) => {
                let module = item.parent.and_then(|p| model.item(p));
                let dll =
                    module
                        .and_then(|m| m.attr("dllname"))
                        .and_then(|a| match a.args.first() {
                            Some(comidl::ir::AttrValue::Str(s)) => Some(s.clone()),
                            _ => None,
                        });
                let Some(dll) = dll else {
                    continue;
                };
                let ns = e.ns(id);
                apis.entry(ns.clone()).or_default().push(item.name.clone());
                let class = find(&index, &TypeName::named(&ns, "Apis"));
                let method = class
                    .methods()
                    .find(|m| m.name() == item.name)
                    .unwrap_or_else(|| panic!("{what}: not in Apis"));
                let map = method.impl_map().expect("an ImplMap row");
                assert_eq!(map.import_scope().name(), dll, "{what}");
                let sig = method.signature(&[]);
                assert_eq!(sig.return_type, e.ty(&f.signature.ret, true), "{what}");
                check_params(
                    &e,
                    &what,
                    &method,
                    &sig.types,
                    &f.signature.params,
                    &mut stats,
                );
                stats.functions += 1;
            }
            _ => {}
        }
    }

    // The Apis classes hold exactly the constants and functions, and nothing else is in
    // the file.
    for (ns, names) in &apis {
        expected.insert((ns.clone(), "Apis".to_string()));
        let class = find(&index, &TypeName::named(ns, "Apis"));
        let mut got: Vec<String> = class
            .fields()
            .map(|f| f.name().to_string())
            .chain(class.methods().map(|m| m.name().to_string()))
            .collect();
        let mut want = names.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}: {ns}.Apis");
    }
    let written: BTreeSet<(String, String)> = index
        .iter()
        .map(|(ns, n, _)| (ns.to_string(), n.to_string()))
        .collect();
    assert_eq!(written, expected, "{name}: the TypeDefs written");
    stats
}

fn apis_field<'a>(
    index: &'a Index,
    ns: &str,
    name: &str,
    what: &str,
) -> windows_metadata::reader::Field<'a> {
    let class = find(index, &TypeName::named(ns, "Apis"));
    let field = class
        .fields()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("{what}: `{name}` is not in {ns}.Apis"));
    let flags = field.flags();
    assert!(
        flags.contains(FieldAttributes::Literal) && flags.contains(FieldAttributes::Static),
        "{what}"
    );
    field
}

/// The field type and Constant a constant must have, or `None` if it can't be stated.
fn constant_value(e: &Expect, ty: &Type, value: &IrValue) -> Option<(Md, Value)> {
    let md = e.ty(ty, false);
    let int = match value {
        IrValue::Int(v) => Some(*v),
        IrValue::Float(f) => Some(*f as i128),
        _ => None,
    };
    let v = match &md {
        Md::I8 => Value::I8(int? as i8),
        Md::U8 => Value::U8(int? as u8),
        Md::I16 => Value::I16(int? as i16),
        Md::U16 => Value::U16(int? as u16),
        Md::I32 => Value::I32(int? as i32),
        Md::U32 => Value::U32(int? as u32),
        Md::I64 => Value::I64(int? as i64),
        Md::U64 => Value::U64(int? as u64),
        Md::F32 | Md::F64 => {
            let f = match value {
                IrValue::Int(v) => *v as f64,
                IrValue::Float(f) => *f,
                _ => return None,
            };
            if md == Md::F32 {
                Value::F32(f as f32)
            } else {
                Value::F64(f)
            }
        }
        Md::ValueName(tn) if tn.namespace == WIN32 && ["HRESULT", "BOOL"].contains(&&*tn.name) => {
            Value::I32(int? as i32)
        }
        Md::ValueName(_) => match e.model.unalias(ty) {
            Type::Named(id) => match &e.item(id).kind {
                ItemKind::Enum(en) if unsigned(en) => Value::U32(int? as u32),
                ItemKind::Enum(_) => Value::I32(int? as i32),
                _ => return None,
            },
            _ => return None,
        },
        Md::PtrMut(..) | Md::PtrConst(..) => {
            let IrValue::Str(s) = value else {
                return None;
            };
            return Some((Md::String, Value::Utf16(s.clone())));
        }
        _ => return None,
    };
    Some((md, v))
}

/// Whether an enum is written over `u32`: some value needs it and none is negative.
fn unsigned(en: &Enum) -> bool {
    en.variants.iter().any(|v| v.value > i128::from(i32::MAX))
        && en
            .variants
            .iter()
            .all(|v| (0..=i128::from(u32::MAX)).contains(&v.value))
}

fn check_enum(
    index: &Index,
    what: &str,
    tn: &TypeName,
    en: &Enum,
    scoped: bool,
    stats: &mut Stats,
) {
    let def = find(index, tn);
    assert_eq!(def.category(), TypeCategory::Enum, "{what}");
    assert_eq!(def.has_attribute("ScopedEnumAttribute"), scoped, "{what}");
    let underlying = if unsigned(en) { Md::U32 } else { Md::I32 };
    let mut fields = def.fields();
    let value_field = fields.next().expect("value__");
    assert_eq!(value_field.name(), "value__", "{what}");
    assert_eq!(value_field.ty(), underlying, "{what}");
    let got: Vec<(String, Option<Value>)> = fields
        .map(|f| (f.name().to_string(), f.constant().map(|c| c.value())))
        .collect();
    let want: Vec<(String, Option<Value>)> = en
        .variants
        .iter()
        .map(|v| {
            let value = if underlying == Md::U32 {
                Value::U32(v.value as u32)
            } else {
                Value::I32(v.value as i32)
            };
            (v.name.clone(), Some(value))
        })
        .collect();
    assert_eq!(got, want, "{what}: enumerators");
    stats.enums += 1;
    stats.enumerators += want.len();
}

fn check_fields(e: &Expect, what: &str, def: &TypeDef, fields: &[Field], stats: &mut Stats) {
    let got: Vec<(String, Md)> = def
        .fields()
        .map(|f| (f.name().to_string(), f.ty()))
        .collect();
    let want: Vec<(String, Md)> = fields
        .iter()
        .enumerate()
        .filter_map(|(n, f)| {
            let ty = f.ty.as_ref()?;
            let name = if f.name.is_empty() {
                format!("anon{n}")
            } else {
                f.name.clone()
            };
            Some((name, e.ty(ty, false)))
        })
        .collect();
    assert_eq!(got, want, "{what}: fields");
    stats.fields += want.len();
}

/// Plain members are fields of their own; every named bit-field is described by exactly
/// one NativeBitfieldAttribute (name, width) on a storage field, in order.
fn check_bitfields(e: &Expect, what: &str, def: &TypeDef, fields: &[Field], stats: &mut Stats) {
    let mut plain = Vec::new();
    let mut bits = Vec::new();
    for f in def.fields() {
        let attrs: Vec<_> = f
            .attributes()
            .filter(|a| a.name() == "NativeBitfieldAttribute")
            .collect();
        if f.name().starts_with("_bitfield") {
            for a in attrs {
                let values = a.value();
                let (Value::Utf8(name), Value::I64(_), Value::I64(width)) =
                    (&values[0].1, &values[1].1, &values[2].1)
                else {
                    panic!("{what}: NativeBitfieldAttribute {values:?}");
                };
                bits.push((name.clone(), *width as u64));
            }
        } else {
            plain.push((f.name().to_string(), f.ty()));
        }
    }
    let want_plain: Vec<(String, Md)> = fields
        .iter()
        .filter(|f| f.bits.is_none())
        .filter_map(|f| Some((f.name.clone(), e.ty(f.ty.as_ref()?, false))))
        .collect();
    let want_bits: Vec<(String, u64)> = fields
        .iter()
        .filter_map(|f| Some((f.name.clone(), f.bits?)))
        .filter(|(n, w)| !n.is_empty() && *w > 0)
        .collect();
    assert_eq!(plain, want_plain, "{what}: plain members");
    assert_eq!(bits, want_bits, "{what}: bit-fields");
    stats.fields += want_plain.len() + want_bits.len();
}

fn check_pack(
    layouts: &mut Layouts,
    what: &str,
    def: &TypeDef,
    fields: &[Field],
    pack: Option<u32>,
) {
    let tightens = layouts.packing_tightens(fields.iter(), pack);
    match def.class_layout() {
        Some(l) => {
            assert!(
                tightens,
                "{what}: a ClassLayout row for packing that changes nothing"
            );
            assert_eq!(
                u32::from(l.packing_size()),
                pack.unwrap_or(0).max(1),
                "{what}"
            );
        }
        None => assert!(!tightens, "{what}: packing {pack:?} is missing"),
    }
}

fn check_params(
    e: &Expect,
    what: &str,
    method: &windows_metadata::reader::MethodDef,
    types: &[Md],
    params: &[Param],
    stats: &mut Stats,
) {
    let rows: Vec<_> = method.params().collect();
    assert_eq!(rows.len(), params.len(), "{what}: Param rows");
    assert_eq!(types.len(), params.len(), "{what}: signature");
    for (i, ((row, ty), p)) in rows.iter().zip(types).zip(params).enumerate() {
        let what = format!("{what}: parameter {i}");
        assert_eq!(usize::from(row.sequence()), i + 1, "{what}");
        if !p.name.is_empty() {
            assert_eq!(row.name(), p.name, "{what}");
        }
        let want = e.ty(&p.ty, true);
        assert_eq!(*ty, want, "{what}: type");
        let flags = row.flags();
        let is_in = p.has_attr("in") || !p.has_attr("out");
        assert_eq!(flags.contains(ParamAttributes::In), is_in, "{what}: [in]");
        assert_eq!(
            flags.contains(ParamAttributes::Out),
            p.has_attr("out"),
            "{what}: [out]"
        );
        let nullable = matches!(
            p.ty,
            Type::Pointer {
                kind: PointerKind::Unique | PointerKind::Full,
                ..
            }
        ) || p.has_attr("unique")
            || p.has_attr("ptr")
            || p.has_attr("optional");
        let pointer = matches!(want, Md::PtrMut(..) | Md::PtrConst(..) | Md::ClassName(_));
        assert_eq!(
            flags.contains(ParamAttributes::Optional),
            nullable && pointer && !p.has_attr("out"),
            "{what}: optional"
        );
        assert_eq!(
            row.has_attribute("RetValAttribute"),
            p.has_attr("retval"),
            "{what}"
        );
        assert_eq!(
            row.has_attribute("ComOutPtrAttribute"),
            p.has_attr("out") && p.has_attr("iid_is"),
            "{what}"
        );
        // An array parameter says so; one counted by another parameter names it.
        let sized = p
            .attrs
            .iter()
            .find(|a| a.name == "size_is" || a.name == "length_is");
        let info = row.find_attribute("NativeArrayInfoAttribute");
        assert_eq!(info.is_some(), sized.is_some(), "{what}: array");
        if let (Some(sized), Some(info)) = (sized, info) {
            let counter = match sized.args.as_slice() {
                [comidl::ir::AttrValue::Expr(comidl::ir::Expr::Name(n))] if matches!(want, Md::PtrMut(ref b, 1) | Md::PtrConst(ref b, 1) if **b != Md::Void) => {
                    params
                        .iter()
                        .position(|q| q.name == *n && !q.has_attr("out"))
                        .filter(|&j| {
                            matches!(
                                e.ty(&params[j].ty, true),
                                Md::I32
                                    | Md::U32
                                    | Md::I16
                                    | Md::U16
                                    | Md::I64
                                    | Md::U64
                                    | Md::I8
                                    | Md::U8
                                    | Md::ISize
                                    | Md::USize
                            )
                        })
                }
                _ => None,
            };
            if let Some(j) = counter {
                assert_eq!(
                    info.value(),
                    vec![("CountParamIndex".to_string(), Value::I16(j as i16))],
                    "{what}: counted by parameter {j}"
                );
            }
        }
        stats.params += 1;
    }
}

// ---------------------------------------------------------------------------------------
// The tests.

#[test]
fn every_file_survives_the_round_trip() {
    let mut total = Stats::default();
    let files = common::every_idl_file();
    assert!(files.len() >= 20, "found only {} IDL files", files.len());
    for path in &files {
        let s = check_file(path);
        total.interfaces += s.interfaces;
        total.methods += s.methods;
        total.params += s.params;
        total.records += s.records;
        total.fields += s.fields;
        total.enums += s.enums;
        total.enumerators += s.enumerators;
        total.constants += s.constants;
        total.typedefs += s.typedefs;
        total.delegates += s.delegates;
        total.coclasses += s.coclasses;
        total.libraries += s.libraries;
        total.functions += s.functions;
    }
    // The fixtures hold at least this much; a backend that wrote nothing (or a check that
    // compared nothing) fails here.
    assert!(total.interfaces >= 25, "{total:?}");
    assert!(total.methods >= 50, "{total:?}");
    assert!(total.params >= 60, "{total:?}");
    assert!(total.records >= 30, "{total:?}");
    assert!(total.fields >= 60, "{total:?}");
    assert!(total.enums >= 8, "{total:?}");
    assert!(total.enumerators >= 40, "{total:?}");
    assert!(total.constants >= 20, "{total:?}");
    assert!(total.typedefs >= 40, "{total:?}");
    assert!(total.delegates >= 5, "{total:?}");
    assert!(total.coclasses >= 3, "{total:?}");
    assert!(total.libraries >= 2, "{total:?}");
    assert!(total.functions >= 1, "{total:?}");
}

/// The calculator's known facts, stated as numbers and names rather than derived from the
/// IR, so the comparison above cannot pass by agreeing with a wrong model.
#[test]
fn calculator_values_are_the_known_ones() {
    let (outcome, generated, index) = generate(&calculator_idl());
    assert!(
        generated.diagnostics.is_empty(),
        "{:?}",
        generated.diagnostics
    );
    assert_eq!(
        winmd::namespace(&outcome.model, &winmd::Options::default()),
        "CalculatorLib"
    );
    let iunknown = Md::ClassName(TypeName::named("Windows.Win32", "IUnknown"));
    let hresult = Md::ValueName(TypeName::named("Windows.Win32", "HRESULT"));

    let adder = find(&index, &TypeName::named("CalculatorLib", "IAdder"));
    assert_eq!(
        guid_of(&adder).as_deref(),
        Some("213e9442-b45b-4459-b00c-43f78df50266")
    );
    assert_eq!(description_of(&adder).as_deref(), Some("Adds two numbers"));
    let bases: Vec<Md> = adder.interface_impls().map(|i| i.interface(&[])).collect();
    assert_eq!(bases, vec![iunknown.clone()]);
    let methods: Vec<_> = adder.methods().collect();
    assert_eq!(methods.len(), 1);
    let add = methods[0];
    assert_eq!(add.name(), "Add");
    let sig = add.signature(&[]);
    assert_eq!(sig.return_type, hresult);
    assert_eq!(
        sig.types,
        vec![Md::I32, Md::I32, Md::PtrMut(Box::new(Md::I32), 1)]
    );
    let params = param_summary(&add);
    assert_eq!(
        params,
        vec![
            ("a".to_string(), ParamAttributes::In, false),
            ("b".to_string(), ParamAttributes::In, false),
            ("sum".to_string(), ParamAttributes::Out, true),
        ]
    );

    let calculator = find(&index, &TypeName::named("CalculatorLib", "ICalculator"));
    assert_eq!(
        guid_of(&calculator).as_deref(),
        Some("a78d304e-6e93-47f0-88d8-2b1684d08dde")
    );
    let names: Vec<_> = calculator.methods().map(|m| m.name().to_string()).collect();
    assert_eq!(
        names,
        ["Subtract", "Multiply", "Divide", "Fold", "FoldObserved"]
    );
    let divide = calculator.methods().nth(2).expect("Divide");
    let params = param_summary(&divide);
    assert_eq!(
        params,
        vec![
            ("a".to_string(), ParamAttributes::In, false),
            ("b".to_string(), ParamAttributes::In, false),
            ("quotient".to_string(), ParamAttributes::Out, false),
            ("remainder".to_string(), ParamAttributes::Out, false),
        ]
    );

    // The library: LIBID, version 1.0, helpstring, members.
    let lib = find(&index, &TypeName::named("CalculatorLib", "CalculatorLib"));
    assert_eq!(
        lib.flags(),
        TypeAttributes::Public | TypeAttributes::Abstract | TypeAttributes::Sealed
    );
    assert_eq!(
        guid_of(&lib).as_deref(),
        Some("9c2a71c5-6ec6-48ae-b081-48ec8caf0c26")
    );
    assert_eq!(version_of(&lib), Some(0x0001_0000));
    assert_eq!(
        description_of(&lib).as_deref(),
        Some("comidl calculator example")
    );
    let members: Vec<String> = lib
        .interface_impls()
        .map(|i| match i.interface(&[]) {
            Md::ClassName(tn) => format!("{}.{}", tn.namespace, tn.name),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        members,
        [
            "CalculatorLib.Adder",
            "CalculatorLib.IAdder",
            "CalculatorLib.Calculator",
            "CalculatorLib.ICalculator"
        ]
    );

    // The coclasses: CLSIDs, interfaces, which is the default.
    let class = find(&index, &TypeName::named("CalculatorLib", "Calculator"));
    assert_eq!(
        guid_of(&class).as_deref(),
        Some("874a7518-4fe3-4df4-8596-848ad05c5c3d")
    );
    let listed: Vec<(String, bool)> = class
        .interface_impls()
        .map(|i| {
            let Md::ClassName(tn) = i.interface(&[]) else {
                panic!("not a class")
            };
            (tn.name, i.has_attribute("DefaultAttribute"))
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("ICalculator".to_string(), true),
            ("IAdder".to_string(), false)
        ]
    );
    let progid = class
        .find_attribute("ProgIdAttribute")
        .expect("ProgIdAttribute");
    assert_eq!(
        progid.value(),
        vec![(String::new(), Value::Utf8("Comidl.Calculator.1".into()))]
    );
    let adder_class = find(&index, &TypeName::named("CalculatorLib", "Adder"));
    assert_eq!(
        guid_of(&adder_class).as_deref(),
        Some("5f0b7d8e-3c1a-4e6b-9d2f-8a4c6e0b1d37")
    );
}

#[test]
fn the_namespace_is_the_option_else_the_library_else_the_stem() {
    let outcome = check(&calculator_idl());
    let options = winmd::Options {
        namespace: Some("Contoso.Calc".into()),
    };
    assert_eq!(winmd::namespace(&outcome.model, &options), "Contoso.Calc");
    let generated = winmd::generate(&outcome.model, &options).expect("generates");
    let index = Index::new(vec![File::new(generated.bytes).expect("readable")]);
    find(&index, &TypeName::named("Contoso.Calc", "IAdder"));
    find(&index, &TypeName::named("Contoso.Calc", "CalculatorLib"));
    assert!(index.get("CalculatorLib", "IAdder").next().is_none());

    let outcome = check(&fixtures_dir().join("consts.idl"));
    assert_eq!(
        winmd::namespace(&outcome.model, &winmd::Options::default()),
        "consts"
    );
    let outcome = check(&fixtures_dir().join("dispatch.idl"));
    assert_eq!(
        winmd::namespace(&outcome.model, &winmd::Options::default()),
        "GaugeLib"
    );
}

/// Imported items are TypeRefs into the imported file's namespace; the well-known ones are
/// Windows.Win32's.
#[test]
fn imported_types_are_referred_to_by_namespace() {
    let (_, _, index) = generate(&fixtures_dir().join("interfaces.idl"));
    let drawable = find(&index, &TypeName::named("interfaces", "IDrawable"));
    let bounds = drawable
        .methods()
        .find(|m| m.name() == "Bounds")
        .expect("Bounds");
    let rect = Md::ValueName(TypeName::named("structs", "tagRECT"));
    let point = Md::ValueName(TypeName::named("structs", "tagPOINT"));
    assert_eq!(
        bounds.signature(&[]).types,
        vec![
            Md::PtrMut(Box::new(rect.clone()), 1),
            Md::PtrMut(Box::new(rect), 1),
            Md::PtrMut(Box::new(point), 1),
        ]
    );
    let create = drawable
        .methods()
        .find(|m| m.name() == "Create")
        .expect("Create");
    let guid = Md::ValueName(TypeName::named("Windows.Win32", "GUID"));
    assert_eq!(
        create.signature(&[]).types,
        vec![
            Md::PtrConst(Box::new(guid), 1),
            Md::PtrMut(Box::new(Md::Void), 2)
        ]
    );
    let object = create.params().nth(1).expect("object");
    assert!(object.has_attribute("ComOutPtrAttribute"));
    // `[in] IShape *shape`: the interface itself, as the Win32 metadata writes it.
    let take = drawable
        .methods()
        .find(|m| m.name() == "Take")
        .expect("Take");
    assert_eq!(
        take.signature(&[]).types,
        vec![Md::ClassName(TypeName::named("interfaces", "IShape"))]
    );
}

/// Files warn exactly when they hold something a .winmd can't state.
#[test]
fn only_unrepresentable_items_warn() {
    let expected_to_warn = [
        // dispinterface members.
        "dispatch",
        // a variadic and anonymous function pointers.
        "funcptr",
        // an interface declared but never defined.
        "interfaces",
        // runtime classes, generic interfaces, WinRT delegates, API contracts.
        "midl_only_winrt",
        "winrt",
        // an RPC interface.
        "rpc",
        "ndr_shapes",
        "comidl_epmapper",
        "comidl_orpc",
        "comidl_activation",
        "user_marshal",
        // pipes (and an RPC interface).
        "pipes",
    ];
    let mut warned = Vec::new();
    for path in common::every_idl_file() {
        let (outcome, generated, _) = generate(&path);
        assert!(
            generated.diagnostics.iter().all(|d| !d.is_error()),
            "{}",
            path.display()
        );
        if !generated.diagnostics.is_empty() {
            warned.push(stem(&path));
        }
        // Every warning points into the file.
        for d in &generated.diagnostics {
            let label = d.primary.as_ref().expect("a location");
            assert!(outcome.sources.get(label.span.file).is_some());
        }
    }
    warned.sort();
    let mut expected: Vec<String> = expected_to_warn.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(warned, expected);
}

/// The backend never panics: on models sema rejected (half-built ones) it still returns,
/// without an internal error.
#[test]
fn broken_models_do_not_break_the_backend() {
    let files = idl_files(&fixtures_dir().join("errors"));
    assert!(files.len() >= 10);
    for path in files {
        let outcome = check(&path);
        match winmd::generate(&outcome.model, &winmd::Options::default()) {
            Ok(g) => {
                assert!(File::new(g.bytes).is_some(), "{}", path.display());
            }
            Err(d) => assert!(
                !d.iter().any(|d| d.message.contains("internal error")),
                "{}: {d:?}",
                path.display()
            ),
        }
    }
    let empty = Model::default();
    assert!(winmd::generate(&empty, &winmd::Options::default()).is_err());
}

/// Each parameter's name, flags and whether it is `[retval]`.
fn param_summary(
    method: &windows_metadata::reader::MethodDef,
) -> Vec<(String, ParamAttributes, bool)> {
    method
        .params()
        .map(|p| {
            (
                p.name().to_string(),
                p.flags(),
                p.has_attribute("RetValAttribute"),
            )
        })
        .collect()
}
