//! Preprocessing tokens of one file, and the file's "blanked" copy.
//!
//! The blanked copy has the same length as the original: comment characters, the backslash
//! of a line splice and carriage returns become spaces, and newlines stay. Text copied from
//! it into the output therefore maps back to the original byte for byte, while the parser
//! never sees a comment or a `\r`.
//!
//! Line splices (backslash-newline) count as white space between tokens. C would also join
//! a token split by one (`FO\⏎O`); IDL does not do that, and supporting it would break the
//! byte-exact mapping, so such a token is read as two.

/// What a token is. White space (blanks, comments, splices) is kept as tokens so that the
/// directive and text scanners can see line structure and copy text verbatim.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Blanks, tabs, `\r`, comments (even ones spanning lines) and line splices.
    Ws,
    /// A `\n` that ends a logical line.
    Newline,
    Ident,
    /// A C "pp-number": anything from a digit on that could continue a number.
    Number,
    /// A string literal, possibly with an `L`/`u`/`U`/`u8` prefix; unterminated ones stop
    /// at the end of the line (the parser reports them).
    Str,
    /// A character literal, like [`Kind::Str`].
    Char,
    Punct,
    /// Any other character (`@`, `$`, a stray backslash, non-ASCII).
    Other,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct RawTok {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// A lexed file.
#[derive(Debug)]
pub(super) struct Lexed {
    pub tokens: Vec<RawTok>,
    /// The text with comments, splice backslashes and `\r` turned into spaces.
    pub blanked: String,
    /// Offset of a `/*` that is never closed.
    pub unterminated_comment: Option<usize>,
}

impl Lexed {
    /// The blanked spelling of a token.
    pub fn text(&self, tok: RawTok) -> &str {
        self.blanked.get(tok.start..tok.end).unwrap_or("")
    }
}

const PUNCT3: [&str; 4] = ["<<=", ">>=", "...", "->*"];
const PUNCT2: [&str; 22] = [
    "##", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "->", "++", "--", "+=", "-=", "*=", "/=",
    "%=", "&=", "^=", "|=", "::", ".*",
];
const PUNCT1: &[u8] = b"#()[]{},;:?.+-*/%<>=!~&|^";

/// Lexes a whole file.
pub(super) fn lex(text: &str) -> Lexed {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        blank: Vec::new(),
        unterminated_comment: None,
    };
    while lexer.pos < lexer.bytes.len() {
        lexer.next_token();
    }
    let mut bytes = text.as_bytes().to_vec();
    for (start, end) in &lexer.blank {
        for b in bytes.get_mut(*start..*end).into_iter().flatten() {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Only whole characters were replaced, by ASCII spaces, so this is still UTF-8.
    let blanked = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Lexed {
        tokens: lexer.tokens,
        blanked,
        unterminated_comment: lexer.unterminated_comment,
    }
}

/// Lexes a short piece of text made by the preprocessor (a `##` result), ignoring white space.
pub(super) fn lex_fragment(text: &str) -> Vec<(Kind, &str)> {
    let lexed = lex(text);
    lexed
        .tokens
        .iter()
        .filter(|t| !matches!(t.kind, Kind::Ws | Kind::Newline))
        .map(|t| (t.kind, text.get(t.start..t.end).unwrap_or("")))
        .collect()
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<RawTok>,
    /// Byte ranges to blank (newlines inside them are kept).
    blank: Vec<(usize, usize)>,
    unterminated_comment: Option<usize>,
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize) {
        let end = end.clamp(start, self.bytes.len());
        self.tokens.push(RawTok { kind, start, end });
        self.pos = end;
    }

    /// If a line splice starts at `i` (a backslash, optional blanks, a newline), its end.
    fn splice_at(&self, i: usize) -> Option<usize> {
        if self.at(i) != b'\\' {
            return None;
        }
        let mut j = i + 1;
        while matches!(self.at(j), b' ' | b'\t' | b'\r') {
            j += 1;
        }
        (self.at(j) == b'\n').then_some(j + 1)
    }

    fn next_token(&mut self) {
        let start = self.pos;
        let c = self.at(start);
        match c {
            b'\n' => self.push(Kind::Newline, start, start + 1),
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.blanks(start),
            b'\\' if self.splice_at(start).is_some() => {
                let end = self.splice_at(start).unwrap_or(start + 1);
                self.blank.push((start, end));
                self.push(Kind::Ws, start, end);
            }
            b'/' if self.at(start + 1) == b'*' => self.block_comment(start),
            b'/' if self.at(start + 1) == b'/' => self.line_comment(start),
            b'"' => self.quoted(Kind::Str, start, start),
            b'\'' => self.quoted(Kind::Char, start, start),
            b'0'..=b'9' => self.number(start),
            b'.' if self.at(start + 1).is_ascii_digit() => self.number(start),
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => self.ident(start),
            _ => self.punct_or_other(start),
        }
    }

    fn blanks(&mut self, start: usize) {
        let mut end = start;
        while matches!(self.at(end), b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
            if self.at(end) == b'\r' {
                self.blank.push((end, end + 1));
            }
            end += 1;
        }
        self.push(Kind::Ws, start, end);
    }

    fn block_comment(&mut self, start: usize) {
        let end = match self.text.get(start + 2..).and_then(|rest| rest.find("*/")) {
            Some(i) => start + 2 + i + 2,
            None => {
                self.unterminated_comment = Some(start);
                self.bytes.len()
            }
        };
        self.blank.push((start, end));
        self.push(Kind::Ws, start, end);
    }

    /// A `//` comment runs to the end of the line, and on past any line splice.
    fn line_comment(&mut self, start: usize) {
        let mut end = start + 2;
        while end < self.bytes.len() && self.at(end) != b'\n' {
            end = self.splice_at(end).unwrap_or(end + 1);
        }
        // A `\r` before the newline is blanked with the comment.
        self.blank.push((start, end));
        self.push(Kind::Ws, start, end);
    }

    /// A string or character literal from its opening quote at `quote` (`start` includes any
    /// prefix). Stops at the closing quote, or before the newline when unterminated.
    fn quoted(&mut self, kind: Kind, start: usize, quote: usize) {
        let q = self.at(quote);
        let mut end = quote + 1;
        loop {
            match self.at(end) {
                _ if end >= self.bytes.len() => break,
                b'\n' => break,
                b'\r' if self.at(end + 1) == b'\n' => break,
                b'\\' => end = self.splice_at(end).unwrap_or(end + 2),
                b if b == q => {
                    end += 1;
                    break;
                }
                _ => end += 1,
            }
        }
        // `\` as the last byte of the file would step past the end.
        let end = end.min(self.bytes.len());
        self.push(kind, start, self.char_boundary(end));
    }

    fn number(&mut self, start: usize) {
        let mut end = start + 1;
        loop {
            let c = self.at(end);
            let exponent_sign =
                matches!(c, b'+' | b'-') && matches!(self.at(end - 1), b'e' | b'E' | b'p' | b'P');
            if !(exponent_sign || c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
                break;
            }
            end += 1;
        }
        self.push(Kind::Number, start, end);
    }

    fn ident(&mut self, start: usize) {
        let mut end = start + 1;
        while self.at(end).is_ascii_alphanumeric() || self.at(end) == b'_' {
            end += 1;
        }
        let word = self.text.get(start..end).unwrap_or("");
        let quote = self.at(end);
        if matches!(word, "L" | "u" | "U" | "u8") && matches!(quote, b'"' | b'\'') {
            let kind = if quote == b'"' { Kind::Str } else { Kind::Char };
            return self.quoted(kind, start, end);
        }
        self.push(Kind::Ident, start, end);
    }

    fn punct_or_other(&mut self, start: usize) {
        let rest = self.text.get(start..).unwrap_or("");
        for p in PUNCT3.iter().chain(PUNCT2.iter()) {
            if rest.starts_with(p) {
                return self.push(Kind::Punct, start, start + p.len());
            }
        }
        if PUNCT1.contains(&self.at(start)) {
            return self.push(Kind::Punct, start, start + 1);
        }
        let len = rest.chars().next().map_or(1, char::len_utf8);
        self.push(Kind::Other, start, start + len);
    }

    fn char_boundary(&self, mut i: usize) -> usize {
        while i < self.bytes.len() && !self.text.is_char_boundary(i) {
            i += 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        let lexed = lex(text);
        lexed
            .tokens
            .iter()
            .map(|t| (t.kind, text[t.start..t.end].to_string()))
            .collect()
    }

    #[test]
    fn blanks_comments_keeping_newlines_and_length() {
        let text = "a /* x\ny */ b // c\r\nd";
        let lexed = lex(text);
        assert_eq!(lexed.blanked, "a     \n     b      \nd");
        assert_eq!(lexed.blanked.len(), text.len());
        assert_eq!(lexed.unterminated_comment, None);
    }

    #[test]
    fn comment_markers_in_literals_are_not_comments() {
        let lexed = lex("\"/* no */\" '//' x");
        assert_eq!(lexed.blanked, "\"/* no */\" '//' x");
    }

    #[test]
    fn unterminated_comment_is_reported() {
        let lexed = lex("a /* b\nc");
        assert_eq!(lexed.unterminated_comment, Some(2));
        assert_eq!(lexed.blanked, "a     \n ");
    }

    #[test]
    fn splices_are_white_space_and_continue_line_comments() {
        let toks = kinds("a\\\nb // x \\\n y\nz");
        let names: Vec<_> = toks
            .iter()
            .filter(|(k, _)| !matches!(k, Kind::Ws))
            .map(|(k, s)| (*k, s.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (Kind::Ident, "a"),
                (Kind::Ident, "b"),
                (Kind::Newline, "\n"),
                (Kind::Ident, "z")
            ]
        );
    }

    #[test]
    fn numbers_punctuators_and_prefixed_literals() {
        let toks: Vec<_> = kinds("0x1e+5u <<= ... L\"w\" u8'c' 'unterminated\n@")
            .into_iter()
            .filter(|(k, _)| *k != Kind::Ws)
            .collect();
        let expect = [
            (Kind::Number, "0x1e+5u"),
            (Kind::Punct, "<<="),
            (Kind::Punct, "..."),
            (Kind::Str, "L\"w\""),
            (Kind::Char, "u8'c'"),
            (Kind::Char, "'unterminated"),
            (Kind::Newline, "\n"),
            (Kind::Other, "@"),
        ];
        let got: Vec<_> = toks.iter().map(|(k, s)| (*k, s.as_str())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn odd_endings_do_not_panic() {
        for text in ["\\", "'\\", "\"abc\\", "/*", "//", "a\\ \r", "é\\\n", "1e"] {
            let lexed = lex(text);
            assert_eq!(lexed.blanked.len(), text.len());
        }
    }
}
