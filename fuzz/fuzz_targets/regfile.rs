//! The class registry's REGEDIT4 reader: any bytes give a parsed file or a located error,
//! never a panic; an accepted file applies to a tree, and what that tree exports reads
//! back to the same tree.

#![no_main]

use comidl_runtime::registry::{RegFile, Tree};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = match RegFile::parse(data) {
        Ok(file) => file,
        Err(error) => {
            assert!(error.line >= 1 && error.column >= 1, "{error:?}");
            return;
        }
    };
    let mut tree = Tree::new();
    if file.apply(&mut tree).is_err() {
        return;
    }
    let text = tree.export(None);
    let again = Tree::parse(text.as_bytes()).expect("an export reads back");
    assert_eq!(again, tree);
    assert_eq!(again.export(None), text);
});
