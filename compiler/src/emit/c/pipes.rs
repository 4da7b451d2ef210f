//! `typedef pipe T NAME;` → MIDL's pipe control record:
//!
//! ```c
//! typedef struct pipe_NAME {
//!     void (COMIDL_STDCALL *pull)(char *state, T *buf, unsigned int esize, unsigned int *ecount);
//!     void (COMIDL_STDCALL *push)(char *state, T *buf, unsigned int ecount);
//!     void (COMIDL_STDCALL *alloc)(char *state, unsigned int bsize, T **buf, unsigned int *bcount);
//!     char *state;
//! } NAME;
//! ```
//!
//! The member order, names and types are MIDL's (its counts are IDL `unsigned long`, 32
//! bits, so C `unsigned int` here). The callbacks are `__RPC_USER` in MIDL's header, which
//! is `__stdcall` on 32-bit Windows and the C convention everywhere else.

use super::Gen;
use super::types::Place;
use crate::ir::{Item, ItemId, PointerKind, Type};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, element: &Type) {
    let name = g.names.get(id).to_string();
    if name.is_empty() {
        return;
    }
    let pointer = |t: Type| Type::Pointer {
        pointee: Box::new(t),
        kind: PointerKind::Unspecified,
        is_const: false,
    };
    let buf = g.declare(&pointer(element.clone()), "buf", Place::Other);
    let out_buf = g.declare(&pointer(pointer(element.clone())), "buf", Place::Other);
    let cc = "COMIDL_STDCALL";
    g.line(&format!("typedef struct pipe_{} {{", item.name));
    g.line(&format!(
        "    void ({cc} *pull)(char *state, {buf}, unsigned int esize, unsigned int *ecount);"
    ));
    g.line(&format!(
        "    void ({cc} *push)(char *state, {buf}, unsigned int ecount);"
    ));
    g.line(&format!(
        "    void ({cc} *alloc)(char *state, unsigned int bsize, {out_buf}, unsigned int *bcount);"
    ));
    g.line("    char *state;");
    g.line(&format!("}} {name};"));
}
