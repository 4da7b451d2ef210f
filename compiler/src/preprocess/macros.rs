//! Macro definitions: parsing `#define`, and the table of defined macros.

use std::collections::HashMap;
use std::rc::Rc;

use super::expr::integer_value;
use super::lexer::Kind;
use super::token::Tok;
use crate::diag::Diagnostic;
use crate::source::Span;

/// Macros whose value the preprocessor computes at each use.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Builtin {
    File,
    Line,
}

#[derive(Debug)]
pub(super) struct Macro {
    pub name: Rc<str>,
    /// `None` for an object-like macro. A variadic macro's last parameter is the one that
    /// collects the remaining arguments (`__VA_ARGS__`, or the name before a GNU `name...`).
    pub params: Option<Vec<Rc<str>>>,
    pub variadic: bool,
    /// The replacement list; the first token's `space` is false.
    pub body: Vec<Tok>,
    /// The macro name in its `#define`.
    pub span: Span,
    pub builtin: Option<Builtin>,
}

impl Macro {
    pub fn builtin(name: &str, builtin: Builtin, span: Span) -> Macro {
        Macro {
            name: Rc::from(name),
            params: None,
            variadic: false,
            body: Vec::new(),
            span,
            builtin: Some(builtin),
        }
    }

    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.as_ref()?.iter().position(|p| &**p == name)
    }

    /// C's rule for a harmless redefinition (same parameters, same tokens, same spacing),
    /// loosened to let one integer be spelled two ways: Wine's `msxml2did.h` and
    /// `xmldsodid.h` define `DISPID_XMLDSO` as `0x10000` and `0x00010000`, and a warning
    /// about that would only be noise for whoever imports them.
    fn same_as(&self, other: &Macro) -> bool {
        let same_token = |a: &Tok, b: &Tok| {
            a.kind == b.kind
                && (a.text == b.text
                    || (a.kind == Kind::Number
                        && integer_value(&a.text).is_some()
                        && integer_value(&a.text) == integer_value(&b.text)))
        };
        self.params == other.params
            && self.variadic == other.variadic
            && self.builtin == other.builtin
            && self.body.len() == other.body.len()
            && self
                .body
                .iter()
                .zip(&other.body)
                .enumerate()
                .all(|(i, (a, b))| same_token(a, b) && (i == 0 || a.space == b.space))
    }
}

/// The macros defined at some point of preprocessing.
#[derive(Debug, Default)]
pub(super) struct MacroTable {
    map: HashMap<Rc<str>, Rc<Macro>>,
}

impl MacroTable {
    pub fn get(&self, name: &str) -> Option<&Rc<Macro>> {
        self.map.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Defines `m`; a different earlier definition draws a warning (as in GCC and MSVC).
    pub fn define(&mut self, m: Macro, diags: &mut Vec<Diagnostic>) {
        if let Some(old) = self.map.get(&m.name)
            && !old.same_as(&m)
        {
            diags.push(
                Diagnostic::warning(format!("macro `{}` redefined", m.name))
                    .at(m.span)
                    .also(old.span, "previous definition"),
            );
        }
        self.map.insert(m.name.clone(), Rc::new(m));
    }

    pub fn undefine(&mut self, name: &str) {
        self.map.remove(name);
    }
}

/// Parses the tokens after `#define`. `directive` locates errors when there are no tokens.
pub(super) fn parse_define(toks: &[Tok], directive: Span) -> Result<Macro, Diagnostic> {
    let Some(name) = toks.first() else {
        return Err(Diagnostic::error("macro name missing in `#define`").at(directive));
    };
    if name.kind != Kind::Ident {
        return Err(Diagnostic::error(format!(
            "macro name must be an identifier, not `{}`",
            name.text
        ))
        .at(name.span));
    }
    if &*name.text == "defined" {
        return Err(Diagnostic::error("`defined` cannot be used as a macro name").at(name.span));
    }
    // A function-like macro has its `(` right after the name, with no space between.
    let function_like = toks.get(1).is_some_and(|t| t.is_punct("(") && !t.space);
    let (params, variadic, rest) = if function_like {
        let (params, variadic, used) = parse_params(toks.get(2..).unwrap_or(&[]), name.span)?;
        (Some(params), variadic, toks.get(2 + used..).unwrap_or(&[]))
    } else {
        (None, false, toks.get(1..).unwrap_or(&[]))
    };
    let mut body = rest.to_vec();
    if let Some(first) = body.first_mut() {
        first.space = false;
    }
    let m = Macro {
        name: name.text.clone(),
        params,
        variadic,
        body,
        span: name.span,
        builtin: None,
    };
    check_body(&m)?;
    Ok(m)
}

/// Parses a parameter list after its `(`; returns the names, whether the macro is
/// variadic, and how many tokens were used (through the `)`).
fn parse_params(toks: &[Tok], name: Span) -> Result<(Vec<Rc<str>>, bool, usize), Diagnostic> {
    let mut params: Vec<Rc<str>> = Vec::new();
    let mut i = 0;
    let unclosed = || Diagnostic::error("missing `)` in macro parameter list").at(name);
    if toks.first().is_some_and(|t| t.is_punct(")")) {
        return Ok((params, false, 1));
    }
    loop {
        let t = toks.get(i).ok_or_else(unclosed)?;
        let mut variadic = false;
        if t.is_punct("...") {
            params.push(Rc::from("__VA_ARGS__"));
            variadic = true;
        } else if t.kind == Kind::Ident {
            if params.contains(&t.text) {
                return Err(
                    Diagnostic::error(format!("duplicate macro parameter `{}`", t.text)).at(t.span),
                );
            }
            params.push(t.text.clone());
            if toks.get(i + 1).is_some_and(|t| t.is_punct("...")) {
                // GNU named variadic parameter: `args...`.
                variadic = true;
                i += 1;
            }
        } else {
            return Err(Diagnostic::error(format!(
                "expected a parameter name, found `{}`",
                t.text
            ))
            .at(t.span));
        }
        i += 1;
        let sep = toks.get(i).ok_or_else(unclosed)?;
        i += 1;
        if sep.is_punct(")") {
            return Ok((params, variadic, i));
        }
        if variadic || !sep.is_punct(",") {
            return Err(Diagnostic::error(format!(
                "expected `,` or `)` in macro parameter list, found `{}`",
                sep.text
            ))
            .at(sep.span));
        }
    }
}

/// `##` may not start or end a replacement list, and in a function-like macro `#` must be
/// followed by a parameter.
fn check_body(m: &Macro) -> Result<(), Diagnostic> {
    for edge in [m.body.first(), m.body.last()].into_iter().flatten() {
        if edge.is_punct("##") {
            return Err(
                Diagnostic::error("`##` cannot appear at either end of a macro expansion")
                    .at(edge.span),
            );
        }
    }
    if m.params.is_some() {
        for (i, t) in m.body.iter().enumerate() {
            let names_param = m
                .body
                .get(i + 1)
                .is_some_and(|n| n.kind == Kind::Ident && m.param_index(&n.text).is_some());
            if t.is_punct("#") && !names_param {
                return Err(
                    Diagnostic::error("`#` is not followed by a macro parameter").at(t.span),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::super::token::toks_of;
    use super::*;
    use crate::source::FileId;

    fn define(text: &str) -> Result<Macro, Diagnostic> {
        let lexed = lex(text);
        let toks = toks_of(&lexed, FileId(0), &lexed.tokens);
        parse_define(&toks, Span::new(FileId(0), 0, 0))
    }

    #[test]
    fn object_and_function_like() {
        let m = define("X (a) + 1").unwrap();
        assert!(m.params.is_none());
        assert_eq!(m.body.len(), 5);
        let m = define("F(a, b) a ## b").unwrap();
        assert_eq!(m.params.as_deref().map(<[_]>::len), Some(2));
        let m = define("V(fmt, ...) fmt __VA_ARGS__").unwrap();
        assert!(m.variadic);
        assert_eq!(m.param_index("__VA_ARGS__"), Some(1));
        let m = define("G(args...) args").unwrap();
        assert!(m.variadic && m.param_index("args") == Some(0));
        assert!(define("E() 1").unwrap().params.unwrap().is_empty());
    }

    #[test]
    fn bad_definitions() {
        for text in [
            "",
            "1X",
            "defined",
            "F(a,",
            "F(a b)",
            "F(a, a)",
            "F(a) #b",
            "X ## y ##",
            "F(...) , x",
        ] {
            let r = define(text);
            if text == "F(...) , x" {
                assert!(r.is_ok());
            } else {
                assert!(r.is_err(), "{text}");
            }
        }
    }
}
