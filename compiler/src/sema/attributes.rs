//! Which attributes exist and where each may stand.
//!
//! The table follows MIDL's documentation of each attribute (and widl's checks); a misplaced
//! or unknown attribute is a diagnostic, never a panic. Argument counts are checked here too;
//! argument *values* are interpreted by the caller.

/// Where an attribute list stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Interface,
    Dispinterface,
    Coclass,
    RuntimeClass,
    Library,
    Module,
    /// typedef, or a struct/union/enum declaration.
    Type,
    Field,
    Param,
    /// An interface method, a dispinterface method, a module or top-level function.
    Method,
    Enumerator,
    /// `[default] interface IFoo;` inside a coclass or runtimeclass.
    ClassMember,
    Delegate,
    ApiContract,
    Const,
}

impl Place {
    const fn bit(self) -> u32 {
        1 << self as u32
    }

    pub fn describe(self) -> &'static str {
        match self {
            Place::Interface => "an interface",
            Place::Dispinterface => "a dispinterface",
            Place::Coclass => "a coclass",
            Place::RuntimeClass => "a runtimeclass",
            Place::Library => "a library",
            Place::Module => "a module",
            Place::Type => "a type definition",
            Place::Field => "a field",
            Place::Param => "a parameter",
            Place::Method => "a method or function",
            Place::Enumerator => "an enumerator",
            Place::ClassMember => "a class member",
            Place::Delegate => "a delegate",
            Place::ApiContract => "an apicontract",
            Place::Const => "a constant",
        }
    }
}

const I: u32 = Place::Interface.bit();
const D: u32 = Place::Dispinterface.bit();
const C: u32 = Place::Coclass.bit();
const R: u32 = Place::RuntimeClass.bit();
const L: u32 = Place::Library.bit();
const MO: u32 = Place::Module.bit();
const T: u32 = Place::Type.bit();
const F: u32 = Place::Field.bit();
const P: u32 = Place::Param.bit();
const M: u32 = Place::Method.bit();
const E: u32 = Place::Enumerator.bit();
const CM: u32 = Place::ClassMember.bit();
const DG: u32 = Place::Delegate.bit();
const AC: u32 = Place::ApiContract.bit();
const K: u32 = Place::Const.bit();

/// Places that describe a type library entry (help strings, custom data, ...).
const TLB: u32 = I | D | C | L | MO | T | F | M | E | R | DG | AC | K;
/// Places that hold data that the marshaller sizes (fields, parameters, typedefs).
const DATA: u32 = T | F | P;
/// WinRT metadata attributes.
const WINRT: u32 = I | R | T | F | M | E | CM | DG | AC | K;

/// How many arguments an attribute takes.
#[derive(Copy, Clone, Debug)]
pub enum Args {
    None,
    /// Exactly one.
    One,
    /// Between `min` and `max`.
    Range(usize, usize),
}

pub struct Spec {
    pub name: &'static str,
    places: u32,
    pub args: Args,
}

const fn spec(name: &'static str, places: u32, args: Args) -> Spec {
    Spec { name, places, args }
}

use Args::{None as N, One as O, Range as Rg};

/// Every attribute we know, alphabetically.
static SPECS: &[Spec] = &[
    spec("activatable", R, Rg(1, 3)),
    spec("aggregatable", C, N),
    spec("allocate", T | P | F, Rg(1, 4)),
    spec("allowmultiple", T, N),
    spec("annotation", TLB | P, Rg(1, 8)),
    spec("appobject", C, N),
    spec("async", M, N),
    spec("async_uuid", I, O),
    spec("attributename", T, O),
    spec("attributeusage", T, Rg(1, 8)),
    spec("auto_handle", I, N),
    spec("bindable", M | F, N),
    spec("broadcast", M, N),
    spec("byte_count", P, O),
    spec("call_as", M, O),
    spec("callback", M, N),
    spec("case", F, Rg(1, 64)),
    spec("code", I | M, N),
    spec("comm_status", M | P, N),
    spec("composable", R, Rg(2, 4)),
    spec("context_handle", T | P | M, N),
    spec("context_handle_noserialize", T | P, N),
    spec("context_handle_serialize", T | P, N),
    spec("contract", WINRT, Rg(2, 2)),
    spec("contractversion", AC, O),
    spec("control", C | L | I, N),
    spec("cs_char", T, O),
    spec("cs_drtag", P, N),
    spec("cs_rtag", P, N),
    spec("cs_stag", P, N),
    spec("cs_tag_rtn", I | M, O),
    spec("custom", TLB | P | CM, Rg(1, 2)),
    spec("decode", I | T | M, N),
    spec("default", F | CM, N),
    spec("default_overload", M, N),
    spec("defaultbind", M | F, N),
    spec("defaultcollelem", M | F, N),
    spec("defaultvalue", P, O),
    spec("defaultvtable", CM, N),
    spec("deprecated", WINRT, Rg(1, 4)),
    spec("disable_consistency_check", I | M | P, N),
    spec("displaybind", M | F, N),
    spec("dllname", MO, O),
    spec("dual", I, N),
    spec("enable_allocate", I | M, N),
    spec("encode", I | T | M, N),
    spec("endpoint", I, Rg(1, 16)),
    spec("entry", M, O),
    spec("eventadd", M, N),
    spec("eventremove", M, N),
    spec("exclusiveto", I, O),
    spec("experimental", WINRT, N),
    spec("explicit_handle", I, N),
    spec("fault_status", M | P, N),
    spec("feature", WINRT, O),
    spec("first_is", F | P, Rg(1, 8)),
    spec("flags", T, N),
    spec("force_allocate", P, N),
    spec("handle", T | I, N),
    spec("heap", T | P | F, N),
    spec("helpcontext", TLB, O),
    spec("helpfile", L | I | D | C | MO, O),
    spec("helpstring", TLB | CM, O),
    spec("helpstringcontext", TLB, O),
    spec("helpstringdll", L | I | D | C, O),
    spec("hidden", TLB | CM, N),
    // widl tolerates `id` on a library (natupnp.idl has one); it means nothing there.
    spec("id", M | F | E | L, O),
    spec("idempotent", M, N),
    spec("ignore", F | P, N),
    spec("iid_is", F | P | M, O),
    spec("immediatebind", M | F, N),
    spec("implicit_handle", I, O),
    spec("in", P, Rg(0, 1)),
    spec("in_line", T, N),
    spec("input_sync", M, N),
    spec("last_is", F | P, Rg(1, 8)),
    spec("lcid", L | P | M | I, Rg(0, 1)),
    spec("length_is", F | P | T, Rg(1, 8)),
    spec("licensed", C, N),
    spec("local", I | M | T | D | C, N),
    spec("marshaling_behavior", R | I, O),
    spec("max_is", F | P, Rg(1, 8)),
    spec("maybe", M, N),
    spec("message", M, N),
    spec("min_is", F | P, Rg(1, 8)),
    spec("ms_union", I | T | F, N),
    spec("nocode", I | M, N),
    spec("nonbrowsable", M | F, N),
    spec("noncreatable", C, N),
    spec("nonextensible", I | D, N),
    spec("notify", M, N),
    spec("notify_flag", M, N),
    spec("object", I, N),
    spec("odl", I | D, N),
    spec("oleautomation", I | D, N),
    spec("optimize", I | M, O),
    spec("optional", P, N),
    spec("out", P, Rg(0, 1)),
    spec("out_of_line", T, N),
    spec("overload", M, O),
    spec("overridable", CM, N),
    spec("partial_ignore", P | F, N),
    spec("pointer_default", I, O),
    spec("progid", C, O),
    spec("propget", M | F, N),
    spec("propput", M | F, N),
    spec("propputref", M | F, N),
    spec("protected", CM | M, N),
    spec("proxy", I | M, N),
    spec("ptr", DATA | M, N),
    spec("public", T | I | C | D, N),
    spec("range", DATA, Rg(2, 2)),
    spec("readonly", F | M | P, N),
    spec("ref", DATA | M, N),
    spec("replaceable", I | D | M | F, N),
    spec("represent_as", T, O),
    spec("requestedit", M | F, N),
    spec("restricted", TLB | CM, N),
    spec("retval", P, N),
    spec("size_is", DATA | M, Rg(1, 8)),
    spec("source", CM | M | F | I | D, N),
    spec("static", R, Rg(3, 3)),
    spec("strict_context_handle", I | M, N),
    spec("string", DATA | M, N),
    spec("switch_is", F | P, O),
    spec("switch_type", T | F | P, O),
    spec("system_handle", T | P | F, Rg(1, 2)),
    spec("threading", C | R, O),
    spec("transmit_as", T, O),
    spec("type_strict_context_handle", I, N),
    spec("uidefault", M | F, N),
    spec("unique", DATA | M, N),
    spec("user_marshal", T, O),
    spec("usesgetlasterror", M | MO, N),
    spec("uuid", I | D | C | L | MO | T | DG | R, O),
    spec("v1_enum", T, N),
    spec("vararg", M, N),
    spec(
        "version",
        I | D | C | L | MO | T | DG | R | AC | F | E | M,
        O,
    ),
    spec("vi_progid", C, O),
    spec("webhosthidden", WINRT, N),
    spec("wire_marshal", T, O),
];

/// Looks an attribute up by name.
pub fn lookup(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

impl Spec {
    pub fn allowed(&self, place: Place) -> bool {
        self.places & place.bit() != 0
    }

    /// `Some(message)` when `count` arguments are wrong for this attribute.
    pub fn check_count(&self, count: Option<usize>) -> Option<String> {
        let n = count.unwrap_or(0);
        let (min, max) = match self.args {
            Args::None => (0, 0),
            Args::One => (1, 1),
            Args::Range(a, b) => (a, b),
        };
        if n < min || n > max {
            let expected = match (min, max) {
                (0, 0) => "no arguments".to_string(),
                (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
                (a, b) => format!("{a} to {b} arguments"),
            };
            return Some(format!(
                "attribute `{}` takes {expected}, found {n}",
                self.name
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in SPECS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} / {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn placement_and_counts() {
        let in_ = lookup("in").unwrap();
        assert!(in_.allowed(Place::Param));
        assert!(!in_.allowed(Place::Interface));
        assert!(lookup("uuid").unwrap().check_count(Some(2)).is_some());
        assert!(lookup("object").unwrap().check_count(None).is_none());
        assert!(lookup("no_such_attribute").is_none());
    }
}
