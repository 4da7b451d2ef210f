//! Hand-written descriptions the fixtures do not have: the shapes of the engine's own tests
//! (runtime/ndr/tests/engine.rs) and the ones NDR makes hard: linked lists, full pointers
//! that alias (also across parameters and between types), conformant structures (nested,
//! and with pointers in the tail), conformant varying arrays with expressions, unions
//! (encapsulated and by `switch_is`) in arrays, strings with and without `size_is`, a
//! two-dimensional `size_is(rows, cols)`, every base type, context handles, `[in, out]`
//! counts that size another `[in, out]` buffer. Layouts are those of x86_64 C (LP64).
//! Names are `Hand::*`.

use comidl_runtime::ndr::*;

// ---- shared pieces ----

const fn p(index: u16, ty: Base) -> Expr {
    Expr::Param {
        index,
        derefs: 0,
        ty,
    }
}
const fn pd(index: u16, ty: Base) -> Expr {
    Expr::Param {
        index,
        derefs: 1,
        ty,
    }
}
const fn f(offset: u32, ty: Base) -> Expr {
    Expr::Field {
        offset,
        derefs: 0,
        ty,
    }
}
const fn field(offset: usize, ty: Type) -> Field {
    Field {
        name: "",
        offset,
        ty,
    }
}
const fn param(name: &'static str, ty: Type, dir: Direction) -> Param {
    Param { name, ty, dir }
}
const fn ptr(kind: PointerKind, pointee: Type) -> Pointer {
    Pointer { kind, pointee }
}

const IN: Direction = Direction::In;
const OUT: Direction = Direction::Out;
const INOUT: Direction = Direction::InOut;
const LONG: Type = Type::Base(Base::Long);
const ULONG: Type = Type::Base(Base::ULong);

static WSTR: Str = Str {
    char_size: 2,
    fixed: None,
    size: None,
};
static CSTR: Str = Str {
    char_size: 1,
    fixed: None,
    size: None,
};
static UNIQUE_WSTR: Pointer = ptr(PointerKind::Unique, Type::String(&WSTR));
static UNIQUE_CSTR: Pointer = ptr(PointerKind::Unique, Type::String(&CSTR));
static REF_ULONG: Pointer = ptr(PointerKind::Ref, ULONG);
static REF_LONG: Pointer = ptr(PointerKind::Ref, LONG);
static UNIQUE_LONG: Pointer = ptr(PointerKind::Unique, LONG);
static FULL_LONG: Pointer = ptr(PointerKind::Full, LONG);

// ---- NetrWkstaGetInfo (MS-WKST 3.2.4.1): a union selected by a parameter ----

static INFO100: Struct = Struct {
    name: "INFO100",
    size: 32,
    align: 8,
    fields: &[
        field(0, ULONG),
        field(8, Type::Pointer(&UNIQUE_WSTR)),
        field(16, Type::Pointer(&UNIQUE_WSTR)),
        field(24, ULONG),
        field(28, ULONG),
    ],
};
static P_INFO100: Pointer = ptr(PointerKind::Unique, Type::Struct(&INFO100));
static LEVEL: Expr = p(1, Base::ULong);
static WKSTA_INFO: Union = Union {
    switch: Base::ULong,
    selector: Selector::Expr(&LEVEL),
    size: 8,
    align: 8,
    arms: &[
        Arm {
            name: "",
            case: 100,
            ty: Some(Type::Pointer(&P_INFO100)),
        },
        Arm {
            name: "",
            case: 101,
            ty: Some(Type::Pointer(&UNIQUE_LONG)),
        },
    ],
    default: None,
};
static REF_WKSTA_INFO: Pointer = ptr(PointerKind::Ref, Type::Union(&WKSTA_INFO));
static GET_INFO: Proc = Proc {
    name: "Hand::NetrWkstaGetInfo",
    opnum: 0,
    params: &[
        param("ServerName", Type::Pointer(&UNIQUE_WSTR), IN),
        param("Level", ULONG, IN),
        param("WkstaInfo", Type::Pointer(&REF_WKSTA_INFO), OUT),
    ],
    ret: Some(ULONG),
};

// ---- a conformant structure: struct { ULONG n; hyper h; [size_is(n)] short a[]; } ----

static COUNT_N: Expr = f(0, Base::ULong);
static SHORTS: Array = Array {
    element: Type::Base(Base::Short),
    stride: 2,
    count: Count::Conformant(&COUNT_N),
    varying: None,
};
static CSTRUCT: Struct = Struct {
    name: "CSTRUCT",
    size: 24,
    align: 8,
    fields: &[
        field(0, ULONG),
        field(8, Type::Base(Base::Hyper)),
        field(16, Type::Array(&SHORTS)),
    ],
};
static REF_CSTRUCT: Pointer = ptr(PointerKind::Ref, Type::Struct(&CSTRUCT));
static PUT_C: Proc = Proc {
    name: "Hand::PutC",
    opnum: 1,
    params: &[param("c", Type::Pointer(&REF_CSTRUCT), INOUT)],
    ret: None,
};

// ---- a linked list through unique pointers ----

static NEXT: Pointer = ptr(PointerKind::Unique, Type::Struct(&NODE));
static NODE: Struct = Struct {
    name: "NODE",
    size: 16,
    align: 8,
    fields: &[field(0, LONG), field(8, Type::Pointer(&NEXT))],
};
static LIST: Proc = Proc {
    name: "Hand::List",
    opnum: 2,
    params: &[param("head", Type::Pointer(&NEXT), INOUT)],
    ret: Some(LONG),
};

// ---- full pointers: aliases in one structure, across parameters, between types ----

static PAIR: Struct = Struct {
    name: "PAIR",
    size: 16,
    align: 8,
    fields: &[
        field(0, Type::Pointer(&FULL_LONG)),
        field(8, Type::Pointer(&FULL_LONG)),
    ],
};
static REF_PAIR: Pointer = ptr(PointerKind::Ref, Type::Struct(&PAIR));
static ALIAS: Proc = Proc {
    name: "Hand::Alias",
    opnum: 3,
    params: &[param("pair", Type::Pointer(&REF_PAIR), INOUT)],
    ret: None,
};
static TWIN: Proc = Proc {
    name: "Hand::Twin",
    opnum: 4,
    params: &[
        param("a", Type::Pointer(&FULL_LONG), INOUT),
        param("b", Type::Pointer(&FULL_LONG), INOUT),
    ],
    ret: None,
};
/// `struct MIX { hyper h; [unique] LONG *p; }`
static MIX: Struct = Struct {
    name: "MIX",
    size: 16,
    align: 8,
    fields: &[
        field(0, Type::Base(Base::Hyper)),
        field(8, Type::Pointer(&UNIQUE_LONG)),
    ],
};
static FULL_MIX: Pointer = ptr(PointerKind::Full, Type::Struct(&MIX));
/// `struct FULLS { [ptr] LONG *a; [ptr] MIX *b; [ptr] MIX *c; }`
static FULLS: Struct = Struct {
    name: "FULLS",
    size: 24,
    align: 8,
    fields: &[
        field(0, Type::Pointer(&FULL_LONG)),
        field(8, Type::Pointer(&FULL_MIX)),
        field(16, Type::Pointer(&FULL_MIX)),
    ],
};
static REF_FULLS: Pointer = ptr(PointerKind::Ref, Type::Struct(&FULLS));
static MIXED: Proc = Proc {
    name: "Hand::Mixed",
    opnum: 5,
    params: &[
        param("a", Type::Pointer(&FULL_LONG), IN),
        param("b", Type::Pointer(&FULL_MIX), INOUT),
        param("s", Type::Pointer(&REF_FULLS), INOUT),
    ],
    ret: None,
};
static LONGS_N: Array = Array {
    element: LONG,
    stride: 4,
    count: Count::Conformant(&N0),
    varying: None,
};
static LONGS_M: Array = Array {
    element: LONG,
    stride: 4,
    count: Count::Conformant(&M1),
    varying: None,
};
static N0: Expr = p(0, Base::ULong);
static M1: Expr = p(1, Base::ULong);
static FULL_LONGS_N: Pointer = ptr(PointerKind::Full, Type::Array(&LONGS_N));
static FULL_LONGS_M: Pointer = ptr(PointerKind::Full, Type::Array(&LONGS_M));
static FULL_ARRAYS: Proc = Proc {
    name: "Hand::FullArrays",
    opnum: 6,
    params: &[
        param("n", ULONG, IN),
        param("m", ULONG, IN),
        param("a", Type::Pointer(&FULL_LONGS_N), IN),
        param("b", Type::Pointer(&FULL_LONGS_M), IN),
    ],
    ret: None,
};

/// `struct DNODE { LONG v; [ptr] DNODE *next; [ptr] DNODE *prev; }`: cycles.
static DNODE: Struct = Struct {
    name: "DNODE",
    size: 24,
    align: 8,
    fields: &[
        field(0, LONG),
        field(8, Type::Pointer(&FULL_DNODE)),
        field(16, Type::Pointer(&FULL_DNODE)),
    ],
};
static FULL_DNODE: Pointer = ptr(PointerKind::Full, Type::Struct(&DNODE));
static RING: Proc = Proc {
    name: "Hand::Ring",
    opnum: 7,
    params: &[param("head", Type::Pointer(&FULL_DNODE), INOUT)],
    ret: None,
};

// ---- the hostile-input shape: [in] ULONG n, [in, size_is(n)] BYTE *data ----

static BYTES: Array = Array {
    element: Type::Base(Base::Byte),
    stride: 1,
    count: Count::Conformant(&N0),
    varying: None,
};
static REF_BYTES: Pointer = ptr(PointerKind::Ref, Type::Array(&BYTES));
static BLOB: Proc = Proc {
    name: "Hand::Blob",
    opnum: 8,
    params: &[
        param("n", ULONG, IN),
        param("data", Type::Pointer(&REF_BYTES), INOUT),
    ],
    ret: None,
};

// ---- [in, out] counts that size another [in, out] buffer ----

static DEREF_N0: Expr = pd(0, Base::ULong);
static LONGS_PN: Array = Array {
    element: LONG,
    stride: 4,
    count: Count::Conformant(&DEREF_N0),
    varying: None,
};
static REF_LONGS_PN: Pointer = ptr(PointerKind::Ref, Type::Array(&LONGS_PN));
static RESIZE: Proc = Proc {
    name: "Hand::Resize",
    opnum: 9,
    params: &[
        param("pn", Type::Pointer(&REF_ULONG), INOUT),
        param("a", Type::Pointer(&REF_LONGS_PN), INOUT),
    ],
    ret: None,
};
static SIZED_CSTR_PN: Str = Str {
    char_size: 1,
    fixed: None,
    size: Some(&DEREF_N0),
};
static REF_SIZED_CSTR_PN: Pointer = ptr(PointerKind::Ref, Type::String(&SIZED_CSTR_PN));
static RESIZE_STR: Proc = Proc {
    name: "Hand::ResizeStr",
    opnum: 10,
    params: &[
        param("pcch", Type::Pointer(&REF_ULONG), INOUT),
        param("s", Type::Pointer(&REF_SIZED_CSTR_PN), INOUT),
    ],
    ret: None,
};
/// `[in] ULONG cch, [in, out, size_is(cch), string] WCHAR *buf, [out] ULONG *len`
static SIZED_WSTR_N: Str = Str {
    char_size: 2,
    fixed: None,
    size: Some(&N0),
};
static REF_SIZED_WSTR_N: Pointer = ptr(PointerKind::Ref, Type::String(&SIZED_WSTR_N));
static BUF: Proc = Proc {
    name: "Hand::Buf",
    opnum: 11,
    params: &[
        param("cch", ULONG, IN),
        param("buf", Type::Pointer(&REF_SIZED_WSTR_N), INOUT),
        param("len", Type::Pointer(&REF_ULONG), OUT),
    ],
    ret: Some(Type::Pointer(&UNIQUE_WSTR)),
};

// ---- conformant varying arrays: size_is / first_is / length_is, max_is / last_is ----

static VS_MAX: Expr = f(0, Base::ULong);
static VS_FIRST: Expr = f(4, Base::ULong);
static VS_LEN: Expr = f(8, Base::ULong);
static VS_DATA: Array = Array {
    element: LONG,
    stride: 4,
    count: Count::Conformant(&VS_MAX),
    varying: Some(Varying {
        first: Some(&VS_FIRST),
        length: &VS_LEN,
    }),
};
static UNIQUE_VS_DATA: Pointer = ptr(PointerKind::Unique, Type::Array(&VS_DATA));
/// `struct { ULONG max, first, len; [size_is(max), first_is(first), length_is(len)] LONG *data; }`
static VSTRUCT: Struct = Struct {
    name: "VSTRUCT",
    size: 24,
    align: 8,
    fields: &[
        field(0, ULONG),
        field(4, ULONG),
        field(8, ULONG),
        field(16, Type::Pointer(&UNIQUE_VS_DATA)),
    ],
};
static MAX_PLUS_1: Expr = Expr::Binary(BinOp::Add, &VS_MAX, &ONE);
static ONE: Expr = Expr::Const(1);
/// last_is(l): length = l - first + 1
static LAST_LEN: Expr = Expr::Binary(
    BinOp::Add,
    &Expr::Binary(BinOp::Sub, &VS_LEN, &VS_FIRST),
    &ONE,
);
static ML_DATA: Array = Array {
    element: Type::Base(Base::Short),
    stride: 2,
    count: Count::Conformant(&MAX_PLUS_1),
    varying: Some(Varying {
        first: Some(&VS_FIRST),
        length: &LAST_LEN,
    }),
};
static UNIQUE_ML_DATA: Pointer = ptr(PointerKind::Unique, Type::Array(&ML_DATA));
/// `struct { ULONG m, f, l; [max_is(m), first_is(f), last_is(l)] short *data; }`
static MLSTRUCT: Struct = Struct {
    name: "MLSTRUCT",
    size: 24,
    align: 8,
    fields: &[
        field(0, ULONG),
        field(4, ULONG),
        field(8, ULONG),
        field(16, Type::Pointer(&UNIQUE_ML_DATA)),
    ],
};
static REF_VSTRUCT: Pointer = ptr(PointerKind::Ref, Type::Struct(&VSTRUCT));
static REF_MLSTRUCT: Pointer = ptr(PointerKind::Ref, Type::Struct(&MLSTRUCT));
static WINDOWS: Proc = Proc {
    name: "Hand::Windows",
    opnum: 12,
    params: &[
        param("v", Type::Pointer(&REF_VSTRUCT), INOUT),
        param("ml", Type::Pointer(&REF_MLSTRUCT), INOUT),
    ],
    ret: None,
};
/// `struct FIXV { ULONG len; [length_is(len)] LONG a[16]; }`
static FIXV_LEN: Expr = f(0, Base::ULong);
static FIXV_A: Array = Array {
    element: LONG,
    stride: 4,
    count: Count::Fixed(16),
    varying: Some(Varying {
        first: None,
        length: &FIXV_LEN,
    }),
};
static FIXV: Struct = Struct {
    name: "FIXV",
    size: 68,
    align: 4,
    fields: &[field(0, ULONG), field(4, Type::Array(&FIXV_A))],
};
static REF_FIXV: Pointer = ptr(PointerKind::Ref, Type::Struct(&FIXV));
static FIXED_VARYING: Proc = Proc {
    name: "Hand::FixedVarying",
    opnum: 13,
    params: &[param("f", Type::Pointer(&REF_FIXV), INOUT)],
    ret: None,
};

// ---- unions in arrays: by switch_is on a field, and encapsulated ----

static KIND: Expr = f(0, Base::Short);
static U_BY_KIND: Union = Union {
    switch: Base::Short,
    selector: Selector::Expr(&KIND),
    size: 8,
    align: 8,
    arms: &[
        Arm {
            name: "",
            case: 1,
            ty: Some(LONG),
        },
        Arm {
            name: "",
            case: 2,
            ty: Some(Type::Pointer(&UNIQUE_WSTR)),
        },
        Arm {
            name: "",
            case: 3,
            ty: Some(Type::Base(Base::Hyper)),
        },
        Arm {
            name: "",
            case: 4,
            ty: None,
        },
    ],
    default: Some(None),
};
/// `struct USTRUCT { SHORT kind; [switch_is(kind)] union { ... } u; }`
static USTRUCT: Struct = Struct {
    name: "USTRUCT",
    size: 16,
    align: 8,
    fields: &[
        field(0, Type::Base(Base::Short)),
        field(8, Type::Union(&U_BY_KIND)),
    ],
};
static USTRUCTS_N: Array = Array {
    element: Type::Struct(&USTRUCT),
    stride: 16,
    count: Count::Conformant(&N0),
    varying: None,
};
static REF_USTRUCTS_N: Pointer = ptr(PointerKind::Ref, Type::Array(&USTRUCTS_N));
static UNIONS: Proc = Proc {
    name: "Hand::Unions",
    opnum: 14,
    params: &[
        param("n", ULONG, IN),
        param("a", Type::Pointer(&REF_USTRUCTS_N), INOUT),
    ],
    ret: None,
};
/// `union switch (long k) { case 0: [unique] NODE *list; case 1: [unique, string] char *s;
/// case 2: PAIR pair; default: LONG v; }`
static EUNION: Union = Union {
    switch: Base::Long,
    selector: Selector::Encapsulated { arms_offset: 8 },
    size: 24,
    align: 8,
    arms: &[
        Arm {
            name: "",
            case: 0,
            ty: Some(Type::Pointer(&NEXT)),
        },
        Arm {
            name: "",
            case: 1,
            ty: Some(Type::Pointer(&UNIQUE_CSTR)),
        },
        Arm {
            name: "",
            case: 2,
            ty: Some(Type::Struct(&PAIR)),
        },
    ],
    default: Some(Some(LONG)),
};
static REF_EUNION: Pointer = ptr(PointerKind::Ref, Type::Union(&EUNION));
static UNIQUE_EUNION: Pointer = ptr(PointerKind::Unique, Type::Union(&EUNION));
static ENCAPSULATED: Proc = Proc {
    name: "Hand::Encapsulated",
    opnum: 15,
    params: &[
        param("u", Type::Pointer(&REF_EUNION), INOUT),
        param("v", Type::Pointer(&UNIQUE_EUNION), IN),
    ],
    ret: None,
};

// ---- nested conformant structures, and a conformant tail with pointers ----

/// `struct CNAME { ULONG id; [string] WCHAR name[]; }`
static CNAME: Struct = Struct {
    name: "CNAME",
    size: 8,
    align: 4,
    fields: &[field(0, ULONG), field(4, Type::String(&WSTR))],
};
/// `struct OUTER { hyper h; CNAME c; }`
static OUTER: Struct = Struct {
    name: "OUTER",
    size: 16,
    align: 8,
    fields: &[
        field(0, Type::Base(Base::Hyper)),
        field(8, Type::Struct(&CNAME)),
    ],
};
static REF_OUTER: Pointer = ptr(PointerKind::Ref, Type::Struct(&OUTER));
static UNIQUE_OUTER: Pointer = ptr(PointerKind::Unique, Type::Struct(&OUTER));
static REF_UNIQUE_OUTER: Pointer = ptr(PointerKind::Ref, Type::Pointer(&UNIQUE_OUTER));
/// `struct CELL { LONG v; [unique] LONG *p; }`
static CELL: Struct = Struct {
    name: "CELL",
    size: 16,
    align: 8,
    fields: &[field(0, LONG), field(8, Type::Pointer(&UNIQUE_LONG))],
};
static CELLS_N: Array = Array {
    element: Type::Struct(&CELL),
    stride: 16,
    count: Count::Conformant(&COUNT_N),
    varying: None,
};
/// `struct COUNTED { ULONG n; [size_is(n)] CELL a[]; }`
static COUNTED: Struct = Struct {
    name: "COUNTED",
    size: 24,
    align: 8,
    fields: &[field(0, ULONG), field(8, Type::Array(&CELLS_N))],
};
static UNIQUE_COUNTED: Pointer = ptr(PointerKind::Unique, Type::Struct(&COUNTED));
static REF_UNIQUE_COUNTED: Pointer = ptr(PointerKind::Ref, Type::Pointer(&UNIQUE_COUNTED));
static NESTED: Proc = Proc {
    name: "Hand::Nested",
    opnum: 16,
    params: &[
        param("o", Type::Pointer(&REF_OUTER), IN),
        param("out", Type::Pointer(&REF_UNIQUE_OUTER), OUT),
        param("pc", Type::Pointer(&REF_UNIQUE_COUNTED), INOUT),
    ],
    ret: None,
};
/// A conformant structure passed by value: C cannot, but a description can say it.
static BY_VALUE: Proc = Proc {
    name: "Hand::ByValue",
    opnum: 17,
    params: &[param("c", Type::Struct(&CSTRUCT), IN)],
    ret: None,
};

// ---- arrays of string pointers; size_is(rows, cols) ----

static WSTRS_N: Array = Array {
    element: Type::Pointer(&UNIQUE_WSTR),
    stride: 8,
    count: Count::Conformant(&N0),
    varying: None,
};
static REF_WSTRS_N: Pointer = ptr(PointerKind::Ref, Type::Array(&WSTRS_N));
static NAMES: Proc = Proc {
    name: "Hand::Names",
    opnum: 18,
    params: &[
        param("n", ULONG, IN),
        param("names", Type::Pointer(&REF_WSTRS_N), INOUT),
        param("total", Type::Pointer(&REF_ULONG), OUT),
    ],
    ret: None,
};
static ROW: Array = Array {
    element: LONG,
    stride: 4,
    count: Count::Conformant(&M1),
    varying: None,
};
static UNIQUE_ROW: Pointer = ptr(PointerKind::Unique, Type::Array(&ROW));
static ROWS: Array = Array {
    element: Type::Pointer(&UNIQUE_ROW),
    stride: 8,
    count: Count::Conformant(&N0),
    varying: None,
};
static REF_ROWS: Pointer = ptr(PointerKind::Ref, Type::Array(&ROWS));
static GRID: Proc = Proc {
    name: "Hand::Grid",
    opnum: 19,
    params: &[
        param("rows", ULONG, IN),
        param("cols", ULONG, IN),
        param("grid", Type::Pointer(&REF_ROWS), INOUT),
    ],
    ret: None,
};

// ---- every base type, a range, fixed arrays of pointers ----

static RANGE: Range = Range {
    base: Base::Long,
    min: -5,
    max: 5,
};
static ALLBASE: Struct = Struct {
    name: "ALLBASE",
    size: 80,
    align: 8,
    fields: &[
        field(0, Type::Base(Base::Boolean)),
        field(1, Type::Base(Base::Byte)),
        field(2, Type::Base(Base::Char)),
        field(3, Type::Base(Base::Small)),
        field(4, Type::Base(Base::WChar)),
        field(6, Type::Base(Base::Short)),
        field(8, Type::Base(Base::UShort)),
        field(12, Type::Base(Base::Enum16)),
        field(16, LONG),
        field(20, ULONG),
        field(24, Type::Base(Base::Float)),
        field(28, Type::Base(Base::Enum32)),
        field(32, Type::Base(Base::Hyper)),
        field(40, Type::Base(Base::UHyper)),
        field(48, Type::Base(Base::Double)),
        field(56, Type::Base(Base::Int3264)),
        field(64, Type::Base(Base::UInt3264)),
        field(72, Type::Base(Base::ErrorStatus)),
        field(76, Type::Range(&RANGE)),
    ],
};
static REF_ALLBASE: Pointer = ptr(PointerKind::Ref, Type::Struct(&ALLBASE));
static THREE_PTRS: Array = Array {
    element: Type::Pointer(&UNIQUE_LONG),
    stride: 8,
    count: Count::Fixed(3),
    varying: None,
};
/// `struct FIXP { [unique] LONG *p[3]; [ref] LONG *r; }`
static FIXP: Struct = Struct {
    name: "FIXP",
    size: 32,
    align: 8,
    fields: &[
        field(0, Type::Array(&THREE_PTRS)),
        field(24, Type::Pointer(&REF_LONG)),
    ],
};
static REF_FIXP: Pointer = ptr(PointerKind::Ref, Type::Struct(&FIXP));
static BASES: Proc = Proc {
    name: "Hand::Bases",
    opnum: 20,
    params: &[
        param("a", Type::Pointer(&REF_ALLBASE), INOUT),
        param("fp", Type::Pointer(&REF_FIXP), INOUT),
        param("r", Type::Range(&RANGE), IN),
    ],
    ret: Some(Type::Base(Base::Hyper)),
};

// ---- context handles; [out] arrays the server allocates ----

static REF_CTX: Pointer = ptr(PointerKind::Ref, Type::ContextHandle);
static CTX: Proc = Proc {
    name: "Hand::Ctx",
    opnum: 21,
    params: &[
        param("h", Type::ContextHandle, IN),
        param("inout", Type::Pointer(&REF_CTX), INOUT),
        param("out", Type::Pointer(&REF_CTX), OUT),
    ],
    ret: Some(Type::Base(Base::ErrorStatus)),
};
static CELLS_PN: Array = Array {
    element: Type::Struct(&CELL),
    stride: 16,
    count: Count::Conformant(&N0),
    varying: None,
};
static REF_CELLS_PN: Pointer = ptr(PointerKind::Ref, Type::Array(&CELLS_PN));
static GET_CELLS: Proc = Proc {
    name: "Hand::GetCells",
    opnum: 22,
    params: &[
        param("n", ULONG, IN),
        param("cells", Type::Pointer(&REF_CELLS_PN), OUT),
    ],
    ret: None,
};

// ---- correlations through pointers, and aliases whose correlations must agree ----

static DEREF_PN: Expr = Expr::Field {
    offset: 0,
    derefs: 1,
    ty: Base::ULong,
};
static NAMES_PN: Array = Array {
    element: Type::Pointer(&UNIQUE_WSTR),
    stride: 8,
    count: Count::Conformant(&DEREF_PN),
    varying: None,
};
static UNIQUE_NAMES_PN: Pointer = ptr(PointerKind::Unique, Type::Array(&NAMES_PN));
static UNIQUE_ULONG: Pointer = ptr(PointerKind::Unique, ULONG);
/// `struct DEREF { [unique] ULONG *pn; [size_is(*pn)] LPWSTR *names; }`
static DEREF: Struct = Struct {
    name: "DEREF",
    size: 16,
    align: 8,
    fields: &[
        field(0, Type::Pointer(&UNIQUE_ULONG)),
        field(8, Type::Pointer(&UNIQUE_NAMES_PN)),
    ],
};
static REF_DEREF: Pointer = ptr(PointerKind::Ref, Type::Struct(&DEREF));
static DEREF_PROC: Proc = Proc {
    name: "Hand::Deref",
    opnum: 23,
    params: &[param("d", Type::Pointer(&REF_DEREF), INOUT)],
    ret: None,
};
static FA_LONGS: Array = Array {
    element: LONG,
    stride: 4,
    count: Count::Conformant(&COUNT_N),
    varying: None,
};
static FULL_FA_LONGS: Pointer = ptr(PointerKind::Full, Type::Array(&FA_LONGS));
/// `struct FA { ULONG n; [ptr, size_is(n)] LONG *a; }`
static FA: Struct = Struct {
    name: "FA",
    size: 16,
    align: 8,
    fields: &[field(0, ULONG), field(8, Type::Pointer(&FULL_FA_LONGS))],
};
static FAS_M: Array = Array {
    element: Type::Struct(&FA),
    stride: 16,
    count: Count::Conformant(&N0),
    varying: None,
};
static REF_FAS_M: Pointer = ptr(PointerKind::Ref, Type::Array(&FAS_M));
static FULL_ALIAS: Proc = Proc {
    name: "Hand::FullAlias",
    opnum: 24,
    params: &[
        param("m", ULONG, IN),
        param("arr", Type::Pointer(&REF_FAS_M), INOUT),
    ],
    ret: None,
};

/// The hand-written procedures.
pub static PROCS: &[&Proc] = &[
    &GET_INFO,
    &PUT_C,
    &LIST,
    &ALIAS,
    &TWIN,
    &MIXED,
    &FULL_ARRAYS,
    &RING,
    &BLOB,
    &RESIZE,
    &RESIZE_STR,
    &BUF,
    &WINDOWS,
    &FIXED_VARYING,
    &UNIONS,
    &ENCAPSULATED,
    &NESTED,
    &BY_VALUE,
    &NAMES,
    &GRID,
    &BASES,
    &CTX,
    &GET_CELLS,
    &DEREF_PROC,
    &FULL_ALIAS,
];
