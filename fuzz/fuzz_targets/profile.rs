//! The provider profile reader: any bytes give a profile or an error at a line of the file
//! (never a panic), and every provider of an accepted profile has a library, an entry
//! point and the lines they were set on.

#![no_main]

use comidl_runtime::provider::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Profile::parse("/fuzz/profile.ini", data) {
        Ok(profile) => {
            let lines = data.split(|&b| b == b'\n').count();
            for entry in profile.providers() {
                assert!(!entry.library.is_empty() && !entry.entry_point.is_empty());
                for line in [entry.line, entry.library_line, entry.entry_point_line] {
                    assert!(line >= 1 && line <= lines, "{line} of {lines}");
                }
                let _ = entry.library_path();
            }
        }
        Err(error) => {
            assert!(error.line >= 1, "{error}");
            assert!(error.column.is_none_or(|c| c >= 1), "{error}");
            assert!(
                error.to_string().starts_with("/fuzz/profile.ini:"),
                "{error}"
            );
        }
    }
});
