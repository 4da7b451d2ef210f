//! Diagnostics as values.
//!
//! The library never prints: every stage pushes [`Diagnostic`]s, and a driver (the CLI,
//! comidl-build) renders them with [`render`] in the rustc style (`error: message`,
//! `--> file:line:col`, the source line with a caret under the span, notes).

use std::fmt;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, termcolor};

use crate::source::{FileId, SourceMap, Span};

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// A span with a message shown beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; a diagnostic without one (a missing main file) has no snippet.
    pub primary: Option<Label>,
    /// Related places, such as "first declared here".
    pub secondary: Vec<Label>,
    /// Free-standing `= note:` lines.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, message)
    }

    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, message)
    }

    fn new(severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Sets the primary location.
    pub fn at(mut self, span: Span) -> Diagnostic {
        self.primary = Some(Label {
            span,
            message: String::new(),
        });
        self
    }

    /// Sets the primary location with a message under the caret.
    pub fn at_with(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a secondary location ("declared here").
    pub fn also(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Errors returned by a compilation: every diagnostic it produced (warnings included), in the
/// order found. Display needs the source map, so use [`render`] for text.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }
}

/// Adapts [`SourceMap`] to codespan-reporting's view of files.
struct Adapter<'a>(&'a SourceMap);

impl<'a> Files<'a> for Adapter<'a> {
    type FileId = FileId;
    type Name = String;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<String, FilesError> {
        self.0
            .get(id)
            .map(|f| f.path.display().to_string())
            .ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.0
            .get(id)
            .map(|f| f.text.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let f = self.0.get(id).ok_or(FilesError::FileMissing)?;
        Ok(f.line_index(byte_index))
    }

    fn line_range(
        &'a self,
        id: FileId,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, FilesError> {
        let f = self.0.get(id).ok_or(FilesError::FileMissing)?;
        let starts = f.line_starts();
        let start = *starts.get(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: starts.len().saturating_sub(1),
        })?;
        let end = starts.get(line_index + 1).copied().unwrap_or(f.text.len());
        Ok(start..end)
    }
}

/// Clamps a span to its file and to character boundaries so rendering cannot fail.
fn clamp(map: &SourceMap, span: Span) -> std::ops::Range<usize> {
    let text = map.text(span.file);
    let mut start = (span.start as usize).min(text.len());
    let mut end = (span.end as usize).min(text.len()).max(start);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

fn to_codespan(map: &SourceMap, d: &Diagnostic) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Note => cs::Severity::Note,
    };
    let mut labels = Vec::new();
    if let Some(p) = &d.primary {
        labels.push(
            cs::Label::primary(p.span.file, clamp(map, p.span)).with_message(p.message.clone()),
        );
    }
    for s in &d.secondary {
        labels.push(
            cs::Label::secondary(s.span.file, clamp(map, s.span)).with_message(s.message.clone()),
        );
    }
    cs::Diagnostic::new(severity)
        .with_message(d.message.clone())
        .with_labels(labels)
        .with_notes(d.notes.iter().map(|n| format!("note: {n}")).collect())
}

/// Renders diagnostics as rustc-style text (no colour).
pub fn render(map: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut buffer = termcolor::Buffer::no_color();
    write_to(map, diagnostics, &mut buffer);
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

/// Renders diagnostics to a terminal-capable writer (colour when it supports it).
pub fn write_to(map: &SourceMap, diagnostics: &[Diagnostic], out: &mut dyn term::WriteStyle) {
    let config = term::Config {
        chars: term::Chars::ascii(),
        ..term::Config::default()
    };
    let files = Adapter(map);
    for d in diagnostics {
        // A rendering failure (an I/O error on stderr) has nowhere better to go.
        let _ = term::emit_to_write_style(out, &config, &files, &to_codespan(map, d));
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_and_caret() {
        let mut map = SourceMap::new();
        let f = map.add("x.idl", "interface IFoo {\n  bogus x;\n}\n");
        let d = Diagnostic::error("unknown type `bogus`").at(Span::new(f, 19, 24));
        let text = render(&map, &[d]);
        assert!(text.contains("error: unknown type `bogus`"), "{text}");
        assert!(text.contains("x.idl:2:3"), "{text}");
        assert!(text.contains("^^^^^"), "{text}");
    }

    #[test]
    fn out_of_range_span_still_renders() {
        let mut map = SourceMap::new();
        let f = map.add("x.idl", "abc");
        let d = Diagnostic::error("late").at(Span::new(f, 10, 20));
        assert!(render(&map, &[d]).contains("error: late"));
    }
}
