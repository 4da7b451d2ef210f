//! The front end as one call: read, preprocess, parse, analyse.

use std::path::Path;

use crate::diag::Diagnostic;
use crate::ir::Model;
use crate::preprocess;
use crate::sema;
use crate::source::SourceMap;

/// What a compilation is told from the command line or build script.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub preprocess: preprocess::Options,
}

/// The result of running the front end: the files read, the model, and every diagnostic.
/// The model is complete only when there are no errors.
#[derive(Debug)]
pub struct Outcome {
    pub sources: SourceMap,
    pub model: Model,
    pub diagnostics: Vec<Diagnostic>,
}

impl Outcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// One line for `check -v`.
    pub fn summary(&self) -> String {
        let main = self.model.files.first();
        let declared = main
            .map(|f| {
                self.model
                    .items_in(f.file)
                    .filter(|(_, it)| !it.name.is_empty())
                    .count()
            })
            .unwrap_or(0);
        let mut read: Vec<_> = self
            .model
            .files
            .iter()
            .flat_map(|f| f.read.iter())
            .collect();
        read.sort();
        read.dedup();
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        format!(
            "ok: {} in {} ({} imported, {} read)",
            plural(declared, "declaration"),
            main.map(|f| f.path.display().to_string())
                .unwrap_or_default(),
            plural(self.model.files.len().saturating_sub(1), "IDL file"),
            plural(read.len(), "file")
        )
    }
}

/// One file's preprocessed text, as `comidl -E` prints it (imports are not followed: they
/// are IDL, not preprocessor, statements).
#[derive(Debug)]
pub struct Preprocessed {
    pub sources: SourceMap,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Preprocessed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Runs only the preprocessor over `path`.
pub fn preprocess_file(path: &Path, options: &Options) -> Preprocessed {
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();
    let text = match sources.load(path) {
        Ok(main) => {
            preprocess::preprocess(&mut sources, main, &options.preprocess, &mut diagnostics).text
        }
        Err(e) => {
            diagnostics.push(Diagnostic::error(format!(
                "cannot read `{}`: {e}",
                path.display()
            )));
            String::new()
        }
    };
    Preprocessed {
        sources,
        text,
        diagnostics,
    }
}

/// Checks one IDL file and everything it imports.
pub fn check(path: &Path, options: &Options) -> Outcome {
    let mut sources = SourceMap::new();
    let analysis = sema::analyze(&mut sources, path, &options.preprocess);
    Outcome {
        sources,
        model: analysis.model,
        diagnostics: analysis.diagnostics,
    }
}
