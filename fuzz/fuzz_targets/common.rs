//! What the fuzz targets share: the fixed helper files an input may `import`/`#include`,
//! the per-process directory they live in, and the checks every run must pass.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use comidl::diag::Diagnostic;
use comidl::source::SourceMap;

/// The helper files, by name. The stubs named like Wine's system IDL files let the Wine
/// seeds get past their imports.
pub const HELPERS: &[(&str, &str)] = &[
    ("base.idl", include_str!("../helpers/base.idl")),
    ("inc.h", include_str!("../helpers/inc.h")),
    ("unknwn.idl", include_str!("../helpers/unknwn.idl")),
    ("oaidl.idl", include_str!("../helpers/oaidl.idl")),
    ("objidl.idl", include_str!("../helpers/objidl.idl")),
    ("ocidl.idl", include_str!("../helpers/ocidl.idl")),
    ("wtypes.idl", include_str!("../helpers/wtypes.idl")),
    (
        "inspectable.idl",
        include_str!("../helpers/inspectable.idl"),
    ),
    ("oleidl.idl", include_str!("../helpers/oleidl.idl")),
    ("propidl.idl", include_str!("../helpers/propidl.idl")),
];

/// `$TMP/comidl-fuzz-<pid>`, created with the helper files on first use.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("comidl-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create fuzz temp dir");
        for (name, text) in HELPERS {
            std::fs::write(dir.join(name), text).expect("write helper file");
        }
        dir
    })
}

pub fn options(dir: &Path) -> comidl::Options {
    comidl::Options {
        preprocess: comidl::preprocess::Options {
            include_dirs: vec![dir.to_path_buf()],
            ..Default::default()
        },
    }
}

/// Runs `f` on the main thread or, when `COMIDL_FUZZ_STACK_KB` is set, on a thread with
/// that much stack. A small stack makes unbounded recursion show up with inputs short
/// enough for the fuzzer to build (a chain 5000 deep needs 8 MiB; 500 deep, a tenth). The
/// front end's own nesting limits need some room: 1024 KiB is about the least that does.
pub fn with_stack(f: impl FnOnce() + Send) {
    static STACK: OnceLock<Option<usize>> = OnceLock::new();
    let stack = *STACK.get_or_init(|| {
        std::env::var("COMIDL_FUZZ_STACK_KB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map(|kb| kb * 1024)
    });
    match stack {
        None => f(),
        Some(size) => std::thread::scope(|s| {
            let handle = std::thread::Builder::new()
                .stack_size(size)
                .spawn_scoped(s, f)
                .expect("spawn fuzz thread");
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }),
    }
}

/// Inputs that would make the harness, not the compiler, misbehave: naming device or
/// kernel files (`#include "/proc/kmsg"` blocks forever). Absolute device names are already
/// refused by `search::find_file` (not regular files), but `/proc` and `/sys` files are
/// regular files.
pub fn harness_unsafe(text: &str) -> bool {
    ["/proc", "/sys", "/dev"].iter().any(|p| text.contains(p))
}

/// Rendering must not panic, and every error must say where it is — except the one a
/// missing main file produces, which has nowhere to point.
pub fn check_diagnostics(sources: &SourceMap, main: &Path, diags: &[Diagnostic]) {
    let _ = comidl::diag::render(sources, diags);
    let unreadable_main = format!("cannot read `{}`", main.display());
    for d in diags {
        if !d.is_error() || d.message.starts_with(&unreadable_main) {
            continue;
        }
        let Some(primary) = &d.primary else {
            panic!("error without a location: {d:?}");
        };
        assert!(
            sources.get(primary.span.file).is_some(),
            "error located in an unknown file: {d:?}"
        );
    }
}

/// `syntax::parse` fails with one diagnostic or, since error recovery, with several.
pub trait IntoDiags {
    fn push_into(self, diags: &mut Vec<Diagnostic>);
}

impl IntoDiags for Diagnostic {
    fn push_into(self, diags: &mut Vec<Diagnostic>) {
        diags.push(self);
    }
}

impl IntoDiags for Vec<Diagnostic> {
    fn push_into(self, diags: &mut Vec<Diagnostic>) {
        diags.extend(self);
    }
}
