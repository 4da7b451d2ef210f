//! Loads the main file and, transitively, everything it imports. Each file is read,
//! preprocessed and parsed once, however many files import it; import cycles are harmless.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::preprocess::{self, Options};
use crate::search::find_file;
use crate::source::{FileId, SourceMap};
use crate::syntax::{self, ast};

/// One parsed IDL file.
pub struct Parsed {
    pub file: FileId,
    pub path: PathBuf,
    /// `None` when the file did not parse (its error is already reported).
    pub ast: Option<ast::File>,
    /// Indices (into the loader's list) of the files it imports.
    pub imports: Vec<usize>,
    /// Every file the preprocessor read for it.
    pub read: Vec<FileId>,
}

pub struct Loader<'a> {
    pub sources: &'a mut SourceMap,
    pub options: &'a Options,
    pub diags: &'a mut Vec<Diagnostic>,
    pub parsed: Vec<Parsed>,
    by_path: HashMap<PathBuf, usize>,
}

impl<'a> Loader<'a> {
    pub fn new(
        sources: &'a mut SourceMap,
        options: &'a Options,
        diags: &'a mut Vec<Diagnostic>,
    ) -> Loader<'a> {
        Loader {
            sources,
            options,
            diags,
            parsed: Vec::new(),
            by_path: HashMap::new(),
        }
    }

    /// Loads the main file; `None` (with a diagnostic) when it cannot be read.
    pub fn load_main(&mut self, path: &Path) -> Option<usize> {
        match self.sources.load(path) {
            Ok(id) => Some(self.load(path.to_path_buf(), id)),
            Err(e) => {
                self.diags.push(Diagnostic::error(format!(
                    "cannot read `{}`: {e}",
                    path.display()
                )));
                None
            }
        }
    }

    fn load(&mut self, path: PathBuf, file: FileId) -> usize {
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if let Some(&index) = self.by_path.get(&key) {
            return index;
        }
        let index = self.parsed.len();
        self.by_path.insert(key, index);
        let out = preprocess::preprocess(self.sources, file, self.options, self.diags);
        let ast = match syntax::parse(&out.text, &out.map) {
            Ok(ast) => Some(ast),
            Err(errors) => {
                self.diags.extend(errors);
                None
            }
        };
        self.parsed.push(Parsed {
            file,
            path: path.clone(),
            ast: None,
            imports: Vec::new(),
            read: out.files,
        });
        let dir = path.parent().map(Path::to_path_buf);
        let mut imports = Vec::new();
        if let Some(ast) = &ast {
            for (name, span) in import_names(&ast.items) {
                let found = find_file(&name, dir.as_deref(), &self.options.include_dirs);
                let Some(found) = found else {
                    self.diags.push(
                        Diagnostic::error(format!("imported file `{name}` not found")).at_with(
                            span,
                            "not found in the importing file's directory or any -I directory",
                        ),
                    );
                    continue;
                };
                match self.sources.load(&found) {
                    Ok(id) => imports.push(self.load(found, id)),
                    Err(e) => self.diags.push(
                        Diagnostic::error(format!("cannot read `{}`: {e}", found.display()))
                            .at(span),
                    ),
                }
            }
        }
        if let Some(p) = self.parsed.get_mut(index) {
            p.ast = ast;
            p.imports = imports;
        }
        index
    }
}

/// Every `import "x.idl"` in a file, at any depth (imports may sit inside a library or an
/// interface body).
fn import_names(items: &[ast::Item]) -> Vec<(String, crate::source::Span)> {
    let mut out = Vec::new();
    for item in items {
        match &item.kind {
            ast::ItemKind::Import(names) => {
                out.extend(names.iter().map(|n| (n.value.clone(), n.span)));
            }
            ast::ItemKind::Library(c) | ast::ItemKind::Module(c) => {
                out.extend(import_names(&c.items))
            }
            ast::ItemKind::Namespace(ns) => out.extend(import_names(&ns.items)),
            ast::ItemKind::Interface(ast::Interface { body: Some(b), .. }) => {
                out.extend(import_names(&b.members));
            }
            _ => {}
        }
    }
    out
}
