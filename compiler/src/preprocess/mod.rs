//! The C preprocessor as MIDL and widl use it. (Stub: passes text through; being replaced.)

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
}

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
    pub fn span(&self, start: usize, end: usize) -> Span {
        let Some(seg) = self.segment(start) else {
            return Span::new(FileId(0), start, end);
        };
        if !seg.verbatim {
            return Span::new(seg.file, seg.src_start, seg.src_end);
        }
        let s = seg.src_start + (start - seg.out_start);
        let e = seg.src_start + (end.max(start) - seg.out_start);
        Span::new(seg.file, s, e.min(seg.src_end.max(s)))
    }

    fn segment(&self, offset: usize) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.out_start <= offset);
        self.segments.get(i.checked_sub(1)?)
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
    _options: &Options,
    _diags: &mut Vec<Diagnostic>,
) -> Output {
    let text = sources.text(main).to_string();
    let len = text.len();
    Output {
        text,
        map: OffsetMap {
            segments: vec![Segment {
                out_start: 0,
                file: main,
                src_start: 0,
                src_end: len,
                verbatim: true,
            }],
        },
        files: vec![main],
    }
}
