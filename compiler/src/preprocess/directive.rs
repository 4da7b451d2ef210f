//! Directive lines: conditionals, `#define`/`#undef`, `#include`, `#pragma`, `#error`...
//!
//! In a skipped group only the conditional directives are looked at (for nesting); any
//! other line there, however malformed, is ignored, as C requires.

use super::engine::{Engine, FileState};
use super::expand::Mode;
use super::expr;
use super::lexer::{Kind, RawTok};
use super::macros::parse_define;
use super::token::{Tok, toks_of};
use crate::diag::Diagnostic;
use crate::source::Span;

/// One open `#if`/`#ifdef`/`#ifndef` group.
#[derive(Debug)]
pub(super) struct Cond {
    /// The opening directive, for "unterminated" errors.
    pub opened_at: Span,
    pub keyword: &'static str,
    pub state: CondState,
    pub seen_else: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum CondState {
    /// The current branch is being read.
    Active,
    /// No branch taken yet; looking for a true `#elif` or an `#else`.
    Seeking,
    /// A branch was taken; the rest are skipped.
    Done,
    /// Inside a skipped group: every branch is skipped.
    Dead,
}

impl Cond {
    pub fn skipping(&self) -> bool {
        self.state != CondState::Active
    }
}

/// The pieces of a directive line.
struct Line {
    /// From the `#` to the last token of the line.
    span: Span,
    name: String,
    name_span: Span,
    /// The tokens after the name, white space included.
    rest: Vec<RawTok>,
}

impl Engine<'_> {
    /// Handles the directive whose `#` is token `hash`; the line's tokens run from
    /// `line_start` to `end` (its newline, or the end of the file).
    pub(super) fn directive(
        &mut self,
        st: &mut FileState,
        line_start: usize,
        hash: usize,
        end: usize,
    ) {
        let Some(line) = split_line(st, hash, end) else {
            return; // `#` alone: the null directive.
        };
        let (name, span) = (line.name.as_str(), line.span);
        let rest = toks_of(&st.lexed, st.file, &line.rest);
        match name {
            "if" | "ifdef" | "ifndef" => return self.open_group(st, name, rest, span),
            "elif" => return self.elif(st, rest, span),
            "else" => return self.else_(st, span),
            "endif" => return self.endif(st, span),
            _ if st.skipping() => return,
            _ => {}
        }
        match name {
            "define" => match parse_define(&rest, span) {
                Ok(m) => {
                    if self.quiet_redefinition {
                        self.macros.undefine(&m.name);
                    }
                    self.macros.define(m, self.diags);
                }
                Err(d) => self.diags.push(d),
            },
            "undef" => match rest.first() {
                Some(t) if t.kind == Kind::Ident => self.macros.undefine(&t.text),
                _ => self
                    .diags
                    .push(Diagnostic::error("`#undef` needs a macro name").at(span)),
            },
            "include" => self.include_directive(st, &line, rest),
            "error" | "warning" => {
                let message = directive_message(st, &line.rest);
                let d = match name {
                    "error" => Diagnostic::error(format!("#error {message}").trim_end()),
                    _ => Diagnostic::warning(format!("#warning {message}").trim_end()),
                };
                self.diags.push(d.at(span));
            }
            "pragma" => self.pragma(st, line_start, end, &rest),
            // Line control, and GCC's `#ident`: nothing for IDL to do.
            "line" | "ident" | "sccs" => {}
            // A GCC line marker (`# 12 "file"`), as in already-preprocessed input.
            _ if name.starts_with(|c: char| c.is_ascii_digit()) => {}
            _ => self.diags.push(
                Diagnostic::error(format!("unknown preprocessor directive `#{name}`"))
                    .at(line.name_span),
            ),
        }
    }

    fn open_group(&mut self, st: &mut FileState, name: &str, rest: Vec<Tok>, span: Span) {
        let keyword = match name {
            "ifdef" => "ifdef",
            "ifndef" => "ifndef",
            _ => "if",
        };
        let state = if st.skipping() {
            CondState::Dead
        } else {
            let taken = match keyword {
                "if" => self.condition(rest, span),
                _ => match rest.first() {
                    Some(t) if t.kind == Kind::Ident => {
                        self.macros.contains(&t.text) == (keyword == "ifdef")
                    }
                    _ => {
                        let message = format!("`#{keyword}` needs a macro name");
                        self.diags.push(Diagnostic::error(message).at(span));
                        false
                    }
                },
            };
            if taken {
                CondState::Active
            } else {
                CondState::Seeking
            }
        };
        st.conds.push(Cond {
            opened_at: span,
            keyword,
            state,
            seen_else: false,
        });
    }

    fn elif(&mut self, st: &mut FileState, rest: Vec<Tok>, span: Span) {
        let Some(cond) = st.conds.last() else {
            let d = Diagnostic::error("`#elif` without `#if`").at(span);
            return self.diags.push(d);
        };
        if cond.seen_else {
            let d = Diagnostic::error("`#elif` after `#else`")
                .at(span)
                .also(cond.opened_at, "in this group");
            self.diags.push(d);
        }
        let state = match cond.state {
            CondState::Active => CondState::Done,
            CondState::Seeking if !cond.seen_else => {
                if self.condition(rest, span) {
                    CondState::Active
                } else {
                    CondState::Seeking
                }
            }
            other => other,
        };
        if let Some(cond) = st.conds.last_mut() {
            cond.state = state;
        }
    }

    fn else_(&mut self, st: &mut FileState, span: Span) {
        let Some(cond) = st.conds.last_mut() else {
            let d = Diagnostic::error("`#else` without `#if`").at(span);
            return self.diags.push(d);
        };
        if cond.seen_else {
            let d = Diagnostic::error("`#else` after `#else`")
                .at(span)
                .also(cond.opened_at, "in this group");
            self.diags.push(d);
            cond.state = CondState::Done;
            return;
        }
        cond.seen_else = true;
        cond.state = match cond.state {
            CondState::Active => CondState::Done,
            CondState::Seeking => CondState::Active,
            other => other,
        };
    }

    fn endif(&mut self, st: &mut FileState, span: Span) {
        if st.conds.pop().is_none() {
            self.diags
                .push(Diagnostic::error("`#endif` without `#if`").at(span));
        }
    }

    /// Evaluates an `#if`/`#elif` expression; an invalid one counts as false.
    fn condition(&mut self, rest: Vec<Tok>, span: Span) -> bool {
        let toks = self.expand_list(rest, Mode::Condition);
        let macros = &self.macros;
        expr::evaluate(&toks, span, &|name| macros.contains(name), self.diags)
    }

    /// `#include "file"`, `#include <file>`, or a macro expanding to one of those.
    fn include_directive(&mut self, st: &FileState, line: &Line, rest: Vec<Tok>) {
        let span = line.span;
        let raw_start = line.rest.first().map_or(0, |t| t.start);
        let raw_end = line.rest.last().map_or(raw_start, |t| t.end);
        let raw = st
            .lexed
            .blanked
            .get(raw_start..raw_end)
            .unwrap_or("")
            .trim();
        let literal = if raw.starts_with('"') || raw.starts_with('<') {
            header_name(raw)
        } else {
            let toks = self.expand_list(rest, Mode::Text);
            expanded_header_name(&toks)
        };
        match literal {
            Some((name, angled)) if !name.is_empty() => self.include(st.file, &name, angled, span),
            _ => self
                .diags
                .push(Diagnostic::error("`#include` expects \"FILE\" or <FILE>").at(span)),
        }
    }

    /// `#pragma once` is ours; every other pragma line goes to the parser as it is.
    fn pragma(&mut self, st: &FileState, line_start: usize, end: usize, rest: &[Tok]) {
        if let [once] = rest
            && once.is(Kind::Ident, "once")
        {
            if let Some(frame) = self.stack.last() {
                self.once.insert(frame.identity.clone());
            }
            return;
        }
        let tokens = &st.lexed.tokens;
        let start = tokens.get(line_start).map_or(0, |t| t.start);
        let stop = end
            .checked_sub(1)
            .and_then(|i| tokens.get(i))
            .map_or(start, |t| t.end);
        // A comment or splice inside may span lines; the pragma must stay one line.
        let text = st
            .lexed
            .blanked
            .get(start..stop)
            .unwrap_or("")
            .replace('\n', " ");
        if !matches!(self.out.last_char(), None | Some('\n')) {
            self.out.synthetic("\n", Span::new(st.file, start, start));
        }
        self.out.verbatim(st.file, start, &text);
    }
}

/// The name and span of a directive, and the tokens after the name.
fn split_line(st: &FileState, hash: usize, end: usize) -> Option<Line> {
    let tokens = st.lexed.tokens.get(hash..end)?;
    let hash_tok = tokens.first()?;
    let last = tokens.iter().rev().find(|t| t.kind != Kind::Ws)?;
    let span = Span::new(st.file, hash_tok.start, last.end);
    let name_at = tokens
        .iter()
        .skip(1)
        .position(|t| t.kind != Kind::Ws)
        .map(|i| i + 1)?;
    let name_tok = *tokens.get(name_at)?;
    Some(Line {
        span,
        name: st.lexed.text(name_tok).to_string(),
        name_span: Span::new(st.file, name_tok.start, name_tok.end),
        rest: tokens.get(name_at + 1..).unwrap_or(&[]).to_vec(),
    })
}

/// The text after `#error`/`#warning`, on one line.
fn directive_message(st: &FileState, rest: &[RawTok]) -> String {
    let start = rest.first().map_or(0, |t| t.start);
    let end = rest.last().map_or(start, |t| t.end);
    let text = st.lexed.blanked.get(start..end).unwrap_or("");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `"name"` or `<name>` at the start of `text`, and whether it was the angled form.
fn header_name(text: &str) -> Option<(String, bool)> {
    let (close, angled) = match text.chars().next()? {
        '"' => ('"', false),
        '<' => ('>', true),
        _ => return None,
    };
    let inner = text.get(1..)?;
    let name = inner.get(..inner.find(close)?)?;
    Some((name.to_string(), angled))
}

/// The file name a computed `#include` expanded to.
fn expanded_header_name(toks: &[Tok]) -> Option<(String, bool)> {
    let first = toks.first()?;
    if first.kind == Kind::Str {
        return header_name(&first.text);
    }
    if !first.is_punct("<") {
        return None;
    }
    let mut name = String::new();
    for t in toks.get(1..)? {
        if t.is_punct(">") {
            return Some((name.trim().to_string(), true));
        }
        if t.space && !name.is_empty() {
            name.push(' ');
        }
        name.push_str(&t.text);
    }
    None
}
