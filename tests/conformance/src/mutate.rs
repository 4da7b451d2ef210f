//! Mutations for the mutation stage: small textual edits that make a valid IDL file
//! invalid, each at a site found by a scanner of our own.
//!
//! The scanner is deliberately simple and separate from comidl's parser, so the stage does
//! not share the blind spots of the thing it tests: it splits the text into tokens
//! (comments, preprocessor lines and string contents are skipped), finds statements by
//! their `;` and braces, and recognises the few shapes the mutations need (interfaces,
//! methods, parameters, struct fields, enumerators, constants, imports, unions). A shape it
//! does not understand is simply not a site. Whether a mutation really makes the file
//! invalid is widl's call, not the scanner's: the stage only counts mutations widl rejects.

use std::ops::Range;

/// One kind of mutation: a name for the report and what it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kind {
    pub name: &'static str,
    pub what: &'static str,
}

macro_rules! kinds {
    ($($id:ident = $name:literal: $what:literal;)*) => {
        $(pub const $id: Kind = Kind { name: $name, what: $what };)*
        /// Every kind, in report order.
        pub const ALL: &[Kind] = &[$($id),*];
    };
}

kinds! {
    OUT_NOT_POINTER = "out-not-pointer": "[out] on a parameter passed by value";
    RETVAL_NOT_LAST = "retval-not-last": "a parameter after the [retval] one";
    SIZE_IS_UNKNOWN = "size_is-unknown-name": "size_is naming no parameter or field";
    LENGTH_IS_UNKNOWN = "length_is-unknown-name": "length_is naming no parameter or field";
    SIZE_IS_NOT_INTEGER = "size_is-not-integer": "size_is naming a pointer, not an integer";
    IID_IS_UNKNOWN = "iid_is-unknown-name": "iid_is naming no parameter";
    SWITCH_IS_UNKNOWN = "switch_is-unknown-name": "switch_is naming no parameter or field";
    MISSING_UUID = "missing-uuid": "an [object] interface without uuid";
    DUPLICATE_METHOD = "duplicate-method": "a method declared twice in one interface";
    DUPLICATE_FIELD = "duplicate-field": "a struct member declared twice";
    DUPLICATE_ENUMERATOR = "duplicate-enumerator": "an enumerator declared twice";
    DUPLICATE_PARAMETER = "duplicate-parameter": "two parameters of one name";
    UNION_ARM_WITHOUT_CASE = "union-arm-without-case": "an encapsulated union arm without a case label";
    UNION_ARM_WITHOUT_CASE_ATTR = "union-arm-without-case-attr": "a union arm without [case] or [default]";
    STRING_ON_SCALAR = "string-on-scalar": "[string] on a parameter or field that is neither pointer nor array";
    STRING_ON_NON_CHAR_ARRAY = "string-on-non-char-array": "[string] on an array of non-characters";
    UNDEFINED_TYPE = "undefined-type": "a parameter of a type declared nowhere";
    UNDEFINED_BASE = "undefined-base-interface": "an interface deriving from one declared nowhere";
    SELF_BASE = "self-inheritance": "an interface deriving from itself";
    TYPEDEF_REDEFINITION = "typedef-redefinition": "a typedef name defined twice";
    TAG_REDEFINITION = "struct-tag-redefinition": "a struct tag defined twice";
    INTERFACE_REDEFINITION = "interface-redefinition": "an interface defined twice";
    ATTR_ON_INTERFACE = "method-attribute-on-interface": "[propget] on an interface";
    ATTR_ON_PARAM = "method-attribute-on-parameter": "[propget] on a parameter";
    ATTR_ON_FIELD = "parameter-attribute-on-field": "[in] on a struct member";
    SIZE_IS_ON_SCALAR = "size_is-on-scalar": "size_is on a parameter that is neither pointer nor array";
    VOID_PARAMETER = "void-parameter": "a named parameter of type void";
    ARRAY_NOT_POSITIVE = "array-size-not-positive": "a fixed array of -1 elements";
    MISSING_SEMICOLON = "missing-semicolon": "the `;` after a method dropped";
    UNTERMINATED_COMMENT = "unterminated-comment": "a `/*` never closed";
    KEYWORD_AS_NAME = "keyword-as-name": "a parameter named `interface`";
    UNKNOWN_ATTRIBUTE = "unknown-attribute": "an attribute that does not exist";
    MALFORMED_UUID = "malformed-uuid": "a uuid that is not a GUID";
    POINTER_DEFAULT_BAD = "pointer_default-bad": "pointer_default of a word other than ref, unique or ptr";
    MISSING_IMPORT = "missing-import": "an import of a file that exists nowhere";
    MISSING_INCLUDE = "missing-include": "an #include of a file that exists nowhere";
    DIVIDE_BY_ZERO = "divide-by-zero": "a constant or enumerator divided by zero";
    UNDEFINED_CONSTANT = "undefined-constant": "a constant or enumerator value naming nothing";
    CASE_UNDEFINED = "case-undefined-constant": "a union case label naming nothing";
}

/// One mutated text and where the edit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    pub kind: Kind,
    pub text: String,
    /// The 1-based lines of the mutated text the edit touches (first, last).
    pub lines: (usize, usize),
}

/// A site: the replacement of `range` (bytes of the original) by `with`; `reach` is the
/// last line a tool may fairly blame (a dropped `;` is noticed at the next token). Sites
/// are kept as edits and only the chosen ones applied, since a copy of a large file per
/// site would not fit in memory.
#[derive(Debug, Clone)]
pub struct Edit {
    range: Range<usize>,
    with: String,
    reach: Option<usize>,
}

impl Edit {
    fn new(range: Range<usize>, with: impl Into<String>) -> Edit {
        Edit {
            range,
            with: with.into(),
            reach: None,
        }
    }

    fn insert(at: usize, with: impl Into<String>) -> Edit {
        Edit::new(at..at, with)
    }

    /// The mutated text; `None` if the edit does not fit `text` (not the text it was
    /// found in).
    pub fn apply(&self, kind: Kind, text: &str) -> Option<Mutation> {
        let before = text.get(..self.range.start)?;
        let after = text.get(self.range.end..)?;
        let first = before.matches('\n').count() + 1;
        let last = first + self.with.matches('\n').count();
        Some(Mutation {
            kind,
            text: format!("{before}{}{after}", self.with),
            lines: (first, self.reach.map_or(last, |r| r.max(last))),
        })
    }
}

/// Every site of every kind in `text`, as (kind, edits in the order found).
pub fn sites(text: &str) -> Vec<(Kind, Vec<Edit>)> {
    let toks = tokenize(text);
    let model = Scan::new(&toks).run();
    let mut by_kind: Vec<(Kind, Vec<Edit>)> = ALL.iter().map(|k| (*k, Vec::new())).collect();
    let mut add = |kind: Kind, edit: Edit| {
        if let Some((_, list)) = by_kind.iter_mut().find(|(k, _)| *k == kind) {
            list.push(edit);
        }
    };
    model.edits(text, &toks, &mut add);
    by_kind
}

// ---------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokKind {
    Ident,
    Number,
    Str,
    Punct,
}

#[derive(Debug, Clone)]
struct Tok<'a> {
    kind: TokKind,
    text: &'a str,
    start: usize,
    end: usize,
    line: usize,
}

/// Splits IDL text into tokens, skipping whitespace, comments and preprocessor lines.
/// Never fails: an unterminated comment or string just ends the token list.
fn tokenize(text: &str) -> Vec<Tok<'_>> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut line_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line += 1;
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' && line_start {
            // A directive runs to the end of the line, continued by a backslash.
            while i < bytes.len() && bytes[i] != b'\n' {
                if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'\n') {
                    line += 1;
                    i += 1;
                }
                i += 1;
            }
            continue;
        }
        line_start = false;
        if bytes[i..].starts_with(b"//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if bytes[i..].starts_with(b"/*") {
            i += 2;
            while i < bytes.len() && !bytes[i..].starts_with(b"*/") {
                if bytes[i] == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            i = (i + 2).min(bytes.len());
            continue;
        }
        let start = i;
        let kind = if c == b'"' || c == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != c && bytes[i] != b'\n' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(bytes.len());
            TokKind::Str
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            TokKind::Ident
        } else if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            TokKind::Number
        } else {
            // One byte, or a whole UTF-8 character, so slices stay on char boundaries.
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            TokKind::Punct
        };
        let Some(tok_text) = text.get(start..i) else {
            break;
        };
        toks.push(Tok {
            kind,
            text: tok_text,
            start,
            end: i,
            line,
        });
    }
    toks
}

/// The index of the token closing the group opened at `open`, if any.
fn matching(toks: &[Tok], open: usize) -> Option<usize> {
    let (o, c) = match toks.get(open)?.text {
        "(" => ("(", ")"),
        "[" => ("[", "]"),
        "{" => ("{", "}"),
        _ => return None,
    };
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.text == o {
            depth += 1;
        } else if t.text == c {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Splits `range` at top-level occurrences of `sep`, skipping over bracketed groups.
fn split_top(toks: &[Tok], range: Range<usize>, sep: &str) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut start = range.start;
    let mut i = range.start;
    while i < range.end {
        let t = toks[i].text;
        if matches!(t, "(" | "[" | "{") {
            i = matching(toks, i).map_or(range.end, |m| m + 1);
            continue;
        }
        if t == sep {
            parts.push(start..i);
            start = i + 1;
        }
        i += 1;
    }
    if start < range.end {
        parts.push(start..range.end);
    }
    parts
}

// ---------------------------------------------------------------------------------------
// Shapes

/// `[ ... ]`: token indices of the brackets and the attributes (name, token range).
#[derive(Debug, Clone, Default)]
struct Attrs {
    open: usize,
    close: usize,
    list: Vec<(String, Range<usize>)>,
}

impl Attrs {
    fn has(&self, name: &str) -> bool {
        self.list.iter().any(|(n, _)| n == name)
    }

    /// The argument tokens (inside the parentheses) of attribute `name`.
    fn args(&self, toks: &[Tok], name: &str) -> Option<Range<usize>> {
        let (_, r) = self.list.iter().find(|(n, _)| n == name)?;
        let open = r.start + 1;
        (toks.get(open)?.text == "(" && r.end > open + 1).then(|| open + 1..r.end - 1)
    }
}

fn read_attrs(toks: &[Tok], open: usize) -> Option<Attrs> {
    if toks.get(open)?.text != "[" {
        return None;
    }
    let close = matching(toks, open)?;
    let list = split_top(toks, open + 1..close, ",")
        .into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| (toks[r.start].text.to_string(), r))
        .collect();
    Some(Attrs { open, close, list })
}

/// A parameter or struct member: `[attrs] type-words *... name [dims]`.
#[derive(Debug, Clone)]
struct Decl {
    attrs: Option<Attrs>,
    /// Tokens of the type, before the name (pointers included).
    ty: Range<usize>,
    name: usize,
    /// The `[ ... ]` dimension groups after the name.
    dims: Vec<Range<usize>>,
    whole: Range<usize>,
}

impl Decl {
    fn pointer(&self, toks: &[Tok]) -> bool {
        toks[self.ty.clone()].iter().any(|t| t.text == "*")
    }

    /// A value the callee gets by copy, of a type we know is not a pointer in disguise.
    fn scalar(&self, toks: &[Tok]) -> bool {
        self.dims.is_empty()
            && !self.pointer(toks)
            && !self.ty.is_empty()
            && toks[self.ty.clone()]
                .iter()
                .all(|t| SCALARS.contains(&t.text) || t.text == "const")
    }

    /// The type's one word, when it is written as one (`IStream *p`, `DWORD n`).
    fn single_type_name(&self, toks: &[Tok]) -> Option<usize> {
        let mut words = self
            .ty
            .clone()
            .filter(|&i| toks[i].kind == TokKind::Ident && toks[i].text != "const");
        let one = words.next()?;
        words.next().is_none().then_some(one)
    }
}

/// Type names that are plain integers or floats, in Wine's headers as in C.
const SCALARS: &[&str] = &[
    "long",
    "short",
    "int",
    "char",
    "unsigned",
    "signed",
    "hyper",
    "small",
    "float",
    "double",
    "boolean",
    "byte",
    "LONG",
    "ULONG",
    "DWORD",
    "INT",
    "UINT",
    "BOOL",
    "SHORT",
    "USHORT",
    "WORD",
    "BYTE",
    "FLOAT",
    "DOUBLE",
    "LONGLONG",
    "ULONGLONG",
    "HRESULT",
    "DISPID",
    "LCID",
    "VARIANT_BOOL",
    "UINT32",
    "INT32",
    "UINT64",
    "INT64",
    "UINT8",
    "INT16",
    "UINT16",
];

const CHARS: &[&str] = &[
    "char", "WCHAR", "wchar_t", "OLECHAR", "CHAR", "byte", "BYTE",
];

fn read_decl(toks: &[Tok], range: Range<usize>) -> Option<Decl> {
    let mut start = range.start;
    let attrs = read_attrs(toks, start);
    if let Some(a) = &attrs {
        start = a.close + 1;
    }
    // Trailing dimension groups.
    let mut end = range.end;
    let mut dims = Vec::new();
    while end > start && toks[end - 1].text == "]" {
        let open = (start..end - 1)
            .rev()
            .find(|&i| toks[i].text == "[" && matching(toks, i) == Some(end - 1))?;
        dims.insert(0, open..end);
        end = open;
    }
    if end <= start + 1 {
        return None;
    }
    let name = end - 1;
    if toks[name].kind != TokKind::Ident || KEYWORDS.contains(&toks[name].text) {
        return None;
    }
    let ty = start..name;
    // Function pointers, bit-fields and the like are not simple declarations.
    if toks[ty.clone()]
        .iter()
        .any(|t| matches!(t.text, "(" | ")" | ":" | "{" | "}" | "," | "="))
    {
        return None;
    }
    Some(Decl {
        attrs,
        ty,
        name,
        dims,
        whole: range,
    })
}

const KEYWORDS: &[&str] = &[
    "const",
    "struct",
    "union",
    "enum",
    "unsigned",
    "signed",
    "long",
    "short",
    "int",
    "char",
    "void",
    "interface",
    "typedef",
];

#[derive(Debug, Clone)]
struct Method {
    attrs: Option<Attrs>,
    /// The parameter list's closing parenthesis.
    close: usize,
    params: Vec<Decl>,
    /// The whole statement, its `;` excluded.
    stmt: Range<usize>,
    semicolon: Option<usize>,
}

#[derive(Debug, Clone)]
struct Interface {
    attrs: Option<Attrs>,
    name: usize,
    base: Option<usize>,
    /// The closing brace.
    close: usize,
    methods: Vec<Method>,
}

impl Interface {
    fn local(&self) -> bool {
        self.attrs.as_ref().is_some_and(|a| a.has("local"))
    }

    fn object(&self) -> bool {
        self.attrs.as_ref().is_some_and(|a| a.has("object"))
    }
}

/// A method whose parameters widl checks for marshalling: in a non-local interface,
/// and not local itself.
fn remoted(iface: &Interface, m: &Method) -> bool {
    !iface.local() && !m.attrs.as_ref().is_some_and(|a| a.has("local"))
}

#[derive(Debug, Default)]
struct Model {
    interfaces: Vec<Interface>,
    /// Simple members of struct and union bodies.
    fields: Vec<Decl>,
    /// Enumerators: name token and value expression tokens.
    enumerators: Vec<(usize, Option<Range<usize>>)>,
    /// `const T NAME = EXPR`: the value tokens.
    consts: Vec<Range<usize>>,
    /// Imported file names (string tokens).
    imports: Vec<usize>,
    /// Typedef statements: the `;` and the declared name.
    typedefs: Vec<(usize, usize)>,
    /// `struct TAG {` definitions at statement level: the tag and the statement's `;`.
    tags: Vec<(usize, usize)>,
    /// `case X:` label runs in encapsulated unions: first `case` to last `:`.
    case_labels: Vec<Range<usize>>,
    /// `[case(...)]` attribute lists standing alone on a union member.
    case_attrs: Vec<Attrs>,
    /// Tokens starting a top-level statement at the start of a line.
    line_starts: Vec<usize>,
    /// `pointer_default(...)` arguments.
    pointer_defaults: Vec<Range<usize>>,
    /// `uuid(...)` arguments.
    uuids: Vec<Range<usize>>,
}

struct Scan<'t, 'a> {
    toks: &'t [Tok<'a>],
    model: Model,
}

/// Statement heads that end with a closing brace, not a `;`.
const BLOCKS: &[&str] = &[
    "interface",
    "dispinterface",
    "coclass",
    "library",
    "module",
    "namespace",
    "runtimeclass",
    "apicontract",
];

impl<'t, 'a> Scan<'t, 'a> {
    fn new(toks: &'t [Tok<'a>]) -> Self {
        Scan {
            toks,
            model: Model::default(),
        }
    }

    fn run(mut self) -> Model {
        self.block(0..self.toks.len(), true);
        self.bodies();
        self.model
    }

    /// Splits `range` into statements and looks at each.
    fn block(&mut self, range: Range<usize>, top: bool) {
        let toks = self.toks;
        let mut i = range.start;
        while i < range.end {
            let start = i;
            // cpp_quote("...") and midl_pragma warning(...) end at their parenthesis.
            if matches!(toks[i].text, "cpp_quote" | "midl_pragma") {
                let open = (i..range.end).find(|&j| toks[j].text == "(");
                i = open
                    .and_then(|o| matching(toks, o))
                    .map_or(range.end, |c| c + 1);
                continue;
            }
            // The head word follows the statement's attribute list, if any.
            let head = match toks[i].text {
                "[" => matching(toks, i).map_or(range.end, |m| m + 1),
                _ => i,
            };
            let is_block = head < range.end && BLOCKS.contains(&toks[head].text);
            let mut end = None;
            let mut j = i;
            while j < range.end {
                let t = toks[j].text;
                if t == ";" {
                    end = Some(j);
                    break;
                }
                if matches!(t, "(" | "[" | "{") {
                    let m = matching(toks, j).unwrap_or(range.end);
                    if t == "{" && is_block {
                        end = Some(m.min(range.end.saturating_sub(1)));
                        break;
                    }
                    j = m + 1;
                    continue;
                }
                j += 1;
            }
            let stop = end.unwrap_or(range.end.saturating_sub(1));
            self.statement(start..stop + 1, head, top);
            i = stop + 1;
            // A `;` after a block's brace is an empty statement.
            if i < range.end && toks[i].text == ";" && is_block {
                i += 1;
            }
        }
    }

    /// One statement `range` (its terminator included), whose head word is at `head`.
    fn statement(&mut self, range: Range<usize>, head: usize, top: bool) {
        let toks = self.toks;
        if range.is_empty() || head >= range.end {
            return;
        }
        let first = &toks[range.start];
        if top {
            let at_line_start = range.start == 0 || toks[range.start - 1].line < first.line;
            if at_line_start {
                self.model.line_starts.push(range.start);
            }
        }
        let attrs = read_attrs(toks, range.start).filter(|a| a.close < head);
        if let Some(a) = &attrs {
            self.attr_args(a);
        }
        let last = range.end - 1;
        let terminated = toks[last].text == ";";
        let body_end = if terminated { last } else { range.end };
        match toks[head].text {
            "import" => {
                self.model
                    .imports
                    .extend((head + 1..body_end).filter(|&i| toks[i].kind == TokKind::Str));
            }
            "library" | "module" | "namespace" | "coclass" | "runtimeclass" => {
                if let Some(open) = (head..range.end).find(|&i| toks[i].text == "{")
                    && let Some(close) = matching(toks, open)
                {
                    self.block(open + 1..close, toks[head].text != "coclass");
                }
            }
            "interface" => self.interface(attrs, head, range),
            "typedef" => {
                // `typedef ... NAME;` where NAME is a plain declarator (not an array or
                // a function pointer).
                let plain_name = body_end >= 2
                    && toks[body_end - 1].kind == TokKind::Ident
                    && (matches!(toks[body_end - 2].text, "*" | "}" | ",")
                        || toks[body_end - 2].kind == TokKind::Ident);
                if terminated && plain_name {
                    self.model.typedefs.push((last, body_end - 1));
                }
                self.tag_definition(head, body_end, last, terminated);
            }
            "struct" => self.tag_definition(head, body_end, last, terminated),
            "const" => {
                if let Some(eq) = (head..body_end).find(|&i| toks[i].text == "=")
                    && eq + 1 < body_end
                {
                    self.model.consts.push(eq + 1..body_end);
                }
            }
            _ => {}
        }
    }

    fn tag_definition(&mut self, head: usize, body_end: usize, last: usize, terminated: bool) {
        let toks = self.toks;
        let Some(s) = (head..body_end).find(|&i| toks[i].text == "struct") else {
            return;
        };
        if terminated
            && toks.get(s + 1).is_some_and(|t| t.kind == TokKind::Ident)
            && toks.get(s + 2).is_some_and(|t| t.text == "{")
        {
            self.model.tags.push((s + 1, last));
        }
    }

    fn attr_args(&mut self, attrs: &Attrs) {
        if let Some(r) = attrs.args(self.toks, "uuid") {
            self.model.uuids.push(r);
        }
        if let Some(r) = attrs.args(self.toks, "pointer_default") {
            self.model.pointer_defaults.push(r);
        }
    }

    fn interface(&mut self, attrs: Option<Attrs>, head: usize, range: Range<usize>) {
        let toks = self.toks;
        let name = head + 1;
        if toks.get(name).is_none_or(|t| t.kind != TokKind::Ident) {
            return;
        }
        let mut i = name + 1;
        let mut base = None;
        if toks.get(i).is_some_and(|t| t.text == ":") {
            if toks.get(i + 1).is_some_and(|t| t.kind == TokKind::Ident)
                && toks.get(i + 2).is_some_and(|t| t.text == "{")
            {
                base = Some(i + 1);
            }
            i += 2;
        }
        // Generic interfaces and forward declarations are not sites.
        let Some(open) = (i..range.end).find(|&j| toks[j].text == "{") else {
            return;
        };
        if open != i {
            return;
        }
        let Some(close) = matching(toks, open) else {
            return;
        };
        let mut methods = Vec::new();
        for stmt in statements(toks, open + 1..close) {
            if let Some(m) = method(toks, stmt.clone()) {
                methods.push(m);
            }
            if let Some(a) = read_attrs(toks, stmt.start) {
                self.attr_args(&a);
            }
        }
        // Interfaces hold typedefs and constants too.
        self.block(open + 1..close, false);
        self.model.interfaces.push(Interface {
            attrs,
            name,
            base,
            close,
            methods,
        });
    }

    /// Struct, union and enum bodies anywhere in the file.
    fn bodies(&mut self) {
        let toks = self.toks;
        for i in 0..toks.len() {
            match toks[i].text {
                "struct" | "union" => {
                    let mut j = i + 1;
                    if toks.get(j).is_some_and(|t| t.kind == TokKind::Ident) {
                        j += 1;
                    }
                    let encapsulated = toks.get(j).is_some_and(|t| t.text == "switch");
                    if encapsulated {
                        let Some(close) = toks
                            .get(j + 1)
                            .filter(|t| t.text == "(")
                            .and(matching(toks, j + 1))
                        else {
                            continue;
                        };
                        j = close + 1;
                        if toks.get(j).is_some_and(|t| t.kind == TokKind::Ident) {
                            j += 1;
                        }
                    }
                    if toks.get(j).is_none_or(|t| t.text != "{") {
                        continue;
                    }
                    let Some(close) = matching(toks, j) else {
                        continue;
                    };
                    self.members(j + 1..close, toks[i].text == "union", encapsulated);
                }
                "enum" => {
                    let mut j = i + 1;
                    if toks.get(j).is_some_and(|t| t.kind == TokKind::Ident) {
                        j += 1;
                    }
                    if toks.get(j).is_none_or(|t| t.text != "{") {
                        continue;
                    }
                    let Some(close) = matching(toks, j) else {
                        continue;
                    };
                    for part in split_top(toks, j + 1..close, ",") {
                        let mut k = part.start;
                        if let Some(a) = read_attrs(toks, k) {
                            k = a.close + 1;
                        }
                        if k >= part.end || toks[k].kind != TokKind::Ident {
                            continue;
                        }
                        let value = (k + 1 < part.end && toks[k + 1].text == "=")
                            .then(|| k + 2..part.end)
                            .filter(|r| !r.is_empty());
                        self.model.enumerators.push((k, value));
                    }
                }
                _ => {}
            }
        }
    }

    fn members(&mut self, range: Range<usize>, union: bool, encapsulated: bool) {
        let toks = self.toks;
        for part in split_top(toks, range, ";") {
            let mut start = part.start;
            if encapsulated {
                // `case 1: case 2:` or `default:` labels before the member.
                let mut labels_end = start;
                while labels_end < part.end && matches!(toks[labels_end].text, "case" | "default") {
                    match (labels_end..part.end).find(|&k| toks[k].text == ":") {
                        Some(colon) => labels_end = colon + 1,
                        None => break,
                    }
                }
                if labels_end > start && toks[start].text == "case" {
                    self.model.case_labels.push(start..labels_end);
                }
                start = labels_end;
            }
            if union
                && !encapsulated
                && let Some(a) = read_attrs(toks, start)
                && a.list.len() == 1
                && a.has("case")
            {
                self.model.case_attrs.push(a);
            }
            if let Some(decl) = read_decl(toks, start..part.end) {
                self.model.fields.push(decl);
            }
        }
    }
}

/// The statements of an interface body, terminators excluded (cpp_quote and friends left
/// out).
fn statements(toks: &[Tok], range: Range<usize>) -> Vec<Range<usize>> {
    split_top(toks, range, ";")
        .into_iter()
        .map(|mut r| {
            // A cpp_quote(...) before a declaration is a statement of its own.
            while r.start < r.end && matches!(toks[r.start].text, "cpp_quote" | "midl_pragma") {
                let close = (r.start..r.end)
                    .find(|&j| toks[j].text == "(")
                    .and_then(|o| matching(toks, o));
                match close {
                    Some(c) => r.start = c + 1,
                    None => r.start = r.end,
                }
            }
            r
        })
        .filter(|r| !r.is_empty())
        .collect()
}

fn method(toks: &[Tok], stmt: Range<usize>) -> Option<Method> {
    let attrs = read_attrs(toks, stmt.start);
    let start = attrs.as_ref().map_or(stmt.start, |a| a.close + 1);
    let first = toks.get(start)?.text;
    if matches!(
        first,
        "typedef" | "const" | "struct" | "union" | "enum" | "import"
    ) {
        return None;
    }
    let close = stmt.end - 1;
    if toks[close].text != ")" {
        return None;
    }
    let open = (start..close).find(|&i| toks[i].text == "(" && matching(toks, i) == Some(close))?;
    if open < start + 2 || toks[open - 1].kind != TokKind::Ident {
        return None;
    }
    let mut params = Vec::new();
    let parts = split_top(toks, open + 1..close, ",");
    let only_void = parts.len() == 1 && toks[parts[0].clone()].iter().all(|t| t.text == "void");
    if !only_void {
        for part in parts {
            // A parameter we cannot read makes the method no site for parameter edits.
            params.push(read_decl(toks, part)?);
        }
    }
    let semicolon = toks
        .get(stmt.end)
        .filter(|t| t.text == ";")
        .map(|_| stmt.end);
    Some(Method {
        attrs,
        close,
        params,
        stmt,
        semicolon,
    })
}

// ---------------------------------------------------------------------------------------
// Edits

const NO_SUCH_NAME: &str = "mutation_no_such_name";
const NO_SUCH_TYPE: &str = "MUTATION_NO_SUCH_TYPE";
const NO_SUCH_CONSTANT: &str = "MUTATION_NO_SUCH_CONSTANT";

impl Model {
    fn edits(&self, text: &str, toks: &[Tok], add: &mut dyn FnMut(Kind, Edit)) {
        let span = |r: &Range<usize>| toks[r.start].start..toks[r.end - 1].end;
        let src = |r: Range<usize>| text.get(r).unwrap_or("").to_string();
        // Adds `word, ` as the first attribute of a declaration, or a list if it has none.
        let add_attr = |d: &Decl, word: &str| match &d.attrs {
            Some(a) => Edit::insert(toks[a.open].end, format!("{word}, ")),
            None => Edit::insert(toks[d.whole.start].start, format!("[{word}] ")),
        };

        for iface in &self.interfaces {
            let name = toks[iface.name].text;
            if let Some(base) = iface.base {
                let b = &toks[base];
                add(
                    UNDEFINED_BASE,
                    Edit::new(b.start..b.end, "IMutationNoSuchBase"),
                );
                add(SELF_BASE, Edit::new(b.start..b.end, name));
            }
            if let Some(a) = &iface.attrs {
                add(
                    ATTR_ON_INTERFACE,
                    Edit::insert(toks[a.open].end, "propget, "),
                );
                if iface.object()
                    && let Some((i, (_, r))) =
                        a.list.iter().enumerate().find(|(_, (n, _))| n == "uuid")
                {
                    // The attribute and the comma that separates it from a neighbour.
                    let mut cut = span(r);
                    if let Some((_, next)) = a.list.get(i + 1) {
                        cut.end = toks[next.start].start;
                    } else if i > 0 {
                        cut.start = toks[a.list[i - 1].1.end - 1].end;
                    }
                    add(MISSING_UUID, Edit::new(cut, ""));
                }
            }
            let redefinition = match iface.base {
                Some(b) => format!("\ninterface {name} : {} {{ }}", toks[b].text),
                None => format!("\ninterface {name} {{ }}"),
            };
            add(
                INTERFACE_REDEFINITION,
                Edit::insert(toks[iface.close].end, redefinition),
            );

            for m in &iface.methods {
                let whole = span(&m.stmt);
                if let Some(semi) = m.semicolon {
                    add(
                        DUPLICATE_METHOD,
                        Edit::insert(toks[semi].end, format!("\n    {};", src(whole.clone()))),
                    );
                    let reach = toks.get(semi + 1).map(|t| t.line);
                    add(
                        MISSING_SEMICOLON,
                        Edit {
                            reach,
                            ..Edit::new(toks[semi].start..toks[semi].end, "")
                        },
                    );
                }
                add(UNTERMINATED_COMMENT, Edit::insert(whole.start, "/* "));
                let remoted = remoted(iface, m);
                if let Some(last) = m.params.last()
                    && last.attrs.as_ref().is_some_and(|a| a.has("retval"))
                {
                    add(
                        RETVAL_NOT_LAST,
                        Edit::insert(toks[m.close].start, ", [in] long mutation_after_retval"),
                    );
                }
                if m.params.len() >= 2 {
                    let p0 = toks[m.params[0].name].text;
                    let p1 = &toks[m.params[1].name];
                    add(DUPLICATE_PARAMETER, Edit::new(p1.start..p1.end, p0));
                }
                for p in &m.params {
                    let pname = &toks[p.name];
                    add(
                        KEYWORD_AS_NAME,
                        Edit::new(pname.start..pname.end, "interface"),
                    );
                    add(ATTR_ON_PARAM, add_attr(p, "propget"));
                    add(UNKNOWN_ATTRIBUTE, add_attr(p, "mutation_unknown_attribute"));
                    if let Some(t) = p.single_type_name(toks) {
                        let t = &toks[t];
                        add(UNDEFINED_TYPE, Edit::new(t.start..t.end, NO_SUCH_TYPE));
                    }
                    if p.scalar(toks) {
                        add(STRING_ON_SCALAR, add_attr(p, "string"));
                        add(VOID_PARAMETER, Edit::new(span(&p.ty), "void"));
                        if remoted {
                            add(SIZE_IS_ON_SCALAR, add_attr(p, "size_is(1)"));
                            if let Some(a) = &p.attrs
                                && let Some((_, r)) = a.list.iter().find(|(n, _)| n == "in")
                                && !a.has("out")
                            {
                                add(OUT_NOT_POINTER, Edit::new(span(r), "out"));
                            }
                        }
                    }
                    if remoted {
                        self.sizing_edits(text, toks, p, add);
                    }
                }
            }
        }
        for f in &self.fields {
            if f.scalar(toks) {
                add(STRING_ON_SCALAR, add_attr(f, "string"));
            }
            add(ATTR_ON_FIELD, add_attr(f, "in"));
            if let [dim] = f.dims.as_slice()
                && dim.len() > 2
            {
                let inner = dim.start + 1..dim.end - 1;
                add(ARRAY_NOT_POSITIVE, Edit::new(span(&inner), "-1"));
                let words: Vec<&str> = toks[f.ty.clone()].iter().map(|t| t.text).collect();
                let plain = words.iter().all(|w| SCALARS.contains(w) || *w == "const");
                if plain && !words.iter().any(|w| CHARS.contains(w)) {
                    add(STRING_ON_NON_CHAR_ARRAY, add_attr(f, "string"));
                }
            }
            if f.dims.is_empty()
                && f.attrs.is_none()
                && !toks[f.ty.clone()]
                    .iter()
                    .any(|t| t.text == "struct" || t.text == "union")
            {
                let whole = span(&f.whole);
                if let Some(semi) = toks.get(f.whole.end).filter(|t| t.text == ";") {
                    add(
                        DUPLICATE_FIELD,
                        Edit::insert(semi.end, format!(" {};", src(whole))),
                    );
                }
            }
            self.sizing_edits(text, toks, f, add);
        }
        for (name, value) in &self.enumerators {
            let n = &toks[*name];
            let end = value.as_ref().map_or(n.end, |v| toks[v.end - 1].end);
            add(
                DUPLICATE_ENUMERATOR,
                Edit::insert(end, format!(", {}", n.text)),
            );
            if let Some(v) = value {
                self.value_edits(text, toks, v, add);
            }
        }
        for v in &self.consts {
            self.value_edits(text, toks, v, add);
        }
        for &s in &self.imports {
            let t = &toks[s];
            let stem = t.text.trim_matches('"').trim_end_matches(".idl");
            add(
                MISSING_IMPORT,
                Edit::new(t.start..t.end, format!("\"{stem}-mutation-missing.idl\"")),
            );
        }
        for &start in &self.line_starts {
            add(
                MISSING_INCLUDE,
                Edit::insert(
                    toks[start].start,
                    "#include \"comidl-mutation-missing.h\"\n",
                ),
            );
        }
        for &(semi, name) in &self.typedefs {
            let redefinition = format!(
                "\ntypedef struct mutation_redefinition {{ long m; }} {};",
                toks[name].text
            );
            add(
                TYPEDEF_REDEFINITION,
                Edit::insert(toks[semi].end, redefinition),
            );
        }
        for &(tag, semi) in &self.tags {
            let redefinition = format!("\nstruct {} {{ long mutation; }};", toks[tag].text);
            add(TAG_REDEFINITION, Edit::insert(toks[semi].end, redefinition));
        }
        for labels in &self.case_labels {
            add(UNION_ARM_WITHOUT_CASE, Edit::new(span(labels), ""));
            let value = labels.start + 1..labels.end - 1;
            if !value.is_empty() && !toks[value.clone()].iter().any(|t| t.text == ":") {
                add(CASE_UNDEFINED, Edit::new(span(&value), NO_SUCH_CONSTANT));
            }
        }
        for a in &self.case_attrs {
            add(
                UNION_ARM_WITHOUT_CASE_ATTR,
                Edit::new(toks[a.open].start..toks[a.close].end, ""),
            );
            if let Some(r) = a.args(toks, "case") {
                add(CASE_UNDEFINED, Edit::new(span(&r), NO_SUCH_CONSTANT));
            }
        }
        for r in &self.pointer_defaults {
            add(POINTER_DEFAULT_BAD, Edit::new(span(r), "mutation"));
        }
        for r in &self.uuids {
            add(MALFORMED_UUID, Edit::new(span(r), "1234"));
        }
    }

    /// Edits of the sizing attributes on a parameter or field.
    fn sizing_edits(&self, _text: &str, toks: &[Tok], d: &Decl, add: &mut dyn FnMut(Kind, Edit)) {
        let Some(a) = &d.attrs else { return };
        let span = |r: &Range<usize>| toks[r.start].start..toks[r.end - 1].end;
        if let Some(r) = a.args(toks, "size_is") {
            add(SIZE_IS_UNKNOWN, Edit::new(span(&r), NO_SUCH_NAME));
            if d.pointer(toks) && !toks[r.clone()].iter().any(|t| t.text == ",") {
                add(SIZE_IS_NOT_INTEGER, Edit::new(span(&r), toks[d.name].text));
            }
            if !a.has("length_is") {
                let after = toks[r.end].end;
                add(
                    LENGTH_IS_UNKNOWN,
                    Edit::insert(after, format!(", length_is({NO_SUCH_NAME})")),
                );
            }
        }
        if let Some(r) = a.args(toks, "length_is") {
            add(LENGTH_IS_UNKNOWN, Edit::new(span(&r), NO_SUCH_NAME));
        }
        if let Some(r) = a.args(toks, "iid_is") {
            add(IID_IS_UNKNOWN, Edit::new(span(&r), NO_SUCH_NAME));
        }
        if let Some(r) = a.args(toks, "switch_is") {
            add(SWITCH_IS_UNKNOWN, Edit::new(span(&r), NO_SUCH_NAME));
        }
    }

    /// Edits of a constant's or enumerator's value expression.
    fn value_edits(
        &self,
        text: &str,
        toks: &[Tok],
        v: &Range<usize>,
        add: &mut dyn FnMut(Kind, Edit),
    ) {
        let r = toks[v.start].start..toks[v.end - 1].end;
        // String and float constants cannot be divided meaningfully.
        if toks[v.clone()]
            .iter()
            .any(|t| t.kind == TokKind::Str || t.text.contains('.'))
        {
            return;
        }
        let expr = text.get(r.clone()).unwrap_or("");
        add(
            DIVIDE_BY_ZERO,
            Edit::new(r.clone(), format!("({expr}) / 0")),
        );
        add(UNDEFINED_CONSTANT, Edit::new(r, NO_SUCH_CONSTANT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"import "unknwn.idl";
cpp_quote("/* not a comment */")
typedef struct tagS { long n; [size_is(n)] long *p; long a[4]; } S;
typedef enum { A = 1, B } E;
const long K = 5;
[object, uuid(12345678-1234-1234-1234-123456789abc), pointer_default(unique)]
interface IA : IUnknown
{
    HRESULT f([in] long n, [in, size_is(n)] long *x);
    HRESULT g([out, retval] long *r);
}
"#;

    fn of(kind: Kind) -> Vec<Mutation> {
        sites(SAMPLE)
            .into_iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, edits)| edits.iter().filter_map(|e| e.apply(kind, SAMPLE)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn finds_the_shapes_and_edits_them() {
        let out = of(OUT_NOT_POINTER);
        assert_eq!(out.len(), 1);
        assert!(out[0].text.contains("HRESULT f([out] long n,"));
        assert_eq!(out[0].lines, (9, 9));

        let sizes = of(SIZE_IS_UNKNOWN);
        assert_eq!(sizes.len(), 2, "the field and the parameter");
        assert!(
            sizes
                .iter()
                .any(|m| m.text.contains("[size_is(mutation_no_such_name)] long *p;"))
        );

        let not_int = of(SIZE_IS_NOT_INTEGER);
        assert!(
            not_int
                .iter()
                .any(|m| m.text.contains("[in, size_is(x)] long *x"))
        );

        let retval = of(RETVAL_NOT_LAST);
        assert!(
            retval[0]
                .text
                .contains("long *r, [in] long mutation_after_retval)")
        );

        let uuid = of(MISSING_UUID);
        assert!(
            uuid[0].text.contains("[object, pointer_default(unique)]"),
            "{}",
            uuid[0].text
        );

        let semi = of(MISSING_SEMICOLON);
        assert_eq!(semi.len(), 2);
        assert_eq!(semi[0].lines, (9, 10), "blamed at the next token too");

        let redef = of(TYPEDEF_REDEFINITION);
        assert_eq!(redef.len(), 2, "S and E");
        assert_eq!(redef[0].lines, (3, 4));

        assert_eq!(of(TAG_REDEFINITION).len(), 1);
        assert_eq!(of(DIVIDE_BY_ZERO).len(), 2, "A = 1 and K = 5");
        assert_eq!(of(ARRAY_NOT_POSITIVE).len(), 1);
        assert_eq!(of(MISSING_IMPORT).len(), 1);
        assert!(
            of(INTERFACE_REDEFINITION)[0]
                .text
                .contains("}\ninterface IA : IUnknown { }")
        );
    }

    #[test]
    fn odd_text_gives_no_sites_and_no_panic() {
        for text in [
            "",
            "interface",
            "[",
            "typedef struct {",
            "/* x",
            "\"abc",
            "é ü {[(",
            "enum { = }",
        ] {
            let _ = sites(text);
        }
        // The cpp_quote's text is not scanned.
        assert!(
            of(UNTERMINATED_COMMENT)
                .iter()
                .all(|m| !m.text.contains("/* /* not"))
        );
    }
}
