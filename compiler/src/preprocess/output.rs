//! Building the output text together with its [`OffsetMap`].

use super::token::{Tok, would_join};
use super::{OffsetMap, Segment};
use crate::source::{FileId, Span};

#[derive(Debug, Default)]
pub(super) struct OutputBuilder {
    text: String,
    segments: Vec<Segment>,
}

impl OutputBuilder {
    /// Appends `text`, a same-length copy of `file`'s bytes from `src_start` (comments
    /// blanked). Adjoining copies of adjoining source merge into one segment.
    pub fn verbatim(&mut self, file: FileId, src_start: usize, text: &str) {
        if text.is_empty() {
            return;
        }
        let out_start = self.text.len();
        self.text.push_str(text);
        let src_end = src_start.saturating_add(text.len());
        if let Some(last) = self.segments.last_mut()
            && last.verbatim
            && last.file == file
            && last.src_end == src_start
            && last.out_start + (last.src_end - last.src_start) == out_start
        {
            last.src_end = src_end;
            return;
        }
        self.segments.push(Segment {
            out_start,
            file,
            src_start,
            src_end,
            verbatim: true,
        });
    }

    /// Appends text that stands for `span` as a whole (a macro expansion, an inserted space).
    pub fn synthetic(&mut self, text: &str, span: Span) {
        if text.is_empty() {
            return;
        }
        let out_start = self.text.len();
        self.text.push_str(text);
        let (src_start, src_end) = (span.start as usize, span.end as usize);
        if let Some(last) = self.segments.last()
            && !last.verbatim
            && last.file == span.file
            && (last.src_start, last.src_end) == (src_start, src_end)
        {
            return;
        }
        self.segments.push(Segment {
            out_start,
            file: span.file,
            src_start,
            src_end,
            verbatim: false,
        });
    }

    /// Appends expansion results. Tokens are separated by a space where the source had one
    /// or where they would otherwise run together into different tokens, including with the
    /// text before them and `next`, the first character of the text that will follow.
    pub fn tokens(&mut self, toks: &[Tok], next: Option<char>, fallback: Span) {
        for (i, t) in toks.iter().enumerate() {
            let first = t.text.chars().next();
            let joins = matches!((self.last_char(), first), (Some(a), Some(b)) if would_join(a, b));
            if joins || (i > 0 && t.space) {
                self.synthetic(" ", t.span);
            }
            self.synthetic(&t.text, t.span);
        }
        let span = toks.last().map_or(fallback, |t| t.span);
        if let (Some(a), Some(b)) = (self.last_char(), next)
            && would_join(a, b)
        {
            self.synthetic(" ", span);
        }
    }

    pub fn last_char(&self) -> Option<char> {
        self.text.chars().next_back()
    }

    pub fn finish(self, fallback: FileId) -> (String, OffsetMap) {
        let map = OffsetMap {
            segments: self.segments,
            fallback: Some(fallback),
        };
        (self.text, map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_adjoining_verbatim_text() {
        let mut out = OutputBuilder::default();
        out.verbatim(FileId(1), 10, "abc");
        out.verbatim(FileId(1), 13, "de");
        out.synthetic("XY", Span::new(FileId(1), 15, 20));
        out.verbatim(FileId(1), 20, "f");
        let (text, map) = out.finish(FileId(1));
        assert_eq!(text, "abcdeXYf");
        assert_eq!(map.segments.len(), 3);
        assert_eq!(map.span(1, 4), Span::new(FileId(1), 11, 14));
        assert_eq!(map.span(5, 6), Span::new(FileId(1), 15, 20));
        assert_eq!(map.span(0, 8), Span::new(FileId(1), 10, 21));
        assert_eq!(map.span(8, 8), Span::new(FileId(1), 21, 21));
    }

    #[test]
    fn empty_output_maps_to_the_main_file() {
        let (_, map) = OutputBuilder::default().finish(FileId(3));
        assert_eq!(map.span(0, 5).file, FileId(3));
    }
}
