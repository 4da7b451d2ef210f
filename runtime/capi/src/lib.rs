//! comidl-runtime as a shared library for C programs: `libcomidl_runtime_c.so` exports the
//! runtime's C entry points (`CoInitializeEx`, `CoCreateInstance`, `CLSIDFromProgID`,
//! `CoTaskMemAlloc`, `SysAllocString`, ...) under their Windows names, with the C calling
//! convention. A C host links it (`-lcomidl_runtime_c`) and becomes the process's COM
//! library: the server modules it loads attach to it.

pub use comidl_runtime;
