//! The token macro expansion works on.

use std::rc::Rc;

use super::lexer::{Kind, Lexed, RawTok};
use crate::source::{FileId, Span};

/// A preprocessing token with what expansion needs to know about it.
#[derive(Clone, Debug)]
pub(super) struct Tok {
    pub kind: Kind,
    pub text: Rc<str>,
    /// White space came before it (used for stringizing and for output spacing).
    pub space: bool,
    /// Macros that must not be expanded again from this token (Prosser's hide set).
    pub hide: HideSet,
    /// Where it comes from: its own place for a source token, the macro invocation for an
    /// expansion result.
    pub span: Span,
}

impl Tok {
    pub fn new(kind: Kind, text: &str, space: bool, span: Span) -> Tok {
        Tok {
            kind,
            text: Rc::from(text),
            space,
            hide: HideSet::default(),
            span,
        }
    }

    /// A token of a lexed file.
    pub fn from_raw(lexed: &Lexed, file: FileId, raw: RawTok, space: bool) -> Tok {
        Tok::new(
            raw.kind,
            lexed.text(raw),
            space,
            Span::new(file, raw.start, raw.end),
        )
    }

    pub fn is(&self, kind: Kind, text: &str) -> bool {
        self.kind == kind && &*self.text == text
    }

    pub fn is_punct(&self, text: &str) -> bool {
        self.is(Kind::Punct, text)
    }
}

/// The non-blank tokens of `raw` (a directive's line) with their white-space flags; newlines
/// inside count as white space.
pub(super) fn toks_of(lexed: &Lexed, file: FileId, raw: &[RawTok]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut space = false;
    for t in raw {
        if matches!(t.kind, Kind::Ws | Kind::Newline) {
            space = true;
        } else {
            out.push(Tok::from_raw(lexed, file, *t, space));
            space = false;
        }
    }
    out
}

/// A sorted set of macro names; almost always empty, so it is shared and allocated lazily.
#[derive(Clone, Debug, Default)]
pub(super) struct HideSet(Option<Rc<[Rc<str>]>>);

impl HideSet {
    fn names(&self) -> &[Rc<str>] {
        self.0.as_deref().unwrap_or(&[])
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names().binary_search_by(|n| (**n).cmp(name)).is_ok()
    }

    pub fn with(&self, name: &Rc<str>) -> HideSet {
        if self.contains(name) {
            return self.clone();
        }
        let mut names = self.names().to_vec();
        names.push(name.clone());
        names.sort();
        HideSet(Some(names.into()))
    }

    pub fn union(&self, other: &HideSet) -> HideSet {
        if other.names().is_empty() {
            return self.clone();
        }
        if self.names().is_empty() {
            return other.clone();
        }
        let mut names: Vec<Rc<str>> = self.names().iter().chain(other.names()).cloned().collect();
        names.sort();
        names.dedup();
        HideSet(Some(names.into()))
    }

    pub fn intersect(&self, other: &HideSet) -> HideSet {
        let names: Vec<Rc<str>> = self
            .names()
            .iter()
            .filter(|n| other.contains(n))
            .cloned()
            .collect();
        if names.is_empty() {
            HideSet::default()
        } else {
            HideSet(Some(names.into()))
        }
    }
}

/// Whether text ending in `a` followed directly by text starting with `b` could be read as
/// one token where two were meant, so a space must go between them. Errs on the side of a
/// space: an extra blank never changes the meaning of IDL.
pub(super) fn would_join(a: char, b: char) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let op = |c: char| "+-*/%<>=!&|^.#:".contains(c);
    (word(a) && (word(b) || b == '"' || b == '\''))
        || (op(a) && op(b))
        || (a.is_ascii_digit() && b == '.')
        || (a == '.' && b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hide_sets() {
        let a: Rc<str> = Rc::from("A");
        let b: Rc<str> = Rc::from("B");
        let ha = HideSet::default().with(&a);
        let hab = ha.with(&b);
        assert!(hab.contains("A") && hab.contains("B") && !ha.contains("B"));
        assert!(hab.intersect(&ha).contains("A"));
        assert!(!hab.intersect(&ha).contains("B"));
        assert!(HideSet::default().union(&hab).contains("B"));
    }

    #[test]
    fn joining() {
        assert!(would_join('a', 'b'));
        assert!(would_join('-', '-'));
        assert!(would_join('L', '"'));
        assert!(!would_join('(', 'a'));
        assert!(!would_join('a', ','));
    }
}
