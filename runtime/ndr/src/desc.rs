//! Static descriptions of NDR types and procedures: what the compiler emits as `const` data
//! for every interface, and what the engine interprets. A description states both sides of
//! a value: its C layout in memory (sizes, alignments, field offsets: what gcc gives the
//! generated `#[repr(C)]` types) and its NDR20 form on the wire (base types, conformance,
//! variance, pointer kinds, union arms). Correlations (`size_is(n)`, `length_is(*pcb)`,
//! `switch_is(kind)`) are small expressions over the parameters or the enclosing struct's
//! fields, read from memory when marshalling and checked against the wire when
//! unmarshalling.

/// NDR's primitive types, as they sit in C memory and go on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// `boolean`: one byte, 0 or 1 in memory; any non-zero byte on the wire is true.
    Boolean,
    /// `byte`: one uninterpreted byte.
    Byte,
    /// `char`: one unsigned byte.
    Char,
    /// `small`: one signed byte.
    Small,
    /// `unsigned small`.
    USmall,
    /// `wchar_t`: two bytes.
    WChar,
    /// `short`.
    Short,
    /// `unsigned short`.
    UShort,
    /// `long` (32 bits in IDL).
    Long,
    /// `unsigned long`.
    ULong,
    /// `hyper`.
    Hyper,
    /// `unsigned hyper`.
    UHyper,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// An `enum`: a C `int` in memory, 16 bits on the wire (values 0..=0x7FFF).
    Enum16,
    /// A `[v1_enum]` enum: 32 bits both in memory and on the wire.
    Enum32,
    /// `error_status_t`: an unsigned 32-bit status.
    ErrorStatus,
    /// `__int3264`: pointer-sized in memory, 32 bits on the wire (sign-extended back).
    Int3264,
    /// `unsigned __int3264`.
    UInt3264,
}

impl Base {
    /// Bytes on the wire, which is also the wire alignment.
    pub const fn wire_size(self) -> usize {
        match self {
            Base::Boolean | Base::Byte | Base::Char | Base::Small | Base::USmall => 1,
            Base::WChar | Base::Short | Base::UShort | Base::Enum16 => 2,
            Base::Long
            | Base::ULong
            | Base::Float
            | Base::Enum32
            | Base::ErrorStatus
            | Base::Int3264
            | Base::UInt3264 => 4,
            Base::Hyper | Base::UHyper | Base::Double => 8,
        }
    }

    /// Bytes in memory, which is also the C alignment.
    pub const fn mem_size(self) -> usize {
        match self {
            Base::Enum16 => 4,
            Base::Int3264 | Base::UInt3264 => size_of::<usize>(),
            other => other.wire_size(),
        }
    }
}

/// One NDR type.
#[derive(Clone, Copy, Debug)]
pub enum Type {
    Base(Base),
    /// `[range(min, max)]` on a base type: values outside are refused both ways.
    Range(&'static Range),
    Struct(&'static Struct),
    Union(&'static Union),
    Array(&'static Array),
    /// A `[string]` array or pointee: the characters up to and including the terminator.
    String(&'static Str),
    Pointer(&'static Pointer),
    /// A context handle: 20 bytes on the wire (attributes, then a UUID). In memory a
    /// pointer, as in C: NULL for the nil handle (20 zero bytes), else a task-allocator
    /// block holding the 20 bytes, owned by the slot.
    ContextHandle,
    /// A binding handle (`handle_t`): a pointer in memory, nothing on the wire.
    Ignore,
    /// An `error_status_t` marked `[comm_status]` and/or `[fault_status]`. These are ACF
    /// attributes, which never change the wire: the value travels as the error_status_t it
    /// is, and a successful call delivers what the server set. When the call fails in
    /// transport (comm) or with a server fault (fault), the client stub stores the status
    /// here instead and the call returns normally.
    Status(StatusKind),
    /// A BSTR: in memory the string pointer (its byte length prefixed, as SysAllocString
    /// makes it); on the wire its `[wire_marshal]` form, MS-OAUT 2.2.23.2: a unique
    /// pointer to a FLAGGED_WORD_BLOB (`cBytes`, `clSize`, `clSize` UTF-16 units; a NULL
    /// BSTR is a blob of `cBytes` 0xFFFFFFFF). Unmarshalled BSTRs come from SysAllocString's
    /// allocator and are freed with SysFreeString.
    Bstr,
    /// The FLAGGED_WORD_BLOB a [`Type::Bstr`]'s pointer refers to (internal: the engine's
    /// deferred referent of a BSTR; the memory is the BSTR's slot).
    #[doc(hidden)]
    BstrBlob,
    /// A type whose memory form differs from its wire form (MIDL's `[wire_marshal]`,
    /// `[user_marshal]`, `[transmit_as]`, `[represent_as]`): routines convert the
    /// presented memory into a value of the wire type's memory form and back, and the
    /// engine marshals that value as any other. See [`UserType`].
    User(&'static UserType),
    /// An interface pointer (`IFoo *`, or `void *` under `[iid_is]`): in memory the
    /// pointer, owning one reference; on the wire a unique pointer to an MInterfacePointer
    /// (MS-DCOM 2.2.14: `ulCntData` and that many bytes, an OBJREF). The COM library
    /// converts between the two ([`crate::interface::InterfaceMarshal`]); the engine has no
    /// COM of its own.
    Interface(&'static InterfacePointer),
    /// The MInterfacePointer an [`Type::Interface`]'s referent id stands for (internal:
    /// the engine's deferred referent).
    #[doc(hidden)]
    InterfaceData,
    /// Something the engine cannot marshal yet (`[user_marshal]`
    /// types without routines): its memory layout, so what holds it is still described,
    /// and why. Marshalling or unmarshalling it fails with [`crate::NdrError::Unsupported`].
    Unsupported(&'static Opaque),
}

/// An interface pointer's description: which interface it is.
#[derive(Debug)]
pub struct InterfacePointer {
    pub iid: Iid,
}

/// Where an interface pointer's IID comes from.
#[derive(Debug)]
pub enum Iid {
    /// The pointer's declared interface.
    Fixed(comidl_runtime_core::GUID),
    /// `[iid_is(e)]`: `e` evaluates to the address of the IID (MIDL's rule: a pointer to
    /// an IID), a parameter or a field of the enclosing structure.
    Is(&'static Expr),
}

/// A presented type and the type it travels as. Marshalling converts the presented value
/// into a temporary value of `wire` ([`UserRoutines::to_wire`]), marshals that and frees
/// it; unmarshalling reads a value of `wire` with every check the engine makes, converts
/// it ([`UserRoutines::from_wire`]) once the whole message is read and checked, and frees
/// it; freeing a presented value is [`UserRoutines::free`]. Value trees
/// ([`crate::Value`]) show the wire value.
#[derive(Debug)]
pub struct UserType {
    /// The presented type's IDL name, for messages.
    pub name: &'static str,
    /// The transmitted type.
    pub wire: Type,
    /// The presented type's size in memory.
    pub size: usize,
    /// The presented type's alignment in memory.
    pub align: usize,
    pub routines: &'static UserRoutines,
}

/// The conversions of a [`UserType`] (MIDL's `type_UserMarshal` & co., on memory rather
/// than on the buffer). A wire value's memory is described by the `wire` type: its
/// pointers are NULL or task-allocator blocks it owns, freed with
/// [`crate::free::free_value`].
#[derive(Debug)]
pub struct UserRoutines {
    /// Writes the wire form of the presented value at `mem` into `wire` (zeroed memory of
    /// the wire type's size). What it points to is allocated anew from the task
    /// allocator, never borrowed from the presented value. On failure `wire` is still
    /// a value the engine can free.
    pub to_wire: unsafe fn(mem: *const u8, wire: *mut u8) -> crate::Result<()>,
    /// Makes the presented value at `mem` (zeroed) from the wire value at `wire`. The
    /// engine has checked the wire value against its description (counts, arms,
    /// strings); what it says is still the peer's and must be checked. It copies what it
    /// keeps: the engine frees the wire value afterwards. On failure `mem` owns nothing.
    pub from_wire: unsafe fn(wire: *const u8, mem: *mut u8) -> crate::Result<()>,
    /// Frees what the presented value at `mem` owns and leaves it empty (a zeroed value
    /// must be accepted and own nothing).
    pub free: unsafe fn(mem: *mut u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusKind {
    pub comm: bool,
    pub fault: bool,
}

#[derive(Debug)]
pub struct Opaque {
    pub size: usize,
    pub align: usize,
    pub why: &'static str,
}

#[derive(Debug)]
pub struct Range {
    pub base: Base,
    pub min: i64,
    pub max: i64,
}

/// A structure: fields at C offsets. A conformant structure is one whose last field is a
/// conformant array or string, or a conformant structure: the engine finds out.
#[derive(Debug)]
pub struct Struct {
    /// The IDL name (empty for an anonymous structure), for messages and value trees.
    pub name: &'static str,
    pub size: usize,
    pub align: usize,
    pub fields: &'static [Field],
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub offset: usize,
    pub ty: Type,
}

/// An array. `Fixed` arrays sit inline; a conformant one (`[size_is]`, `[max_is]`, `[]`)
/// has its element count on the wire (hoisted to the start of an enclosing structure); a
/// varying one (`[length_is]`, `[first_is]`, `[last_is]`) transmits only a window.
#[derive(Debug)]
pub struct Array {
    pub element: Type,
    /// The memory size of one element (the array's stride).
    pub stride: usize,
    pub count: Count,
    pub varying: Option<Varying>,
}

#[derive(Debug)]
pub enum Count {
    Fixed(u32),
    /// The element count, as an expression (`max_is(m)` is given as `m + 1`).
    Conformant(&'static Expr),
}

/// The transmitted window of a varying array: `first` (0 when absent) and `length`
/// (`last_is(l)` is given as `l - first + 1`).
#[derive(Debug)]
pub struct Varying {
    pub first: Option<&'static Expr>,
    pub length: &'static Expr,
}

/// A `[string]` array: characters of `char_size` bytes (1 or 2) ended by a zero character,
/// which is counted. `fixed`: an inline array of that many characters (a varying array on
/// the wire); otherwise the string is conformant and varying (a pointee, or the tail of a
/// structure), its count its length, or `size` when `[size_is]` gives one.
#[derive(Debug)]
pub struct Str {
    pub char_size: usize,
    pub fixed: Option<u32>,
    pub size: Option<&'static Expr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointerKind {
    /// `[ref]`: never NULL, no aliasing.
    Ref,
    /// `[unique]`: may be NULL, never aliases.
    Unique,
    /// `[ptr]`: may be NULL, and two pointers to one address stay one referent.
    Full,
}

#[derive(Debug)]
pub struct Pointer {
    pub kind: PointerKind,
    pub pointee: Type,
}

/// A union. Encapsulated (`union switch (long k) u { ... }`): in memory a structure of the
/// discriminant (at offset 0) and the arms (at `arms_offset`). Non-encapsulated
/// (`[switch_is(k)]`): in memory only the arms; the discriminant is an expression over the
/// enclosing structure's fields or the parameters. On the wire both are the discriminant
/// (as `switch`) followed by the selected arm.
#[derive(Debug)]
pub struct Union {
    pub switch: Base,
    pub selector: Selector,
    pub size: usize,
    pub align: usize,
    pub arms: &'static [Arm],
    /// The `[default]` arm (`Some(None)`: an empty one); `None`: another value is an error.
    pub default: Option<Option<Type>>,
}

#[derive(Debug)]
pub enum Selector {
    Encapsulated { arms_offset: usize },
    Expr(&'static Expr),
}

#[derive(Debug)]
pub struct Arm {
    /// The arm's member name (empty for an empty arm).
    pub name: &'static str,
    pub case: i64,
    /// `None`: an empty arm.
    pub ty: Option<Type>,
}

/// A correlation expression, as MIDL evaluates them (C semantics on 64-bit integers).
#[derive(Debug)]
pub enum Expr {
    Const(i64),
    /// Parameter `index`, read as `ty` after following `derefs` pointers (`*pcb`: 1).
    Param {
        index: u16,
        derefs: u8,
        ty: Base,
    },
    /// The field at `offset` of the enclosing structure, likewise.
    Field {
        offset: u32,
        derefs: u8,
        ty: Base,
    },
    Unary(UnOp, &'static Expr),
    Binary(BinOp, &'static Expr, &'static Expr),
    Cond(&'static Expr, &'static Expr, &'static Expr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Shl,
    Shr,
    And,
    Or,
    Xor,
    LogAnd,
    LogOr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
    InOut,
}

impl Direction {
    pub const fn is_in(self) -> bool {
        matches!(self, Direction::In | Direction::InOut)
    }
    pub const fn is_out(self) -> bool {
        matches!(self, Direction::Out | Direction::InOut)
    }
}

/// One parameter of a procedure. Its memory is the parameter's C value: a `long` for
/// `[in] long x`, a pointer for `[out] long *p` (whose type is then a `Pointer`).
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    pub dir: Direction,
}

/// An interface: its identity and its procedures in opnum order.
#[derive(Debug)]
pub struct Interface {
    pub name: &'static str,
    pub uuid: comidl_runtime_core::GUID,
    pub version: (u16, u16),
    pub procs: &'static [&'static Proc],
}

/// A procedure (an operation of an RPC interface, or a method of an object interface
/// without its `this`).
#[derive(Debug)]
pub struct Proc {
    pub name: &'static str,
    pub opnum: u16,
    pub params: &'static [Param],
    /// The return value, unless `void`.
    pub ret: Option<Type>,
}
