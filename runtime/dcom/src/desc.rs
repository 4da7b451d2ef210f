//! ORPC's NDR types (MS-DCOM 2.2.11, 2.2.13, 2.2.14) as the `ndr` engine describes any
//! type: C layouts and static descriptions. ORPCTHIS is the implicit first `[in]`
//! parameter of every ORPC request and ORPCTHAT the implicit first `[out]` of every
//! response (2.2.13); a proxy or stub built from descriptions puts these ahead of the
//! method's own parameters, so they are marshalled with the same rules (alignment from
//! the start of the stub data, referent ids numbered across the whole message).
//!
//! The IDL (MS-DCOM 2.2.13.1 to 2.2.13.4, 2.2.14; pointer_default(unique)):
//! ```text
//! typedef struct { unsigned short MajorVersion, MinorVersion; } COMVERSION;
//! typedef struct { GUID id; unsigned long size;
//!                  [size_is((size+7)&~7)] byte data[]; } ORPC_EXTENT;
//! typedef struct { unsigned long size; unsigned long reserved;
//!                  [size_is((size+1)&~1,), unique] ORPC_EXTENT **extent; } ORPC_EXTENT_ARRAY;
//! typedef struct { COMVERSION version; unsigned long flags; unsigned long reserved1;
//!                  CID cid; [unique] ORPC_EXTENT_ARRAY *extensions; } ORPCTHIS;
//! typedef struct { unsigned long flags; [unique] ORPC_EXTENT_ARRAY *extensions; } ORPCTHAT;
//! typedef struct { unsigned long ulCntData; [size_is(ulCntData)] byte abData[]; } MInterfacePointer;
//! ```
//! The extent array's inner pointers are unique (the pointer default); its count is
//! `size` rounded up to even, the slots past the `size` extents NULL.

#![allow(non_camel_case_types, non_snake_case)]

use std::mem::{align_of, offset_of, size_of};

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{
    Array, Base, BinOp, Count, Expr, Field, Pointer, PointerKind, Struct, Type,
};

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct COMVERSION {
    pub MajorVersion: u16,
    pub MinorVersion: u16,
}

/// A conformant structure: `data` is the start of `(size+7)&~7` bytes.
#[repr(C)]
pub struct ORPC_EXTENT {
    pub id: GUID,
    pub size: u32,
    pub data: [u8; 0],
}

#[repr(C)]
pub struct ORPC_EXTENT_ARRAY {
    pub size: u32,
    pub reserved: u32,
    pub extent: *mut *mut ORPC_EXTENT,
}

#[repr(C)]
pub struct ORPCTHIS {
    pub version: COMVERSION,
    pub flags: u32,
    pub reserved1: u32,
    pub cid: GUID,
    pub extensions: *mut ORPC_EXTENT_ARRAY,
}

#[repr(C)]
pub struct ORPCTHAT {
    pub flags: u32,
    pub extensions: *mut ORPC_EXTENT_ARRAY,
}

/// A conformant structure: `abData` is the start of `ulCntData` bytes.
#[repr(C)]
pub struct MInterfacePointer {
    pub ulCntData: u32,
    pub abData: [u8; 0],
}

const fn base(name: &'static str, offset: usize, b: Base) -> Field {
    Field {
        name,
        offset,
        ty: Type::Base(b),
    }
}

static GUID_DATA4: Array = Array {
    element: Type::Base(Base::Byte),
    stride: 1,
    count: Count::Fixed(8),
    varying: None,
};

/// GUID (MS-DTYP 2.3.4): a structure of 4-byte alignment on the wire.
pub static GUID_DESC: Struct = Struct {
    name: "GUID",
    size: size_of::<GUID>(),
    align: align_of::<GUID>(),
    fields: &[
        base("Data1", offset_of!(GUID, data1), Base::ULong),
        base("Data2", offset_of!(GUID, data2), Base::UShort),
        base("Data3", offset_of!(GUID, data3), Base::UShort),
        Field {
            name: "Data4",
            offset: offset_of!(GUID, data4),
            ty: Type::Array(&GUID_DATA4),
        },
    ],
};

pub static COMVERSION_DESC: Struct = Struct {
    name: "COMVERSION",
    size: size_of::<COMVERSION>(),
    align: align_of::<COMVERSION>(),
    fields: &[
        base(
            "MajorVersion",
            offset_of!(COMVERSION, MajorVersion),
            Base::UShort,
        ),
        base(
            "MinorVersion",
            offset_of!(COMVERSION, MinorVersion),
            Base::UShort,
        ),
    ],
};

/// `(size + 7) & ~7`, `size` being the ULONG at `offset` of the enclosing structure.
static EXTENT_SIZE: Expr = Expr::Field {
    offset: offset_of!(ORPC_EXTENT, size) as u32,
    derefs: 0,
    ty: Base::ULong,
};
static EXTENT_SIZE_PLUS_7: Expr = Expr::Binary(BinOp::Add, &EXTENT_SIZE, &Expr::Const(7));
static EXTENT_ROUNDED: Expr = Expr::Binary(BinOp::And, &EXTENT_SIZE_PLUS_7, &Expr::Const(!7));

static EXTENT_DATA: Array = Array {
    element: Type::Base(Base::Byte),
    stride: 1,
    count: Count::Conformant(&EXTENT_ROUNDED),
    varying: None,
};

pub static ORPC_EXTENT_DESC: Struct = Struct {
    name: "ORPC_EXTENT",
    size: size_of::<ORPC_EXTENT>(),
    align: align_of::<ORPC_EXTENT>(),
    fields: &[
        Field {
            name: "id",
            offset: offset_of!(ORPC_EXTENT, id),
            ty: Type::Struct(&GUID_DESC),
        },
        base("size", offset_of!(ORPC_EXTENT, size), Base::ULong),
        Field {
            name: "data",
            offset: offset_of!(ORPC_EXTENT, data),
            ty: Type::Array(&EXTENT_DATA),
        },
    ],
};

static P_EXTENT: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::Struct(&ORPC_EXTENT_DESC),
};

/// `(size + 1) & ~1` over ORPC_EXTENT_ARRAY's `size`.
static ARRAY_SIZE: Expr = Expr::Field {
    offset: offset_of!(ORPC_EXTENT_ARRAY, size) as u32,
    derefs: 0,
    ty: Base::ULong,
};
static ARRAY_SIZE_PLUS_1: Expr = Expr::Binary(BinOp::Add, &ARRAY_SIZE, &Expr::Const(1));
static ARRAY_ROUNDED: Expr = Expr::Binary(BinOp::And, &ARRAY_SIZE_PLUS_1, &Expr::Const(!1));

static EXTENT_POINTERS: Array = Array {
    element: Type::Pointer(&P_EXTENT),
    stride: size_of::<*mut ORPC_EXTENT>(),
    count: Count::Conformant(&ARRAY_ROUNDED),
    varying: None,
};

static P_EXTENT_POINTERS: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::Array(&EXTENT_POINTERS),
};

pub static ORPC_EXTENT_ARRAY_DESC: Struct = Struct {
    name: "ORPC_EXTENT_ARRAY",
    size: size_of::<ORPC_EXTENT_ARRAY>(),
    align: align_of::<ORPC_EXTENT_ARRAY>(),
    fields: &[
        base("size", offset_of!(ORPC_EXTENT_ARRAY, size), Base::ULong),
        base(
            "reserved",
            offset_of!(ORPC_EXTENT_ARRAY, reserved),
            Base::ULong,
        ),
        Field {
            name: "extent",
            offset: offset_of!(ORPC_EXTENT_ARRAY, extent),
            ty: Type::Pointer(&P_EXTENT_POINTERS),
        },
    ],
};

static P_EXTENT_ARRAY: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::Struct(&ORPC_EXTENT_ARRAY_DESC),
};

pub static ORPCTHIS_DESC: Struct = Struct {
    name: "ORPCTHIS",
    size: size_of::<ORPCTHIS>(),
    align: align_of::<ORPCTHIS>(),
    fields: &[
        Field {
            name: "version",
            offset: offset_of!(ORPCTHIS, version),
            ty: Type::Struct(&COMVERSION_DESC),
        },
        base("flags", offset_of!(ORPCTHIS, flags), Base::ULong),
        base("reserved1", offset_of!(ORPCTHIS, reserved1), Base::ULong),
        Field {
            name: "cid",
            offset: offset_of!(ORPCTHIS, cid),
            ty: Type::Struct(&GUID_DESC),
        },
        Field {
            name: "extensions",
            offset: offset_of!(ORPCTHIS, extensions),
            ty: Type::Pointer(&P_EXTENT_ARRAY),
        },
    ],
};

pub static ORPCTHAT_DESC: Struct = Struct {
    name: "ORPCTHAT",
    size: size_of::<ORPCTHAT>(),
    align: align_of::<ORPCTHAT>(),
    fields: &[
        base("flags", offset_of!(ORPCTHAT, flags), Base::ULong),
        Field {
            name: "extensions",
            offset: offset_of!(ORPCTHAT, extensions),
            ty: Type::Pointer(&P_EXTENT_ARRAY),
        },
    ],
};

static CNT_DATA: Expr = Expr::Field {
    offset: offset_of!(MInterfacePointer, ulCntData) as u32,
    derefs: 0,
    ty: Base::ULong,
};

static AB_DATA: Array = Array {
    element: Type::Base(Base::Byte),
    stride: 1,
    count: Count::Conformant(&CNT_DATA),
    varying: None,
};

pub static MINTERFACEPOINTER_DESC: Struct = Struct {
    name: "MInterfacePointer",
    size: size_of::<MInterfacePointer>(),
    align: align_of::<MInterfacePointer>(),
    fields: &[
        base(
            "ulCntData",
            offset_of!(MInterfacePointer, ulCntData),
            Base::ULong,
        ),
        Field {
            name: "abData",
            offset: offset_of!(MInterfacePointer, abData),
            ty: Type::Array(&AB_DATA),
        },
    ],
};

/// ORPCTHIS as a type: a request's implicit first parameter is `[in, ref] ORPCTHIS *`,
/// whose wire form is this structure's.
pub const ORPCTHIS_TYPE: Type = Type::Struct(&ORPCTHIS_DESC);
/// ORPCTHAT as a type (`[out, ref] ORPCTHAT *` on the wire).
pub const ORPCTHAT_TYPE: Type = Type::Struct(&ORPCTHAT_DESC);
pub const MINTERFACEPOINTER_TYPE: Type = Type::Struct(&MINTERFACEPOINTER_DESC);
