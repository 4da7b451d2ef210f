//! Built-in conversions of the Windows types whose memory form differs from their wire
//! form ([`Type::User`]), as the Windows headers' IDL declares them (`wtypes.idl`): what
//! generated descriptions name for a `[wire_marshal]` type of one of these names.
//!
//! - The remotable handles ([`HWND`], [`HMENU`], [`HACCEL`], [`HBRUSH`], [`HFONT`],
//!   [`HDC`], [`HICON`], [`HRGN`], [`HMONITOR`]): in memory a pointer-sized handle; on the
//!   wire a unique pointer to a `RemotableHandle`, the union of a 32-bit handle value
//!   selected by `fContext`. A wire carries the remote form (`WDT_REMOTE_CALL`); both forms
//!   are accepted. A handle must fit in 32 bits (sign-extended), as Windows' handles do.
//! - [`CLIPFORMAT`]: in memory a `WORD`; on the wire a unique pointer to a
//!   `userCLIPFORMAT`: a predefined format (below 0xC000) as its value (`WDT_INPROC_CALL`,
//!   which is what crosses machines for those), a registered one by its name
//!   (`WDT_REMOTE_CALL`), registered again on arrival
//!   ([`comidl_runtime_core::clipboard`]).
//! - [`HGLOBAL`]: in memory an `HGLOBAL` ([`comidl_runtime_core::global`]); on the wire a
//!   unique pointer to a `userHGLOBAL` whose remote arm is a unique `FLAGGED_BYTE_BLOB`
//!   holding the block's bytes (NULL for a NULL handle). An in-process form arriving is
//!   refused: a handle value means nothing in another process.
//!
//! Not built in: the GDI handles with data of their own (`HBITMAP`, `HPALETTE`,
//! `HENHMETAFILE`, `HMETAFILE`, `HMETAFILEPICT`): the runtime has no GDI objects for them
//! to be made into.

use comidl_runtime_core::alloc::task;
use comidl_runtime_core::clipboard::{clipboard_format_name, register_clipboard_format};
use comidl_runtime_core::{CoTaskMemAlloc, GMEM_MOVEABLE, GlobalAlloc, GlobalFree, GlobalSize};

use crate::desc::*;
use crate::error::{NdrError, Result};

/// `fContext` of the in-process form of a remotable type.
pub const WDT_INPROC_CALL: i64 = 0x4874_6457;
/// `fContext` of the form that crosses processes and machines.
pub const WDT_REMOTE_CALL: i64 = 0x5274_6457;
/// `fContext` of the 64-bit in-process form.
pub const WDT_INPROC64_CALL: i64 = 0x5074_6457;

fn bad(why: &'static str) -> NdrError {
    NdrError::BadStubData { at: 0, why }
}

/// A zeroed task-allocator block of `size` bytes (at least 1).
fn zeroed(size: usize) -> Result<*mut u8> {
    let p = CoTaskMemAlloc(size.max(1)).cast::<u8>();
    if p.is_null() {
        return Err(NdrError::OutOfMemory);
    }
    // SAFETY: a fresh block of at least `size` bytes.
    unsafe { p.write_bytes(0, size.max(1)) };
    Ok(p)
}

/// Reads the wire value's top-level unique pointer.
///
/// # Safety
/// `wire` holds a pointer.
unsafe fn referent(wire: *const u8) -> *const u8 {
    // SAFETY: the caller's.
    unsafe { wire.cast::<*const u8>().read_unaligned() }
}

// ---- Remotable handles ----

static REMOTABLE_HANDLE: Union = Union {
    switch: Base::Long,
    selector: Selector::Encapsulated { arms_offset: 4 },
    size: 8,
    align: 4,
    arms: &[
        Arm {
            name: "hInproc",
            case: WDT_INPROC_CALL,
            ty: Some(Type::Base(Base::Long)),
        },
        Arm {
            name: "hRemote",
            case: WDT_REMOTE_CALL,
            ty: Some(Type::Base(Base::Long)),
        },
    ],
    default: None,
};

static WIRE_HANDLE: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::Union(&REMOTABLE_HANDLE),
};

unsafe fn handle_to_wire(mem: *const u8, wire: *mut u8) -> Result<()> {
    // SAFETY: a presented handle is pointer-sized.
    let h = unsafe { mem.cast::<isize>().read_unaligned() };
    let v = i32::try_from(h).map_err(|_| NdrError::OutOfRange)?;
    let u = zeroed(8)?;
    // SAFETY: `u` has 8 bytes: the discriminant, then the arm; `wire` holds a pointer.
    unsafe {
        u.cast::<i32>().write_unaligned(WDT_REMOTE_CALL as i32);
        u.add(4).cast::<i32>().write_unaligned(v);
        wire.cast::<*mut u8>().write_unaligned(u);
    }
    Ok(())
}

unsafe fn handle_from_wire(wire: *const u8, mem: *mut u8) -> Result<()> {
    // SAFETY: the wire value is a unique pointer to a RemotableHandle (8 bytes), both
    // arms a long.
    let h = unsafe {
        let u = referent(wire);
        if u.is_null() {
            0
        } else {
            u.add(4).cast::<i32>().read_unaligned() as isize
        }
    };
    // SAFETY: a presented handle is pointer-sized.
    unsafe { mem.cast::<isize>().write_unaligned(h) };
    Ok(())
}

unsafe fn nothing_to_free(_: *mut u8) {}

static HANDLE_ROUTINES: UserRoutines = UserRoutines {
    to_wire: handle_to_wire,
    from_wire: handle_from_wire,
    free: nothing_to_free,
};

macro_rules! remotable_handles {
    ($($name:ident),*) => {$(
        #[doc = concat!("`", stringify!($name), "`: a remotable handle (`RemotableHandle`).")]
        pub static $name: UserType = UserType {
            name: stringify!($name),
            wire: Type::Pointer(&WIRE_HANDLE),
            size: size_of::<usize>(),
            align: align_of::<usize>(),
            routines: &HANDLE_ROUTINES,
        };
    )*};
}
remotable_handles!(
    HWND, HMENU, HACCEL, HBRUSH, HFONT, HDC, HICON, HRGN, HMONITOR
);

// ---- CLIPFORMAT ----

static WSTR: Str = Str {
    char_size: 2,
    fixed: None,
    size: None,
};

static USER_CLIPFORMAT: Union = Union {
    switch: Base::Long,
    selector: Selector::Encapsulated { arms_offset: 8 },
    size: 16,
    align: 8,
    arms: &[
        Arm {
            name: "dwValue",
            case: WDT_INPROC_CALL,
            ty: Some(Type::Base(Base::ULong)),
        },
        Arm {
            name: "pwszName",
            case: WDT_REMOTE_CALL,
            ty: Some(Type::Pointer(&Pointer {
                kind: PointerKind::Unique,
                pointee: Type::String(&WSTR),
            })),
        },
    ],
    default: None,
};

static WIRE_CLIPFORMAT: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::Union(&USER_CLIPFORMAT),
};

unsafe fn clipformat_to_wire(mem: *const u8, wire: *mut u8) -> Result<()> {
    // SAFETY: a CLIPFORMAT is a WORD.
    let cf = unsafe { mem.cast::<u16>().read_unaligned() };
    let u = zeroed(16)?;
    // SAFETY: `wire` holds a pointer; `u` is the union's 16 bytes, owned by it from here.
    unsafe { wire.cast::<*mut u8>().write_unaligned(u) };
    if u32::from(cf) < comidl_runtime_core::clipboard::FIRST_REGISTERED_FORMAT {
        // SAFETY: the discriminant at 0, the arm at 8.
        unsafe {
            u.cast::<i32>().write_unaligned(WDT_INPROC_CALL as i32);
            u.add(8).cast::<u32>().write_unaligned(u32::from(cf));
        }
        return Ok(());
    }
    // A registered format travels by name; one without a name cannot travel.
    let name = clipboard_format_name(u32::from(cf)).ok_or(NdrError::OutOfRange)?;
    let s = zeroed((name.len() + 1) * 2)?;
    // SAFETY: `s` has room for the name and its terminator (zeroed); the arm at 8.
    unsafe {
        std::ptr::copy_nonoverlapping(name.as_ptr(), s.cast::<u16>(), name.len());
        u.cast::<i32>().write_unaligned(WDT_REMOTE_CALL as i32);
        u.add(8).cast::<*mut u8>().write_unaligned(s);
    }
    Ok(())
}

unsafe fn clipformat_from_wire(wire: *const u8, mem: *mut u8) -> Result<()> {
    // SAFETY: the wire value is a unique pointer to a userCLIPFORMAT (16 bytes) whose
    // discriminant selected an arm.
    let cf = unsafe {
        let u = referent(wire);
        if u.is_null() {
            return Err(bad("a NULL CLIPFORMAT"));
        }
        match i64::from(u.cast::<i32>().read_unaligned()) {
            WDT_INPROC_CALL => {
                let v = u.add(8).cast::<u32>().read_unaligned();
                // A registered format's number means nothing in another process: it
                // travels by name, and is refused by number (what arrives must be
                // something we could send back).
                if v >= comidl_runtime_core::clipboard::FIRST_REGISTERED_FORMAT {
                    return Err(bad("a registered clipboard format sent by number"));
                }
                u16::try_from(v).map_err(|_| bad("a clipboard format beyond 16 bits"))?
            }
            _ => {
                let s = u.add(8).cast::<*const u16>().read_unaligned();
                if s.is_null() {
                    return Err(bad("a registered clipboard format without a name"));
                }
                // The engine checked the string ends in its terminator.
                let mut n = 0;
                while s.add(n).read_unaligned() != 0 {
                    n += 1;
                }
                let v = register_clipboard_format(std::slice::from_raw_parts(s, n));
                u16::try_from(v)
                    .ok()
                    .filter(|&v| v != 0)
                    .ok_or(bad("a clipboard format name that cannot be registered"))?
            }
        }
    };
    // SAFETY: a CLIPFORMAT is a WORD.
    unsafe { mem.cast::<u16>().write_unaligned(cf) };
    Ok(())
}

static CLIPFORMAT_ROUTINES: UserRoutines = UserRoutines {
    to_wire: clipformat_to_wire,
    from_wire: clipformat_from_wire,
    free: nothing_to_free,
};

/// `CLIPFORMAT`: a clipboard format (`userCLIPFORMAT`).
pub static CLIPFORMAT: UserType = UserType {
    name: "CLIPFORMAT",
    wire: Type::Pointer(&WIRE_CLIPFORMAT),
    size: 2,
    align: 2,
    routines: &CLIPFORMAT_ROUTINES,
};

// ---- HGLOBAL ----

static CL_SIZE: Expr = Expr::Field {
    offset: 4,
    derefs: 0,
    ty: Base::ULong,
};

/// `FLAGGED_BYTE_BLOB`: `fFlags`, `clSize`, then `clSize` bytes.
static FLAGGED_BYTE_BLOB: Struct = Struct {
    name: "FLAGGED_BYTE_BLOB",
    size: 12,
    align: 4,
    fields: &[
        Field {
            name: "fFlags",
            offset: 0,
            ty: Type::Base(Base::ULong),
        },
        Field {
            name: "clSize",
            offset: 4,
            ty: Type::Base(Base::ULong),
        },
        Field {
            name: "abData",
            offset: 8,
            ty: Type::Array(&Array {
                element: Type::Base(Base::Byte),
                stride: 1,
                count: Count::Conformant(&CL_SIZE),
                varying: None,
            }),
        },
    ],
};

static USER_HGLOBAL: Union = Union {
    switch: Base::Long,
    selector: Selector::Encapsulated { arms_offset: 8 },
    size: 16,
    align: 8,
    arms: &[
        Arm {
            name: "hInproc",
            case: WDT_INPROC_CALL,
            ty: Some(Type::Base(Base::Long)),
        },
        Arm {
            name: "hRemote",
            case: WDT_REMOTE_CALL,
            ty: Some(Type::Pointer(&Pointer {
                kind: PointerKind::Unique,
                pointee: Type::Struct(&FLAGGED_BYTE_BLOB),
            })),
        },
        Arm {
            name: "hInproc64",
            case: WDT_INPROC64_CALL,
            ty: Some(Type::Base(Base::Hyper)),
        },
    ],
    default: None,
};

static WIRE_HGLOBAL: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::Union(&USER_HGLOBAL),
};

unsafe fn hglobal_to_wire(mem: *const u8, wire: *mut u8) -> Result<()> {
    // SAFETY: a presented HGLOBAL is a pointer.
    let h = unsafe { mem.cast::<*mut std::ffi::c_void>().read_unaligned() };
    let u = zeroed(16)?;
    // SAFETY: `wire` holds a pointer; `u` is the union's 16 bytes, owned by it from here.
    unsafe {
        wire.cast::<*mut u8>().write_unaligned(u);
        u.cast::<i32>().write_unaligned(WDT_REMOTE_CALL as i32);
    }
    if h.is_null() {
        return Ok(());
    }
    // SAFETY: a live HGLOBAL (the caller's contract).
    let n = unsafe { GlobalSize(h) };
    let cl = u32::try_from(n).map_err(|_| NdrError::TooLarge)?;
    let blob = zeroed(n.checked_add(8).ok_or(NdrError::TooLarge)?.max(12))?;
    // SAFETY: `blob` holds the two counts and `n` bytes; the handle's block has `n`.
    unsafe {
        u.add(8).cast::<*mut u8>().write_unaligned(blob);
        blob.add(4).cast::<u32>().write_unaligned(cl);
        std::ptr::copy_nonoverlapping(h.cast::<u8>(), blob.add(8), n);
    }
    Ok(())
}

unsafe fn hglobal_from_wire(wire: *const u8, mem: *mut u8) -> Result<()> {
    // SAFETY: the wire value is a unique pointer to a userHGLOBAL (16 bytes) whose
    // discriminant selected an arm.
    let h = unsafe {
        let u = referent(wire);
        if u.is_null() {
            std::ptr::null_mut()
        } else if i64::from(u.cast::<i32>().read_unaligned()) != WDT_REMOTE_CALL {
            return Err(bad("an in-process HGLOBAL arrived over the wire"));
        } else {
            let blob = u.add(8).cast::<*const u8>().read_unaligned();
            if blob.is_null() {
                std::ptr::null_mut()
            } else {
                let n = blob.add(4).cast::<u32>().read_unaligned() as usize;
                // The blob is a task-allocator block holding its bytes (the engine
                // sized it from the count it checked against `clSize`): never read past it.
                if task::did_alloc(blob) != 1 || n.saturating_add(8) > task::size(blob) {
                    return Err(bad("an HGLOBAL's size disagrees with its bytes"));
                }
                let h = GlobalAlloc(GMEM_MOVEABLE, n);
                if h.is_null() {
                    return Err(NdrError::OutOfMemory);
                }
                std::ptr::copy_nonoverlapping(blob.add(8), h.cast::<u8>(), n);
                h
            }
        }
    };
    // SAFETY: a presented HGLOBAL is a pointer.
    unsafe { mem.cast::<*mut std::ffi::c_void>().write_unaligned(h) };
    Ok(())
}

unsafe fn hglobal_free(mem: *mut u8) {
    // SAFETY: a presented HGLOBAL is a pointer, NULL or the value's own block.
    unsafe {
        let slot = mem.cast::<*mut std::ffi::c_void>();
        let h = slot.read_unaligned();
        if !h.is_null() {
            GlobalFree(h);
            slot.write_unaligned(std::ptr::null_mut());
        }
    }
}

static HGLOBAL_ROUTINES: UserRoutines = UserRoutines {
    to_wire: hglobal_to_wire,
    from_wire: hglobal_from_wire,
    free: hglobal_free,
};

/// `HGLOBAL`: a block of memory by handle (`userHGLOBAL`).
pub static HGLOBAL: UserType = UserType {
    name: "HGLOBAL",
    wire: Type::Pointer(&WIRE_HGLOBAL),
    size: size_of::<usize>(),
    align: align_of::<usize>(),
    routines: &HGLOBAL_ROUTINES,
};

/// Every built-in conversion.
pub static BUILTINS: &[&UserType] = &[
    &HWND,
    &HMENU,
    &HACCEL,
    &HBRUSH,
    &HFONT,
    &HDC,
    &HICON,
    &HRGN,
    &HMONITOR,
    &CLIPFORMAT,
    &HGLOBAL,
];

/// The built-in conversion of the type named `name`, if there is one.
pub fn builtin(name: &str) -> Option<&'static UserType> {
    BUILTINS.iter().copied().find(|u| u.name == name)
}
