//! The class registry: where COM finds the server of a class, the class
//! behind a ProgID, and the marshaller of an interface.
//!
//! The registry is a tree of keys below one root, the equivalent of
//! `HKEY_CLASSES_ROOT`. Each key has named values (strings or 32-bit
//! numbers; the empty name is the key's default value) and subkeys. Names
//! are matched without regard to ASCII case but keep their spelling.
//!
//! On disk the registry is two REGEDIT4 text files: a machine-wide layer and
//! a per-user layer. Reading merges them — every key of either layer, with
//! the user layer's data winning for values both hold — as Windows merges
//! `HKEY_LOCAL_MACHINE\Software\Classes` and `HKEY_CURRENT_USER\Software\
//! Classes`. Writes go to one layer, under a file lock, and replace the file
//! atomically, so concurrent writers lose nothing and a crash leaves either
//! the old or the new file.
//!
//! - [`Tree`], [`Key`], [`Value`]: the key tree in memory.
//! - [`RegFile`], [`parse`], [`format()`]: REGEDIT4 text.
//! - [`Registry`], [`Scope`], [`Snapshot`]: the files, locking and layers.
//! - [`register_class`], [`register_interface`] and the lookups on
//!   [`Tree`] ([`Tree::inproc_server`], [`Tree::clsid_from_progid`], ...):
//!   the keys COM uses.
//! - [`RegistryError`]: every failure, with [`RegistryError::hresult`].
//!
//! ```
//! use comidl_runtime_com::registry::{ClassEntry, Registry, Scope, register_class};
//! use comidl_runtime_com::guid;
//!
//! let dir = std::env::temp_dir().join(format!("comidl-doc-{}", std::process::id()));
//! let registry = Registry::in_dir(&dir);
//! let clsid = guid!("{1F2E3D4C-5B6A-4978-8695-A4B3C2D1E0F0}");
//! registry.update(Scope::User, |tree| {
//!     register_class(tree, &ClassEntry {
//!         clsid,
//!         name: Some("Sample".into()),
//!         inproc_server: Some("/opt/sample/libsample.so".into()),
//!         threading_model: Some("Both".into()),
//!         progid: Some("Sample.Thing.1".into()),
//!         vi_progid: Some("Sample.Thing".into()),
//!         ..ClassEntry::default()
//!     })
//! })?;
//! let view = registry.snapshot()?;
//! assert_eq!(view.clsid_from_progid("sample.thing")?, clsid);
//! assert_eq!(view.inproc_server(&clsid).unwrap().path, "/opt/sample/libsample.so");
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), comidl_runtime_com::registry::RegistryError>(())
//! ```
//!
//! Layer: com. Uses the other parts of its module and the root items of the layers below (status codes, GUIDs, interface pointers).

mod classes;
mod error;
mod regfile;
mod store;
mod tree;

pub use classes::{
    ClassEntry, InprocServer, InterfaceEntry, MAX_CURVER_HOPS, MAX_PROGID, check_progid, clsid_key,
    interface_key, register_class, register_interface, threading_model, unregister_class,
    unregister_interface,
};
pub use error::{IoAction, RegistryError};
pub use regfile::{Operation, RegFile, RegParseError, format, parse};
#[cfg(feature = "typelib")]
pub(crate) use store::write_atomically;
pub use store::{MACHINE_FILE, REGISTRY_ENV, Registry, Scope, Snapshot, USER_FILE};
pub use tree::{Key, MAX_DEPTH, MAX_KEY_NAME, Tree, Value};
