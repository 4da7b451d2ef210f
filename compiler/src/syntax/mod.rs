//! Syntax: the pest grammar (`idl.pest`) and the AST built from it.

pub mod ast;
mod build;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest_derive::Parser;

use crate::diag::Diagnostic;
use crate::preprocess::OffsetMap;

// pest is used without its `std` feature, which would probe the native stack on every rule
// call (a fifth of parse time). Recursion is bounded instead by `check_nesting` and the
// one-character lookaheads in the grammar.
#[derive(Parser)]
#[grammar = "syntax/idl.pest"]
pub(crate) struct IdlParser;

/// How many syntax errors one file may report before the parser gives up on it.
const MAX_SYNTAX_ERRORS: usize = 10;

/// The deepest bracket, generic or `?:` nesting accepted. Real IDL nests a handful of
/// levels; the limit keeps the recursive-descent parser far from the end of its stack.
const MAX_NESTING: usize = 200;

/// Parses preprocessed text. `map` relates the text to the original files for spans.
///
/// Several independent syntax errors are all reported: after an error, the top-level
/// statement holding it is blanked out (same length, so offsets stay valid) and the text
/// is parsed again, up to [`MAX_SYNTAX_ERRORS`] times.
pub fn parse(text: &str, map: &OffsetMap) -> Result<ast::File, Vec<Diagnostic>> {
    if let Some(d) = check_nesting(text, map) {
        return Err(vec![d]);
    }
    let mut errors = Vec::new();
    let mut blanked: Option<String> = None;
    let mut last_pos = None;
    loop {
        let current = blanked.as_deref().unwrap_or(text);
        let e = match IdlParser::parse(Rule::file, current) {
            Ok(mut pairs) if errors.is_empty() => {
                let builder = build::Builder::new(map);
                let file = match pairs.next() {
                    Some(file) => builder.file(file),
                    None => ast::File { items: Vec::new() },
                };
                let limits = builder.errors.into_inner();
                return if limits.is_empty() {
                    Ok(file)
                } else {
                    Err(limits)
                };
            }
            Ok(_) => return Err(errors),
            Err(e) => e,
        };
        let pos = error_pos(&e);
        if last_pos.is_some_and(|last| pos <= last) || errors.len() >= MAX_SYNTAX_ERRORS {
            return Err(errors);
        }
        last_pos = Some(pos);
        errors.push(syntax_error(current, map, e));
        let (start, end) = statement_around(current, pos);
        if start >= end {
            return Err(errors);
        }
        let mut bytes = current.as_bytes().to_vec();
        for b in bytes.get_mut(start..end).into_iter().flatten() {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        // Every byte replaced is now ASCII, so the text stays valid UTF-8.
        blanked = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
}

fn error_pos(e: &pest::error::Error<Rule>) -> usize {
    match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
}

/// Whether a line starts a top-level statement: something other than white space or a
/// closing/continuing token in its first column (IDL files put top-level statements there).
fn starts_statement(line: &str) -> bool {
    line.chars()
        .next()
        .is_some_and(|c| !c.is_whitespace() && !matches!(c, '}' | ')' | ']' | ';' | '{' | ','))
}

/// The byte range from the start of the top-level statement holding `pos` to the start of
/// the next one.
fn statement_around(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let mut line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    line_starts.retain(|&s| s <= text.len());
    let here = line_starts.partition_point(|&s| s <= pos).saturating_sub(1);
    let line = |i: usize| {
        let s = line_starts.get(i).copied().unwrap_or(text.len());
        let e = line_starts.get(i + 1).copied().unwrap_or(text.len());
        text.get(s..e).unwrap_or("")
    };
    let start_line = (0..=here)
        .rev()
        .find(|&i| starts_statement(line(i)))
        .unwrap_or(0);
    let end_line = (here + 1..line_starts.len()).find(|&i| starts_statement(line(i)));
    let start = line_starts.get(start_line).copied().unwrap_or(0);
    let end = end_line
        .and_then(|i| line_starts.get(i).copied())
        .unwrap_or(text.len());
    (start, end)
}

/// Rejects nesting deeper than [`MAX_NESTING`] with a located error, before the parser
/// could run out of stack on it. Three things nest: brackets; generic `<...>` (counted
/// apart, since `>` and `<` are also comparisons, and reset at each `;`); and `?`
/// operators within one statement. A quoted literal that closes on its line is skipped.
fn check_nesting(text: &str, map: &OffsetMap) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let (mut brackets, mut angles, mut questions) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' => {
                if let Some(end) = literal_end(bytes, i) {
                    i = end;
                }
            }
            b'(' | b'[' | b'{' => brackets += 1,
            b')' | b']' | b'}' => brackets = brackets.saturating_sub(1),
            b'<' if matches!(bytes.get(i + 1), Some(b'<' | b'=')) => i += 1,
            b'<' => angles += 1,
            b'-' if bytes.get(i + 1) == Some(&b'>') => i += 1,
            b'>' => angles = angles.saturating_sub(1),
            b'?' => questions += 1,
            b';' => {
                angles = 0;
                questions = 0;
            }
            _ => {}
        }
        if brackets > MAX_NESTING || angles > MAX_NESTING || questions > MAX_NESTING {
            return Some(
                Diagnostic::error(format!("nesting deeper than {MAX_NESTING} levels"))
                    .at_with(map.span(i, i + 1), "too deep here"),
            );
        }
        i += 1;
    }
    None
}

/// The index of the quote closing the literal opened at `start`, if it closes on its line.
fn literal_end(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = *bytes.get(start)?;
    let mut j = start + 1;
    while let Some(&c) = bytes.get(j) {
        match c {
            // An escape, or a line splice (blanks between the backslash and the newline).
            b'\\' => {
                while matches!(bytes.get(j + 1), Some(b' ' | b'\t' | b'\r')) {
                    j += 1;
                }
                j += 1;
            }
            b'\n' => return None,
            c if c == quote => return Some(j),
            _ => {}
        }
        j += 1;
    }
    None
}

fn syntax_error(text: &str, map: &OffsetMap, e: pest::error::Error<Rule>) -> Diagnostic {
    let pos = error_pos(&e);
    let found = describe_found(text, pos);
    let end = pos + found_len(text, pos);
    let bytes = text.as_bytes();
    if matches!(bytes.get(pos), Some(b'"' | b'\'')) && literal_end(bytes, pos).is_none() {
        return Diagnostic::error("unterminated string literal").at_with(
            map.span(pos, pos + 1),
            "this quote is not closed on its line",
        );
    }
    let message = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
            let mut expected: Vec<&str> = positives.iter().map(|r| describe(*r)).collect();
            expected.sort_unstable();
            expected.dedup();
            format!(
                "syntax error: expected {}, found {found}",
                join_or(&expected)
            )
        }
        ErrorVariant::CustomError { message } => format!("syntax error: {message}"),
        _ => format!("syntax error: unexpected {found}"),
    };
    let mut d = Diagnostic::error(message).at(map.span(pos, end));
    if let Some(prev) = missing_semicolon_before(text, pos) {
        d = d.note(format!(
            "the previous line ends with `{prev}`: is a `;` missing there?"
        ));
    }
    d
}

/// When the unexpected token is the first on its line and the previous line ends in
/// something that cannot end a declaration, the likeliest mistake is a missing `;`; pest
/// cannot say so itself, since literals are not named in its "expected" list.
fn missing_semicolon_before(text: &str, pos: usize) -> Option<char> {
    let before = text.get(..pos)?;
    let line_start = before.rfind('\n')?;
    if !before.get(line_start..)?.trim().is_empty() {
        return None;
    }
    let prev = before.get(..line_start)?.trim_end().chars().last()?;
    (!matches!(prev, ';' | '{' | '}' | ',' | '(' | '[' | ':' | ']')).then_some(prev)
}

fn found_len(text: &str, pos: usize) -> usize {
    let rest = text.get(pos..).unwrap_or("");
    let word = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if word > 0 {
        word
    } else {
        rest.chars().next().map(char::len_utf8).unwrap_or(0)
    }
}

fn describe_found(text: &str, pos: usize) -> String {
    let len = found_len(text, pos);
    match text.get(pos..pos + len) {
        None | Some("") => "end of file".to_string(),
        Some(s) => format!("`{s}`"),
    }
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// How a grammar rule is named in an "expected ..." message.
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::ident | Rule::qualified_name | Rule::any_word => "an identifier",
        Rule::item => "a declaration",
        Rule::attributes | Rule::attribute => "an attribute",
        Rule::attr_arg | Rule::attr_args => "an attribute argument",
        Rule::expr => "an expression",
        Rule::decl_spec | Rule::type_spec | Rule::type_ref | Rule::base_type | Rule::named_type => {
            "a type"
        }
        Rule::declarator | Rule::direct_declarator => "a declarator",
        Rule::string | Rule::strings => "a string literal",
        Rule::field => "a field",
        Rule::enumerator => "an enumerator",
        Rule::param | Rule::params => "a parameter",
        Rule::EOI => "end of file",
        Rule::pointer => "`*`",
        Rule::callconv => "a calling convention",
        Rule::forward => "`;`",
        Rule::interface_body | Rule::class_body | Rule::struct_body | Rule::enum_body => "`{`",
        Rule::param_list => "`(`",
        Rule::array_suffix => "`[`",
        Rule::pragma => "`#pragma`",
        Rule::kw_interface => "`interface`",
        Rule::kw_requires => "`requires`",
        Rule::case_label | Rule::kw_case | Rule::kw_default => "`case` or `default`",
        Rule::union_case => "a union arm",
        Rule::union_switch => "`switch`",
        Rule::type_args | Rule::type_params => "`<`",
        Rule::bit_width => "`:`",
        Rule::init_declarator => "a declarator",
        _ => "another token",
    }
}
