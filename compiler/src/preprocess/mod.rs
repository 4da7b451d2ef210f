//! The C preprocessor as MIDL and widl use it.
//!
//! Why not a crate: `rucc-pp` was evaluated and rejected. Its API is declared unstable (a
//! "tier 3" component of a C compiler), it drags in that compiler's crates and target
//! descriptions together with GCC's predefined macro set (`__GNUC__` and friends, which IDL
//! input must not see, since headers would then take their C-compiler paths), and it yields
//! C tokens rather than text with a byte-exact map back to the original files, which our pest
//! grammar and our diagnostics both need. The preprocessor IDL needs is small enough to own.
//!
//! Layout, one job per file:
//! - `lexer`: preprocessing tokens of a file, and its copy with comments blanked out;
//! - `token`: the token type macro expansion works on (spelling, hide set, span);
//! - `macros`: `#define` parsing and the macro table; `predefined`: what is defined
//!   before the first line;
//! - `expand`: macro expansion (arguments, `#`, `##`, rescanning);
//! - `expr`: `#if` expressions;
//! - `output`: the output text and its [`OffsetMap`];
//! - `engine`: reading files line by line, text lines, `#include`;
//! - `directive`: directive lines and conditional groups.

mod directive;
mod engine;
mod expand;
mod expr;

pub(crate) use expr::char_units;
mod lexer;
mod macros;
mod output;
mod predefined;
mod token;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::diag::Diagnostic;
use crate::source::{FileId, SourceMap, Span};

/// Preprocessor settings from the command line / build script.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-I` directories, searched in order.
    pub include_dirs: Vec<PathBuf>,
    /// `-D NAME[=VALUE]`, in command-line order (`None` means `1`).
    pub defines: Vec<(String, Option<String>)>,
    /// `-U NAME`, applied after the predefined macros and `defines`.
    pub undefines: Vec<String>,
}

/// Maps byte offsets of the preprocessed text back to the original files.
#[derive(Clone, Debug, Default)]
pub struct OffsetMap {
    segments: Vec<Segment>,
    /// Where offsets point when the output is empty (the main file).
    fallback: Option<FileId>,
}

/// One stretch of output. A verbatim segment is a copy of `src_start..src_end` (same length,
/// comments blanked); any other segment was produced by a macro expansion or inserted by the
/// preprocessor, and every byte of it maps to the whole of `src_start..src_end`.
#[derive(Clone, Copy, Debug)]
struct Segment {
    out_start: usize,
    file: FileId,
    src_start: usize,
    src_end: usize,
    verbatim: bool,
}

impl OffsetMap {
    /// The original span of output bytes `start..end`.
    ///
    /// When the range crosses segments (a rule spanning a macro expansion, or an included
    /// file) the result runs from the start of the first to the end of the last, provided
    /// both are in one file and in order; otherwise it is cut at the end of the first segment.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let Some(first) = self.segment(start) else {
            return Span::new(self.fallback.unwrap_or(FileId(0)), 0, 0);
        };
        let (s, first_end) = first.map_start(start);
        if end <= start {
            return Span::new(first.file, s, s);
        }
        let last = self.segment(end - 1).unwrap_or(first);
        let e = last.map_end(end);
        if last.file == first.file && e >= s && last.out_start != first.out_start {
            return Span::new(first.file, s, e);
        }
        Span::new(first.file, s, first.map_end(end).min(first_end).max(s))
    }

    fn segment(&self, offset: usize) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.out_start <= offset);
        self.segments.get(i.checked_sub(1)?)
    }
}

impl Segment {
    /// Source offset of output offset `at` (at or after `out_start`), and the segment's end.
    fn map_start(&self, at: usize) -> (usize, usize) {
        if !self.verbatim {
            return (self.src_start, self.src_end);
        }
        let s = self
            .src_start
            .saturating_add(at.saturating_sub(self.out_start));
        (s.min(self.src_end), self.src_end)
    }

    /// Source offset just past output offset `end - 1`.
    fn map_end(&self, end: usize) -> usize {
        if !self.verbatim {
            return self.src_end;
        }
        self.src_start
            .saturating_add(end.saturating_sub(self.out_start))
            .min(self.src_end)
    }
}

/// The preprocessed text of one translation unit.
#[derive(Debug, Default)]
pub struct Output {
    pub text: String,
    pub map: OffsetMap,
    /// Every file read, the main file first (for `cargo:rerun-if-changed`).
    pub files: Vec<FileId>,
}

/// Preprocesses `main`. Problems are pushed to `diags`; the output is still produced.
pub fn preprocess(
    sources: &mut SourceMap,
    main: FileId,
    options: &Options,
    diags: &mut Vec<Diagnostic>,
) -> Output {
    engine::run(sources, main, options, diags)
}
