//! The driver: reads files line by line, sends directive lines to `directive`,
//! copies text lines to the output (expanding macros), and handles `#include`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::directive::Cond;
use super::expand::{Expander, Mode, SourceCursor, next_is_lparen};
use super::lexer::{Kind, Lexed, lex};
use super::macros::{Builtin, Macro, MacroTable};
use super::output::OutputBuilder;
use super::predefined::builtin_text;
use super::token::{Tok, toks_of};
use super::{Options, Output};
use crate::diag::Diagnostic;
use crate::search::find_file;
use crate::source::{FileId, SourceMap, Span};

/// How deeply `#include`s may nest (the main file is level 1).
const MAX_INCLUDE_DEPTH: usize = 64;

/// Name of the pseudo-file holding the predefined and command-line macros.
const BUILTIN_FILE: &str = "<built-in>";

/// State shared by all files of one run.
pub(super) struct Engine<'a> {
    pub sources: &'a mut SourceMap,
    pub options: &'a Options,
    pub diags: &'a mut Vec<Diagnostic>,
    pub macros: MacroTable,
    pub out: OutputBuilder,
    pub files: Vec<FileId>,
    /// The files being read, outermost first.
    pub stack: Vec<Frame>,
    /// Files that said `#pragma once`, by identity.
    pub once: HashSet<PathBuf>,
    /// Redefinitions are silent while the command line is read (`-D` may override).
    pub quiet_redefinition: bool,
}

/// A file being read.
pub(super) struct Frame {
    /// The canonical path: one file reached under two spellings is still one file.
    pub identity: PathBuf,
    /// The `#include` that opened it (`None` for the main file).
    pub included_at: Option<Span>,
    /// The macro of an `#ifndef X` include guard opening the file.
    pub guard: Option<String>,
}

/// Reading position in one file.
pub(super) struct FileState {
    pub file: FileId,
    pub lexed: Lexed,
    /// Index of the next token.
    pub pos: usize,
    /// Open conditionals, innermost last.
    pub conds: Vec<Cond>,
}

impl FileState {
    pub fn skipping(&self) -> bool {
        self.conds.last().is_some_and(Cond::skipping)
    }
}

pub(super) fn run(
    sources: &mut SourceMap,
    main: FileId,
    options: &Options,
    diags: &mut Vec<Diagnostic>,
) -> Output {
    let mut engine = Engine {
        sources,
        options,
        diags,
        macros: MacroTable::default(),
        out: OutputBuilder::default(),
        files: vec![main],
        stack: Vec::new(),
        once: HashSet::new(),
        quiet_redefinition: false,
    };
    engine.predefine();
    engine.run_file(main, None);
    let (text, map) = engine.out.finish(main);
    Output {
        text,
        map,
        files: engine.files,
    }
}

impl Engine<'_> {
    /// Defines `__FILE__`, `__LINE__`, the predefined macros and the command line's.
    fn predefine(&mut self) {
        let text = builtin_text(self.options);
        let existing = self
            .sources
            .iter()
            .find(|(_, f)| f.path == Path::new(BUILTIN_FILE) && f.text == text)
            .map(|(id, _)| id);
        let file = existing.unwrap_or_else(|| self.sources.add(BUILTIN_FILE, text));
        let here = Span::new(file, 0, 0);
        for (name, builtin) in [("__FILE__", Builtin::File), ("__LINE__", Builtin::Line)] {
            let m = Macro::builtin(name, builtin, here);
            self.macros.define(m, self.diags);
        }
        // Read it like a file, but keep its (empty) output out of the real output.
        let out = std::mem::take(&mut self.out);
        self.quiet_redefinition = true;
        self.run_file(file, None);
        self.quiet_redefinition = false;
        self.out = out;
    }

    /// Reads one file to its end, `#include`s included.
    pub fn run_file(&mut self, file: FileId, included_at: Option<Span>) {
        let lexed = lex(self.sources.text(file));
        if let Some(at) = lexed.unterminated_comment {
            self.diags.push(
                Diagnostic::error("unterminated `/*` comment")
                    .at_with(Span::new(file, at, at + 2), "comment starts here"),
            );
        }
        self.stack.push(Frame {
            identity: identity(self.sources.path(file)),
            included_at,
            guard: include_guard(file, &lexed),
        });
        let mut st = FileState {
            file,
            lexed,
            pos: 0,
            conds: Vec::new(),
        };
        while st.pos < st.lexed.tokens.len() {
            self.line(&mut st);
        }
        for cond in st.conds.iter().rev() {
            self.diags.push(
                Diagnostic::error(format!("unterminated `#{}`", cond.keyword))
                    .at_with(cond.opened_at, "no matching `#endif` in this file"),
            );
        }
        self.stack.pop();
    }

    /// Handles the line starting at `st.pos`: a directive, a skipped line or text.
    fn line(&mut self, st: &mut FileState) {
        let tokens = &st.lexed.tokens;
        let first = (st.pos..tokens.len())
            .find(|&i| tokens.get(i).is_some_and(|t| t.kind != Kind::Ws))
            .unwrap_or(tokens.len());
        let is_hash = tokens
            .get(first)
            .is_some_and(|&t| t.kind == Kind::Punct && st.lexed.text(t) == "#");
        if !is_hash && !st.skipping() {
            return self.text_line(st);
        }
        let end = (first..tokens.len())
            .find(|&i| tokens.get(i).is_some_and(|t| t.kind == Kind::Newline))
            .unwrap_or(tokens.len());
        if is_hash {
            let line_start = st.pos;
            self.directive(st, line_start, first, end);
        }
        // Keep the line structure: the line's newline stays, the rest of it goes.
        if let Some(&nl) = st.lexed.tokens.get(end) {
            self.out.verbatim(st.file, nl.start, "\n");
        }
        st.pos = end + 1;
    }

    /// Copies text to the output through its newline, expanding macros on the way. An
    /// invocation's arguments may run over several lines.
    fn text_line(&mut self, st: &mut FileState) {
        while let Some(&raw) = st.lexed.tokens.get(st.pos) {
            let text = st.lexed.text(raw);
            if raw.kind == Kind::Ident
                && let Some(m) = self.macros.get(text)
                && (m.params.is_none() || next_is_lparen(st.file, &st.lexed, st.pos + 1))
            {
                self.expand_at(st);
                continue;
            }
            self.out.verbatim(st.file, raw.start, text);
            st.pos += 1;
            if raw.kind == Kind::Newline {
                break;
            }
        }
    }

    /// Expands the macro named at `st.pos` and writes the result.
    fn expand_at(&mut self, st: &mut FileState) {
        let Some(&raw) = st.lexed.tokens.get(st.pos) else {
            return;
        };
        let name = Tok::from_raw(&st.lexed, st.file, raw, false);
        st.pos += 1;
        let mut expander = Expander::new(&self.macros, self.sources, self.diags, Mode::Text);
        let cursor = SourceCursor {
            file: st.file,
            lexed: &st.lexed,
            pos: &mut st.pos,
        };
        let toks = expander.expand_text(name, cursor);
        let next = st
            .lexed
            .tokens
            .get(st.pos)
            .filter(|t| !matches!(t.kind, Kind::Ws | Kind::Newline))
            .and_then(|&t| st.lexed.text(t).chars().next());
        let fallback = Span::new(st.file, raw.start, raw.end);
        self.out.tokens(&toks, next, fallback);
    }

    /// Fully macro-expands a directive's operands (`#if`, computed `#include`).
    pub fn expand_list(&mut self, toks: Vec<Tok>, mode: Mode) -> Vec<Tok> {
        Expander::new(&self.macros, self.sources, self.diags, mode).expand_list(toks)
    }

    /// `#include`s `name` (quoted: from the including file's directory first) at `directive`.
    pub fn include(&mut self, from: FileId, name: &str, angled: bool, directive: Span) {
        let first_dir = if angled {
            None
        } else {
            self.sources.path(from).parent().map(Path::to_path_buf)
        };
        // Windows IDL may write `sub\file.h`; `/` works on every system.
        let wanted = name.replace('\\', "/");
        let Some(path) = find_file(&wanted, first_dir.as_deref(), &self.options.include_dirs)
        else {
            let searched = first_dir
                .iter()
                .chain(&self.options.include_dirs)
                .map(|d| format!("`{}`", d.display()))
                .collect::<Vec<_>>();
            let note = match searched.is_empty() {
                true => "no include directories were given (-I)".to_string(),
                false => format!("searched {}", searched.join(", ")),
            };
            self.diags.push(
                Diagnostic::error(format!("cannot find include file `{name}`"))
                    .at(directive)
                    .note(note),
            );
            return;
        };
        let id = identity(&path);
        if self.once.contains(&id) {
            return;
        }
        if let Some(frame) = self.stack.iter().find(|f| f.identity == id) {
            // Re-entering a guarded file would read nothing: quietly skip it.
            if frame
                .guard
                .as_deref()
                .is_some_and(|g| self.macros.contains(g))
            {
                return;
            }
            let mut d = Diagnostic::error(format!("recursive #include of `{name}`")).at(directive);
            d = match frame.included_at {
                Some(outer) => d.also(outer, format!("`{name}` is already being included here")),
                None => d.note(format!("`{name}` is the main file")),
            };
            self.diags.push(d);
            return;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            let mut d = Diagnostic::error(format!("recursive #include of `{name}`"))
                .at(directive)
                .note(format!(
                    "#include is nested more than {MAX_INCLUDE_DEPTH} levels deep"
                ));
            if let Some(outer) = self.stack.get(1).and_then(|f| f.included_at) {
                d = d.also(outer, "outermost #include");
            }
            self.diags.push(d);
            return;
        }
        let file = match self.sources.load(&path) {
            Ok(file) => file,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(format!("cannot read `{}`: {e}", path.display()))
                        .at(directive),
                );
                return;
            }
        };
        if !self.files.contains(&file) {
            self.files.push(file);
        }
        self.run_file(file, Some(directive));
    }
}

/// What tells two paths to one file apart from paths to two files.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The macro `X` when the file's first directive is `#ifndef X` or `#if !defined X`.
fn include_guard(file: FileId, lexed: &Lexed) -> Option<String> {
    let first = lexed
        .tokens
        .iter()
        .position(|t| !matches!(t.kind, Kind::Ws | Kind::Newline))?;
    let rest = lexed.tokens.get(first..)?;
    let end = rest
        .iter()
        .position(|t| t.kind == Kind::Newline)
        .unwrap_or(rest.len());
    let toks = toks_of(lexed, file, rest.get(..end)?);
    let texts: Vec<&str> = toks.iter().map(|t| &*t.text).collect();
    let name = match texts.as_slice() {
        ["#", "ifndef", name, ..] => name,
        ["#", "if", "!", "defined", "(", name, ")"] | ["#", "if", "!", "defined", name] => name,
        _ => return None,
    };
    Some(name.to_string())
}
