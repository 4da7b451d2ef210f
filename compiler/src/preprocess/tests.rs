//! End-to-end tests of the preprocessor.

use std::path::{Path, PathBuf};

use super::{Options, Output, preprocess};
use crate::diag::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap};

struct Run {
    sources: SourceMap,
    out: Output,
    diags: Vec<Diagnostic>,
    main: FileId,
}

impl Run {
    /// The output with white space runs collapsed to one space.
    fn norm(&self) -> String {
        norm(&self.out.text)
    }

    fn errors(&self) -> Vec<&Diagnostic> {
        self.diags.iter().filter(|d| d.is_error()).collect()
    }

    /// The source text the primary span of diagnostic `i` covers.
    fn primary_text(&self, i: usize) -> &str {
        let span = self.diags[i].primary.as_ref().expect("located").span;
        self.sources.snippet(span)
    }

    /// The source text output bytes `start..end` map to.
    fn mapped(&self, start: usize, end: usize) -> &str {
        self.sources.snippet(self.out.map.span(start, end))
    }
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run_with(text: &str, options: &Options) -> Run {
    let mut sources = SourceMap::new();
    let main = sources.add("main.idl", text);
    run_file(sources, main, options)
}

fn run_file(mut sources: SourceMap, main: FileId, options: &Options) -> Run {
    let mut diags = Vec::new();
    let out = preprocess(&mut sources, main, options, &mut diags);
    for d in &diags {
        assert!(d.primary.is_some(), "diagnostic without a location: {d:?}");
    }
    Run {
        sources,
        out,
        diags,
        main,
    }
}

fn run(text: &str) -> Run {
    run_with(text, &Options::default())
}

/// Preprocesses `text` expecting no diagnostics at all; returns the normalized output.
fn clean(text: &str) -> String {
    let r = run(text);
    assert!(r.diags.is_empty(), "{text:?}: {:?}", r.diags);
    r.norm()
}

/// A fresh directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("comidl-pp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn run_path(path: &Path, options: &Options) -> Run {
    let mut sources = SourceMap::new();
    let main = sources.load(path).unwrap();
    run_file(sources, main, options)
}

#[test]
fn object_like_macros() {
    assert_eq!(
        clean("#define N 5\n#define M (N + 1)\nconst int x = M;\n"),
        "const int x = (5 + 1);"
    );
    assert_eq!(clean("#define E\n[E in] E\n"), "[ in]");
    assert_eq!(
        clean("#define IEnumCLSID IEnumGUID\ntypedef IEnumCLSID *P;"),
        "typedef IEnumGUID *P;"
    );
}

#[test]
fn function_like_macros() {
    assert_eq!(
        clean("#define ADD(a, b) ((a) + (b))\nADD(1,\n  (2, 3))"),
        "((1) + ((2, 3)))"
    );
    // Not followed by `(`: left alone.
    assert_eq!(clean("#define f(x) <x>\nf + f (1)"), "f + <1>");
    // Empty macros used inside attribute lists, as Wine's IDL does.
    assert_eq!(
        clean(
            "#define threading(model)\n#define progid(s)\n[threading(both), progid(\"x\")] coclass C;"
        ),
        "[, ] coclass C;"
    );
    assert_eq!(
        clean("#define BG_ENUM_SIZEIS(maxcount) maxcount\n[size_is(BG_ENUM_SIZEIS(n))]"),
        "[size_is(n)]"
    );
    assert_eq!(clean("#define Z() z\nZ() Z ( )"), "z z");
    // The name may be followed by `(` on a later line.
    assert_eq!(clean("#define f(x) [x]\nf\n\n(1)"), "[1]");
}

#[test]
fn rescanning_and_self_reference() {
    assert_eq!(clean("#define foo foo + 1\nfoo"), "foo + 1");
    assert_eq!(clean("#define a b\n#define b a\na b"), "a b");
    assert_eq!(clean("#define F G\n#define G(x) x*2\nF(3)"), "3*2");
    assert_eq!(
        clean("#define f(x) x + f(x)\nf(f(1))"),
        "1 + f(1) + f(1 + f(1))"
    );
    assert_eq!(clean("#define ID(x) x\n#define Y ID(ID)(2)\nY"), "ID(2)");
}

#[test]
fn variadic_macros() {
    assert_eq!(
        clean("#define V(fmt, ...) f(fmt, __VA_ARGS__)\nV(1, 2, (3, 4)) V(1)"),
        "f(1, 2, (3, 4)) f(1,)"
    );
    assert_eq!(
        clean("#define W(fmt, ...) f(fmt , ## __VA_ARGS__)\nW(1) W(1, 2)"),
        "f(1) f(1 , 2)"
    );
    assert_eq!(clean("#define G(args...) g(args)\nG(a, b)"), "g(a, b)");
    assert_eq!(
        clean("#define U(...) u(__VA_ARGS__)\nU() U(x,y)"),
        "u() u(x,y)"
    );
}

#[test]
fn stringize_and_paste() {
    assert_eq!(
        clean("#define S(x) #x\nS(a   +\"b\\n\"  'c')"),
        r#""a +\"b\\n\" 'c'""#
    );
    assert_eq!(
        clean("#define X(x) S(x)\n#define S(x) #x\n#define N 42\nS(N) X(N)"),
        r#""N" "42""#
    );
    assert_eq!(
        clean("#define P(a, b) a ## b\nP(x, y) P(, y) P(x, ) P(1, 2) P(,) P(<, <)"),
        "xy y x 12 <<"
    );
    assert_eq!(
        clean("#define IID(n) IID_ ## n\n#define N 1\nIID(IFoo) IID(N)"),
        "IID_IFoo IID_N"
    );
    let r = run("#define P(a, b) a ## b\nP(x, +)");
    assert_eq!(r.norm(), "x+");
    assert_eq!(r.diags.len(), 1);
    assert_eq!(r.diags[0].severity, Severity::Warning);
}

#[test]
fn expansions_keep_tokens_apart() {
    assert_eq!(clean("#define NEG -1\n-NEG"), "- -1");
    assert_eq!(clean("#define E\n-E-"), "- -");
    assert_eq!(clean("#define L(x) x\nL(L)\"s\""), "L \"s\"");
    assert_eq!(clean("#define I int\nunsigned I x;"), "unsigned int x;");
}

#[test]
fn literals_and_imports_are_not_expanded() {
    assert_eq!(
        clean("#define x y\nimport \"x.idl\";\ncpp_quote(\"x // not a comment\") 'x' x"),
        "import \"x.idl\"; cpp_quote(\"x // not a comment\") 'x' y"
    );
}

#[test]
fn macro_errors() {
    let r = run("#define F(a, b) a\nF(1) after");
    assert_eq!(r.errors().len(), 1);
    assert!(
        r.diags[0].message.contains("takes 2 arguments"),
        "{:?}",
        r.diags
    );
    assert_eq!(r.primary_text(0), "F(1)");
    assert_eq!(r.norm(), "F(1) after");

    let r = run("#define F(a) a\nF(1\n#define X 2\nX");
    assert_eq!(r.errors().len(), 1);
    assert!(r.diags[0].message.contains("unterminated argument list"));
    assert_eq!(r.primary_text(0), "F");
    assert_eq!(r.norm(), "F(1 2");

    let r = run("#define F(a) #b\n#define G(a, a) a\n#define ## x\n#undef\nok");
    assert_eq!(r.errors().len(), 4, "{:?}", r.diags);
    assert_eq!(r.norm(), "ok");

    let r = run(
        "#define A 1\n#define A 2\n#define B 1\n#define B  1\n#define C 0x10\n#define C 0x0010\nA",
    );
    assert_eq!(r.diags.len(), 1);
    assert_eq!(r.diags[0].severity, Severity::Warning);
    assert_eq!(r.norm(), "2");
}

#[test]
fn conditionals_with_elif_and_defined() {
    let text = "\
#define A 2
#if A == 1
one
#elif A == 2
 # if defined(B)
 twoB
 # elif !defined B && defined A
 two
 # else
 none
 # endif
#elif A == 2
dup
#else
other
#endif
#ifdef A
a
#endif
#ifndef A
not_a
#else
else_a
#endif
";
    assert_eq!(clean(text), "two a else_a");
    assert_eq!(
        clean("#define HAS defined(X)\n#define X\n#if HAS && defined X\nyes\n#endif"),
        "yes"
    );
    assert_eq!(clean("#if UNDEFINED_THING\nno\n#else\nyes\n#endif"), "yes");
    assert_eq!(
        clean("#define V 0x0501\n#if (V >= 0x0500) && !(V & 1 << 11)\nyes\n#endif"),
        "yes"
    );
}

#[test]
fn skipped_groups_are_only_checked_for_nesting() {
    let text = "#if 0\n#bogus\n#if garbage (((\n#elif 1/0\n#endif\n#include <nowhere.h>\n#error no\ndon't\n#else\nok\n#endif\n";
    assert_eq!(clean(text), "ok");
}

#[test]
fn if_arithmetic_unsigned_and_division_by_zero() {
    assert_eq!(clean("#if -1 > 0u\nunsigned\n#endif"), "unsigned");
    assert_eq!(clean("#if -1 < 0\nsigned\n#endif"), "signed");
    assert_eq!(clean("#if 0 && 1 / 0\n#else\nshort\n#endif"), "short");
    let r = run("#if 1 / 0\nx\n#elif 1 % (2 - 2)\ny\n#endif\nz");
    assert_eq!(r.errors().len(), 2, "{:?}", r.diags);
    assert!(r.diags[0].message.contains("division by zero"));
    assert_eq!(r.primary_text(0), "/");
    assert_eq!(r.norm(), "z");
}

#[test]
fn unbalanced_conditionals() {
    let r = run("#endif\n#else\n#elif 1\n#if 1\n#else\n#else\n#endif\n  #ifdef X\nx\n");
    let messages: Vec<_> = r.diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`#endif` without `#if`",
            "`#else` without `#if`",
            "`#elif` without `#if`",
            "`#else` after `#else`",
            "unterminated `#ifdef`"
        ]
    );
    assert_eq!(r.primary_text(4), "#ifdef X");
}

#[test]
fn error_warning_and_unknown_directives() {
    let r = run("#error bad   thing\n#warning careful\n#frob x\n# \n#line 5\n# 7 \"x\"\nok\n");
    assert_eq!(r.diags.len(), 3);
    assert_eq!(r.diags[0].message, "#error bad thing");
    assert!(r.diags[0].is_error());
    assert_eq!(r.primary_text(0), "#error bad   thing");
    assert_eq!(r.diags[1].severity, Severity::Warning);
    assert_eq!(r.diags[2].message, "unknown preprocessor directive `#frob`");
    assert_eq!(r.primary_text(2), "frob");
    assert_eq!(r.norm(), "ok");
}

#[test]
fn pragmas_pass_through_unexpanded() {
    let text =
        "#define X 1\n#pragma pack(X)\n  #  pragma midl_echo(\"a\") // c\r\n#pragma once\nX\n";
    let r = run(text);
    assert!(r.diags.is_empty(), "{:?}", r.diags);
    let lines: Vec<&str> = r
        .out
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines,
        ["#pragma pack(X)", "  #  pragma midl_echo(\"a\")      ", "1"]
    );
    // The pragma text maps back byte for byte.
    let at = r.out.text.find("pack").unwrap();
    assert_eq!(r.mapped(at, at + 7), "pack(X)");
}

#[test]
fn verbatim_text_maps_exactly_after_a_multiline_comment() {
    let text = "/* a comment\n   over lines */ interface IFoo;\n// more\n  x";
    let r = run(text);
    assert!(r.diags.is_empty());
    let at = r.out.text.find("interface").unwrap();
    let span = r.out.map.span(at, at + "interface".len());
    assert_eq!(span.file, r.main);
    assert_eq!(span.start as usize, text.find("interface").unwrap());
    assert_eq!(r.sources.snippet(span), "interface");
    let x = r.out.text.rfind('x').unwrap();
    assert_eq!(
        r.out.map.span(x, x + 1).start as usize,
        text.rfind('x').unwrap()
    );
    // Comments are blanked in place, so the whole text lines up.
    assert_eq!(r.out.text.len(), text.len());
}

#[test]
fn expansions_map_to_the_invocation() {
    let text = "#define M(x) long x\n  M( y ) z;\n#define O other\nO";
    let r = run(text);
    assert_eq!(r.norm(), "long y z; other");
    let at = r.out.text.find("long").unwrap();
    assert_eq!(r.mapped(at, at + 4), "M( y )");
    let y = r.out.text.find('y').unwrap();
    assert_eq!(r.mapped(y, y + 1), "M( y )");
    let z = r.out.text.find('z').unwrap();
    let span = r.out.map.span(z, z + 1);
    assert_eq!(span.start as usize, text.find('z').unwrap());
    let o = r.out.text.find("other").unwrap();
    assert_eq!(r.mapped(o, o + 5), "O");
    // A range over an expansion and verbatim text covers both.
    assert_eq!(r.mapped(at, z + 1), "M( y ) z");
}

#[test]
fn crlf_and_missing_final_newline() {
    let r = run("#define A 1\r\nA\r\n#if A \\\r\n  + 1\r\nyes\r\n#endif\r\n/* c */\r\nend");
    assert!(r.diags.is_empty(), "{:?}", r.diags);
    assert_eq!(r.norm(), "1 yes end");
    assert!(!r.out.text.contains('\r'));
    assert_eq!(clean("#define A 1\nA"), "1");
    assert_eq!(clean("#if 1\nx\n#endif"), "x");
    assert_eq!(clean("x\n#define A 1"), "x");
    assert_eq!(clean(""), "");
}

#[test]
fn line_splices_in_definitions() {
    let text = "#define DECL \\\n    [propget] HRESULT x(); \\\n    \\\n    [propput] HRESULT y();\ninterface I { DECL }";
    assert_eq!(
        clean(text),
        "interface I { [propget] HRESULT x(); [propput] HRESULT y(); }"
    );
    assert_eq!(
        clean("#define A 1 /* a comment\n spanning lines */ + 2\nA"),
        "1 + 2"
    );
}

#[test]
fn unterminated_comment_is_located() {
    let r = run("interface I;\n/* never closed\n#define A 1\nA");
    assert_eq!(r.errors().len(), 1);
    assert_eq!(r.primary_text(0), "/*");
    assert_eq!(r.norm(), "interface I;");
}

#[test]
fn predefined_and_command_line_macros() {
    assert_eq!(
        clean("__WIDL__ _WIN32 _WIN64 __midl\n__LINE__ __FILE__"),
        "0x80000 1 1 801 2 \"main.idl\""
    );
    assert_eq!(
        clean("__GNUC__ _MSC_VER __STDC__"),
        "__GNUC__ _MSC_VER __STDC__"
    );
    let options = Options {
        defines: vec![
            ("A".into(), None),
            ("B".into(), Some("2".into())),
            ("F(x)".into(), Some("x+1".into())),
            ("__midl".into(), Some("600".into())),
        ],
        undefines: vec!["_WIN64".into()],
        ..Options::default()
    };
    let r = run_with("A B F(3) __midl _WIN64", &options);
    assert!(r.diags.is_empty(), "{:?}", r.diags);
    assert_eq!(r.norm(), "1 2 3+1 600 _WIN64");

    let options = Options {
        defines: vec![("1bad".into(), None)],
        ..Options::default()
    };
    let r = run_with("x", &options);
    assert_eq!(r.errors().len(), 1);
    let span = r.diags[0].primary.as_ref().unwrap().span;
    assert_eq!(r.sources.path(span.file), Path::new("<built-in>"));
    assert_eq!(r.out.files, [r.main]);
}

#[test]
fn includes_quoted_and_angled() {
    let dir = temp_dir("inc");
    let inc = dir.join("inc");
    write(
        &dir.join("main.idl"),
        "#include \"local.h\"\n#include <sys.h>\n#define SYS \"sys.h\"\n#include SYS\n#include \"sub\\deep.h\"\nMAIN\n#include <local.h>\n",
    );
    write(&dir.join("local.h"), "LOCAL\n");
    write(&dir.join("sys.h"), "SYS_LOCAL");
    write(&dir.join("sub/deep.h"), "DEEP\n");
    write(&inc.join("sys.h"), "SYS_INC\n");
    let options = Options {
        include_dirs: vec![inc.clone()],
        ..Options::default()
    };
    let r = run_path(&dir.join("main.idl"), &options);
    assert_eq!(r.norm(), "LOCAL SYS_INC SYS_LOCAL DEEP MAIN");
    // `<local.h>` is looked for in the -I directories only.
    assert_eq!(r.diags.len(), 1, "{:?}", r.diags);
    assert!(
        r.diags[0]
            .message
            .contains("cannot find include file `local.h`")
    );
    assert_eq!(r.primary_text(0), "#include <local.h>");
    let names: Vec<String> = r
        .out
        .files
        .iter()
        .map(|&f| {
            r.sources
                .path(f)
                .strip_prefix(&dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        ["main.idl", "local.h", "inc/sys.h", "sys.h", "sub/deep.h"]
    );
    // Text of an included file maps into that file.
    let at = r.out.text.find("SYS_INC").unwrap();
    let span = r.out.map.span(at, at + 7);
    assert_eq!(r.sources.path(span.file), inc.join("sys.h"));
    assert_eq!((span.start, span.end), (0, 7));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn recursive_includes() {
    let dir = temp_dir("rec");
    write(&dir.join("main.idl"), "#include \"a.h\"\nmain\n");
    write(&dir.join("a.h"), "a\n#include \"b.h\"\n");
    write(
        &dir.join("b.h"),
        "b\n#include \"a.h\"\n#include \"main.idl\"\n",
    );
    let r = run_path(&dir.join("main.idl"), &Options::default());
    assert_eq!(r.norm(), "a b main");
    assert_eq!(r.errors().len(), 2, "{:?}", r.diags);
    assert_eq!(r.diags[0].message, "recursive #include of `a.h`");
    assert_eq!(r.primary_text(0), "#include \"a.h\"");
    let outer = &r.diags[0].secondary[0];
    assert_eq!(r.sources.path(outer.span.file), dir.join("main.idl"));
    assert_eq!(r.sources.snippet(outer.span), "#include \"a.h\"");
    assert_eq!(r.diags[1].message, "recursive #include of `main.idl`");
    assert_eq!(r.diags[1].notes, ["`main.idl` is the main file"]);

    // Guarded mutual includes and `#pragma once` are fine.
    write(
        &dir.join("g1.h"),
        "#ifndef G1\n#define G1\n#include \"g2.h\"\ng1\n#endif\n",
    );
    write(
        &dir.join("g2.h"),
        "#ifndef G2\n#define G2\n#include \"g1.h\"\ng2\n#endif\n",
    );
    write(
        &dir.join("once.h"),
        "#pragma once\nonce\n#include \"once.h\"\n",
    );
    write(
        &dir.join("ok.idl"),
        "#include \"g1.h\"\n#include \"once.h\"\n#include \"once.h\"\n",
    );
    let r = run_path(&dir.join("ok.idl"), &Options::default());
    assert!(r.diags.is_empty(), "{:?}", r.diags);
    assert_eq!(r.norm(), "g2 g1 once");

    // Self-inclusion without a guard stops at the depth limit, with one error.
    write(
        &dir.join("self.h"),
        "#ifdef X\n#endif\n#include \"self.h\"\n",
    );
    write(&dir.join("deep.idl"), "#include \"self.h\"\n");
    let r = run_path(&dir.join("deep.idl"), &Options::default());
    assert_eq!(r.errors().len(), 1, "{:?}", r.diags);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn include_errors() {
    let r = run("#include \"nope.h\"\n#include\n#include nope\n#include <unclosed\nok");
    assert_eq!(r.errors().len(), 4, "{:?}", r.diags);
    assert!(r.diags[0].message.contains("`nope.h`"));
    assert_eq!(r.primary_text(0), "#include \"nope.h\"");
    assert_eq!(r.norm(), "ok");
}

#[test]
fn several_errors_are_all_reported() {
    let r = run("#if 1/0\n#endif\n#error one\n#define F(x) x\nF(1,2)\n#foo\n/*");
    assert_eq!(r.errors().len(), 5, "{:?}", r.diags);
}

#[test]
fn expansion_blowup_is_cut_off() {
    let mut text = String::from("#define A0 x x\n");
    for i in 1..40 {
        text.push_str(&format!("#define A{i} A{} A{}\n", i - 1, i - 1));
    }
    text.push_str("A39\n");
    let r = run(&text);
    assert_eq!(r.errors().len(), 1);
    assert!(r.diags[0].message.contains("too large"));
}

#[test]
fn garbage_never_panics() {
    let pieces = [
        "#",
        "define",
        "undef",
        "if",
        "elif",
        "else",
        "endif",
        "ifdef",
        "include",
        "pragma",
        "error",
        " ",
        "\n",
        "\\\n",
        "(",
        ")",
        ",",
        "...",
        "#",
        "##",
        "__VA_ARGS__",
        "F",
        "x",
        "1",
        "0x",
        "'",
        "\"",
        "/*",
        "*/",
        "//",
        "<",
        ">",
        "-",
        "/",
        "%",
        "?",
        ":",
        "defined",
        "\r\n",
        "é",
        "\\",
        "@",
        "9999999999999999999999",
        "'\\x'",
        "L'",
        "__LINE__",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..(seed % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let r = run(&text);
        // Every output byte maps somewhere sensible.
        let len = r.out.text.len();
        let _ = r.out.map.span(0, len);
        let _ = r.out.map.span(len, len + 10);
    }
}
