//! MIDL constructs one at a time: each case says, in our words, what MIDL's documentation
//! says the construct means, gives a small IDL file using it, and checks what comidl makes
//! of it: accepted cleanly (and recorded in the IR where a backend needs it), or refused or
//! warned about with a located message.

mod common;

use comidl::Outcome;
use comidl::diag::Diagnostic;
use comidl::ir::{ItemKind, Type};

/// Checks `body` (after `import "comidl_base.idl";`) as a file of its own.
fn check(body: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.idl");
    std::fs::write(&path, format!("import \"comidl_base.idl\";\n{body}")).unwrap();
    common::check_with_idl(&path)
}

fn accepted(what: &str, body: &str) -> Outcome {
    let outcome = check(body);
    common::assert_clean(what, &outcome);
    outcome
}

/// The one diagnostic of `body`, which must have a location and say `says`.
fn diagnosed(body: &str, says: &str) -> Diagnostic {
    let outcome = check(body);
    assert_eq!(outcome.diagnostics.len(), 1, "{}", common::render(&outcome));
    let d = outcome.diagnostics[0].clone();
    assert!(d.primary.is_some(), "not located: {}", d.message);
    assert!(
        d.message.contains(says),
        "{:?} should say {says:?}",
        d.message
    );
    d
}

const IFACE: &str =
    "[object, uuid(6d5b0d3a-6c31-4e52-9a39-1b7c2e9f4a01)]\ninterface ICase : IUnknown";

/// The method `name` of interface `ICase`, with its attributes.
fn method<'o>(outcome: &'o Outcome, name: &str) -> &'o comidl::ir::Method {
    outcome
        .model
        .items
        .iter()
        .find_map(|it| match &it.kind {
            ItemKind::Interface(i) if it.name == "ICase" => {
                i.methods.iter().find(|m| m.name == name)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no method {name}"))
}

#[test]
fn input_sync_marks_a_method_the_server_runs_while_its_caller_handles_input() {
    // [input_sync]: the call is made synchronously while the caller processes an input
    // message, so the server must not yield or make calls out that need the caller's
    // message loop. It changes nothing in the vtable; it is kept on the method.
    let outcome = accepted(
        "input_sync",
        &format!("{IFACE} {{ [input_sync] HRESULT Ping(); }}"),
    );
    assert!(method(&outcome, "Ping").has_attr("input_sync"));
}

#[test]
fn disable_consistency_check_may_stand_on_a_parameter() {
    // [disable_consistency_check]: the stub skips the robustness checks on the data it
    // receives (for speed, when the caller is trusted); MIDL allows it on an interface, a
    // method and a parameter.
    let outcome = accepted(
        "disable_consistency_check",
        &format!("{IFACE} {{ HRESULT Put([in, disable_consistency_check] long x); }}"),
    );
    assert!(method(&outcome, "Put").signature.params[0].has_attr("disable_consistency_check"));
}

#[test]
fn system_handle_describes_a_kernel_handle_passed_across() {
    // [system_handle(kind, rights)]: the parameter is an operating-system handle (a file,
    // an event, ...) that the marshaller duplicates into the receiving process.
    accepted(
        "system_handle",
        &format!(
            "typedef void *HANDLE_CASE;\n{IFACE} {{ HRESULT Give([in, system_handle(sh_file)] HANDLE_CASE h); }}"
        ),
    );
}

#[test]
fn other_documented_attributes_are_known_where_midl_puts_them() {
    // Attributes that change nothing comidl generates today, accepted where MIDL's
    // documentation places them and kept in the IR: [replaceable] (a property the object
    // lets clients replace), [byte_count] (an ACF count of bytes for an [out] buffer),
    // the international-character tags [cs_stag]/[cs_rtag]/[cs_drtag] and [cs_tag_rtn],
    // and WinRT's [webhosthidden], [experimental] and [feature].
    accepted(
        "replaceable and friends",
        &format!(
            "{IFACE} {{ [replaceable] HRESULT Swap(); \
             [cs_tag_rtn(GetTags)] HRESULT Text([in, cs_stag] long stag, [in, cs_drtag] long drtag, [out, cs_rtag] long *rtag); }}"
        ),
    );
}

#[test]
fn pointer_modifiers_of_16_and_64_bit_compilers_are_ignored() {
    // `__unaligned`, `__ptr32`, `__ptr64` and the 16-bit `_far`/`__far`/`_near`/`__near`/
    // `_huge`/`__huge` qualify a pointer for a compiler; they change nothing on the
    // platforms MIDL targets today, and nothing in what comidl generates.
    let outcome = accepted(
        "pointer modifiers",
        &format!(
            "{IFACE} {{ HRESULT Read([in] char * __unaligned a, [in] char _far *b, \
             [in] char * __ptr64 c, [in] char __far * __near d); }}"
        ),
    );
    for param in &method(&outcome, "Read").signature.params {
        assert!(
            matches!(param.ty, Type::Pointer { .. }),
            "{} is a pointer",
            param.name
        );
    }
}

#[test]
fn a_name_that_starts_with_long_is_a_name() {
    // `long longitude` is a `long` called `longitude`; `long long` needs a word boundary.
    let outcome = accepted(
        "long longitude",
        &format!("{IFACE} {{ HRESULT At([in] long longitude, [in] long long when); }}"),
    );
    let params = &method(&outcome, "At").signature.params;
    assert_eq!(params[0].name, "longitude");
    assert_ne!(params[0].ty, params[1].ty, "long and long long differ");
}

#[test]
fn a_string_literal_may_continue_on_the_next_line() {
    // A backslash ending a line joins the next one to it, inside a string literal too, as in
    // C; with CRLF line ends as with LF. The joined literal has neither the backslash nor
    // the line break.
    for end in ["\n", "\r\n"] {
        let outcome = accepted("spliced literal", &format!("cpp_quote(\"abc\\{end}def\")"));
        let quoted = outcome.model.items.iter().find_map(|it| match &it.kind {
            ItemKind::CppQuote(text) => Some(text.clone()),
            _ => None,
        });
        assert_eq!(quoted.as_deref(), Some("abcdef"), "line end {end:?}");
    }
}

#[test]
fn a_forward_interface_may_be_defined_as_a_dispinterface() {
    // `interface X;` only promises that X is an interface; MIDL lets the definition that
    // follows be a dispinterface.
    accepted(
        "forward interface, dispinterface definition",
        "interface IDisp;\n[uuid(6d5b0d3a-6c31-4e52-9a39-1b7c2e9f4a02)]\ndispinterface IDisp { properties: methods: };",
    );
}

#[test]
fn a_forward_apicontract_may_be_defined_later() {
    // `apicontract C;` declares a WinRT API contract that a later `apicontract C {...}`
    // defines (with its version), as for interfaces.
    accepted(
        "forward apicontract",
        "namespace Fixture { apicontract Contract; [contractversion(1.0)] apicontract Contract {}; }",
    );
}

#[test]
fn an_out_parameter_that_is_no_pointer_is_reported() {
    // [out] means the callee writes a result through the parameter, so it must be a
    // pointer (or an array, which C passes as one). Where the call is marshalled (an
    // interface neither [local] nor inside a library) widl and MIDL refuse it: the stub
    // has nowhere to put the result. Elsewhere widl accepts it (Wine's own mshtml.idl, in
    // its library, and msctf.idl, in a local interface), so comidl only warns there.
    let d = diagnosed(
        &format!("{IFACE} {{ HRESULT Move([in] LONG dx, [out] LONG dy); }}"),
        "[out] parameter `dy` is not a pointer",
    );
    assert!(d.is_error());
    let local =
        "[object, local, uuid(6d5b0d3a-6c31-4e52-9a39-1b7c2e9f4a0a)]\ninterface ILocal : IUnknown";
    let d = diagnosed(
        &format!("{local} {{ HRESULT Move([out] LONG dy); }}"),
        "[out] parameter `dy` is not a pointer",
    );
    assert!(!d.is_error());
    let d = diagnosed(
        &format!(
            "[uuid(6d5b0d3a-6c31-4e52-9a39-1b7c2e9f4a0b)] library L {{ {IFACE} {{ HRESULT Move([out] LONG dy); }} }}"
        ),
        "[out] parameter `dy` is not a pointer",
    );
    assert!(!d.is_error());
    // Through a typedef of a pointer, and as an array, it is fine.
    accepted(
        "out through typedefs",
        &format!(
            "typedef LONG *PLONG_CASE;\n{IFACE} {{ HRESULT Get([out] PLONG_CASE a, [out] LONG b[4]); }}"
        ),
    );
}

#[test]
fn string_and_counts_stand_on_addresses() {
    // [string] says a pointer or array holds a terminated string; size_is and length_is
    // say how many elements it holds. On a value that is neither (directly or through
    // typedefs) they mean nothing, and widl refuses them wherever they stand.
    for (body, says) in [
        (
            format!("{IFACE} {{ HRESULT F([in, string] LONG x); }}"),
            "[string] on `x`",
        ),
        (
            "typedef struct { [string] LONG tail; } SCALAR_STRING;".to_string(),
            "[string] on `tail`",
        ),
        (
            "typedef [string] LONG STRING_LONG;".to_string(),
            "[string] on `STRING_LONG`",
        ),
        (
            format!("{IFACE} {{ HRESULT F([in] LONG n, [in, size_is(n)] LONG x); }}"),
            "[size_is] on `x`",
        ),
        (
            "typedef struct { LONG n; [length_is(n)] LONG x; } SCALAR_LENGTH;".to_string(),
            "[length_is] on `x`",
        ),
    ] {
        assert!(diagnosed(&body, says).is_error(), "{body}");
    }
    accepted(
        "string and size_is on addresses",
        &format!(
            "typedef [string] WCHAR *WSTR_CASE;\n{IFACE} {{ HRESULT F([in, string] WSTR_CASE s, [in] LONG n, [in, size_is(n)] LONG *p, [in, string] char a[8]); }}"
        ),
    );
}

#[test]
fn a_named_parameter_is_not_void() {
    // `f(void)` says there are no parameters; a parameter with a name has a value, and no
    // value has type void. widl and MIDL refuse it, also through a typedef of void.
    let d = diagnosed(
        &format!("{IFACE} {{ HRESULT F([in] void x); }}"),
        "parameter `x` has type void",
    );
    assert!(d.is_error());
    accepted("f(void)", &format!("{IFACE} {{ HRESULT F(void); }}"));
}

#[test]
fn marshalled_sizes_name_integers_that_exist() {
    // Where a call is marshalled, the stub reads the element count (size_is, length_is),
    // the interface id (iid_is) or the union arm (switch_is) from the parameter or field
    // the attribute names: widl and MIDL refuse a name that is none of them, and a count
    // that is not an integer. This covers the fields of structs the parameters reach.
    // In a local interface nothing is marshalled: an unknown name stays a warning there
    // (Wine's wmsdkidl.idl has one).
    let unknown = diagnosed(
        &format!("{IFACE} {{ HRESULT F([in] LONG n, [in, size_is(m)] LONG *p); }}"),
        "unknown name `m`",
    );
    assert!(unknown.is_error());
    let iid = diagnosed(
        &format!("{IFACE} {{ HRESULT F([in] REFIID r, [out, iid_is(q)] void **p); }}"),
        "unknown name `q`",
    );
    assert!(iid.is_error());
    let field = diagnosed(
        &format!(
            "typedef struct {{ LONG n; [size_is(m)] LONG *p; }} SIZED;\n{IFACE} {{ HRESULT F([in] SIZED *s); }}"
        ),
        "unknown name `m`",
    );
    assert!(field.is_error());
    let unreached = diagnosed(
        "typedef struct { LONG n; [size_is(m)] LONG *p; } UNUSED_SIZED;",
        "unknown name `m`",
    );
    assert!(!unreached.is_error());
    let local =
        "[object, local, uuid(6d5b0d3a-6c31-4e52-9a39-1b7c2e9f4a0c)]\ninterface ILocal : IUnknown";
    let in_local = diagnosed(
        &format!("{local} {{ HRESULT F([in, size_is(m)] LONG *p); }}"),
        "unknown name `m`",
    );
    assert!(!in_local.is_error());
    let pointer = diagnosed(
        &format!("{IFACE} {{ HRESULT F([in] LONG *n, [in, size_is(n)] LONG *p); }}"),
        "`size_is` of `p` does not name an integer",
    );
    assert!(pointer.is_error());
    accepted(
        "sizes through a pointer's target",
        &format!(
            "{IFACE} {{ HRESULT F([in] LONG *n, [in, size_is(*n)] LONG *p, [in] hyper h, [in, size_is(h)] LONG *q); }}"
        ),
    );
}

#[test]
fn a_typedef_name_means_one_type_in_a_file() {
    // C11 lets a typedef be repeated for the same type; one name for two types leaves C
    // (and widl, which refuses it within a file) with two meanings. Across files widl lets
    // the later one pass (Wine's dcommon.idl redefines POINT), so comidl does too.
    let d = diagnosed(
        "typedef LONG TWICE;\ntypedef struct other_tag { LONG m; } TWICE;",
        "typedef `TWICE` is defined again as a different type",
    );
    assert!(d.is_error());
    accepted(
        "a repeated typedef",
        "typedef LONG SAME;\ntypedef LONG SAME;",
    );
}

#[test]
fn every_enumerator_is_evaluated() {
    // An enumerator's value is a constant expression whether or not anything uses it: a
    // division by zero in an anonymous enum is an error (widl and MIDL evaluate them all).
    let d = diagnosed(
        "enum { UNUSED_A = 1, UNUSED_B = (2) / 0 };",
        "division by zero",
    );
    assert!(d.is_error());
}

#[test]
fn an_interface_body_declares_no_interfaces() {
    // An interface body holds methods, types and constants; an interface (even a forward
    // declaration) or a class inside it is refused by MIDL's grammar and by widl.
    let d = diagnosed(
        &format!("{IFACE} {{ interface INested; HRESULT F(); }}"),
        "an interface cannot be declared inside an interface",
    );
    assert!(d.is_error());
}

#[test]
fn an_object_interface_without_a_uuid_is_reported() {
    // COM knows an interface only by its IID; an [object] interface without uuid() gets
    // none, so nothing can QueryInterface for it. widl accepts it (d3dcommon.idl), so it
    // is a located warning.
    let d = diagnosed(
        "[object] interface INoId : IUnknown { HRESULT Ping(); }",
        "object interface `INoId` has no uuid",
    );
    assert!(!d.is_error());
}

#[test]
fn a_method_declared_twice_is_an_error() {
    // Two methods of one name would be two vtable slots C cannot tell apart. Property
    // accessors of one property (get, put, putref) and WinRT event add/remove pairs share
    // a name legitimately.
    let d = diagnosed(
        &format!("{IFACE} {{ HRESULT Bump(); HRESULT Bump([in] LONG by); }}"),
        "interface `ICase` declares method `Bump` twice",
    );
    assert!(d.is_error());
    accepted(
        "property accessors",
        &format!(
            "{IFACE} {{ [propget] HRESULT Size([out, retval] LONG *v); [propput] HRESULT Size([in] LONG v); }}"
        ),
    );
}

#[test]
fn declare_guid_names_a_guid_for_the_header() {
    // declare_guid(NAME, guid): MIDL writes a GUID variable NAME into the header, as the
    // cpp_quote of an EXTERN_GUID call would; the GUID is written like a uuid attribute's.
    let outcome = accepted(
        "declare_guid",
        "declare_guid(SID_Case, 5144C348-169E-4359-A79D-5482461D9929);\n\
         declare_guid(SID_Quoted, \"5144c348-169e-4359-a79d-5482461d992a\")",
    );
    let guid = outcome
        .model
        .items
        .iter()
        .find_map(|it| match &it.kind {
            ItemKind::GuidConst(g) if it.name == "SID_Case" => Some(*g),
            _ => None,
        })
        .expect("SID_Case is an item");
    assert_eq!(guid.to_string(), "5144c348-169e-4359-a79d-5482461d9929");
    let code = comidl::emit::rust::generate(&outcome.model, &Default::default())
        .unwrap()
        .code;
    assert!(
        code.contains("pub const SID_Case: ::comidl_runtime::GUID"),
        "{code}"
    );
    assert!(code.contains("pub const SID_Quoted"), "{code}");
    // A malformed GUID is an error at the GUID.
    diagnosed(
        "declare_guid(SID_Bad, \"5144c348-169e\");",
        "`5144c348-169e` is not a valid GUID",
    );
    // The name is a file-scope name: a second one is an error.
    let outcome = check(
        "declare_guid(SID_Twice, 5144C348-169E-4359-A79D-5482461D9929);\n\
         declare_guid(SID_Twice, 5144C348-169E-4359-A79D-5482461D9929);",
    );
    assert!(outcome.has_errors(), "{}", common::render(&outcome));
}

#[test]
fn a_type_name_differing_in_case_is_taken_with_a_warning() {
    // MIDL matches a type name that differs from a declared one only in case; comidl does
    // too, and says which type it took.
    let d = diagnosed(
        "typedef struct CASE_POINT { Long x; } CASE_POINT;",
        "unknown type `Long`; taken as `LONG`",
    );
    assert!(!d.is_error());
    // Two candidates differing only in case from each other: no guess, an error.
    let outcome = check("typedef long ABC;\ntypedef long abc;\ntypedef Abc CASE_T;");
    assert!(outcome.has_errors(), "{}", common::render(&outcome));
}

#[test]
fn bool_is_taken_as_boolean() {
    // `bool` is C++'s; MIDL takes it as the one-byte boolean.
    let d = diagnosed(
        "typedef struct CASE_B { bool b; } CASE_B;",
        "taken as `boolean`",
    );
    assert!(!d.is_error());
}

const RPC: &str = "[uuid(6d5b0d3a-6c31-4e52-9a39-1b7c2e9f4a02), version(1.0)]\ninterface Rpc";

#[test]
fn pipe_declares_a_stream_of_elements_passed_to_a_remote_call() {
    // `typedef pipe T NAME;`: NAME carries an open-ended stream of T during one remote
    // call. An [in] pipe lets the server pull the caller's elements in chunks; an [out]
    // pipe lets the server push elements back. In C it is a control record of the
    // caller's pull, push and alloc routines and a state pointer they share. A pointer
    // declarator beside it names a pointer to that pipe.
    let outcome = accepted(
        "pipe",
        &format!(
            "typedef struct {{ long when; double value; }} SAMPLE;\n\
             {RPC} {{\n\
               typedef pipe long LONG_PIPE, *PLONG_PIPE;\n\
               typedef pipe SAMPLE SAMPLE_PIPE;\n\
               void Send([in] handle_t h, [in] LONG_PIPE numbers, [in] long pipe);\n\
               void Receive([in] handle_t h, [out] SAMPLE_PIPE *samples, [out] PLONG_PIPE more);\n\
             }}"
        ),
    );
    let item = |name: &str| {
        outcome
            .model
            .items
            .iter()
            .find(|it| it.name == name)
            .unwrap_or_else(|| panic!("no item {name}"))
    };
    assert!(matches!(
        item("LONG_PIPE").kind,
        ItemKind::Pipe(Type::Base(comidl::ir::Base::Int32 { signed: true }))
    ));
    assert!(matches!(
        item("SAMPLE_PIPE").kind,
        ItemKind::Pipe(Type::Named(_))
    ));
    let ItemKind::Typedef(Type::Pointer { pointee, .. }) = &item("PLONG_PIPE").kind else {
        panic!("PLONG_PIPE is a pointer typedef");
    };
    assert!(
        matches!(**pointee, Type::Named(id) if outcome.model.item(id).unwrap().name == "LONG_PIPE")
    );
}

#[test]
fn a_pipe_element_is_fixed_size_self_contained_data() {
    // MIDL: a pipe's element cannot be or contain a pointer, a conformant or varying
    // array, a handle or a context handle; in Microsoft's implementation neither a
    // union, a 16-bit enum nor an __int3264. Neither the pipe nor its element may change
    // its wire form ([transmit_as], [represent_as], [wire_marshal], [user_marshal]).
    let cases = [
        ("typedef struct { long *p; } E;", "be or hold a pointer"),
        (
            "typedef struct { long n; [size_is(n)] long a[]; } E;",
            "[size_is] member",
        ),
        (
            "typedef struct { [string] char s[8]; } E;",
            "[string] member",
        ),
        ("typedef handle_t E;", "handle"),
        ("typedef [context_handle] void *E;", "context handle"),
        ("typedef union { long a; short b; } E;", "union"),
        ("typedef enum { E_A, E_B } E;", "16-bit enum"),
        ("typedef __int3264 E;", "__int3264"),
        (
            "typedef [transmit_as(long)] struct { long x; } E;",
            "[transmit_as]",
        ),
    ];
    for (element, says) in cases {
        diagnosed(&format!("{element}\ntypedef pipe E E_PIPE;"), says);
    }
    diagnosed(
        "typedef [wire_marshal(long)] long W;\ntypedef pipe W W_PIPE;",
        "[wire_marshal]",
    );
    diagnosed(
        "typedef [user_marshal(long)] pipe long U_PIPE;",
        "cannot be [user_marshal]",
    );
    // A 32-bit enum is fine.
    accepted(
        "pipe of v1_enum",
        "typedef [v1_enum] enum { V_A, V_B } V;\ntypedef pipe V V_PIPE;",
    );
}

#[test]
fn a_pipe_is_only_a_parameter_of_a_remote_call() {
    // MIDL: a pipe is not a struct or union member, an array element or a return value;
    // it is passed by value or through a [ref] pointer, never [unique] or [ptr]; it is
    // not used in [object] interfaces, in an [idempotent] routine or with serialization.
    let pipe = "typedef pipe long P;\n";
    diagnosed(
        &format!("{pipe}typedef struct {{ P inner; }} S;"),
        "can only be a parameter",
    );
    diagnosed(
        &format!("{pipe}typedef P PA[4];"),
        "can only be a parameter",
    );
    for (method, says) in [
        ("P Get(void);", "cannot be returned"),
        ("void U([in, unique] P *p);", "[unique] pointer"),
        ("void F([in, ptr] P *p);", "[ptr] pointer"),
        (
            "void D([in] P **p);",
            "other than by value or through one pointer",
        ),
        ("[idempotent] void I([in] P p);", "[idempotent]"),
    ] {
        diagnosed(&format!("{pipe}{RPC} {{ {method} }}"), says);
    }
    diagnosed(
        &format!("{pipe}{IFACE} {{ HRESULT Put([in] P p); }}"),
        "[object] interface",
    );
    diagnosed("typedef pipe long;", "expected a declarator");
    diagnosed("void Loose([in] pipe long p);", "declared by a typedef");
}
