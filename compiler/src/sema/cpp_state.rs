//! What C's preprocessor makes of the directives an IDL file passes through with cpp_quote:
//! the packing in force (`#pragma pack`, `pshpackN.h`/`poppack.h`) and whether C compiles
//! the current statement at all (`#if 0`, `#ifdef _WIN64`, ...). Both depend on statement
//! order, so the collect pass feeds every statement's directives through one [`CppState`].

use crate::ir::CVisibility;

/// Packing and conditional state, in statement order.
#[derive(Default)]
pub(super) struct CppState {
    current: Option<u32>,
    saved: Vec<(Option<String>, Option<u32>)>,
    /// The cpp_quote'd conditionals around the current statement, innermost last:
    /// whether C compiles the current branch, where that is known (see
    /// [`known_condition`]). A `pshpackN.h` include in a branch C skips packs nothing.
    branches: Vec<Branch>,
}

/// One cpp_quote'd `#if` group.
struct Branch {
    /// Whether C compiles the current branch (`None`: depends on macros we don't know).
    taken: Option<bool>,
    /// Whether an earlier branch of the group was taken for certain.
    done: bool,
}

/// The text with C comments removed (`#if 0 /* winnt.h */`); a comment left open runs to
/// the end.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                out.push(' ');
                match rest[b + 2..].find("*/") {
                    Some(end) => rest = &rest[b + 2 + end + 2..],
                    None => return out,
                }
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                return out;
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// The value of a cpp_quote'd `#if`/`#ifdef`/`#ifndef` condition for the target the
/// bindings are for (LP64: C compiles Wine's and the SDK's headers with `_WIN64`
/// and `_WIN32` defined), or `None` when it depends on other macros.
fn known_condition(directive: &str, argument: &str) -> Option<bool> {
    let defined = |name: &str| match name.trim() {
        "_WIN64" | "_WIN32" | "WIN32" => Some(true),
        _ => None,
    };
    match directive {
        "ifdef" => defined(argument),
        "ifndef" => defined(argument).map(|d| !d),
        "if" | "elif" => {
            let a = argument.trim();
            if let Ok(n) = a.parse::<i64>() {
                return Some(n != 0);
            }
            let (negated, rest) = match a.strip_prefix('!') {
                Some(r) => (true, r.trim_start()),
                None => (false, a),
            };
            let name = rest.strip_prefix("defined")?.trim();
            let name = name
                .strip_prefix('(')
                .and_then(|n| n.strip_suffix(')'))
                .unwrap_or(name);
            defined(name).map(|d| d != negated)
        }
        _ => None,
    }
}

impl CppState {
    /// The packing in force.
    pub(super) fn current(&self) -> Option<u32> {
        self.current
    }

    /// `pack(N)`, `pack()`, `pack(push[, id][, N])`, `pack(pop[, id|N])`.
    pub(super) fn pragma(&mut self, text: &str) {
        let Some(rest) = text.trim().strip_prefix("pragma") else {
            return;
        };
        let Some(args) = rest
            .trim()
            .strip_prefix("pack")
            .map(str::trim)
            .and_then(|a| a.strip_prefix('('))
            .and_then(|a| a.trim_end().strip_suffix(')'))
        else {
            return;
        };
        let parts: Vec<&str> = args
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        match parts.as_slice() {
            [] => self.current = None,
            ["push", rest @ ..] => {
                let id = rest
                    .iter()
                    .find(|p| p.parse::<u32>().is_err())
                    .map(|s| s.to_string());
                self.saved.push((id, self.current));
                if let Some(n) = rest.iter().find_map(|p| p.parse::<u32>().ok()) {
                    self.current = Some(n);
                }
            }
            ["pop", rest @ ..] => {
                let id = rest.iter().find(|p| p.parse::<u32>().is_err());
                match id {
                    Some(id) => {
                        if let Some(pos) = self
                            .saved
                            .iter()
                            .rposition(|(s, _)| s.as_deref() == Some(*id))
                        {
                            self.current = self.saved.get(pos).and_then(|(_, n)| *n);
                            self.saved.truncate(pos);
                        }
                    }
                    None => {
                        if let Some((_, n)) = self.saved.pop() {
                            self.current = n;
                        }
                    }
                }
                if let Some(n) = rest.iter().find_map(|p| p.parse::<u32>().ok()) {
                    self.current = Some(n);
                }
            }
            [n] => self.current = n.parse().ok(),
            _ => {}
        }
    }

    /// Whether C compiles the current statement, as far as the conditionals tell.
    pub(super) fn visibility(&self) -> CVisibility {
        if self.branches.iter().any(|b| b.taken == Some(false)) {
            CVisibility::Never
        } else if self.branches.iter().any(|b| b.taken.is_none()) {
            CVisibility::Maybe
        } else {
            CVisibility::Always
        }
    }

    /// A cpp_quote'd conditional directive (`#if`, `#ifdef`, `#ifndef`, `#elif`,
    /// `#else`, `#endif`); anything else is ignored.
    fn conditional(&mut self, directive: &str) {
        let directive = without_comments(directive);
        let directive = directive.trim();
        let (word, argument) = directive
            .split_once(|c: char| c.is_whitespace() || c == '(' || c == '!')
            .map(|(w, _)| (w, directive[w.len()..].trim()))
            .unwrap_or((directive, ""));
        match word {
            "if" | "ifdef" | "ifndef" => {
                let taken = known_condition(word, argument);
                self.branches.push(Branch {
                    taken,
                    done: taken == Some(true),
                });
            }
            "elif" => {
                if let Some(b) = self.branches.last_mut() {
                    b.taken = if b.done {
                        Some(false)
                    } else {
                        known_condition("elif", argument)
                    };
                    b.done |= b.taken == Some(true);
                }
            }
            "else" => {
                if let Some(b) = self.branches.last_mut() {
                    b.taken = match (b.done, b.taken) {
                        (true, _) => Some(false),
                        (false, Some(false)) => Some(true),
                        _ => None,
                    };
                }
            }
            "endif" => {
                self.branches.pop();
            }
            _ => {}
        }
    }

    /// `cpp_quote("#include <pshpack4.h>")` / `cpp_quote("#include <poppack.h>")`, and the
    /// conditionals around them (`#ifdef _WIN64` picks `pshpack8.h` on our targets).
    pub(super) fn cpp_quote(&mut self, text: &str) {
        let t = text.trim();
        let Some(directive) = t.strip_prefix('#').map(str::trim_start) else {
            return;
        };
        let Some(header) = directive
            .strip_prefix("include")
            .map(|t| t.trim().trim_matches(['<', '>', '"']))
        else {
            self.conditional(directive);
            return;
        };
        if self.visibility() == CVisibility::Never {
            return;
        }
        if header.eq_ignore_ascii_case("poppack.h") {
            if let Some((_, n)) = self.saved.pop() {
                self.current = n;
            }
        } else if let Some(n) = header
            .strip_prefix("pshpack")
            .and_then(|h| h.strip_suffix(".h"))
            .and_then(|n| n.parse().ok())
        {
            self.saved.push((None, self.current));
            self.current = Some(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CppState;
    use crate::ir::CVisibility;

    #[test]
    fn pack_pragmas_and_headers_nest() {
        let mut p = CppState::default();
        p.pragma("pragma pack(push, 8)");
        assert_eq!(p.current(), Some(8));
        p.cpp_quote("#include <pshpack1.h>");
        assert_eq!(p.current(), Some(1));
        p.cpp_quote("#include <poppack.h>");
        assert_eq!(p.current(), Some(8));
        p.pragma("pragma pack(pop)");
        assert_eq!(p.current(), None);
        p.pragma("pragma pack(2)");
        assert_eq!(p.current(), Some(2));
        p.pragma("pragma pack()");
        assert_eq!(p.current(), None);
    }

    #[test]
    fn pack_headers_follow_known_conditionals() {
        // oledb.idl's form: pshpack8 on 64-bit targets, pshpack2 elsewhere.
        let mut p = CppState::default();
        for line in [
            "#ifdef _WIN64",
            "#include <pshpack8.h>",
            "#else",
            "#include <pshpack2.h>",
            "#endif",
        ] {
            p.cpp_quote(line);
        }
        assert_eq!(p.current(), Some(8));
        p.cpp_quote("#include <poppack.h>");
        assert_eq!(p.current(), None);
        for line in ["#if !defined(_WIN64)", "#include <pshpack1.h>", "#endif"] {
            p.cpp_quote(line);
        }
        assert_eq!(p.current(), None);
        for line in [
            "#if 0",
            "#include <pshpack4.h>",
            "#elif 1",
            "#include <pshpack2.h>",
        ] {
            p.cpp_quote(line);
        }
        assert_eq!(p.current(), Some(2));
        p.cpp_quote("#endif");
        // A condition on a macro we can't know: the include counts, as before.
        for line in ["#ifdef SOME_MACRO", "#include <pshpack1.h>", "#endif"] {
            p.cpp_quote(line);
        }
        assert_eq!(p.current(), Some(1));
    }

    #[test]
    fn comments_in_directives_are_ignored() {
        // wtypes.idl: `cpp_quote("#if 0 /* winnt.h */")`.
        let mut p = CppState::default();
        p.cpp_quote("#if 0 /* winnt.h */");
        assert_eq!(p.visibility(), CVisibility::Never);
        p.cpp_quote("#endif /* winnt.h */");
        p.cpp_quote("#ifdef _WIN64 // 64-bit");
        assert_eq!(p.visibility(), CVisibility::Always);
        p.cpp_quote("#elif /* open comment");
        assert_eq!(p.visibility(), CVisibility::Never);
    }

    #[test]
    fn visibility_follows_the_conditionals() {
        let mut p = CppState::default();
        assert_eq!(p.visibility(), CVisibility::Always);
        p.cpp_quote("#if 0");
        assert_eq!(p.visibility(), CVisibility::Never);
        p.cpp_quote("#ifdef SOME_MACRO");
        assert_eq!(p.visibility(), CVisibility::Never);
        p.cpp_quote("#endif");
        p.cpp_quote("#else");
        assert_eq!(p.visibility(), CVisibility::Always);
        p.cpp_quote("#ifndef _KS_");
        assert_eq!(p.visibility(), CVisibility::Maybe);
        p.cpp_quote("#endif");
        p.cpp_quote("#endif");
        assert_eq!(p.visibility(), CVisibility::Always);
    }
}
