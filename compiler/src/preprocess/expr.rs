//! `#if` / `#elif` expressions, evaluated in C's intmax_t/uintmax_t arithmetic: values are
//! 64-bit, signed unless a `U` suffix or a value above `i64::MAX` makes them unsigned, and a
//! binary operator with one unsigned operand works unsigned (the usual conversions). All
//! arithmetic wraps; nothing here can panic on any input.

use super::lexer::Kind;
use super::token::Tok;
use crate::diag::Diagnostic;
use crate::source::Span;

/// How deeply parentheses and unary operators may nest.
const MAX_NESTING: usize = 256;

/// Evaluates the macro-expanded tokens of an `#if`; an invalid expression is reported and
/// counts as false. `defined` answers `defined NAME`.
pub(super) fn evaluate(
    toks: &[Tok],
    directive: Span,
    defined: &dyn Fn(&str) -> bool,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    if toks.is_empty() {
        diags.push(Diagnostic::error("`#if` with no expression").at(directive));
        return false;
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        directive,
        defined,
        diags,
    };
    let Ok(value) = p.comma(true) else {
        return false;
    };
    if let Some(t) = p.toks.get(p.pos) {
        let message = format!("unexpected `{}` in `#if` expression", t.text);
        p.diags.push(
            Diagnostic::error(message)
                .at_with(t.span, "expected an operator or the end of the line"),
        );
        return false;
    }
    value.truthy()
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Value {
    bits: u64,
    unsigned: bool,
}

impl Value {
    fn signed(v: i64) -> Value {
        Value {
            bits: v as u64,
            unsigned: false,
        }
    }

    fn bool(b: bool) -> Value {
        Value::signed(i64::from(b))
    }

    fn truthy(self) -> bool {
        self.bits != 0
    }
}

/// An error that has already been reported.
struct Reported;

type Eval = Result<Value, Reported>;

struct Parser<'t, 'd> {
    toks: &'t [Tok],
    pos: usize,
    depth: usize,
    directive: Span,
    defined: &'d dyn Fn(&str) -> bool,
    diags: &'d mut Vec<Diagnostic>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, punct: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.is_punct(punct));
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn fail(&mut self, message: impl Into<String>, span: Option<Span>) -> Eval {
        let span = span.unwrap_or(self.directive);
        self.diags.push(Diagnostic::error(message).at(span));
        Err(Reported)
    }

    /// The span of the next token, or of the directive at the end of the line.
    fn here(&self) -> Span {
        self.peek().map_or(self.directive, |t| t.span)
    }

    /// `a , b` (allowed by C99 where not evaluated; GCC accepts it).
    fn comma(&mut self, live: bool) -> Eval {
        let mut v = self.conditional(live)?;
        while self.eat(",") {
            v = self.conditional(live)?;
        }
        Ok(v)
    }

    /// `c ? a : b`; only the chosen branch is live (may report division by zero).
    fn conditional(&mut self, live: bool) -> Eval {
        let c = self.binary(1, live)?;
        if !self.eat("?") {
            return Ok(c);
        }
        let a = self.comma(live && c.truthy())?;
        if !self.eat(":") {
            let at = self.here();
            return self.fail("expected `:` in `?:` expression", Some(at));
        }
        let b = self.conditional(live && !c.truthy())?;
        let chosen = if c.truthy() { a } else { b };
        Ok(Value {
            bits: chosen.bits,
            unsigned: a.unsigned || b.unsigned,
        })
    }

    /// Binary operators by precedence climbing.
    fn binary(&mut self, min_prec: u8, live: bool) -> Eval {
        let mut lhs = self.unary(live)?;
        while let Some((op, prec, span)) = self.peek().and_then(binary_op) {
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            let rhs_live = match op {
                "&&" => live && lhs.truthy(),
                "||" => live && !lhs.truthy(),
                _ => live,
            };
            let rhs = self.binary(prec + 1, rhs_live)?;
            lhs = match apply(op, lhs, rhs) {
                Some(v) => v,
                None if live => return self.fail("division by zero in `#if`", Some(span)),
                None => Value::signed(0),
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self, live: bool) -> Eval {
        if self.depth >= MAX_NESTING {
            let at = self.here();
            return self.fail("`#if` expression nested too deeply", Some(at));
        }
        self.depth += 1;
        let v = self.unary_inner(live);
        self.depth -= 1;
        v
    }

    fn unary_inner(&mut self, live: bool) -> Eval {
        if self.eat("+") {
            return self.unary(live);
        }
        if self.eat("-") {
            let v = self.unary(live)?;
            return Ok(Value {
                bits: v.bits.wrapping_neg(),
                ..v
            });
        }
        if self.eat("~") {
            let v = self.unary(live)?;
            return Ok(Value { bits: !v.bits, ..v });
        }
        if self.eat("!") {
            let v = self.unary(live)?;
            return Ok(Value::bool(!v.truthy()));
        }
        self.primary(live)
    }

    fn primary(&mut self, live: bool) -> Eval {
        let Some(t) = self.peek().cloned() else {
            return self.fail("expected a value at the end of the `#if` expression", None);
        };
        self.pos += 1;
        match t.kind {
            Kind::Number => match parse_number(&t.text) {
                Ok(v) => Ok(v),
                Err(message) => self.fail(message, Some(t.span)),
            },
            Kind::Char => match parse_char(&t.text) {
                Ok(v) => Ok(v),
                Err(message) => self.fail(message, Some(t.span)),
            },
            Kind::Ident if &*t.text == "defined" => self.defined_op(&t),
            // An identifier left after expansion is not a macro: it counts as 0.
            Kind::Ident => Ok(Value::signed(0)),
            Kind::Punct if &*t.text == "(" => {
                let v = self.comma(live)?;
                if !self.eat(")") {
                    let at = self.here();
                    return self.fail("missing `)` in `#if` expression", Some(at));
                }
                Ok(v)
            }
            Kind::Str => self.fail("string literal in `#if` expression", Some(t.span)),
            _ => self.fail(
                format!("unexpected `{}` in `#if` expression", t.text),
                Some(t.span),
            ),
        }
    }

    /// `defined NAME` or `defined ( NAME )`.
    fn defined_op(&mut self, op: &Tok) -> Eval {
        let paren = self.eat("(");
        let name = match self.peek() {
            Some(t) if t.kind == Kind::Ident => t.text.clone(),
            _ => return self.fail("`defined` must be followed by a macro name", Some(op.span)),
        };
        self.pos += 1;
        if paren && !self.eat(")") {
            let at = self.here();
            return self.fail("missing `)` after `defined(NAME`", Some(at));
        }
        Ok(Value::bool((self.defined)(&name)))
    }
}

/// A binary operator, its precedence (higher binds tighter) and its place.
fn binary_op(t: &Tok) -> Option<(&'static str, u8, Span)> {
    if t.kind != Kind::Punct {
        return None;
    }
    const OPS: [(&str, u8); 18] = [
        ("*", 10),
        ("/", 10),
        ("%", 10),
        ("+", 9),
        ("-", 9),
        ("<<", 8),
        (">>", 8),
        ("<", 7),
        (">", 7),
        ("<=", 7),
        (">=", 7),
        ("==", 6),
        ("!=", 6),
        ("&", 5),
        ("^", 4),
        ("|", 3),
        ("&&", 2),
        ("||", 1),
    ];
    OPS.iter()
        .find(|(op, _)| *op == &*t.text)
        .map(|(op, prec)| (*op, *prec, t.span))
}

/// Applies a binary operator; `None` means division by zero.
fn apply(op: &str, l: Value, r: Value) -> Option<Value> {
    let unsigned = l.unsigned || r.unsigned;
    let (a, b) = (l.bits, r.bits);
    let (sa, sb) = (a as i64, b as i64);
    let arith = |bits: u64| Value { bits, unsigned };
    let v = match op {
        "*" => arith(a.wrapping_mul(b)),
        "/" | "%" if b == 0 => return None,
        "/" if unsigned => arith(a / b),
        "/" => arith(sa.wrapping_div(sb) as u64),
        "%" if unsigned => arith(a % b),
        "%" => arith(sa.wrapping_rem(sb) as u64),
        "+" => arith(a.wrapping_add(b)),
        "-" => arith(a.wrapping_sub(b)),
        "<<" | ">>" => shift(op == "<<", l, r),
        "<" | ">" | "<=" | ">=" => {
            let ord = if unsigned { a.cmp(&b) } else { sa.cmp(&sb) };
            Value::bool(match op {
                "<" => ord.is_lt(),
                ">" => ord.is_gt(),
                "<=" => ord.is_le(),
                _ => ord.is_ge(),
            })
        }
        "==" => Value::bool(a == b),
        "!=" => Value::bool(a != b),
        "&" => arith(a & b),
        "^" => arith(a ^ b),
        "|" => arith(a | b),
        "&&" => Value::bool(l.truthy() && r.truthy()),
        _ => Value::bool(l.truthy() || r.truthy()),
    };
    Some(v)
}

/// A shift keeps the left operand's type. A negative count shifts the other way and a count
/// of 64 or more shifts everything out (C leaves both undefined; this is GCC's behaviour).
fn shift(left: bool, l: Value, r: Value) -> Value {
    let count = r.bits as i64;
    let (left, count) = if !r.unsigned && count < 0 {
        (!left, count.unsigned_abs())
    } else {
        (left, r.bits)
    };
    let negative = !l.unsigned && (l.bits as i64) < 0;
    let bits = match u32::try_from(count).ok().filter(|&c| c < 64) {
        Some(c) if left => l.bits << c,
        Some(c) if l.unsigned => l.bits >> c,
        Some(c) => ((l.bits as i64) >> c) as u64,
        None if !left && negative => u64::MAX,
        None => 0,
    };
    Value { bits, ..l }
}

/// The value of an integer constant and whether it is unsigned, if `text` is one.
pub(super) fn integer_value(text: &str) -> Option<(u64, bool)> {
    parse_number(text).ok().map(|v| (v.bits, v.unsigned))
}

/// An integer constant: decimal, octal, hex or binary, with `u`/`l`/`ll` suffixes (and
/// MSVC's `i64`-style ones, which Windows headers use).
fn parse_number(text: &str) -> Result<Value, String> {
    let lower = text.to_ascii_lowercase();
    let (start, radix) = if lower.starts_with("0x") {
        (2, 16)
    } else if lower.starts_with("0b") {
        (2, 2)
    } else if lower.starts_with('0') && lower.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
        (1, 8)
    } else {
        (0, 10)
    };
    let rest = lower.get(start..).unwrap_or("");
    let digits_len = rest
        .find(|c: char| {
            if radix == 16 {
                !c.is_ascii_hexdigit()
            } else {
                !c.is_ascii_digit()
            }
        })
        .unwrap_or(rest.len());
    let (digits, suffix) = rest.split_at(digits_len);
    let float = suffix.starts_with('.')
        || (radix == 16 && suffix.starts_with('p'))
        || (radix != 16 && suffix.starts_with('e'));
    if float {
        return Err(format!(
            "floating-point constant `{text}` in `#if` expression"
        ));
    }
    if digits.is_empty() {
        return Err(format!("invalid integer constant `{text}`"));
    }
    let mut value: u64 = 0;
    for c in digits.chars() {
        let d = c
            .to_digit(radix)
            .ok_or_else(|| format!("invalid digit `{c}` in constant `{text}`"))?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or_else(|| format!("integer constant `{text}` is too large"))?;
    }
    const SUFFIXES: [&str; 16] = [
        "", "u", "l", "ul", "lu", "ll", "ull", "llu", "i8", "i16", "i32", "i64", "ui8", "ui16",
        "ui32", "ui64",
    ];
    if !SUFFIXES.contains(&suffix) {
        return Err(format!(
            "invalid suffix `{suffix}` on integer constant `{text}`"
        ));
    }
    Ok(Value {
        bits: value,
        unsigned: suffix.contains('u') || value > i64::MAX as u64,
    })
}

/// A character constant. A plain one is `char` (signed, as with GCC and MSVC); several
/// characters combine into an `int` as GCC does; a prefixed one takes the last character.
fn parse_char(text: &str) -> Result<Value, String> {
    let quote = text.find('\'').unwrap_or(0);
    let wide = quote > 0;
    let body = text
        .get(quote + 1..)
        .and_then(|s| s.strip_suffix('\''))
        .filter(|_| text.len() >= quote + 2)
        .ok_or_else(|| format!("unterminated character constant {text}"))?;
    let units = char_units(body, wide)?;
    match units.as_slice() {
        [] => Err("empty character constant".to_string()),
        _ if wide => Ok(Value::signed(i64::from(units.last().copied().unwrap_or(0)))),
        [one] => Ok(Value::signed(i64::from(*one as u8 as i8))),
        many => {
            let v = many.iter().fold(0u32, |v, &u| (v << 8) | (u & 0xff));
            Ok(Value::signed(i64::from(v as i32)))
        }
    }
}

/// The code units of a character constant's contents: bytes for a plain constant (so a
/// non-ASCII character is several), code points for a wide one.
pub(crate) fn char_units(body: &str, wide: bool) -> Result<Vec<u32>, String> {
    let mut units = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if wide {
                units.push(u32::from(c));
            } else {
                let mut buf = [0u8; 4];
                units.extend(c.encode_utf8(&mut buf).bytes().map(u32::from));
            }
            continue;
        }
        let Some(e) = chars.next() else {
            return Err("unterminated escape sequence in character constant".to_string());
        };
        let unit = match e {
            'n' => 10,
            't' => 9,
            'r' => 13,
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'v' => 11,
            'e' | 'E' => 27,
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                v
            }
            'x' => {
                let mut v: u32 = 0;
                let mut any = false;
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(16)) {
                    v = v.wrapping_mul(16).wrapping_add(d);
                    any = true;
                    chars.next();
                }
                if !any {
                    return Err("`\\x` used with no following hex digits".to_string());
                }
                v
            }
            other => u32::from(other),
        };
        units.push(if wide { unit } else { unit & 0xff });
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::super::token::toks_of;
    use super::*;
    use crate::source::FileId;

    fn eval(text: &str) -> (bool, Vec<Diagnostic>) {
        let lexed = lex(text);
        let toks = toks_of(&lexed, FileId(0), &lexed.tokens);
        let mut diags = Vec::new();
        let defined = |n: &str| n == "YES";
        let v = evaluate(&toks, Span::new(FileId(0), 0, 0), &defined, &mut diags);
        (v, diags)
    }

    fn truth(text: &str) -> bool {
        let (v, diags) = eval(text);
        assert!(diags.is_empty(), "{text}: {diags:?}");
        v
    }

    #[test]
    fn arithmetic_and_precedence() {
        assert!(truth("1 + 2 * 3 == 7"));
        assert!(truth("(1 + 2) * 3 == 9"));
        assert!(truth("10 / 3 == 3 && 10 % 3 == 1"));
        assert!(truth("-7 / 2 == -3"));
        assert!(truth("1 << 4 == 16 && 256 >> 4 == 16"));
        assert!(truth("(5 & 3) == 1 && (5 | 3) == 7 && (5 ^ 3) == 6"));
        assert!(truth("~0 == -1 && !0 && !!5"));
        assert!(truth("0x10 == 16 && 010 == 8 && 0b101 == 5"));
        assert!(truth("1 ? 2 : 3 == 2"));
        assert!(truth("0 ? 1 : 0 ? 2 : 3"));
        assert!(truth(
            "'A' == 65 && '\\n' == 10 && '\\x41' == 65 && '\\101' == 65"
        ));
        assert!(truth("'\\377' < 0 && L'\\377' > 0 && 'ab' == 0x6162"));
        assert!(truth("100000L == 100000 && 1i64 == 1"));
        assert!(truth("undefined_name == 0"));
        assert!(!truth("0"));
    }

    #[test]
    fn unsigned_conversions() {
        // -1 converted to unsigned is the largest value.
        assert!(truth("-1 > 0u"));
        assert!(truth("-1 < 0"));
        assert!(truth("0xffffffffffffffff == -1"));
        assert!(truth("0xffffffffffffffff > 0"));
        assert!(truth("18446744073709551615 / 2 == 9223372036854775807"));
        assert!(truth("(0u - 1) >> 63 == 1"));
        assert!(truth("-1 >> 63 == -1"));
        assert!(truth("(1 ? -1 : 0u) > 0"));
        assert!(truth("-9223372036854775807 - 1 < 0"));
        assert!(truth("(-9223372036854775807 - 1) / -1 < 0"));
        assert!(truth("1 << 64 == 0 && 1 << -1 == 0"));
    }

    #[test]
    fn defined_operator() {
        assert!(truth(
            "defined YES && defined(YES) && !defined NO && !defined(NO)"
        ));
    }

    #[test]
    fn division_by_zero_is_reported_only_when_evaluated() {
        let (v, diags) = eval("1 / 0");
        assert!(!v);
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("division by zero"));
        assert!(truth("0 && 1 / 0 || 1"));
        assert!(truth("1 || 1 % 0"));
        assert!(truth("1 ? 1 : 1 / 0"));
    }

    #[test]
    fn errors() {
        for text in [
            "",
            "1 +",
            "(1",
            "1 2",
            "1.0",
            "1e5",
            "08",
            "99999999999999999999",
            "1 ? 2",
            "\"s\"",
            "defined",
            "defined(",
            "''",
            "1zz",
            "@",
            ")",
        ] {
            let (v, diags) = eval(text);
            assert!(!v, "{text}");
            assert_eq!(diags.len(), 1, "{text}: {diags:?}");
            assert!(diags[0].primary.is_some());
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "(".repeat(100_000) + "1" + &")".repeat(100_000);
        let (_, diags) = eval(&text);
        assert_eq!(diags.len(), 1);
        let text = "-".repeat(100_000) + "1";
        assert_eq!(eval(&text).1.len(), 1);
    }
}
