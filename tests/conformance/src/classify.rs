//! Turning one file's pair of tool results into a verdict.

use crate::process::{Exit, Outcome};
use crate::widl::WidlVerdict;

/// Longest reason printed after `FAIL path: `, so one bad file stays one line.
const REASON_MAX: usize = 240;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// comidl accepted a file widl rejects, which the MIDL-only list explains: counted as a
    /// pass, and listed with `-v`.
    AcceptedBeyondWidl,
    Fail(String),
}

/// Judges comidl's `outcome` on a file, given widl's verdict and, when the file is a listed
/// MIDL-only case, the reason comidl may accept it. `root` is stripped from paths in the
/// reason to keep it short.
pub fn classify(
    widl: &WidlVerdict,
    midl_only: Option<&str>,
    outcome: &Outcome,
    root: &str,
) -> Verdict {
    if let Some(reason) = abnormal(outcome) {
        return Verdict::Fail(shorten(&reason, root));
    }
    let accepted = outcome.exit.success();
    match (widl, accepted) {
        (WidlVerdict::Accepts, true) => Verdict::Pass,
        (WidlVerdict::Rejects(_), true) if midl_only.is_some() => Verdict::AcceptedBeyondWidl,
        (WidlVerdict::Rejects(error), true) => Verdict::Fail(shorten(
            &format!(
                "accepted, but widl rejects it and it is not a listed MIDL-only file: {error}"
            ),
            root,
        )),
        (WidlVerdict::Accepts, false) => {
            let why = first_diagnostic(&outcome.stderr);
            Verdict::Fail(shorten(&format!("rejected, widl accepts: {why}"), root))
        }
        (WidlVerdict::Rejects(_), false) if has_located_diagnostic(&outcome.stderr) => {
            Verdict::Pass
        }
        (WidlVerdict::Rejects(_), false) => {
            Verdict::Fail("rejected without a located diagnostic".to_string())
        }
    }
}

/// A run that is a failure whatever widl says: not exit 0 or 1, or a panic.
pub fn abnormal(outcome: &Outcome) -> Option<String> {
    if let Some(line) = outcome.stderr.lines().find(|l| l.contains("panicked at")) {
        return Some(format!("comidl panicked: {}", line.trim()));
    }
    match &outcome.exit {
        Exit::Code(0 | 1) => None,
        Exit::Code(code) => Some(format!(
            "comidl exited with code {code}: {}",
            first_line(&outcome.stderr)
        )),
        Exit::Signal(signal) => Some(format!("comidl was killed by signal {signal}")),
        Exit::TimedOut(limit) => Some(format!("comidl timed out after {} s", limit.as_secs())),
        Exit::SpawnFailed(err) => Some(format!("could not run comidl: {err}")),
    }
}

/// The `path:line:col` of a `--> path:line:col` line, if `line` is one.
pub fn location(line: &str) -> Option<&str> {
    let loc = line.trim_start().strip_prefix("-->")?.trim();
    let mut parts = loc.rsplitn(3, ':');
    let col = parts.next()?;
    let row = parts.next()?;
    let path = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(col) && digits(row) && !path.is_empty()).then_some(loc)
}

pub fn has_located_diagnostic(stderr: &str) -> bool {
    stderr.lines().any(|l| location(l).is_some())
}

/// The first located diagnostic as `message --> location`, so a reader sees
/// why comidl rejected; falls back to the first line of stderr.
pub fn first_diagnostic(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let Some(at) = lines.iter().position(|l| location(l).is_some()) else {
        return first_line(stderr);
    };
    let loc = location(lines[at]).unwrap_or_default();
    // The message is the nearest `error...` line above the arrow.
    match lines[..at].iter().rev().find(|l| l.starts_with("error")) {
        Some(message) => format!("{} --> {loc}", message.trim()),
        None => format!("--> {loc}"),
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no output on stderr)")
        .to_string()
}

/// Drops the corpus root from paths and truncates to `REASON_MAX` chars.
fn shorten(reason: &str, root: &str) -> String {
    let reason = if root.is_empty() {
        reason.to_string()
    } else {
        reason.replace(&format!("{root}/"), "")
    };
    match reason.char_indices().nth(REASON_MAX) {
        Some((cut, _)) => format!("{}...", &reason[..cut]),
        None => reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn out(exit: Exit, stderr: &str) -> Outcome {
        Outcome {
            exit,
            stderr: stderr.to_string(),
        }
    }

    const WIDL_NO: &str = "/c/windows/a.idl:3: error: syntax error";

    fn accepts() -> WidlVerdict {
        WidlVerdict::Accepts
    }

    fn rejects() -> WidlVerdict {
        WidlVerdict::Rejects(WIDL_NO.to_string())
    }

    const DIAG: &str = "error: expected `;`\n  --> /c/windows/a.idl:3:14\n   |\n 3 | x\n   |  ^\n";

    #[test]
    fn locations() {
        assert_eq!(location("  --> a/b.idl:1:2"), Some("a/b.idl:1:2"));
        assert_eq!(location("--> C:/x.idl:10:20"), Some("C:/x.idl:10:20"));
        assert_eq!(location("  --> a.idl:1"), None);
        assert_eq!(location("  --> :1:2"), None);
        assert_eq!(location("  --> a.idl:x:2"), None);
        assert_eq!(location("error: --> a.idl:1:2"), None);
    }

    #[test]
    fn both_accept_and_beyond_widl() {
        let ok = out(Exit::Code(0), "");
        assert_eq!(classify(&accepts(), None, &ok, ""), Verdict::Pass);
        assert_eq!(
            classify(&rejects(), Some("MIDL allows it"), &ok, ""),
            Verdict::AcceptedBeyondWidl
        );
        // Accepting what widl rejects fails unless the file is a listed MIDL-only case.
        assert_eq!(
            classify(&rejects(), None, &ok, "/c"),
            Verdict::Fail(
                "accepted, but widl rejects it and it is not a listed MIDL-only file: \
                 windows/a.idl:3: error: syntax error"
                    .into()
            )
        );
    }

    #[test]
    fn rejecting_what_widl_accepts_shows_the_diagnostic() {
        let verdict = classify(&accepts(), None, &out(Exit::Code(1), DIAG), "/c");
        let want = "rejected, widl accepts: error: expected `;` --> windows/a.idl:3:14";
        assert_eq!(verdict, Verdict::Fail(want.to_string()));
    }

    #[test]
    fn both_reject_needs_a_location() {
        assert_eq!(
            classify(&rejects(), None, &out(Exit::Code(1), DIAG), ""),
            Verdict::Pass
        );
        let bare = classify(&rejects(), None, &out(Exit::Code(1), "error: bad\n"), "");
        assert_eq!(
            bare,
            Verdict::Fail("rejected without a located diagnostic".into())
        );
    }

    #[test]
    fn abnormal_exits_always_fail() {
        let cases = [
            (Exit::Code(2), "usage", "comidl exited with code 2: usage"),
            (Exit::Signal(9), "", "comidl was killed by signal 9"),
            (
                Exit::TimedOut(Duration::from_secs(60)),
                "",
                "comidl timed out after 60 s",
            ),
            (
                Exit::SpawnFailed("gone".into()),
                "",
                "could not run comidl: gone",
            ),
        ];
        for (exit, stderr, want) in cases {
            for widl in [accepts(), rejects()] {
                let verdict = classify(&widl, None, &out(exit.clone(), stderr), "");
                assert_eq!(verdict, Verdict::Fail(want.to_string()));
            }
        }
        let panic = "thread 'main' panicked at src/x.rs:1:1:\nboom\n  --> a.idl:1:1\n";
        let verdict = classify(&rejects(), None, &out(Exit::Code(1), panic), "");
        let want = "comidl panicked: thread 'main' panicked at src/x.rs:1:1:";
        assert_eq!(verdict, Verdict::Fail(want.to_string()));
    }

    #[test]
    fn long_reasons_are_truncated() {
        let long = format!("error: {}\n --> a.idl:1:1\n", "é".repeat(500));
        let Verdict::Fail(reason) = classify(&accepts(), None, &out(Exit::Code(1), &long), "")
        else {
            panic!("expected a failure");
        };
        assert_eq!(reason.chars().count(), REASON_MAX + 3);
    }
}
