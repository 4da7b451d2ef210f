//! Syntax: the pest grammar (`idl.pest`) and the AST built from it.

pub mod ast;
mod build;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest_derive::Parser;

use crate::diag::Diagnostic;
use crate::preprocess::OffsetMap;

#[derive(Parser)]
#[grammar = "syntax/idl.pest"]
pub(crate) struct IdlParser;

/// Parses preprocessed text. `map` relates the text to the original files for spans.
pub fn parse(text: &str, map: &OffsetMap) -> Result<ast::File, Diagnostic> {
    let mut pairs = IdlParser::parse(Rule::file, text).map_err(|e| syntax_error(text, map, e))?;
    let builder = build::Builder::new(map);
    match pairs.next() {
        Some(file) => Ok(builder.file(file)),
        None => Ok(ast::File { items: Vec::new() }),
    }
}

fn syntax_error(text: &str, map: &OffsetMap, e: pest::error::Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = describe_found(text, pos);
    let end = pos + found_len(text, pos);
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
    Diagnostic::error(message).at(map.span(pos, end))
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
