//! Every `tests/fixtures/errors/*.idl` must be rejected with located diagnostics; the
//! rendered text is snapshotted. The table below also pins what each case must say, so a
//! regression that silently accepts a file, or reports something else, fails even if a
//! snapshot is accepted blindly. (The `comidl` binary's exit codes are tested in cli/.)

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{check, fixtures_dir, idl_files, render, stem};

/// Each error fixture and a fragment of the message its first error must carry.
const EXPECTED: &[(&str, &str)] = &[
    (
        "attribute_arg_count",
        "attribute `id` takes 1 argument, found 2",
    ),
    ("bad_uuid", "expected a GUID"),
    ("bad_uuid_string", "is not a valid GUID"),
    ("const_div_zero", "division by zero"),
    (
        "duplicate_definition",
        "`SHARED_NAME` is defined more than once",
    ),
    (
        "duplicate_enumerator",
        "constant `PEAR` is defined more than once",
    ),
    (
        "enum_too_big",
        "enum value 4294967296 does not fit in 32 bits",
    ),
    ("error_directive", "#error widgets older than version 2"),
    ("generic_arity", "`IMap` takes 2 type arguments, found 1"),
    (
        "import_not_found",
        "imported file `no_such_file.idl` not found",
    ),
    (
        "include_not_found",
        "cannot find include file `inc/no_such_header.h`",
    ),
    (
        "inherit_struct",
        "an interface can only inherit from an interface",
    ),
    (
        "macro_arg_count",
        "macro `PAIR` takes 3 arguments, but 2 were given",
    ),
    ("many_errors", "`IMany` is defined more than once"),
    (
        "misplaced_attribute",
        "attribute `in` cannot stand on an interface",
    ),
    ("missing_endif", "unterminated `#ifndef`"),
    ("missing_semicolon", "syntax error"),
    ("negative_array_size", "array size -3 is negative"),
    ("recursive_include", "recursive #include of `loop_a.h`"),
    ("unbalanced_endif", "`#endif` without `#if`"),
    ("unknown_attribute", "unknown attribute `shiny`"),
    ("unknown_enum_constant", "unknown constant `STATE_FINISHED`"),
    ("unknown_type", "unknown type `WIDGET`"),
    ("unterminated_comment", "unterminated `/*` comment"),
    ("unterminated_string", "unterminated string literal"),
];

#[test]
fn every_error_fixture_is_rejected_with_located_diagnostics() {
    let dir = fixtures_dir().join("errors");
    let files = idl_files(&dir);
    assert!(
        files.len() >= 20,
        "expected at least 20 error cases, found {}",
        files.len()
    );
    let names: Vec<String> = files.iter().map(|p| stem(p)).collect();
    for (name, _) in EXPECTED {
        assert!(
            names.iter().any(|n| n == name),
            "missing fixture {name}.idl"
        );
    }

    let mut problems = Vec::new();
    let mut mismatched = Vec::new();
    for path in &files {
        let name = stem(path);
        let outcome = check(path);
        let text = render(&outcome);
        let first_error = outcome
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(|d| d.message.clone());
        match (
            first_error,
            EXPECTED.iter().find(|(n, _)| *n == name.as_str()),
        ) {
            (None, _) => problems.push(format!("{name}: accepted, but it must be rejected")),
            (Some(_), None) => {
                problems.push(format!("{name}: add it to EXPECTED in diagnostics.rs"))
            }
            (Some(message), Some((_, wanted))) if !message.contains(wanted) => problems.push(
                format!("{name}: first error is {message:?}, expected it to contain {wanted:?}"),
            ),
            _ => {}
        }
        for d in &outcome.diagnostics {
            if d.primary.is_none() {
                problems.push(format!("{name}: `{}` has no location", d.message));
            }
        }
        if !text.contains("--> tests/fixtures/") || !text.contains('^') {
            problems.push(format!(
                "{name}: no `--> file:line:col` or caret in\n{text}"
            ));
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            insta::assert_snapshot!(name.as_str(), text);
        }));
        if result.is_err() {
            mismatched.push(name);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        mismatched.is_empty(),
        "diagnostics differ from their snapshots: {mismatched:?}"
    );
}

#[test]
fn independent_errors_are_all_reported() {
    let outcome = check(&fixtures_dir().join("errors").join("many_errors.idl"));
    let errors: Vec<&str> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    let expected = [
        "`IMany` is defined more than once",
        "unknown type `MISSING_TYPE_ONE`",
        "unknown constant `UNKNOWN_NAME`",
        "unknown attribute `sparkly`",
        "unknown type `MISSING_TYPE_TWO`",
        "attribute `retval` cannot stand on a method or function",
        "attribute `size_is` takes 1 to 8 arguments, found 9",
        "division by zero in a constant expression",
    ];
    assert_eq!(errors.len(), expected.len(), "errors: {errors:#?}");
    for e in expected {
        assert!(errors.contains(&e), "missing {e:?} in {errors:#?}");
    }
}

#[test]
fn duplicate_definitions_point_at_the_first_one() {
    let outcome = check(
        &fixtures_dir()
            .join("errors")
            .join("duplicate_definition.idl"),
    );
    let d = outcome
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .expect("an error");
    let primary = d.primary.as_ref().expect("located");
    let first = d.secondary.first().expect("a `first defined here` label");
    assert!(first.message.starts_with("first defined here"));
    assert_eq!(outcome.sources.snippet(primary.span), "SHARED_NAME");
    assert_eq!(outcome.sources.snippet(first.span), "SHARED_NAME");
    assert!(first.span.start < primary.span.start);
}
