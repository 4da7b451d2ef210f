//! The type-library backend: IR → ECMA-335 metadata (a `.winmd` file), written with the
//! `windows-metadata` crate in the shapes the Win32 metadata uses, so that windows-bindgen
//! turns it into windows-rs bindings and the runtime can read the library back.
//!
//! One module per emitted kind: `interfaces` (interfaces and dispinterfaces),
//! `records` (structs and unions), `enums`, `constants` (constants and module
//! functions, in the `Apis` class), `typedefs` (aliases and function-pointer
//! delegates), `classes` (coclasses and the library). `types` maps IR types to
//! metadata types; `attributes` writes the custom attributes.
//!
//! # The encoding
//!
//! The file holds the main IDL file's items. Each type is a TypeDef in the file's
//! namespace ([`namespace`]: `Options::namespace`, else the name of the main file's
//! `library`, else the file's stem); a WinRT item declared inside `namespace A.B { }` keeps
//! its own namespace `A.B`. Nothing is marked `WindowsRuntime`: windows-bindgen reads every
//! type as a Win32 ("C++") type.
//!
//! * **Interface** (`[object]`, or any interface with a vtable): a TypeDef with flags
//!   `Public|Interface|Abstract`, no `extends`, a `Windows.Foundation.Metadata.GuidAttribute`
//!   holding the IID (u32, u16, u16, then eight u8, as in the Win32 metadata), and its base
//!   interface as its single InterfaceImpl row (IUnknown is `Windows.Win32.IUnknown`). Its
//!   vtable slots are its MethodDefs, in order (flags `Public|Virtual|HideBySig|NewSlot|
//!   Abstract`, `HASTHIS`); a `[call_as]` method has no slot and is left out, and property
//!   accessors take C's slot names (`get_Level`, `put_Level`). Each parameter is a Param
//!   row: flags `In` / `Out` (`In` when the IDL says neither), `Optional` on an `[in]`
//!   pointer that is `[unique]`, `[ptr]` or `[optional]`; `[retval]` adds
//!   `Windows.Win32.Metadata.RetValAttribute`, and an `[out, iid_is(..)]` pointer adds
//!   `Windows.Win32.Metadata.ComOutPtrAttribute`. A `size_is`/`length_is` parameter carries
//!   `Windows.Win32.Metadata.NativeArrayInfoAttribute`: `CountParamIndex` when one `[in]`
//!   integer parameter counts a one-level array, `CountConst` for a constant count, no
//!   arguments otherwise (so no reader takes the array for one value). `helpstring` becomes
//!   `System.ComponentModel.DescriptionAttribute(string)` (on every item that has one).
//!   An interface without a vtable (a DCE RPC interface) is left out with a warning.
//! * **Dispinterface**: an interface TypeDef like the above whose base is IDispatch (the
//!   model's, found by IID, else `Windows.Win32.IDispatch`), with no methods (its vtable
//!   is IDispatch's), marked `Comidl.Metadata.DispInterfaceAttribute`. Its dispatch
//!   properties and methods are not represented (a warning says so).
//! * **Struct**: `Public|SequentialLayout|Sealed`, extends `System.ValueType`, one Field per
//!   member (an anonymous member is `anon<N>`); `#pragma pack` that changes the layout is
//!   a ClassLayout row. Bit-fields sharing a storage unit of their declared type become one
//!   storage field `_bitfield<N>`: an unsigned integer of the unit's size where gcc puts the
//!   unit (bytes `_bitfield_pad<N>` before it when C skips some), or, when that unit would
//!   overlap another member, a byte array of the bytes C uses (with a warning). Each member
//!   is a `Windows.Win32.Metadata.NativeBitfieldAttribute(name, bit offset, width)` on its
//!   storage, from which windows-bindgen writes accessors; a zero-length `_bitfield_align`
//!   array first gives the struct C's alignment when the storage alone would not. A struct
//!   only ever named (never defined) has no fields.
//! * **Union**: `Public|ExplicitLayout|Sealed`, every member at offset 0 (FieldLayout). An
//!   encapsulated union (`union U switch (long k) u { .. }`) is, as in C, a struct
//!   `U { k, u }` plus the union `U_u`.
//! * **Enum**: extends `System.Enum`, `Public|Sealed`, the integer field `value__` (`u32`
//!   when some value needs it, else `i32`) and one literal field per enumerator. C enums are
//!   unscoped (windows-bindgen makes each enumerator a constant); WinRT enums carry
//!   `Windows.Win32.Metadata.ScopedEnumAttribute`. An anonymous `enum { .. }` names
//!   constants only: they are `i32` constants of `Apis`.
//! * **Constants** (and enumerators of anonymous enums): literal static fields of the
//!   namespace's `Apis` class (`Public|Sealed`, as in the Win32 metadata), typed like the
//!   constant (strings are `string` with `Windows.Win32.Metadata.NativeEncodingAttribute`
//!   `"ansi"` or `"utf-16"`). A module function with a `dllname` is a static `PInvokeImpl`
//!   method of `Apis` with an ImplMap row (its `entry`, else its name, in the DLL).
//! * **Typedef**: a struct `Public|SequentialLayout|Sealed` with one field `Value` of the
//!   aliased type and `Windows.Win32.Metadata.NativeTypedefAttribute` (windows-bindgen makes
//!   it a type alias, or a newtype for a scalar). A typedef that only names a struct, union
//!   or enum (`typedef struct tagX { } X;` where the record is anonymous, or named like the
//!   typedef) is carried by the record itself. A typedef of a function pointer (or of a
//!   function type) is a delegate instead: extends `System.MulticastDelegate`, one `Invoke`
//!   method with the signature, and `System.Runtime.InteropServices.
//!   UnmanagedFunctionPointerAttribute(CallingConvention)` (1 = system, 2 = C, 5 = fastcall).
//! * **Coclass**: a class (`Public|Sealed`, extends `System.Object`) with the CLSID in a
//!   GuidAttribute, one InterfaceImpl row per interface or dispinterface it lists, in order;
//!   `[default]` marks the row with `Windows.Foundation.Metadata.DefaultAttribute` and
//!   `[source]` with `Comidl.Metadata.SourceAttribute`. `progid` becomes
//!   `System.Runtime.InteropServices.ProgIdAttribute(string)`, `version` a VersionAttribute.
//!
//! # The library
//!
//! A `library L { .. }` block is a class TypeDef `<namespace>.L` with flags
//! `Public|Abstract|Sealed` (the only abstract class this backend writes), extends
//! `System.Object`, no fields or methods. A reader finds it as the non-WinRT class whose
//! flags include `Abstract` and that carries a `GuidAttribute`, and reads:
//! * the **LIBID** from its `Windows.Foundation.Metadata.GuidAttribute` (the same eleven
//!   arguments as an interface's IID);
//! * the **version** from `Windows.Foundation.Metadata.VersionAttribute(u32)`, whose value
//!   is `major << 16 | minor` (`version(2.5)` is `0x0002_0005`; no attribute means 0.0);
//! * the **helpstring** from `System.ComponentModel.DescriptionAttribute(string)`, if any;
//! * its **members** from its InterfaceImpl rows, in order: every interface and
//!   dispinterface declared or named in the library block, every coclass declared in it,
//!   and the interfaces those coclasses list (each once, first mention first). A row names
//!   a type by TypeRef; look the TypeDef up to tell a coclass (a class) from an interface.
//!   IUnknown and IInspectable (written as `Windows.Win32` types) are not listed.
//!
//! windows-bindgen ignores classes that are not WinRT classes, so the library and coclass
//! TypeDefs cost it nothing; give it the namespace (or the names of the interfaces, structs,
//! enums, constants and typedefs) as filter.
//!
//! # Types
//!
//! * Scalars: per shared/DESIGN.md (`long` is `i32`, `wchar_t` is `u16`, `boolean` is
//!   `u8`, `handle_t` is `void*`, `__int3264` is `isize`/`usize`).
//! * Pointers keep their depth: `T**` is `PtrMut(T, 2)`; `PtrConst` when the pointee is
//!   `const` (metadata has one const flag per pointer chain). An interface pointer is the
//!   interface itself (`IFoo*` is `ClassName(IFoo)`, `IFoo**` is `PtrMut(IFoo, 1)`), and a
//!   pointer to a function-pointer typedef's function type is the delegate, as in the Win32
//!   metadata. Arrays are fixed arrays (a conformant member is `[T; 1]`, as widl's header
//!   has it); array parameters decay to pointers.
//! * The types windows-bindgen maps to windows-core are written under their Win32 metadata
//!   names in namespace `Windows.Win32` (windows-bindgen recognises them there without any
//!   other input): the `HRESULT`, `BOOL` (when 32-bit), `BSTR`, `HSTRING`, `LPWSTR`/`PWSTR`,
//!   `LPCWSTR`/`PCWSTR`, `LPSTR`/`PSTR` and `LPCSTR`/`PCSTR` typedefs, the `GUID` typedef and
//!   struct `_GUID` (so `REFIID` is `PtrConst(GUID, 1)`), and the interfaces whose IID is
//!   IUnknown's or IInspectable's. These are never emitted, even when the main file declares
//!   them (as base IDL files do).
//! * Typedef names are looked through at every use (in the main file as in imports), down
//!   to a record, enum, interface, delegate, well-known type or scalar: `LONG` is `i32`,
//!   `POINT` is the struct `tagPOINT`, `LPDRAWABLE` is `IDrawable`. The typedefs themselves
//!   are still emitted (see above), so no name is lost from the library; uses are the C
//!   types, which is also how the Win32 metadata treats scalar typedefs.
//! * An item of an imported file is a TypeRef into that file's namespace (derived the same
//!   way: its library's name, else its stem), so several winmds can be given to
//!   windows-bindgen together; what the importing file needs from them is only its records,
//!   enums, interfaces and delegates.
//! * A stand-in (a type an IDL file declares only for the IDL compiler, inside
//!   `cpp_quote("#if 0")` or the like, while C takes another definition; see
//!   [`crate::emit::rust::ctypes`]) is, as in the Rust backend, idl/comidl_ctypes.idl's C
//!   definition: uses are TypeRefs into namespace `comidl_ctypes` ([`CTYPES_NAMESPACE`]),
//!   and the stand-in itself is an alias (NativeTypedef) of that type.
//! * What metadata cannot state becomes a warning naming the item, and a type of the same
//!   size: an anonymous or variadic function pointer and a WinRT generic instance are
//!   `void*`; runtime classes, WinRT delegates, generic interfaces, API contracts and RPC
//!   interfaces are left out.
//!
//! # windows-bindgen
//!
//! tests/winmd runs windows-bindgen 0.100 on every fixture's .winmd and compiles the result.
//! It needs no other input: the `Windows.Win32` types above are mapped to windows-core by
//! name (only a dispinterface in a model without IDispatch refers to one it would need the
//! default Windows metadata for). Give it the namespaces as filters, and the .winmd files of
//! imported IDL files (with their namespaces as filters too, or methods using their types
//! are skipped). Two of its limits show in what it writes, not in the metadata: a typedef
//! of `float`/`double` becomes a newtype deriving `Eq`, which does not compile (filter it
//! out: `!ns.DATE`), and `BSTR` is `windows_core::BSTR`, which exists on Windows only.

mod attributes;
mod classes;
mod constants;
mod enums;
mod interfaces;
mod records;
mod typedefs;
mod types;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use windows_metadata::writer;
use windows_metadata::{TypeAttributes, TypeName};

use crate::diag::Diagnostic;
use crate::emit::rust::names::{ItemNames, sanitize};
use crate::ir::{ItemId, ItemKind, Model};
use crate::layout::Layouts;
use crate::source::{FileId, Span};

pub use types::{CTYPES_NAMESPACE, WIN32_NAMESPACE};

/// What to generate.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The namespace of the main file's types. `None`: the name of the main file's
    /// `library`, else the main file's stem.
    pub namespace: Option<String>,
}

/// A generated `.winmd` file and the warnings met making it.
#[derive(Debug)]
pub struct Generated {
    /// The ECMA-335 image.
    pub bytes: Vec<u8>,
    /// Warnings: items or types the metadata could not represent.
    pub diagnostics: Vec<Diagnostic>,
}

/// The namespace the main file's types are written in: [`Options::namespace`], else the
/// name of the main file's `library`, else the main file's stem (`calculator.idl` with
/// `library CalculatorLib` gives `CalculatorLib`).
pub fn namespace(model: &Model, options: &Options) -> String {
    if let Some(ns) = options.namespace.as_deref().map(str::trim)
        && !ns.is_empty()
    {
        return ns.to_string();
    }
    match model.files.first() {
        Some(f) => file_namespace(model, f.file),
        None => "Generated".to_string(),
    }
}

/// The namespace derived for one IDL file of the model: its first library's name, else its
/// stem, made of valid identifiers.
fn file_namespace(model: &Model, file: FileId) -> String {
    if let Some((_, lib)) = model
        .items_in(file)
        .find(|(_, it)| matches!(it.kind, ItemKind::Library(_)) && !it.name.is_empty())
    {
        return dotted(&lib.name);
    }
    let stem = model.file_stem(file).unwrap_or_default();
    if stem.is_empty() {
        "Generated".to_string()
    } else {
        dotted(&stem)
    }
}

/// `a.b-c` → `a.b_c`: each dot-separated part a valid identifier.
fn dotted(name: &str) -> String {
    name.split('.')
        .filter(|s| !s.is_empty())
        .map(sanitize)
        .collect::<Vec<_>>()
        .join(".")
}

/// Generates the `.winmd` of the main file of `model`. Errors only for an empty model (or
/// an internal failure); everything the metadata can't hold is a warning.
pub fn generate(model: &Model, options: &Options) -> Result<Generated, Vec<Diagnostic>> {
    let Some(main) = model.files.first().map(|f| f.file) else {
        return Err(vec![Diagnostic::error(
            "nothing to generate: the model is empty",
        )]);
    };
    // The writer asserts on inputs it cannot encode; the generator checks them first, and
    // this turns anything it missed into a diagnostic instead of a crash of the caller.
    match catch_unwind(AssertUnwindSafe(|| run(model, options, main))) {
        Ok(generated) => Ok(generated),
        Err(_) => Err(vec![Diagnostic::error(
            "internal error: the winmd backend failed to encode this file",
        )]),
    }
}

fn run(model: &Model, options: &Options, main: FileId) -> Generated {
    let mut g = Gen::new(model, options, main);
    let ids: Vec<ItemId> = model.items_in(main).map(|(id, _)| id).collect();
    for id in ids {
        g.item(id);
    }
    g.finish_apis();
    let Gen { file, diags, .. } = g;
    Generated {
        bytes: file.into_stream(),
        diagnostics: diags,
    }
}

/// What an `Apis` class collects for one namespace.
#[derive(Default)]
struct Apis {
    /// Constants and anonymous enumerators: (item, enumerator index or `None` for a const).
    constants: Vec<(ItemId, Option<usize>)>,
    functions: Vec<ItemId>,
}

/// The state of one generation.
pub(crate) struct Gen<'m> {
    pub model: &'m Model,
    /// The main file's namespace.
    pub main_ns: String,
    pub file: writer::File,
    pub names: ItemNames,
    pub layouts: Layouts<'m>,
    pub diags: Vec<Diagnostic>,
    /// Namespaces of the model's files.
    file_ns: HashMap<FileId, String>,
    /// `(namespace, name)` of every TypeDef written.
    used: HashSet<(String, String)>,
    apis: BTreeMap<String, Apis>,
    /// Stand-ins for C definitions, with the name of idl/comidl_ctypes.idl's definition.
    pub stand_ins: HashMap<ItemId, &'static str>,
    /// Problems met while mapping the type being written, turned into warnings by
    /// [`Gen::flush`] with the name of what they belong to.
    pending: Vec<String>,
}

impl<'m> Gen<'m> {
    fn new(model: &'m Model, options: &Options, main: FileId) -> Gen<'m> {
        let main_ns = namespace(model, options);
        let mut file_ns = HashMap::new();
        for f in &model.files {
            let ns = if f.file == main {
                main_ns.clone()
            } else {
                file_namespace(model, f.file)
            };
            file_ns.insert(f.file, ns);
        }
        let names = ItemNames::new(model);
        let stand_ins = crate::emit::rust::ctypes::stand_ins(model, &names);
        Gen {
            model,
            file: writer::File::new(&main_ns),
            main_ns,
            names,
            stand_ins,
            layouts: Layouts::new(model),
            diags: Vec::new(),
            file_ns,
            used: HashSet::new(),
            apis: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    fn item(&mut self, id: ItemId) {
        let Some(item) = self.model.item(id) else {
            return;
        };
        if let Some(c_name) = self.stand_ins.get(&id).copied() {
            typedefs::stand_in(self, id, item, c_name);
            return;
        }
        match &item.kind {
            ItemKind::Typedef(ty) => typedefs::emit(self, id, item, ty),
            ItemKind::Struct(_) | ItemKind::Union(_) => records::emit(self, id, item),
            ItemKind::Enum(e) => enums::emit(self, id, item, e),
            ItemKind::Const(_) => self.add_constant(id, None),
            ItemKind::Interface(i) => interfaces::emit(self, id, item, i),
            ItemKind::Dispinterface(d) => interfaces::dispinterface(self, id, item, d),
            ItemKind::Coclass(members) => classes::coclass(self, id, item, members),
            ItemKind::Library(members) => classes::library(self, id, item, members),
            ItemKind::Function(_) => constants::function(self, id, item),
            ItemKind::RuntimeClass(_) => self.unsupported(item.span, "runtimeclass", &item.name),
            ItemKind::Delegate(_) => self.unsupported(item.span, "WinRT delegate", &item.name),
            ItemKind::ApiContract => self.unsupported(item.span, "apicontract", &item.name),
            ItemKind::GuidConst(_) => self.unsupported(item.span, "declare_guid", &item.name),
            ItemKind::Pipe(_) => self.unsupported(item.span, "pipe", &item.name),
            ItemKind::Module(_)
            | ItemKind::CppQuote(_)
            | ItemKind::ImportLib(_)
            | ItemKind::Pragma(_)
            | ItemKind::Declare(_) => {}
        }
    }

    /// The namespace of an item's TypeDef (or TypeRef).
    pub fn ns_of(&self, id: ItemId) -> String {
        let Some(item) = self.model.item(id) else {
            return self.main_ns.clone();
        };
        if !item.namespace.is_empty() {
            return item.namespace.clone();
        }
        self.file_ns
            .get(&item.file)
            .cloned()
            .unwrap_or_else(|| self.main_ns.clone())
    }

    /// The metadata name of an item: records and enums as the Rust backend names them
    /// (tag, or the typedef naming an anonymous one, or `Parent_member`), others as
    /// declared.
    pub fn name_of(&self, id: ItemId) -> String {
        match self.model.item(id).map(|i| &i.kind) {
            Some(ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_)) => {
                self.names.get(id).to_string()
            }
            Some(_) => self
                .model
                .item(id)
                .map(|i| sanitize(&i.name))
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    pub fn type_name(&self, id: ItemId) -> TypeName {
        TypeName::named(&self.ns_of(id), &self.name_of(id))
    }

    /// Reserves a TypeDef name; false (with a warning) if another item took it.
    pub fn claim(&mut self, ns: &str, name: &str, span: Span, what: &str) -> bool {
        if name.is_empty() {
            return false;
        }
        if self.used.insert((ns.to_string(), name.to_string())) {
            return true;
        }
        self.diags.push(
            Diagnostic::warning(format!(
                "`{ns}.{name}` is already defined in the .winmd; this {what} is left out"
            ))
            .at(span),
        );
        false
    }

    /// Starts a TypeDef.
    pub fn type_def(
        &mut self,
        ns: &str,
        name: &str,
        extends: Option<(&str, &str)>,
        flags: TypeAttributes,
    ) -> writer::TypeDef {
        let extends = match extends {
            Some((ens, ename)) => writer::TypeDefOrRef::TypeRef(self.file.TypeRef(ens, ename)),
            None => writer::TypeDefOrRef::default(),
        };
        self.file.TypeDef(ns, name, extends, flags)
    }

    /// A warning for an item the metadata can't represent.
    pub fn unsupported(&mut self, span: Span, what: &str, name: &str) {
        self.diags.push(
            Diagnostic::warning(format!(
                "{what} `{name}` has no representation in a .winmd; it is left out"
            ))
            .at(span),
        );
    }

    /// Turns the problems met while mapping types into warnings about `what` (`parameter
    /// `x` of `IFoo::Bar``).
    pub fn flush(&mut self, span: Span, what: &str) {
        for problem in std::mem::take(&mut self.pending) {
            self.diags
                .push(Diagnostic::warning(format!("{what}: {problem}")).at(span));
        }
    }

    /// Records a problem with the type being mapped.
    pub fn problem(&mut self, text: String) {
        if !self.pending.contains(&text) {
            self.pending.push(text);
        }
    }

    /// Queues a constant (or an anonymous enum's enumerator) for its namespace's `Apis`.
    fn add_constant(&mut self, id: ItemId, variant: Option<usize>) {
        let ns = self.ns_of(id);
        self.apis
            .entry(ns)
            .or_default()
            .constants
            .push((id, variant));
    }

    fn add_function(&mut self, id: ItemId) {
        let ns = self.ns_of(id);
        self.apis.entry(ns).or_default().functions.push(id);
    }

    /// Writes each namespace's `Apis` class.
    fn finish_apis(&mut self) {
        for (ns, apis) in std::mem::take(&mut self.apis) {
            constants::apis(self, &ns, &apis);
        }
    }
}
