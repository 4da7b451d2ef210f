//! The preprocess stage: does `comidl -E` give the same tokens as `widl -E`?
//!
//! Both tools get the same command line (`--nostdinc -m64 -I ... -E FILE`) and print the
//! file's preprocessed text. The texts are split into C tokens (identifiers, numbers,
//! string and character literals, punctuators by longest match) and compared in order;
//! spacing, blank lines and line markers (`# 12 "file"`) are not tokens. A file passes when
//! both token lists are equal; a failure names the first difference and where it is in
//! each output. widl is the oracle: a widl that does not print a text for a file stops the
//! stage, as in the parse stage.

use std::path::Path;
use std::process::Command;

use crate::Fatal;
use crate::cli::Options;
use crate::corpus::Setup;
use crate::process::{Exit, Outcome, ScratchDir, parallel_map, run_with_timeout_to};
use crate::widl::{did_not_run, no_verdicts, not_run, widl_style_command};

/// `TOOL --nostdinc -m64 -I ... -E FILE`.
fn preprocess_command(tool: &Path, setup: &Setup, file: &Path) -> Command {
    let mut cmd = widl_style_command(tool, setup);
    cmd.arg("-E").arg(file);
    cmd
}

/// One tool's run on one file: how it ended and what it printed.
struct Printed {
    outcome: Outcome,
    text: String,
}

fn run_tool(
    tool: &Path,
    setup: &Setup,
    rel: &Path,
    scratch: &Path,
    label: &str,
    opts: &Options,
) -> Printed {
    let stdout = scratch.join(format!("{label}.out"));
    let stderr = scratch.join(format!("{label}.err"));
    let mut cmd = preprocess_command(tool, setup, &setup.file_path(rel));
    let outcome = run_with_timeout_to(&mut cmd, &stdout, &stderr, opts.timeout);
    let text = std::fs::read(&stdout)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Printed { outcome, text }
}

pub fn run(opts: &Options, setup: &Setup) -> Result<u8, Fatal> {
    let jobs = crate::job_count(opts);
    let scratch = ScratchDir::new("comidl-conformance-preprocess")
        .map_err(|e| Fatal::Setup(format!("cannot create a scratch directory: {e}")))?;
    out!(
        "preprocess stage: {} files under {}",
        setup.files.len(),
        setup.root.display()
    );
    let results = parallel_map(&setup.files, jobs, |worker, rel| {
        let widl = run_tool(
            &setup.widl,
            setup,
            rel,
            scratch.path(),
            &format!("widl-{worker}"),
            opts,
        );
        oracle_ran(&widl)?;
        let comidl = run_tool(
            &setup.comidl,
            setup,
            rel,
            scratch.path(),
            &format!("comidl-{worker}"),
            opts,
        );
        Ok::<_, String>(compare(&widl.text, &comidl))
    });
    let no_text = no_verdicts(setup, &results);
    if !no_text.is_empty() {
        return Err(did_not_run("widl -E", setup, &no_text));
    }
    let mut tokens = 0usize;
    let mut failed = 0usize;
    for (file, result) in setup.files.iter().zip(results.into_iter().flatten()) {
        match result {
            Ok(count) => tokens += count,
            Err(why) => {
                failed += 1;
                out!("FAIL {}: {why}", file.display());
            }
        }
    }
    let passed = setup.files.len() - failed;
    out!("{tokens} tokens equal in the files that pass");
    out!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { 1 })
}

/// widl printed a text: exit 0 and at least one token.
fn oracle_ran(widl: &Printed) -> Result<(), String> {
    match &widl.outcome.exit {
        Exit::Code(0) if !tokens(&widl.text).is_empty() => Ok(()),
        Exit::Code(0) => Err("exited 0 but printed no tokens".to_string()),
        Exit::Code(code) => Err(format!(
            "exited with code {code}: {}",
            widl.outcome.stderr.lines().next().unwrap_or("(no stderr)")
        )),
        exit => Err(not_run(exit).unwrap_or_default()),
    }
}

/// Ok(number of tokens) when comidl printed widl's tokens; else the first difference.
fn compare(widl: &str, comidl: &Printed) -> Result<usize, String> {
    match &comidl.outcome.exit {
        Exit::Code(0) => {}
        Exit::Code(code) => {
            let first = comidl
                .outcome
                .stderr
                .lines()
                .next()
                .unwrap_or("(no stderr)");
            return Err(format!("comidl -E exited with code {code}: {first}"));
        }
        Exit::Signal(signal) => return Err(format!("comidl -E was killed by signal {signal}")),
        Exit::TimedOut(limit) => {
            return Err(format!("comidl -E timed out after {} s", limit.as_secs()));
        }
        Exit::SpawnFailed(err) => return Err(format!("could not run comidl: {err}")),
    }
    let theirs = tokens(widl);
    let ours = tokens(&comidl.text);
    let at = theirs
        .iter()
        .zip(&ours)
        .position(|(a, b)| a.text != b.text)
        .unwrap_or(theirs.len().min(ours.len()));
    if at == theirs.len() && at == ours.len() {
        return Ok(at);
    }
    let show = |list: &[Token], text: &str| match list.get(at) {
        Some(t) => format!(
            "`{}` (line {}: `{}`)",
            t.text,
            t.line,
            line_of(text, t.line)
        ),
        None => "the end".to_string(),
    };
    Err(format!(
        "token {} differs: widl has {}, comidl has {}",
        at + 1,
        show(&theirs, widl),
        show(&ours, &comidl.text)
    ))
}

fn line_of(text: &str, line: usize) -> String {
    let l = text
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .trim();
    match l.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &l[..cut]),
        None => l.to_string(),
    }
}

/// A C token and the 1-based line it starts on.
#[derive(Debug, PartialEq, Eq)]
struct Token<'a> {
    text: &'a str,
    line: usize,
}

/// Punctuators of more than one character, longest first.
const PUNCTUATORS: [&str; 23] = [
    "...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*=",
    "/=", "%=", "+=", "-=", "&=", "^=", "|=", "##",
];

/// Splits preprocessed text into C tokens, leaving out whitespace and line markers.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut list = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        // `# 12 "file" 1` and `#line 12 "file"`: where the text came from, not tokens.
        if let Some(rest) = trimmed.strip_prefix('#') {
            let rest = rest.trim_start();
            if rest.starts_with(|c: char| c.is_ascii_digit()) || rest.starts_with("line ") {
                continue;
            }
        }
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let start = i;
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if c.is_ascii_alphabetic() || c == b'_' {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            } else if c.is_ascii_digit()
                || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
            {
                // A pp-number: digits, letters, `.`, and a sign after an exponent letter.
                i += 1;
                while i < bytes.len() {
                    let b = bytes[i];
                    let exponent_sign = (b == b'+' || b == b'-')
                        && matches!(bytes[i - 1], b'e' | b'E' | b'p' | b'P');
                    if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
            } else if c == b'"' || c == b'\'' {
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
            } else {
                let rest = &line[i..];
                let len = PUNCTUATORS
                    .iter()
                    .find(|p| rest.starts_with(**p))
                    .map_or_else(
                        || rest.chars().next().map_or(1, char::len_utf8),
                        |p| p.len(),
                    );
                i += len;
            }
            list.push(Token {
                text: &line[start..i.min(line.len())],
                line: index + 1,
            });
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<&str> {
        tokens(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn tokens_leave_out_spacing_and_line_markers() {
        let text =
            "# 1 \"a.idl\" 1\n  typedef  long *PL;\n#line 4 \"b.h\"\ncpp_quote(\"a \\\" b\")\n";
        assert_eq!(
            texts(text),
            [
                "typedef",
                "long",
                "*",
                "PL",
                ";",
                "cpp_quote",
                "(",
                "\"a \\\" b\"",
                ")"
            ]
        );
        assert_eq!(tokens(text)[5].line, 4);
        assert_eq!(
            texts("#pragma pack(2)"),
            ["#", "pragma", "pack", "(", "2", ")"]
        );
    }

    #[test]
    fn numbers_and_punctuators_by_longest_match() {
        assert_eq!(
            texts("0x1F 1.5e+3 .5 a<<=b->c...'x'"),
            [
                "0x1F", "1.5e+3", ".5", "a", "<<=", "b", "->", "c", "...", "'x'"
            ]
        );
        // `> >` and `>>` are different token lists.
        assert_ne!(texts("a> >b"), texts("a>>b"));
    }

    fn printed(text: &str) -> Printed {
        Printed {
            outcome: Outcome {
                exit: Exit::Code(0),
                stderr: String::new(),
            },
            text: text.to_string(),
        }
    }

    #[test]
    fn comparison_names_the_first_difference() {
        assert_eq!(compare("# 1 \"x\"\na b\n", &printed("a\n\n   b")), Ok(2));
        let err = compare("a b c\n", &printed("a\nB c\n")).unwrap_err();
        assert_eq!(
            err,
            "token 2 differs: widl has `b` (line 1: `a b c`), comidl has `B` (line 2: `B c`)"
        );
        let err = compare("a b\n", &printed("a\n")).unwrap_err();
        assert!(err.ends_with("comidl has the end"), "{err}");
    }

    #[test]
    fn widl_must_print_something() {
        assert!(oracle_ran(&printed("x")).is_ok());
        assert!(oracle_ran(&printed("# 1 \"a\"\n\n")).is_err());
    }
}
