//! Macro expansion, after Dave Prosser's algorithm (the one the C standard describes): each
//! token carries a hide set of the macros it came out of, which is what stops a macro from
//! expanding inside its own expansion while still letting the result be rescanned together
//! with the text that follows it (so `F` expanding to `G` picks up a `(...)` after `F`).

use std::collections::VecDeque;
use std::rc::Rc;

use super::lexer::{Kind, Lexed, lex_fragment};
use super::macros::{Builtin, Macro, MacroTable};
use super::token::{HideSet, Tok};
use crate::diag::Diagnostic;
use crate::source::{FileId, SourceMap, Span};

/// Tokens one expansion may produce before it is cut off (`#define A B B`, `#define B C C`,
/// ... doubles at each level).
const MAX_TOKENS: usize = 1 << 18;
/// How deeply macro arguments may nest (each level expands its arguments recursively).
const MAX_DEPTH: usize = 200;

/// Where the expansion is used.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Ordinary text.
    Text,
    /// An `#if` expression: the operand of `defined` is left alone.
    Condition,
}

/// The rest of the current file, from which a function-like macro's arguments may come.
pub(super) struct SourceCursor<'s> {
    pub file: FileId,
    pub lexed: &'s Lexed,
    /// Index of the next token of `lexed`, advanced past whatever is consumed.
    pub pos: &'s mut usize,
}

impl SourceCursor<'_> {
    /// The next token, skipping white space and newlines; `None` at the end of the file or
    /// when the next line is a directive (arguments do not run into directives).
    fn next(&mut self) -> Option<Tok> {
        let mut space = false;
        let mut line_start = false;
        loop {
            let raw = *self.lexed.tokens.get(*self.pos)?;
            match raw.kind {
                Kind::Ws => space = true,
                Kind::Newline => {
                    space = true;
                    line_start = true;
                }
                _ if line_start && raw.kind == Kind::Punct && self.lexed.text(raw) == "#" => {
                    return None;
                }
                _ => {
                    *self.pos += 1;
                    return Some(Tok::from_raw(self.lexed, self.file, raw, space));
                }
            }
            *self.pos += 1;
        }
    }
}

/// Whether the next token of `lexed` from `pos` on (across newlines, but not into a
/// directive) is `(`: whether a function-like macro name at `pos - 1` is invoked.
pub(super) fn next_is_lparen(file: FileId, lexed: &Lexed, pos: usize) -> bool {
    let mut pos = pos;
    let mut cursor = SourceCursor {
        file,
        lexed,
        pos: &mut pos,
    };
    cursor.next().is_some_and(|t| t.is_punct("("))
}

/// Tokens waiting to be scanned, then (for text) the rest of the file.
struct Input<'s> {
    pending: VecDeque<Tok>,
    source: Option<SourceCursor<'s>>,
}

impl Input<'_> {
    fn peek_is_lparen(&mut self) -> bool {
        if let Some(t) = self.pending.front() {
            return t.is_punct("(");
        }
        let Some(src) = &mut self.source else {
            return false;
        };
        let saved = *src.pos;
        let next = src.next();
        *src.pos = saved;
        next.is_some_and(|t| t.is_punct("("))
    }
}

/// Expands macros; one expander serves one text expansion or one `#if` line.
pub(super) struct Expander<'a> {
    macros: &'a MacroTable,
    sources: &'a SourceMap,
    diags: &'a mut Vec<Diagnostic>,
    mode: Mode,
    depth: usize,
    budget: usize,
    /// Set once the budget or depth limit is hit: from then on nothing more is expanded.
    stopped: bool,
}

impl<'a> Expander<'a> {
    pub fn new(
        macros: &'a MacroTable,
        sources: &'a SourceMap,
        diags: &'a mut Vec<Diagnostic>,
        mode: Mode,
    ) -> Expander<'a> {
        Expander {
            macros,
            sources,
            diags,
            mode,
            depth: 0,
            budget: MAX_TOKENS,
            stopped: false,
        }
    }

    /// Expands the macro named by `first` (just taken from the source) and everything its
    /// expansion leads to, reading arguments from `source` as needed. Ends as soon as no
    /// expansion output is left to rescan; the caller continues with the source.
    pub fn expand_text(&mut self, first: Tok, source: SourceCursor<'_>) -> Vec<Tok> {
        let mut input = Input {
            pending: VecDeque::new(),
            source: Some(source),
        };
        let mut out = Vec::new();
        self.step(first, &mut input, &mut out);
        while let Some(t) = input.pending.pop_front() {
            self.step(t, &mut input, &mut out);
        }
        out
    }

    /// Fully expands a list of tokens on its own (a macro argument, an `#if` line).
    pub fn expand_list(&mut self, toks: Vec<Tok>) -> Vec<Tok> {
        if self.depth >= MAX_DEPTH {
            if !self.stopped
                && let Some(t) = toks.first()
            {
                self.diags
                    .push(Diagnostic::error("macro arguments are nested too deeply").at(t.span));
            }
            self.stopped = true;
            return toks;
        }
        self.depth += 1;
        let mut input = Input {
            pending: toks.into(),
            source: None,
        };
        let mut out = Vec::new();
        while let Some(t) = input.pending.pop_front() {
            self.step(t, &mut input, &mut out);
        }
        self.depth -= 1;
        out
    }

    /// Scans one token: outputs it, or replaces it by its expansion at the front of the input.
    fn step(&mut self, t: Tok, input: &mut Input<'_>, out: &mut Vec<Tok>) {
        if t.kind != Kind::Ident || self.stopped {
            return out.push(t);
        }
        if self.mode == Mode::Condition && &*t.text == "defined" {
            return pass_defined(t, input, out);
        }
        let Some(m) = self.macros.get(&t.text).cloned() else {
            return out.push(t);
        };
        if t.hide.contains(&t.text) {
            return out.push(t);
        }
        if let Some(builtin) = m.builtin {
            return out.push(self.builtin(builtin, &t));
        }
        if m.params.is_none() {
            let hide = t.hide.with(&m.name);
            let body = self.substitute(&m, &[], &hide, t.span, t.space);
            return self.push_front(input, body, t, out);
        }
        if !input.peek_is_lparen() {
            return out.push(t);
        }
        let Some((args, rparen)) = self.collect_args(&m, &t, input) else {
            return out.push(t);
        };
        let span = t.span.to(rparen.span);
        let hide = t.hide.intersect(&rparen.hide).with(&m.name);
        let body = self.substitute(&m, &args, &hide, span, t.space);
        self.push_front(input, body, t, out);
    }

    /// Queues an expansion for rescanning, unless the size budget is spent.
    fn push_front(&mut self, input: &mut Input<'_>, body: Vec<Tok>, name: Tok, out: &mut Vec<Tok>) {
        if body.len() > self.budget {
            self.diags.push(
                Diagnostic::error(format!(
                    "expansion of macro `{}` is too large (over {MAX_TOKENS} tokens)",
                    name.text
                ))
                .at(name.span),
            );
            self.stopped = true;
            return out.push(name);
        }
        self.budget -= body.len();
        for t in body.into_iter().rev() {
            input.pending.push_front(t);
        }
    }

    /// Reads `( args )` for `m`. On any problem nothing is consumed and `None` is returned
    /// (after a diagnostic), so the name stays as it is and the rest is read as text.
    fn collect_args(
        &mut self,
        m: &Macro,
        name: &Tok,
        input: &mut Input<'_>,
    ) -> Option<(Vec<Vec<Tok>>, Tok)> {
        let saved_pos = input.source.as_ref().map(|s| *s.pos);
        let mut from_pending = Vec::new();
        let result = read_args(m, input, &mut from_pending);
        let problem = match result {
            Ok((mut args, rparen)) => match check_arity(m, &mut args) {
                Ok(()) => return Some((args, rparen)),
                Err(given) => {
                    let expected = m.params.as_ref().map_or(0, Vec::len);
                    let at_least = if m.variadic { "at least " } else { "" };
                    let expected = if m.variadic {
                        expected.saturating_sub(1)
                    } else {
                        expected
                    };
                    Diagnostic::error(format!(
                        "macro `{}` takes {at_least}{expected} argument{}, but {given} {} given",
                        m.name,
                        if expected == 1 { "" } else { "s" },
                        if given == 1 { "was" } else { "were" },
                    ))
                    .at(name.span.to(rparen.span))
                    .also(m.span, "macro defined here")
                }
            },
            Err(()) => Diagnostic::error(format!(
                "unterminated argument list invoking macro `{}`",
                m.name
            ))
            .at(name.span)
            .note("the arguments must be closed before the end of the file or the next directive"),
        };
        self.diags.push(problem);
        for t in from_pending.into_iter().rev() {
            input.pending.push_front(t);
        }
        if let (Some(src), Some(pos)) = (&mut input.source, saved_pos) {
            *src.pos = pos;
        }
        None
    }

    /// Builds the replacement of one invocation: parameters substituted (expanded, raw for
    /// `##`, or stringized for `#`), pastes done, then every token marked with the hide set
    /// and located at the invocation.
    fn substitute(
        &mut self,
        m: &Macro,
        args: &[Vec<Tok>],
        hide: &HideSet,
        span: Span,
        space: bool,
    ) -> Vec<Tok> {
        let param = |t: &Tok| match t.kind {
            Kind::Ident => m.param_index(&t.text).filter(|&p| p < args.len()),
            _ => None,
        };
        let mut expanded: Vec<Option<Vec<Tok>>> = vec![None; args.len()];
        let mut res: Vec<Tok> = Vec::new();
        let body = &m.body;
        let mut i = 0;
        while let Some(t) = body.get(i) {
            let next = body.get(i + 1);
            if m.params.is_some()
                && t.is_punct("#")
                && let Some(p) = next.and_then(param)
            {
                res.push(stringize(
                    args.get(p).map_or(&[], Vec::as_slice),
                    t.space,
                    span,
                ));
                i += 2;
                continue;
            }
            if t.is_punct("##")
                && let Some(rhs) = next
            {
                i += 2;
                let rhs_toks = match param(rhs) {
                    Some(p) => args.get(p).cloned().unwrap_or_default(),
                    None => vec![rhs.clone()],
                };
                // GNU: in `, ## __VA_ARGS__` nothing is pasted, and the comma goes when there
                // are no variadic arguments.
                let last = args.len().checked_sub(1);
                if m.variadic && param(rhs) == last && res.last().is_some_and(|t| t.is_punct(",")) {
                    if rhs_toks.is_empty() {
                        res.pop();
                    }
                    res.extend(rhs_toks);
                    continue;
                }
                self.paste_onto(&mut res, rhs_toks, span);
                continue;
            }
            if let Some(p) = param(t) {
                i += 1;
                let raw = next.is_some_and(|n| n.is_punct("##"));
                let toks = if raw {
                    args.get(p).cloned().unwrap_or_default()
                } else if let Some(Some(done)) = expanded.get(p) {
                    done.clone()
                } else {
                    let done = self.expand_list(args.get(p).cloned().unwrap_or_default());
                    if let Some(slot) = expanded.get_mut(p) {
                        *slot = Some(done.clone());
                    }
                    done
                };
                if toks.is_empty() && raw {
                    res.push(placemarker(span));
                }
                for (k, mut a) in toks.into_iter().enumerate() {
                    if k == 0 {
                        a.space = t.space;
                    }
                    res.push(a);
                }
                continue;
            }
            res.push(t.clone());
            i += 1;
        }
        res.retain(|t| !is_placemarker(t));
        for t in &mut res {
            t.hide = t.hide.union(hide);
            t.span = span;
        }
        if let Some(first) = res.first_mut() {
            first.space = space;
        }
        res
    }

    /// `lhs ## rhs`: the last token so far is joined with the first of `rhs`.
    fn paste_onto(&mut self, res: &mut Vec<Tok>, rhs: Vec<Tok>, span: Span) {
        let mut rhs = rhs.into_iter();
        let Some(r) = rhs.next() else {
            return;
        };
        match res.pop() {
            Some(l) if !is_placemarker(&l) && !is_placemarker(&r) => {
                let text = format!("{}{}", l.text, r.text);
                match lex_fragment(&text).as_slice() {
                    [(kind, whole)] if whole.len() == text.len() => {
                        res.push(Tok::new(*kind, &text, l.space, span));
                    }
                    _ => {
                        self.diags.push(
                            Diagnostic::warning(format!(
                                "pasting `{}` and `{}` does not give a valid preprocessing token",
                                l.text, r.text
                            ))
                            .at(span),
                        );
                        res.push(l);
                        res.push(Tok { space: false, ..r });
                    }
                }
            }
            Some(l) if is_placemarker(&r) => res.push(l),
            _ => res.push(r),
        }
        res.extend(rhs);
    }

    fn builtin(&self, builtin: Builtin, t: &Tok) -> Tok {
        let file = t.span.file;
        let (kind, text) = match builtin {
            Builtin::File => {
                let path = self.sources.path(file).display().to_string();
                (Kind::Str, quote(&path))
            }
            Builtin::Line => {
                let line = self
                    .sources
                    .get(file)
                    .map_or(0, |f| f.line_col(t.span.start as usize).0);
                (Kind::Number, line.to_string())
            }
        };
        Tok::new(kind, &text, t.space, t.span)
    }
}

/// Reads a parenthesized argument list (the `(` is next). Tokens taken from the pending
/// queue are recorded in `taken` so that the caller can put them back.
fn read_args(
    m: &Macro,
    input: &mut Input<'_>,
    taken: &mut Vec<Tok>,
) -> Result<(Vec<Vec<Tok>>, Tok), ()> {
    let nparams = m.params.as_ref().map_or(0, Vec::len);
    let mut take = |input: &mut Input<'_>| match input.pending.pop_front() {
        Some(t) => {
            taken.push(t.clone());
            Some(t)
        }
        None => input.source.as_mut().and_then(SourceCursor::next),
    };
    take(input).ok_or(())?; // the `(`
    let mut args: Vec<Vec<Tok>> = vec![Vec::new()];
    let mut depth = 0usize;
    loop {
        let t = take(input).ok_or(())?;
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            if depth == 0 {
                return Ok((args, t));
            }
            depth -= 1;
        } else if t.is_punct(",") && depth == 0 && !(m.variadic && args.len() >= nparams) {
            args.push(Vec::new());
            continue;
        }
        if let Some(arg) = args.last_mut() {
            arg.push(t);
        }
    }
}

/// Checks the argument count, adjusting `F()` (no arguments) and an omitted variadic part.
/// `Err` carries the number of arguments given.
fn check_arity(m: &Macro, args: &mut Vec<Vec<Tok>>) -> Result<(), usize> {
    let n = m.params.as_ref().map_or(0, Vec::len);
    if n == 0 {
        if args.len() == 1 && args.first().is_some_and(Vec::is_empty) {
            args.clear();
            return Ok(());
        }
        return Err(args.len());
    }
    if m.variadic && args.len() + 1 == n {
        args.push(Vec::new());
    }
    if args.len() == n {
        Ok(())
    } else {
        Err(args.len())
    }
}

/// In `#if`, `defined X` and `defined ( X )` go through unexpanded.
fn pass_defined(t: Tok, input: &mut Input<'_>, out: &mut Vec<Tok>) {
    out.push(t);
    let mut take_if = |pred: &dyn Fn(&Tok) -> bool, out: &mut Vec<Tok>| {
        if input.pending.front().is_some_and(pred)
            && let Some(t) = input.pending.pop_front()
        {
            out.push(t);
            return true;
        }
        false
    };
    let ident = |t: &Tok| t.kind == Kind::Ident;
    if take_if(&ident, out) {
        return;
    }
    if take_if(&|t: &Tok| t.is_punct("("), out) && take_if(&ident, out) {
        take_if(&|t: &Tok| t.is_punct(")"), out);
    }
}

/// `#param`: the argument's spelling as a string literal.
fn stringize(arg: &[Tok], space: bool, span: Span) -> Tok {
    let mut s = String::from("\"");
    for (i, t) in arg.iter().enumerate() {
        if i > 0 && t.space {
            s.push(' ');
        }
        if matches!(t.kind, Kind::Str | Kind::Char) {
            for c in t.text.chars() {
                if c == '"' || c == '\\' {
                    s.push('\\');
                }
                s.push(c);
            }
        } else {
            s.push_str(&t.text);
        }
    }
    s.push('"');
    Tok::new(Kind::Str, &s, space, span)
}

/// A C string literal spelling `text`.
fn quote(text: &str) -> String {
    let mut s = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// Stands for an empty argument next to `##` until pasting is done.
fn placemarker(span: Span) -> Tok {
    Tok {
        kind: Kind::Ws,
        text: Rc::from(""),
        space: false,
        hide: HideSet::default(),
        span,
    }
}

fn is_placemarker(t: &Tok) -> bool {
    t.kind == Kind::Ws
}
