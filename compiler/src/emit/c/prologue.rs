//! The macros and types every comidl header starts with.
//!
//! Each macro is defined only if nothing defined it before (`<windows.h>`, `<objbase.h>`,
//! another comidl header), so the header works beside the platform's COM headers; the
//! block as a whole is guarded so a second comidl header skips it.
//!
//! - `EXTERN_C`, `interface`, `BEGIN_INTERFACE`/`END_INTERFACE`, `CONST_VTBL`,
//!   `DECLSPEC_UUID`, `DECLSPEC_NOVTABLE`, `MIDL_INTERFACE`: what COM headers use.
//! - `STDMETHODCALLTYPE`: COM methods' calling convention. On Unix it is empty: COM methods
//!   are `extern "system"`, which is the C convention there. On Windows it is `__stdcall`.
//!   (A program that takes Wine's `<objbase.h>` first gets Wine's ms_abi definition; see
//!   shared/DESIGN.md for the Unix convention comidl's runtime uses.)
//! - `COMIDL_STDCALL`, `COMIDL_CDECL`, `COMIDL_FASTCALL`, `COMIDL_PASCAL`, `COMIDL_THISCALL`:
//!   the calling conventions IDL names explicitly: the keyword on Windows, nothing elsewhere
//!   (on 64-bit targets and on Unix they all are the C convention).
//! - `comidl_wchar`: IDL's `wchar_t`, 16 bits everywhere without `-fshort-wchar`:
//!   `unsigned short` in C (what `wchar_t` is in C where it has 16 bits, so `L"..."` still
//!   fits under `-fshort-wchar`), `char16_t` in C++ (`u"..."` literals), `wchar_t` in C++
//!   where that is 16 bits (Windows, `-fshort-wchar`). `COMIDL_WSTR("text")` is a string
//!   literal of that type: `u"text"`, or `L"text"` where `wchar_t` has 16 bits.
//! - `COMIDL_EXTENSION`: `__extension__` for GCC-compatible compilers, which marks the
//!   declarations ISO C does not have (bit-fields of types other than `int`, empty structs)
//!   so that `-pedantic` accepts the header.
//! - `COMIDL_WIN64`: defined on 64-bit targets. The IDL's cpp_quote'd conditionals on
//!   `_WIN64` test it instead (see `target_conditional`), so a 64-bit Linux build takes the
//!   64-bit branches comidl's model and layouts take.
//! - `__C89_NAMELESS` and `__C89_NAMELESSSTRUCTNAME`/`__C89_NAMELESSUNIONNAME` (1 to 5 and 1
//!   to 8 numbered), which anonymous members are spelled with, as in widl's headers and
//!   Wine's `winnt.h`: defined here only when nothing defined `__C89_NAMELESS` first.
//! - `<stdint.h>`, for `intptr_t`/`uintptr_t` (IDL's `__int3264`).

/// What comes before the include guard: the platform's RPC and COM headers, included as
/// widl's and MIDL's headers include them, so that the types and macros IDL files take
/// from them (`BYTE` and the other `winnt.h` types wtypes.idl leaves to C, `__RPC_STUB`,
/// `DUMMYUNIONNAME`, ...) are there, and a program that includes this header gets what it
/// would get from widl's. The RPC headers are Windows-only (`_WIN32`), as in widl's
/// headers. `<windows.h>` and `<ole2.h>` can be kept out with `COM_NO_WINDOWS_H`, as in
/// widl's; elsewhere than on Windows they are only included where they exist (Wine's
/// headers on the include path), so the header still stands alone beside comidl's
/// runtime, which has no `<windows.h>`. Before the guard, like widl's: when `<windows.h>`
/// itself includes this header (through `<ole2.h>`), the definitions are written there,
/// in the order the platform's headers expect them.
pub const PLATFORM: &str = r#"#ifdef _WIN32
#ifndef __REQUIRED_RPCNDR_H_VERSION__
#define __REQUIRED_RPCNDR_H_VERSION__ 475
#endif
#include <rpc.h>
#include <rpcndr.h>
#endif

#ifndef COM_NO_WINDOWS_H
#if defined(_WIN32)
#include <windows.h>
#include <ole2.h>
#elif defined(__has_include)
#if __has_include(<windows.h>) && __has_include(<ole2.h>)
#include <windows.h>
#include <ole2.h>
#endif
#endif
#endif
"#;

/// The prologue's text.
pub const TEXT: &str = r#"#ifndef COMIDL_C_PROLOGUE
#define COMIDL_C_PROLOGUE
/* What COM headers rely on; each macro is left alone where the platform's headers
 * (windows.h, objbase.h) or another comidl header defined it already. */
#include <stdint.h>

#ifndef EXTERN_C
# ifdef __cplusplus
#  define EXTERN_C extern "C"
# else
#  define EXTERN_C extern
# endif
#endif

/* COM methods: the C calling convention on Unix (Rust's extern "system"), __stdcall on
 * Windows. */
#ifndef STDMETHODCALLTYPE
# ifdef _WIN32
#  define STDMETHODCALLTYPE __stdcall
# else
#  define STDMETHODCALLTYPE
# endif
#endif

/* Calling conventions the IDL names: only 32-bit Windows tells them apart. */
#ifndef COMIDL_STDCALL
# ifdef _WIN32
#  define COMIDL_STDCALL __stdcall
#  define COMIDL_CDECL __cdecl
#  define COMIDL_FASTCALL __fastcall
#  define COMIDL_PASCAL __stdcall
#  define COMIDL_THISCALL __thiscall
# else
#  define COMIDL_STDCALL
#  define COMIDL_CDECL
#  define COMIDL_FASTCALL
#  define COMIDL_PASCAL
#  define COMIDL_THISCALL
# endif
#endif

#ifndef interface
# define interface struct
#endif
#ifndef BEGIN_INTERFACE
# define BEGIN_INTERFACE
#endif
#ifndef END_INTERFACE
# define END_INTERFACE
#endif
#ifndef CONST_VTBL
# ifdef CONST_VTABLE
#  define CONST_VTBL const
# else
#  define CONST_VTBL
# endif
#endif
#ifndef DECLSPEC_UUID
# if defined(_MSC_VER) && defined(__cplusplus)
#  define DECLSPEC_UUID(x) __declspec(uuid(x))
# else
#  define DECLSPEC_UUID(x)
# endif
#endif
#ifndef DECLSPEC_NOVTABLE
# if defined(_MSC_VER) && defined(__cplusplus)
#  define DECLSPEC_NOVTABLE __declspec(novtable)
# else
#  define DECLSPEC_NOVTABLE
# endif
#endif
#ifndef MIDL_INTERFACE
# define MIDL_INTERFACE(x) struct DECLSPEC_UUID(x) DECLSPEC_NOVTABLE
#endif

/* IDL's wchar_t: 16 bits in C and C++ alike, without -fshort-wchar. */
#if defined(__cplusplus) && (defined(_WIN32) || (defined(__SIZEOF_WCHAR_T__) && __SIZEOF_WCHAR_T__ == 2))
typedef wchar_t comidl_wchar;
# define COMIDL_WSTR(s) L##s
#elif defined(__cplusplus)
typedef char16_t comidl_wchar;
# define COMIDL_WSTR(s) u##s
#else
typedef unsigned short comidl_wchar;
# if defined(_WIN32) || (defined(__SIZEOF_WCHAR_T__) && __SIZEOF_WCHAR_T__ == 2)
#  define COMIDL_WSTR(s) L##s
# else
#  define COMIDL_WSTR(s) u##s
# endif
#endif

/* A 64-bit target: what the IDL's cpp_quote'd `#ifdef _WIN64` tests in this header. */
#if !defined(COMIDL_WIN64) && (defined(_WIN64) || (defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 8))
# define COMIDL_WIN64 1
#endif

/* Anonymous struct and union members, spelled as widl spells them; where the platform's
 * headers did not say how (winnt.h), members are anonymous, as C11 and C++ allow. */
#ifndef __C89_NAMELESS
# ifdef __GNUC__
#  define __C89_NAMELESS __extension__
# else
#  define __C89_NAMELESS
# endif
# define __C89_NAMELESSSTRUCTNAME
# define __C89_NAMELESSSTRUCTNAME1
# define __C89_NAMELESSSTRUCTNAME2
# define __C89_NAMELESSSTRUCTNAME3
# define __C89_NAMELESSSTRUCTNAME4
# define __C89_NAMELESSSTRUCTNAME5
# define __C89_NAMELESSUNIONNAME
# define __C89_NAMELESSUNIONNAME1
# define __C89_NAMELESSUNIONNAME2
# define __C89_NAMELESSUNIONNAME3
# define __C89_NAMELESSUNIONNAME4
# define __C89_NAMELESSUNIONNAME5
# define __C89_NAMELESSUNIONNAME6
# define __C89_NAMELESSUNIONNAME7
# define __C89_NAMELESSUNIONNAME8
#endif

/* Marks what ISO C lacks (bit-fields of types other than int, empty structs). */
#ifndef COMIDL_EXTENSION
# ifdef __GNUC__
#  define COMIDL_EXTENSION __extension__
# else
#  define COMIDL_EXTENSION
# endif
#endif
#endif /* COMIDL_C_PROLOGUE */
"#;
