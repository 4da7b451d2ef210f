//! Checks every constant in `comidl_runtime::hresult`'s tables against Wine
//! 8.0's `winerror.h` (and `olectl.h`, which defines the connection-point and
//! self-registration codes).
//!
//! The headers are found under `$COMIDL_WINE_INCLUDE` (the directory holding
//! `winerror.h`, the file itself, or a tree with `usr/include/wine/wine/windows`),
//! else in the conformance harness's copy under `<workspace>/target`, else
//! they are fetched there by `tests/fetch-wine.sh` (apt-get download +
//! dpkg -x). The test never skips: if no header can be had it fails
//! and says why.
//!
//! `#define` bodies are evaluated by a small C preprocessor-and-expression
//! evaluator (object- and function-like macros, `static inline` one-line
//! functions such as `HRESULT_FROM_WIN32`, casts, integer suffixes, the usual
//! operators and `?:`). A definition it cannot evaluate is a failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use comidl_runtime::{KNOWN, KNOWN_NUMBERS, KNOWN_WIN32};

/// Our constants that the headers do not name, with the C expression that
/// defines them in terms of header names.
const DERIVED: &[(&str, &str)] = &[(
    "RPC_S_SERVER_UNAVAILABLE_HR",
    "HRESULT_FROM_WIN32(RPC_S_SERVER_UNAVAILABLE)",
)];

const WINDOWS_SUBDIR: &str = "usr/include/wine/wine/windows";

// ---------------------------------------------------------------- locating

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Accepts the file itself, its directory, or a tree root.
fn header_in(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    [
        path.join("winerror.h"),
        path.join("wine/windows/winerror.h"),
        path.join(WINDOWS_SUBDIR).join("winerror.h"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{what} failed ({s})")),
        Err(e) => Err(format!("cannot run {what}: {e}")),
    }
}

/// Fetches Wine's headers into `dir` with the workspace's shared script (the same
/// cache the interop tests and the conformance harness use).
fn fetch_into(dir: &Path) -> Result<PathBuf, String> {
    run(
        Command::new("bash")
            .arg(workspace_root().join("tests/fetch-wine.sh"))
            .arg(dir),
        "tests/fetch-wine.sh",
    )?;
    header_in(dir).ok_or_else(|| format!("the fetched tree has no {WINDOWS_SUBDIR}/winerror.h"))
}

fn find_winerror() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("COMIDL_WINE_INCLUDE") {
        let dir = PathBuf::from(dir);
        return header_in(&dir)
            .ok_or_else(|| format!("COMIDL_WINE_INCLUDE={dir:?} holds no winerror.h"));
    }
    let mut candidates = vec![workspace_root().join("target/conformance/wine")];
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(t).join("conformance/wine"));
    }
    if let Some(found) = candidates.iter().find_map(|c| header_in(c)) {
        return Ok(found);
    }
    let shared = workspace_root().join("target/conformance/wine");
    eprintln!("winerror.h not found; fetching Wine's headers into {shared:?}");
    fetch_into(&shared)
}

// ---------------------------------------------------------------- lexing

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Num(i64),
    Punct(&'static str),
    Other(char),
}

const PUNCTS: &[&str] = &[
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "(", ")", ",", "+", "-", "*", "/", "%", "|",
    "&", "^", "~", "!", "<", ">", "?", ":", "{", "}", ";",
];

fn parse_number(text: &str) -> Result<i64, String> {
    let digits = text.trim_end_matches(['u', 'U', 'l', 'L']);
    let parsed = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16)
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8)
    } else {
        digits.parse::<u64>()
    };
    parsed
        .map(|v| v as i64)
        .map_err(|e| format!("bad number {text:?}: {e}"))
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Tok::Num(parse_number(&text)?));
        } else if let Some(p) = PUNCTS.iter().find(|p| {
            let pc: Vec<char> = p.chars().collect();
            chars[i..].starts_with(&pc)
        }) {
            i += p.len();
            out.push(Tok::Punct(p));
        } else {
            out.push(Tok::Other(c));
            i += 1;
        }
    }
    Ok(out)
}

/// Removes comments (keeping string and character literals intact) and joins
/// backslash-continued lines.
fn clean(src: &str) -> String {
    let joined = src.replace("\\\r\n", " ").replace("\\\n", " ");
    let b: Vec<char> = joined.chars().collect();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '/' if b.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
                out.push(' ');
            }
            '/' if b.get(i + 1) == Some(&'/') => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            q @ ('"' | '\'') => {
                out.push(q);
                i += 1;
                while i < b.len() && b[i] != q && b[i] != '\n' {
                    if b[i] == '\\' && i + 1 < b.len() {
                        out.push(b[i]);
                        i += 1;
                    }
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() {
                    out.push(b[i]);
                    i += 1;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------- macros

#[derive(Clone, Debug)]
struct FnMacro {
    params: Vec<String>,
    /// C type of each parameter (for `static inline` functions), applied as a
    /// cast to the argument.
    param_types: Vec<Option<Vec<Tok>>>,
    body: Vec<Tok>,
}

#[derive(Default)]
struct Defs {
    /// Every definition of each object-like macro, in file order.
    objects: HashMap<String, Vec<String>>,
    functions: HashMap<String, FnMacro>,
}

impl Defs {
    fn load(&mut self, text: &str) -> Result<(), String> {
        let text = clean(text);
        for line in text.lines() {
            let t = line.trim_start();
            let Some(rest) = t.strip_prefix('#') else {
                continue;
            };
            let Some(rest) = rest.trim_start().strip_prefix("define") else {
                continue;
            };
            if !rest.starts_with([' ', '\t']) {
                continue;
            }
            let rest = rest.trim_start();
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let (name, after) = rest.split_at(name_len);
            if let Some(params) = after.strip_prefix('(') {
                let close = params
                    .find(')')
                    .ok_or_else(|| format!("unterminated parameter list in {line:?}"))?;
                let names: Vec<String> = params[..close]
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect();
                let body = lex(&params[close + 1..])?;
                self.functions.insert(
                    name.to_string(),
                    FnMacro {
                        param_types: vec![None; names.len()],
                        params: names,
                        body,
                    },
                );
            } else {
                self.objects
                    .entry(name.to_string())
                    .or_default()
                    .push(after.trim().to_string());
            }
        }
        self.load_inline_functions(&text)
    }

    /// `static inline TYPE NAME(TYPE PARAM) { return EXPR; }` (one parameter,
    /// one statement) becomes a function-like macro that casts its argument.
    fn load_inline_functions(&mut self, text: &str) -> Result<(), String> {
        let toks = lex(text)?;
        let ident = |t: &Tok, s: &str| matches!(t, Tok::Ident(x) if x == s);
        let mut i = 0;
        while i + 1 < toks.len() {
            if !(ident(&toks[i], "static") && ident(&toks[i + 1], "inline")) {
                i += 1;
                continue;
            }
            i += 2;
            // Return type and name: identifiers up to '('.
            let start = i;
            while i < toks.len() && matches!(toks[i], Tok::Ident(_)) {
                i += 1;
            }
            let Some(Tok::Ident(name)) = toks.get(i.wrapping_sub(1)).filter(|_| i > start) else {
                continue;
            };
            if toks.get(i) != Some(&Tok::Punct("(")) {
                continue;
            }
            let name = name.clone();
            i += 1;
            let pstart = i;
            while i < toks.len() && matches!(toks[i], Tok::Ident(_)) {
                i += 1;
            }
            if i - pstart < 2 || toks.get(i) != Some(&Tok::Punct(")")) {
                continue;
            }
            let Tok::Ident(param) = &toks[i - 1] else {
                continue;
            };
            let param = param.clone();
            let ptype = toks[pstart..i - 1].to_vec();
            if toks.get(i + 1) != Some(&Tok::Punct("{"))
                || !toks.get(i + 2).is_some_and(|t| ident(t, "return"))
            {
                continue;
            }
            let bstart = i + 3;
            let Some(len) = toks[bstart..].iter().position(|t| *t == Tok::Punct(";")) else {
                continue;
            };
            if toks.get(bstart + len + 1) != Some(&Tok::Punct("}")) {
                continue;
            }
            self.functions.entry(name).or_insert(FnMacro {
                params: vec![param],
                param_types: vec![Some(ptype)],
                body: toks[bstart..bstart + len].to_vec(),
            });
            i = bstart + len + 2;
        }
        Ok(())
    }

    /// Fully macro-expands `toks`.
    fn expand(&self, toks: &[Tok], depth: usize) -> Result<Vec<Tok>, String> {
        if depth > 64 {
            return Err("macro expansion too deep (recursive macro?)".into());
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let tok = &toks[i];
            i += 1;
            let Tok::Ident(name) = tok else {
                out.push(tok.clone());
                continue;
            };
            if let Some(f) = self.functions.get(name)
                && toks.get(i) == Some(&Tok::Punct("("))
            {
                // Collect the arguments, split on top-level commas.
                let mut args: Vec<Vec<Tok>> = vec![Vec::new()];
                let mut level = 0;
                i += 1;
                loop {
                    let t = toks
                        .get(i)
                        .ok_or_else(|| format!("unterminated call of {name}"))?;
                    i += 1;
                    match t {
                        Tok::Punct("(") => level += 1,
                        Tok::Punct(")") if level == 0 => break,
                        Tok::Punct(")") => level -= 1,
                        Tok::Punct(",") if level == 0 => {
                            args.push(Vec::new());
                            continue;
                        }
                        _ => {}
                    }
                    if let Some(last) = args.last_mut() {
                        last.push(t.clone());
                    }
                }
                if args.len() == 1 && args[0].is_empty() && f.params.is_empty() {
                    args.clear();
                }
                if args.len() != f.params.len() {
                    return Err(format!(
                        "{name} takes {} arguments, got {}",
                        f.params.len(),
                        args.len()
                    ));
                }
                let mut expanded_args = Vec::new();
                for (arg, ty) in args.iter().zip(&f.param_types) {
                    let mut a = self.expand(arg, depth + 1)?;
                    if let Some(ty) = ty {
                        let mut cast = vec![Tok::Punct("("), Tok::Punct("(")];
                        cast.extend(ty.iter().cloned());
                        cast.push(Tok::Punct(")"));
                        cast.push(Tok::Punct("("));
                        cast.append(&mut a);
                        cast.extend([Tok::Punct(")"), Tok::Punct(")")]);
                        a = cast;
                    }
                    expanded_args.push(a);
                }
                let mut body = Vec::new();
                for t in &f.body {
                    match t {
                        Tok::Ident(p) => match f.params.iter().position(|q| q == p) {
                            Some(k) => body.extend(expanded_args[k].iter().cloned()),
                            None => body.push(t.clone()),
                        },
                        _ => body.push(t.clone()),
                    }
                }
                out.extend(self.expand(&body, depth + 1)?);
            } else if let Some(defs) = self.objects.get(name) {
                let last = defs.last().map(String::as_str).unwrap_or("");
                out.extend(self.expand(&lex(last)?, depth + 1)?);
            } else {
                out.push(tok.clone());
            }
        }
        Ok(out)
    }

    fn eval_str(&self, expr: &str) -> Result<i64, String> {
        let toks = self.expand(&lex(expr)?, 0)?;
        let mut p = Parser {
            toks: &toks,
            pos: 0,
        };
        let v = p.ternary()?;
        if p.pos != toks.len() {
            return Err(format!(
                "trailing tokens after expression: {:?}",
                &toks[p.pos..]
            ));
        }
        Ok(v)
    }
}

// ---------------------------------------------------------------- evaluation

/// How a C type name converts a value: `true` = signed 32-bit, `false` =
/// unsigned 32-bit.
fn cast_kind(words: &[String]) -> Option<bool> {
    let mut signed = None;
    for w in words {
        let s = match w.as_str() {
            "unsigned" | "DWORD" | "ULONG" | "UINT" => false,
            "HRESULT" | "SCODE" | "LONG" | "INT" | "int" | "long" | "signed" | "NTSTATUS" => {
                signed.unwrap_or(true)
            }
            _ => return None,
        };
        signed = Some(signed.map_or(s, |prev: bool| prev && s));
    }
    signed
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), String> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(format!("expected {p:?}, found {:?}", self.peek()))
        }
    }

    fn ternary(&mut self) -> Result<i64, String> {
        let c = self.binary(0)?;
        if self.eat("?") {
            let a = self.ternary()?;
            self.expect(":")?;
            let b = self.ternary()?;
            Ok(if c != 0 { a } else { b })
        } else {
            Ok(c)
        }
    }

    fn binary(&mut self, level: usize) -> Result<i64, String> {
        const LEVELS: &[&[&str]] = &[
            &["||"],
            &["&&"],
            &["|"],
            &["^"],
            &["&"],
            &["==", "!="],
            &["<", ">", "<=", ">="],
            &["<<", ">>"],
            &["+", "-"],
            &["*", "/", "%"],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        'outer: loop {
            for op in LEVELS[level] {
                if self.eat(op) {
                    let rhs = self.binary(level + 1)?;
                    lhs = match *op {
                        "||" => i64::from(lhs != 0 || rhs != 0),
                        "&&" => i64::from(lhs != 0 && rhs != 0),
                        "|" => lhs | rhs,
                        "^" => lhs ^ rhs,
                        "&" => lhs & rhs,
                        "==" => i64::from(lhs == rhs),
                        "!=" => i64::from(lhs != rhs),
                        "<" => i64::from(lhs < rhs),
                        ">" => i64::from(lhs > rhs),
                        "<=" => i64::from(lhs <= rhs),
                        ">=" => i64::from(lhs >= rhs),
                        "<<" => lhs.wrapping_shl(rhs as u32),
                        ">>" => lhs.wrapping_shr(rhs as u32),
                        "+" => lhs.wrapping_add(rhs),
                        "-" => lhs.wrapping_sub(rhs),
                        "*" => lhs.wrapping_mul(rhs),
                        "/" | "%" if rhs == 0 => return Err("division by zero".into()),
                        "/" => lhs.wrapping_div(rhs),
                        _ => lhs.wrapping_rem(rhs),
                    };
                    continue 'outer;
                }
            }
            return Ok(lhs);
        }
    }

    /// A cast `(type words)` at the current position, if there is one.
    fn cast_ahead(&self) -> Option<(bool, usize)> {
        if !matches!(self.peek(), Some(Tok::Punct("("))) {
            return None;
        }
        let mut words = Vec::new();
        let mut i = self.pos + 1;
        while let Some(Tok::Ident(w)) = self.toks.get(i) {
            words.push(w.clone());
            i += 1;
        }
        if words.is_empty() || self.toks.get(i) != Some(&Tok::Punct(")")) {
            return None;
        }
        cast_kind(&words).map(|signed| (signed, i + 1))
    }

    fn unary(&mut self) -> Result<i64, String> {
        if let Some((signed, next)) = self.cast_ahead() {
            self.pos = next;
            let v = self.unary()?;
            return Ok(if signed {
                i64::from(v as i32)
            } else {
                i64::from(v as u32)
            });
        }
        if self.eat("-") {
            return Ok(self.unary()?.wrapping_neg());
        }
        if self.eat("+") {
            return self.unary();
        }
        if self.eat("~") {
            return Ok(!self.unary()?);
        }
        if self.eat("!") {
            return Ok(i64::from(self.unary()? == 0));
        }
        if self.eat("(") {
            let v = self.ternary()?;
            self.expect(")")?;
            return Ok(v);
        }
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Ident(name)) => Err(format!("cannot evaluate identifier {name}")),
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

// ---------------------------------------------------------------- the test

fn load_headers() -> Defs {
    let winerror = match find_winerror() {
        Ok(p) => p,
        Err(e) => panic!(
            "cannot find or fetch Wine's winerror.h ({e}); set COMIDL_WINE_INCLUDE to the \
             directory holding winerror.h and olectl.h"
        ),
    };
    let mut defs = Defs::default();
    for file in ["winerror.h", "olectl.h"] {
        let path = winerror.with_file_name(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        defs.load(&text)
            .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()));
    }
    defs
}

/// Checks one constant; returns a description of the mismatch, if any.
fn check(defs: &Defs, name: &str, ours: u32) -> Option<String> {
    let exprs: Vec<String> = match defs.objects.get(name) {
        Some(d) => d.clone(),
        None => match DERIVED.iter().find(|(n, _)| *n == name) {
            Some((_, e)) => vec![(*e).to_string()],
            None => return Some(format!("{name}: not defined in winerror.h or olectl.h")),
        },
    };
    let mut problems = Vec::new();
    for expr in &exprs {
        match defs.eval_str(expr) {
            Ok(v) if v as u32 == ours => {}
            Ok(v) => problems.push(format!(
                "{name}: header says {expr} = 0x{:08X}, we have 0x{ours:08X}",
                v as u32
            )),
            Err(e) => problems.push(format!("{name}: cannot evaluate {expr:?}: {e}")),
        }
    }
    (!problems.is_empty()).then(|| problems.join("\n"))
}

#[test]
fn every_constant_matches_wine_headers() {
    let defs = load_headers();
    let mut checked = 0;
    let mut failures = Vec::new();
    let all = KNOWN
        .iter()
        .map(|(n, v, _)| (*n, v.to_u32()))
        .chain(KNOWN_WIN32.iter().map(|(n, v, _)| (*n, *v)))
        .chain(KNOWN_NUMBERS.iter().map(|(n, v)| (*n, *v)));
    for (name, value) in all {
        checked += 1;
        failures.extend(check(&defs, name, value));
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} constants disagree with Wine's headers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 100, "only {checked} constants checked");
}

#[test]
fn evaluator_handles_header_forms() {
    let mut defs = Defs::default();
    defs.load(
        "#define _HRESULT_TYPEDEF_(x) ((HRESULT)x)\n\
         #define A _HRESULT_TYPEDEF_(0x80004002L)\n\
         #define B (A + 1) /* comment */\n\
         #define MK(s,f,c) \\\n ((unsigned int)(s)<<31 | (f)<<16 | (c))\n\
         #define C MK(1, 4, 0x200)\n\
         static inline int NEG(unsigned int x) { return (int)x > 0 ? -1 : 1; }\n",
    )
    .expect("test header parses");
    assert_eq!(defs.eval_str("A").map(|v| v as u32), Ok(0x8000_4002));
    assert_eq!(defs.eval_str("B").map(|v| v as u32), Ok(0x8000_4003));
    assert_eq!(defs.eval_str("C").map(|v| v as u32), Ok(0x8004_0200));
    assert_eq!(defs.eval_str("NEG(5)"), Ok(-1));
    assert_eq!(defs.eval_str("NEG(0xFFFFFFFF)"), Ok(1));
    assert_eq!(defs.eval_str("017"), Ok(15));
    assert!(defs.eval_str("UNKNOWN_NAME").is_err());
    assert!(defs.eval_str("(1").is_err());
    assert!(defs.eval_str("\"text\"").is_err());
}
