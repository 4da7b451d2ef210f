//! The front end as one call: read, preprocess, parse, analyse.

use std::path::Path;

use crate::diag::Diagnostic;
use crate::preprocess;
use crate::source::SourceMap;
use crate::syntax;

/// What a compilation is told from the command line or build script.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub preprocess: preprocess::Options,
}

/// The result of running the front end: the files read and every diagnostic.
#[derive(Debug)]
pub struct Outcome {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    items: usize,
}

impl Outcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn summary(&self) -> String {
        format!(
            "{} files read, {} top-level items",
            self.sources.len(),
            self.items
        )
    }
}

/// Checks one IDL file and everything it imports.
pub fn check(path: &Path, options: &Options) -> Outcome {
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();
    let mut items = 0;
    match sources.load(path) {
        Err(e) => diagnostics.push(Diagnostic::error(format!(
            "cannot read `{}`: {e}",
            path.display()
        ))),
        Ok(main) => {
            let out =
                preprocess::preprocess(&mut sources, main, &options.preprocess, &mut diagnostics);
            match syntax::parse(&out.text, &out.map) {
                Ok(file) => items = file.items.len(),
                Err(d) => diagnostics.push(d),
            }
        }
    }
    Outcome {
        sources,
        diagnostics,
        items,
    }
}
