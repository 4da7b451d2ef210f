//! What is defined before the first line of the main file.
//!
//! IDL headers pick their path by asking which compiler reads them: Wine's headers test
//! `__WIDL__`, the Windows SDK's test `__midl` (often both: `#if defined(__midl) ||
//! defined(__WIDL__)`). We define the union, so each takes its IDL-compiler path. Nothing
//! C-compiler specific (`__GNUC__`, `_MSC_VER`, `__STDC__`, `_M_AMD64`) is defined: those would
//! steer headers into their C declarations, which are not IDL.
//!
//! The macros, and where their values come from:
//! - `__WIDL__` = `0x80000`: widl's `add_widl_version_define()` (Wine `tools/widl/widl.c`)
//!   encodes the package version as `major << 16 | minor << 8 | build`; Wine 8.0 gives
//!   `0x80000`, which running widl 8.0 with `-E` confirms.
//! - `_WIN32` = `1`: widl.c defines it unconditionally (`wpp_add_cmdline_define("_WIN32=1")`);
//!   MIDL's preprocessor (the C compiler's) defines it for every Windows target.
//! - `_WIN64` = `1`: our default target is 64-bit, as with `midl /env x64`, whose C
//!   preprocessor defines it. widl 8.0 itself does not (not even with `-m64`; checked with
//!   `-E`), but Wine's IDL never tests it outside `cpp_quote`, while the SDK's `basetsd.h`
//!   picks its 64-bit declarations by it. `-U _WIN64` gives a 32-bit view.
//! - `__midl` = `801`: MIDL defines `__midl` as `major * 100 + minor` of its version
//!   (learn.microsoft.com, "Using the __midl Predefined Constant": "MIDL ver. 6.0.x has
//!   __midl defined as 600"); the SDKs' MIDL is 8.01, so 801, which is also what Mozilla's
//!   `build/midl.py` passes when it emulates MIDL's preprocessing with another compiler.
//! - `__FILE__` and `__LINE__` (built in, see `engine`). widl also has `__DATE__` and
//!   `__TIME__`; they are left out so that output does not depend on the clock.

use super::Options;

/// The predefined object-like macros and their values.
pub(super) const PREDEFINED: [(&str, &str); 4] = [
    ("__WIDL__", "0x80000"),
    ("_WIN32", "1"),
    ("_WIN64", "1"),
    ("__midl", "801"),
];

/// The text of the `<built-in>` pseudo-file: the predefined macros, then `-D` and `-U` in
/// order, as directives. Preprocessing it like a file gives command-line mistakes a place
/// to be reported at.
pub(super) fn builtin_text(options: &Options) -> String {
    let mut text = String::new();
    for (name, value) in PREDEFINED {
        text.push_str(&format!("#define {name} {value}\n"));
    }
    // A `-D NAME=VALUE` is one line, whatever the value holds.
    let one_line = |s: &str| s.replace(['\n', '\r'], " ");
    for (name, value) in &options.defines {
        let value = value.as_deref().map_or("1".to_string(), one_line);
        text.push_str(&format!("#define {} {value}\n", one_line(name)));
    }
    for name in &options.undefines {
        text.push_str(&format!("#undef {}\n", one_line(name)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_defines_follow_the_predefined_ones() {
        let options = Options {
            defines: vec![("A".into(), None), ("B".into(), Some("x\ny".into()))],
            undefines: vec!["_WIN64".into()],
            ..Options::default()
        };
        let text = builtin_text(&options);
        assert!(text.starts_with("#define __WIDL__ 0x80000\n"));
        assert!(text.ends_with("#define A 1\n#define B x y\n#undef _WIN64\n"));
    }
}
