//! The class registry's key tree and its REGEDIT4 text: accepted forms, the
//! canonical layout, lossless round trips, located errors, and a seeded
//! random-input loop that must never panic.

mod common;

use comidl_runtime::registry::{
    Operation, RegFile, RegParseError, Registry, RegistryError, Scope, Tree, Value, format,
};
use common::Rng;

fn parse_tree(text: &str) -> Tree {
    match Tree::parse(text.as_bytes()) {
        Ok(tree) => tree,
        Err(e) => panic!("parse failed: {e}\n--- input ---\n{text}"),
    }
}

fn parse_error(text: &[u8]) -> RegParseError {
    match RegFile::parse(text) {
        Ok(file) => panic!(
            "expected an error, got {:?}\n--- input ---\n{}",
            file.operations(),
            String::from_utf8_lossy(text)
        ),
        Err(e) => e,
    }
}

#[test]
fn accepts_every_documented_form() {
    // BOM, CRLF and LF mixed, comments, blank lines, indentation, all root
    // spellings, deletions, escapes, dwords of 1 to 8 digits, non-ASCII.
    let text = "\u{FEFF}REGEDIT4\r\n\
        \r\n\
        ; a comment\r\n\
        [HKEY_CLASSES_ROOT\\CLSID\\{00000000-0000-0000-C000-000000000046}]\r\n\
        @=\"IUnknown class\"\r\n\
        \"Path\"=\"C:\\\\dir\\\\file \\\"quoted\\\"\"\n\
        \n\
        [hkey_local_machine\\SOFTWARE\\classes\\Sample.Thing]\n\
        \t\"Small\"=dword:2a\n\
        \"Big\" = dword:FFFFFFFF\n\
        \"Gone\"=\"x\"\n\
        \"Gone\"=-\n\
        [HKCU\\Software\\Classes\\Sample.Thing\\CLSID]\n\
        @=\"{00000000-0000-0000-C000-000000000046}\"\n\
        [HKLM\\Software\\Classes\\Doomed\\Child]\n\
        @=\"will be deleted\"\n\
        [-HKCR\\doomed]\n\
        [HKCR\\Ünïcödé]\n\
        \"ключ\"=\"значение — ✓\"\n\
        ;last line without newline";
    let tree = parse_tree(text);
    let clsid = "CLSID\\{00000000-0000-0000-C000-000000000046}";
    assert_eq!(tree.string(clsid, ""), Some("IUnknown class"));
    assert_eq!(tree.string(clsid, "path"), Some("C:\\dir\\file \"quoted\""));
    assert_eq!(tree.dword("Sample.Thing", "Small"), Some(42));
    assert_eq!(tree.dword("sample.thing", "BIG"), Some(u32::MAX));
    assert_eq!(tree.value("Sample.Thing", "Gone"), None);
    assert_eq!(
        tree.string("Sample.Thing\\CLSID", ""),
        Some("{00000000-0000-0000-C000-000000000046}")
    );
    assert!(!tree.key_exists("Doomed"));
    assert_eq!(
        tree.string("ünïcödé", "ключ"),
        None,
        "case folding is ASCII only, like the tree's documentation says"
    );
    assert_eq!(tree.string("Ünïcödé", "ключ"), Some("значение — ✓"));
    // The version 5 header is accepted too.
    let v5 = parse_tree("Windows Registry Editor Version 5.00\n\n[HKEY_CLASSES_ROOT\\A]\n");
    assert!(v5.key_exists("a"));
}

#[test]
fn operations_come_out_in_file_order() {
    let file = RegFile::parse(
        b"REGEDIT4\n[HKCR\\A\\B]\n@=\"x\"\n\"n\"=-\n[-HKEY_CLASSES_ROOT\\A]\n[HKCR]\n\"r\"=dword:1\n",
    )
    .unwrap();
    let key = |k: &str| k.to_string();
    assert_eq!(
        file.operations(),
        &[
            Operation::CreateKey { key: key("A\\B") },
            Operation::SetValue {
                name: String::new(),
                value: Value::String("x".into())
            },
            Operation::DeleteValue { name: "n".into() },
            Operation::DeleteKey { key: key("A") },
            Operation::CreateKey { key: String::new() },
            Operation::SetValue {
                name: "r".into(),
                value: Value::Dword(1)
            },
        ]
    );
}

/// A file in the writer's exact layout: sorted case-insensitively, `@` first,
/// empty keys kept, lower-case 8-digit dwords, LF line ends.
const CANONICAL: &str = "REGEDIT4

[HKEY_CLASSES_ROOT]
\"RootValue\"=\"at the root\"

[HKEY_CLASSES_ROOT\\a.Lower]

[HKEY_CLASSES_ROOT\\CLSID]

[HKEY_CLASSES_ROOT\\CLSID\\{12345678-9ABC-DEF0-1234-56789ABCDEF0}]
@=\"Thing \\\"one\\\"\"
\"AppID\"=\"{0FEDCBA9-8765-4321-0FED-CBA987654321}\"

[HKEY_CLASSES_ROOT\\CLSID\\{12345678-9ABC-DEF0-1234-56789ABCDEF0}\\InprocServer32]
@=\"/opt/x\\\\y/libthing.so\"
\"ThreadingModel\"=\"Both\"

[HKEY_CLASSES_ROOT\\Empty]

[HKEY_CLASSES_ROOT\\Empty\\Deeper]

[HKEY_CLASSES_ROOT\\Z]
@=dword:00000000
\"count\"=dword:0000002a
\"Max\"=dword:ffffffff
\"tab\"=\"a\tb\"
\"ünï\"=\"cödé ✓\"

";

#[test]
fn canonical_text_round_trips_byte_for_byte() {
    let tree = parse_tree(CANONICAL);
    assert_eq!(format(&tree, None), CANONICAL);
    assert_eq!(tree.export(None), CANONICAL);
    // Insertion order does not matter: the same keys added in another order
    // export identically.
    let mut other = Tree::new();
    other.create_key("Empty\\Deeper").unwrap();
    other.set_value("Z", "ünï", "cödé ✓").unwrap();
    other.set_value("Z", "tab", "a\tb").unwrap();
    other.set_value("Z", "Max", u32::MAX).unwrap();
    other.set_value("Z", "count", 42u32).unwrap();
    other.set_value("Z", "", 0u32).unwrap();
    let clsid = "CLSID\\{12345678-9ABC-DEF0-1234-56789ABCDEF0}";
    other
        .set_value(
            &format!("{clsid}\\InprocServer32"),
            "ThreadingModel",
            "Both",
        )
        .unwrap();
    other
        .set_value(
            &format!("{clsid}\\InprocServer32"),
            "",
            "/opt/x\\y/libthing.so",
        )
        .unwrap();
    other
        .set_value(clsid, "AppID", "{0FEDCBA9-8765-4321-0FED-CBA987654321}")
        .unwrap();
    other.set_value(clsid, "", "Thing \"one\"").unwrap();
    other.create_key("a.Lower").unwrap();
    other.set_value("", "RootValue", "at the root").unwrap();
    assert_eq!(other, tree);
    assert_eq!(other.export(None), CANONICAL);
}

#[test]
fn subtree_export_uses_stored_spelling() {
    let tree = parse_tree(CANONICAL);
    let sub = tree.export(Some("clsid\\{12345678-9abc-def0-1234-56789abcdef0}"));
    assert_eq!(
        sub,
        "REGEDIT4

[HKEY_CLASSES_ROOT\\CLSID\\{12345678-9ABC-DEF0-1234-56789ABCDEF0}]
@=\"Thing \\\"one\\\"\"
\"AppID\"=\"{0FEDCBA9-8765-4321-0FED-CBA987654321}\"

[HKEY_CLASSES_ROOT\\CLSID\\{12345678-9ABC-DEF0-1234-56789ABCDEF0}\\InprocServer32]
@=\"/opt/x\\\\y/libthing.so\"
\"ThreadingModel\"=\"Both\"

"
    );
    assert_eq!(tree.export(Some("No\\Such\\Key")), "REGEDIT4\n\n");
}

/// A tree with every awkward thing the format must carry.
fn awkward_tree() -> Tree {
    let mut t = Tree::new();
    t.create_key("Empty").unwrap();
    t.create_key("Empty\\Nested\\Deeper").unwrap();
    t.set_value("Quotes", "na\"me", "va\"lue").unwrap();
    t.set_value("Quotes", "back\\slash", "C:\\path\\\\double\\")
        .unwrap();
    t.set_value("Quotes", "\\\"", "\"\\").unwrap();
    t.set_value("Quotes", "empty", "").unwrap();
    t.set_value("Numbers", "zero", 0u32).unwrap();
    t.set_value("Numbers", "max", u32::MAX).unwrap();
    t.set_value("Numbers", "", 0x1234_5678u32).unwrap();
    t.set_value("Ünïcödé\\日本語", "名前", "значение ✓ 🎉")
        .unwrap();
    t.set_value("Weird [name]", "=@;", "; not a comment")
        .unwrap();
    t.set_value("Spaces", " padded ", "  both ends  ").unwrap();
    t.set_value("Tabs", "t\tab", "\t").unwrap();
    t.set_value("", "", "root default").unwrap();
    t.create_key("MiXeD\\CaSe").unwrap();
    t
}

#[test]
fn export_import_export_is_lossless() {
    let tree = awkward_tree();
    let first = tree.export(None);
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::in_dir(dir.path());
    registry.import(Scope::User, &first).unwrap();
    let layer = registry.layer(Scope::User).unwrap();
    assert_eq!(layer, tree);
    let second = registry.snapshot().unwrap().export(None);
    assert_eq!(second, first);
    // The file on disk is exactly the export.
    assert_eq!(
        std::fs::read_to_string(registry.path(Scope::User)).unwrap(),
        first
    );
    // And the stored spelling survives case-insensitive access.
    assert_eq!(layer.subkeys("mixed"), vec!["CaSe".to_string()]);
}

#[test]
fn tree_is_case_insensitive_and_keeps_spelling() {
    let mut t = Tree::new();
    t.create_key("CLSID\\{ABC}").unwrap();
    t.create_key("clsid\\{abc}\\Sub").unwrap();
    assert_eq!(t.subkeys(""), vec!["CLSID".to_string()]);
    assert_eq!(t.subkeys("Clsid"), vec!["{ABC}".to_string()]);
    assert_eq!(
        t.canonical_path("clsid\\{abc}\\sub").as_deref(),
        Some("CLSID\\{ABC}\\Sub")
    );
    t.set_value("CLSID", "Name", "1").unwrap();
    t.set_value("clsid", "NAME", "2").unwrap();
    assert_eq!(
        t.values("CLSID"),
        vec![("NAME".to_string(), Value::String("2".into()))]
    );
    assert!(t.delete_value("CLSID", "name"));
    assert!(!t.delete_value("CLSID", "name"));
    assert!(t.delete_key("CLSID\\{abc}").unwrap());
    assert!(!t.delete_key("CLSID\\{abc}").unwrap());
    assert!(t.key_exists("CLSID"));
    // Values are listed default first, then case-insensitively.
    t.set_value("K", "b", "2").unwrap();
    t.set_value("K", "A", "1").unwrap();
    t.set_value("K", "", "d").unwrap();
    let names: Vec<String> = t.values("K").into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["", "A", "b"]);
}

#[test]
fn tree_rejects_what_the_format_cannot_carry() {
    let mut t = Tree::new();
    for bad in ["", "A\\\\B", "A\\", "\\A", "A\nB"] {
        if bad.is_empty() {
            // The root is a valid path for values, but cannot be deleted.
            assert!(matches!(
                t.delete_key(bad),
                Err(RegistryError::InvalidKey { .. })
            ));
            continue;
        }
        let err = t.create_key(bad).unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidKey { .. }),
            "{bad:?}: {err}"
        );
    }
    let deep = vec!["k"; 513].join("\\");
    assert!(matches!(
        t.create_key(&deep),
        Err(RegistryError::InvalidKey { .. })
    ));
    let ok_deep = vec!["k"; 512].join("\\");
    t.create_key(&ok_deep).unwrap();
    assert!(matches!(
        t.create_key(&"x".repeat(256)),
        Err(RegistryError::InvalidKey { .. })
    ));
    for (name, data) in [("a\rb", "x"), ("ok", "line\nbreak"), ("ok", "nul\0")] {
        let err = t.set_value("V", name, data).unwrap_err();
        assert!(matches!(err, RegistryError::InvalidValue { .. }), "{err}");
    }
    assert!(!t.key_exists("V"), "a refused write creates nothing");
    // The deep tree still exports and re-reads.
    let text = t.export(None);
    assert_eq!(parse_tree(&text), t);
}

/// (input, line, column, part of the message)
const BAD: &[(&[u8], usize, usize, &str)] = &[
    (b"", 1, 1, "header"),
    (b"REGEDIT5\n", 1, 1, "header"),
    (b"\xFF\xFEdata", 1, 1, "UTF-16"),
    (
        b"REGEDIT4\n\"a\"=\"b\"\n",
        2,
        1,
        "must follow a [key] section",
    ),
    (
        b"REGEDIT4\n[HKEY_CLASSES_ROOT\\A]\n\"n\"=hex:01,02\n",
        3,
        5,
        "unsupported value type `hex`",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n\"n\"=hex(2):41,00\n",
        3,
        5,
        "unsupported value type `hex(2)`",
    ),
    (
        b"REGEDIT4\n[HKEY_USERS\\A]\n",
        2,
        2,
        "unknown root key `HKEY_USERS`",
    ),
    (
        b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\Software\\Foo]\n",
        2,
        30,
        "outside the classes root",
    ),
    (
        b"REGEDIT4\n[HKLM\\System]\n",
        2,
        7,
        "outside the classes root",
    ),
    (
        b"REGEDIT4\n[HKCU\\Software]\n",
        2,
        15,
        "outside the classes root",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n@=\"abc\n",
        3,
        3,
        "unterminated string",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n@=\"abc\\\"\n",
        3,
        3,
        "unterminated string",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n@=\"C:\\dir\"\n",
        3,
        6,
        "unknown escape `\\d`",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n\"n\"=dword:123456789\n",
        3,
        19,
        "at most 8 hex digits",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n\"n\"=dword:\n",
        3,
        11,
        "1 to 8 hex digits",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n\"n\"=dword:12g4\n",
        3,
        13,
        "unexpected text after the value",
    ),
    (b"REGEDIT4\n[HKCR\\A\n", 2, 8, "missing ']'"),
    (b"REGEDIT4\n[HKCR\\A\\\\B]\n", 2, 9, "empty key name"),
    (b"REGEDIT4\n[HKCR\\A\\]\n", 2, 9, "empty key name"),
    (b"REGEDIT4\n[-HKCR]\n", 2, 2, "cannot be deleted"),
    (b"REGEDIT4\n[]\n", 2, 2, "missing root key"),
    (
        b"REGEDIT4\n[HKCR\\A] x\n",
        2,
        10,
        "unexpected text after the key section",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\nfoo\n",
        3,
        1,
        "expected a [key] section",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n  # hash\n",
        3,
        3,
        "expected a [key] section",
    ),
    (b"REGEDIT4\n[HKCR\\A\xC3\xA9\xFF]\n", 2, 9, "invalid UTF-8"),
    (
        b"REGEDIT4\n[-HKCR\\A]\n@=\"x\"\n",
        3,
        1,
        "cannot follow a key deletion",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n@=\"x\" y\n",
        3,
        7,
        "unexpected text after the value",
    ),
    (b"REGEDIT4\n[HKCR\\A]\n@\"x\"\n", 3, 2, "expected '='"),
    (b"REGEDIT4\n[HKCR\\A]\n@=\n", 3, 3, "expected a value"),
    (b"REGEDIT4\n[HKCR\\A]\n@=x\n", 3, 3, "expected a value"),
    (
        b"REGEDIT4\n[HKCR\\A]\n@=-x\n",
        3,
        4,
        "unexpected text after '-'",
    ),
    (
        b"REGEDIT4\n[HKCR\\A]\n@=\"a\x01b\"\n",
        3,
        5,
        "control character",
    ),
    (b"REGEDIT4\n[HKCR\\A\x07]\n", 2, 8, "control characters"),
    (
        b"REGEDIT4\n[HKCR\\A]\n@=\"x\"\r\r\n",
        3,
        6,
        "unexpected text after the value",
    ),
    // Columns count characters, not bytes.
    (
        "REGEDIT4\n[HKCR\\Ä]\n\"ü\"=\"é\\q\"\n".as_bytes(),
        3,
        7,
        "unknown escape `\\q`",
    ),
];

#[test]
fn errors_are_located_and_explained() {
    for &(input, line, column, message) in BAD {
        let err = parse_error(input);
        assert_eq!(
            (err.line, err.column),
            (line, column),
            "{:?}: {err}",
            String::from_utf8_lossy(input)
        );
        assert!(
            err.message.contains(message),
            "{:?}: message {:?} lacks {message:?}",
            String::from_utf8_lossy(input),
            err.message
        );
        assert_eq!(err.to_string(), format!("{line}:{column}: {}", err.message));
    }
}

#[test]
fn deep_paths_in_text_are_refused_not_overflowed() {
    let mut text = String::from("REGEDIT4\n[HKCR");
    for _ in 0..513 {
        text.push_str("\\k");
    }
    text.push_str("]\n");
    let err = parse_error(text.as_bytes());
    assert_eq!(err.line, 2);
    assert!(err.message.contains("512 levels"), "{err}");
    // A hundred thousand levels: still an error, not a stack overflow.
    let huge = format!("REGEDIT4\n[HKCR{}]\n", "\\k".repeat(100_000));
    assert!(parse_error(huge.as_bytes()).message.contains("512 levels"));
}

/// Valid snippets the mutation loop starts from.
const SEEDS: &[&str] = &[
    CANONICAL,
    "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\Software\\Classes\\A.B]\r\n@=\"x\"\r\n\"n\"=dword:1\r\n",
    "\u{FEFF}REGEDIT4\n;c\n[HKCU\\Software\\Classes\\Q]\n\"a\\\\b\"=\"c\\\"d\"\n[-HKCR\\Q]\n",
    "Windows Registry Editor Version 5.00\n[HKCR\\Ü\\日本]\n\"é\"=-\n@=\"✓\"\n",
];

/// Bytes that matter to the grammar, to make mutations interesting.
const SPICE: &[u8] = b"[]\\\"=@-:;\r\n\t dwordhexHKCR\xC3\xA9\xFF\x00\x01{}";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(3) {
        let len = out.len();
        let pos = if len == 0 { 0 } else { rng.below(len + 1) };
        match rng.below(7) {
            0 if pos < len => out[pos] = SPICE[rng.below(SPICE.len())],
            1 => out.insert(pos, SPICE[rng.below(SPICE.len())]),
            2 => out.insert(pos, rng.next() as u8),
            3 if pos < len => {
                let end = (pos + rng.below(16)).min(len);
                out.drain(pos..end);
            }
            4 => out.truncate(pos),
            5 if pos < len => out[pos] ^= 1 << rng.below(8),
            _ => {
                // Copy a slice of the input somewhere else (duplicates lines,
                // brackets, quotes).
                let from = rng.below(input.len().max(1));
                let end = (from + rng.below(40)).min(input.len());
                let piece = input[from.min(end)..end].to_vec();
                let at = pos.min(out.len());
                out.splice(at..at, piece);
            }
        }
    }
    out
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = Rng(0x5EED_0F2E_6157_A7C3);
    let (mut accepted, mut rejected) = (0, 0);
    for case in 0..20_000 {
        let input: Vec<u8> = if case % 5 == 0 {
            // Pure noise, sometimes after a valid header.
            let mut v = if case % 10 == 0 {
                b"REGEDIT4\n".to_vec()
            } else {
                Vec::new()
            };
            for _ in 0..rng.below(200) {
                v.push(if rng.below(2) == 0 {
                    SPICE[rng.below(SPICE.len())]
                } else {
                    rng.next() as u8
                });
            }
            v
        } else {
            let seed = SEEDS[rng.below(SEEDS.len())].as_bytes();
            mutate(&mut rng, seed)
        };
        match RegFile::parse(&input) {
            Err(e) => {
                rejected += 1;
                assert!(e.line >= 1 && e.column >= 1, "case {case}: {e}");
                let lines = input.split(|&b| b == b'\n').count();
                assert!(e.line <= lines, "case {case}: line {} of {lines}", e.line);
            }
            Ok(file) => {
                accepted += 1;
                // Whatever is accepted applies cleanly and round-trips.
                let mut tree = Tree::new();
                file.apply(&mut tree)
                    .unwrap_or_else(|e| panic!("case {case}: apply failed: {e}"));
                let text = tree.export(None);
                let again = Tree::parse(text.as_bytes())
                    .unwrap_or_else(|e| panic!("case {case}: export does not re-parse: {e}"));
                assert_eq!(again, tree, "case {case}");
                assert_eq!(again.export(None), text, "case {case}");
            }
        }
    }
    // The loop exercised both outcomes substantially.
    eprintln!("{accepted} accepted, {rejected} rejected");
    assert!(accepted > 1000, "only {accepted} inputs accepted");
    assert!(rejected > 10_000, "only {rejected} inputs rejected");
}
