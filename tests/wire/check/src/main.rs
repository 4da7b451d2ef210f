//! `wire-check VECTORS OUT`: comidl's generated stubs against the vectors of
//! tests/wire/vectors.py (impacket's encodings of real MS-RPCE calls, with the values
//! encoded, as `NAME.json`). For each call, four checks:
//!
//! - `server-decode`: our server stub unmarshals impacket's request; the `[in]` values
//!   equal the vector's;
//! - `client-decode`: our client stub unmarshals impacket's reply; the `[out]` values and
//!   the return value equal the vector's;
//! - `client-encode` and `server-encode`: our stubs marshal the vector's values (request
//!   and reply); the bytes are written to `OUT/NAME.{in,out}.bin` beside a copy of the
//!   JSON, for `vectors.py check OUT` to judge with Samba's ndrdump, and compared with
//!   impacket's bytes where those hold no padding of impacket's own fill.
//!
//! Values are compared as value trees (`comidl_runtime::ndr::Value`), read from the memory
//! the engine fills; the JSON's forms of a few MS-DTYP types (RPC_UNICODE_STRING as its
//! text, RPC_SID as `S-1-...`, a context handle as attributes and UUID) are converted to
//! the structures the IDL declares. Prints `ok` / `FAIL` per check and `N passed, N failed`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comidl_runtime::alloc::task::thread_balance;
use comidl_runtime::ndr::{
    self, Count, Direction, Interface, Limits, Proc, ServerCall, Type, Value, free, value,
};
use serde_json::Value as Json;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, vectors, out] = args.as_slice() else {
        eprintln!("usage: wire-check VECTORS_DIR OUT_DIR");
        return ExitCode::from(2);
    };
    let (vectors, out) = (PathBuf::from(vectors), PathBuf::from(out));
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    let mut names: Vec<PathBuf> = match std::fs::read_dir(&vectors) {
        Ok(d) => d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) => {
            eprintln!("cannot read {}: {e}", vectors.display());
            return ExitCode::from(2);
        }
    };
    names.sort();
    if names.is_empty() {
        eprintln!(
            "no vectors in {}: run vectors.py encode first",
            vectors.display()
        );
        return ExitCode::from(2);
    }
    let (mut passed, mut failed) = (0, 0);
    for json_path in names {
        let name = json_path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        for (check, result) in run_vector(&vectors, &out, &name, &json_path) {
            match result {
                Ok(note) => {
                    passed += 1;
                    println!("ok {name}.{check}{note}");
                }
                Err(why) => {
                    failed += 1;
                    println!("FAIL {name}.{check}: {why}");
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

type Outcome = Result<String, String>;

fn run_vector(
    dir: &Path,
    out: &Path,
    name: &str,
    json_path: &Path,
) -> Vec<(&'static str, Outcome)> {
    let fail_all = |why: String| {
        [
            "server-decode",
            "client-decode",
            "client-encode",
            "server-encode",
        ]
        .into_iter()
        .map(|c| (c, Err(why.clone())))
        .collect()
    };
    let json: Json = match std::fs::read(json_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(j) => j,
        Err(e) => return fail_all(format!("cannot read the vector: {e}")),
    };
    let pipe = json["pipe"].as_str().unwrap_or("");
    let Some(iface) = wire_check::interface(pipe) else {
        return fail_all(format!("no interface for pipe {pipe}"));
    };
    let opnum = json["opnum"].as_u64().unwrap_or(u64::MAX);
    let Some(proc) = iface
        .procs
        .iter()
        .copied()
        .find(|p| u64::from(p.opnum) == opnum)
    else {
        return fail_all(format!("{} has no opnum {opnum}", iface.name));
    };
    let read = |ext: &str| std::fs::read(dir.join(format!("{name}.{ext}.bin")));
    let (Ok(request), Ok(reply)) = (read("in"), read("out")) else {
        return fail_all("the vector's .bin files are missing".into());
    };
    let _ = std::fs::copy(json_path, out.join(format!("{name}.json")));
    vec![
        (
            "server-decode",
            guarded(|| server_decode(proc, &request, &json["in"])),
        ),
        (
            "client-decode",
            guarded(|| client_decode(proc, &reply, &json)),
        ),
        (
            "client-encode",
            guarded(|| {
                client_encode(
                    iface,
                    proc,
                    &json,
                    &request,
                    &out.join(format!("{name}.in.bin")),
                )
            }),
        ),
        (
            "server-encode",
            guarded(|| {
                server_encode(
                    proc,
                    &request,
                    &json["out"],
                    &reply,
                    &out.join(format!("{name}.out.bin")),
                )
            }),
        ),
    ]
}

/// Runs a check, turning a panic into a failure and checking that it freed everything.
fn guarded(check: impl FnOnce() -> Outcome) -> Outcome {
    let before = thread_balance();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check))
        .unwrap_or_else(|_| Err("the check panicked".into()));
    match (result, before, thread_balance()) {
        (Ok(_), Some(b), Some(a)) if a != b => {
            Err(format!("{} task-allocator blocks leaked", a - b))
        }
        (r, _, _) => r,
    }
}

/// Zeroed memory for each parameter's value, owned here (dropped with the frame).
struct Frame {
    slots: Vec<Vec<u64>>,
}

impl Frame {
    fn new(proc: &Proc) -> Frame {
        let slots = proc
            .params
            .iter()
            .map(|p| vec![0u64; ndr::layout::mem_size(p.ty).div_ceil(8).max(1)])
            .collect();
        Frame { slots }
    }

    fn args(&mut self) -> Vec<*mut u8> {
        self.slots
            .iter_mut()
            .map(|s| s.as_mut_ptr().cast())
            .collect()
    }
}

fn server_decode(proc: &'static Proc, request: &[u8], want: &Json) -> Outcome {
    let call = ServerCall::unmarshal(proc, request, Limits::default())
        .map_err(|e| format!("our server stub refuses impacket's request: {e}"))?;
    for (p, &slot) in proc.params.iter().zip(call.args()) {
        if !p.dir.is_in() || matches!(p.ty, Type::Ignore) {
            continue;
        }
        let got = unsafe { value::read(p.ty, slot, std::ptr::null(), call.args()) }
            .map_err(|e| format!("{}: {e}", p.name))?;
        compare(p.ty, &want[p.name], &got, p.name)?;
    }
    Ok(String::new())
}

fn client_decode(proc: &'static Proc, reply: &[u8], json: &Json) -> Outcome {
    // The client's [in] values, which correlations of the reply may name (Level, max counts).
    let mut frame = Frame::new(proc);
    let args = frame.args();
    let mut outs: Vec<Vec<u64>> = Vec::new();
    for (p, &slot) in proc.params.iter().zip(&args) {
        if p.dir.is_in() {
            let v = to_value(p.ty, &json["in"][p.name])?;
            unsafe { value::write(p.ty, &v, slot) }.map_err(|e| format!("{}: {e}", p.name))?;
            // The reply overwrites an [in, out] value's pointers with what it brings:
            // what the request's values pointed to is the caller's to free first.
            if p.dir == Direction::InOut {
                unsafe { free::free_out_param(p.ty, slot, &args) };
            }
        }
        // A top-level [ref] [out] pointer points to the caller's memory: give it room.
        if let (Direction::Out, Type::Pointer(ptr)) = (p.dir, p.ty)
            && ptr.kind == ndr::PointerKind::Ref
        {
            let room = room_for_out(ptr.pointee, &json["out"][p.name], &args)?;
            let mut buf = vec![0u64; room.div_ceil(8).max(1)];
            unsafe { slot.cast::<*mut u8>().write(buf.as_mut_ptr().cast()) };
            outs.push(buf);
        }
    }
    let mut ret = [0u64; 1];
    let result = unsafe {
        ndr::unmarshal_response(
            proc,
            &args,
            ret.as_mut_ptr().cast(),
            reply,
            Limits::default(),
        )
    };
    let check = || -> Outcome {
        result.map_err(|e| format!("our client stub refuses impacket's reply: {e}"))?;
        for (p, &slot) in proc.params.iter().zip(&args) {
            if !p.dir.is_out() {
                continue;
            }
            let got = unsafe { value::read(p.ty, slot, std::ptr::null(), &args) }
                .map_err(|e| format!("{}: {e}", p.name))?;
            compare(p.ty, &json["out"][p.name], &got, p.name)?;
        }
        if let Some(t) = proc.ret {
            let got = unsafe { value::read(t, ret.as_ptr().cast(), std::ptr::null(), &args) }
                .map_err(|e| e.to_string())?;
            compare(t, &json["out"]["ReturnValue"], &got, "ReturnValue")?;
        }
        Ok(String::new())
    };
    let outcome = check();
    // Free what the client side got: the reply's trees and our [in] values.
    for (p, &slot) in proc.params.iter().zip(&args) {
        unsafe {
            if p.dir == Direction::Out {
                free::free_out_param(p.ty, slot, &args);
            } else {
                free::free_param(p.ty, slot, &args);
            }
        }
    }
    drop(outs);
    outcome
}

/// What an `[out]` value of the caller's needs (a conformant array: its count).
fn room_for_out(ty: Type, json: &Json, _args: &[*mut u8]) -> Result<usize, String> {
    let v = to_value(ty, json)?;
    Ok(value::room_for(ty, &v)
        .max(ndr::layout::mem_size(ty))
        .max(64))
}

fn client_encode(
    iface: &Interface,
    proc: &'static Proc,
    json: &Json,
    theirs: &[u8],
    path: &Path,
) -> Outcome {
    let _ = iface;
    let mut frame = Frame::new(proc);
    let args = frame.args();
    let mut result = Ok(());
    for (p, &slot) in proc.params.iter().zip(&args) {
        if p.dir.is_in() {
            let v = match to_value(p.ty, &json["in"][p.name]) {
                Ok(v) => v,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if let Err(e) = unsafe { value::write(p.ty, &v, slot) } {
                result = Err(format!("{}: {e}", p.name));
                break;
            }
        } else if let Type::Pointer(_) = p.ty {
            // An [out]-only pointer must not be NULL for a [ref] check: any room will do.
            let buf = comidl_runtime::CoTaskMemAlloc(64).cast::<u8>();
            unsafe {
                buf.write_bytes(0, 64);
                slot.cast::<*mut u8>().write(buf);
            }
        }
    }
    let bytes = result.and_then(|()| {
        unsafe { ndr::marshal_request(proc, &args) }.map_err(|e| format!("marshalling: {e}"))
    });
    for (p, &slot) in proc.params.iter().zip(&args) {
        unsafe {
            if p.dir.is_in() {
                free::free_param(p.ty, slot, &args);
            } else {
                free::free_out_param(p.ty, slot, &args);
                let v = slot.cast::<*mut u8>().read();
                comidl_runtime::CoTaskMemFree(v.cast());
            }
        }
    }
    let bytes = bytes?;
    std::fs::write(path, &bytes).map_err(|e| e.to_string())?;
    Ok(same_bytes_note(&bytes, theirs))
}

fn server_encode(
    proc: &'static Proc,
    request: &[u8],
    want: &Json,
    theirs: &[u8],
    path: &Path,
) -> Outcome {
    let call = ServerCall::unmarshal(proc, request, Limits::default())
        .map_err(|e| format!("our server stub refuses impacket's request: {e}"))?;
    let args = call.args();
    for (p, &slot) in proc.params.iter().zip(args) {
        if !p.dir.is_out() {
            continue;
        }
        let v = to_value(p.ty, &want[p.name])?;
        unsafe {
            // [in, out] values are replaced: free what the request brought first.
            free::free_out_param(p.ty, slot, args);
            match p.ty {
                // The stub allocated the referent of a top-level [ref] pointer: fill it.
                Type::Pointer(ptr) if ptr.kind == ndr::PointerKind::Ref => {
                    let referent = slot.cast::<*mut u8>().read();
                    let room = value::room_for(ptr.pointee, &v);
                    let referent = if needs_new_room(ptr.pointee) {
                        comidl_runtime::CoTaskMemFree(referent.cast());
                        let fresh = comidl_runtime::CoTaskMemAlloc(room.max(1)).cast::<u8>();
                        fresh.write_bytes(0, room.max(1));
                        slot.cast::<*mut u8>().write(fresh);
                        fresh
                    } else {
                        referent
                    };
                    value::write(ptr.pointee, &v, referent)
                }
                t => value::write(t, &v, slot),
            }
            .map_err(|e| format!("{}: {e}", p.name))?;
        }
    }
    if let Some(t) = proc.ret {
        let v = to_value(t, &want["ReturnValue"])?;
        unsafe { value::write(t, &v, call.ret()) }.map_err(|e| e.to_string())?;
    }
    let bytes = unsafe { call.marshal_response() }.map_err(|e| format!("marshalling: {e}"))?;
    drop(call);
    std::fs::write(path, &bytes).map_err(|e| e.to_string())?;
    Ok(same_bytes_note(&bytes, theirs))
}

/// Whether a pointee's room depends on its value (a conformant array or string).
fn needs_new_room(ty: Type) -> bool {
    matches!(ty, Type::Array(a) if matches!(a.count, Count::Conformant(_)))
        || matches!(ty, Type::String(s) if s.fixed.is_none())
        || ndr::layout::conformant_tail(ty).is_some()
}

/// " (same bytes as impacket)" or how they differ (ndrdump then judges ours).
fn same_bytes_note(ours: &[u8], theirs: &[u8]) -> String {
    if ours == theirs {
        return " (same bytes as impacket)".into();
    }
    let differing = ours.iter().zip(theirs).filter(|(a, b)| a != b).count();
    format!(
        " ({} bytes; impacket's {}; {differing} differ: padding fill or referent ids, for ndrdump to judge)",
        ours.len(),
        theirs.len()
    )
}

// ---- JSON ↔ value trees ----

fn struct_name(ty: Type) -> &'static str {
    match ty {
        Type::Struct(s) => s.name.trim_start_matches('_'),
        _ => "",
    }
}

/// The value tree the JSON describes for a value of `ty`.
fn to_value(ty: Type, json: &Json) -> Result<Value, String> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        Type::Base(_) | Type::Range(_) => match json {
            Json::Bool(b) => Ok(Value::Int(i64::from(*b))),
            // One character (samr's PSAMPR_SERVER_NAME points to a single WCHAR).
            Json::String(c) if c.encode_utf16().count() == 1 => {
                Ok(Value::Int(i64::from(c.encode_utf16().next().unwrap_or(0))))
            }
            Json::Number(n) => Ok(n
                .as_i64()
                .map(Value::Int)
                .or(n.as_u64().map(|u| Value::Int(u as i64)))
                .or(n.as_f64().map(Value::Float))
                .unwrap_or(Value::Null)),
            other => Err(format!("a number was expected, not {other}")),
        },
        Type::String(_) => json
            .as_str()
            .map(|s| Value::Str(s.into()))
            .ok_or("a string was expected".into()),
        Type::Pointer(p) => to_value(p.pointee, json),
        Type::ContextHandle => handle_value(json),
        Type::Array(a) => match json {
            Json::Array(items) => Ok(Value::List(
                items
                    .iter()
                    .map(|j| to_value(a.element, j))
                    .collect::<Result<_, _>>()?,
            )),
            Json::String(s) if matches!(a.element, Type::Base(ndr::Base::WChar)) => Ok(
                Value::List(s.encode_utf16().map(|u| Value::Int(i64::from(u))).collect()),
            ),
            other => Err(format!("a list was expected, not {other}")),
        },
        Type::Struct(s) => match (struct_name(ty), json) {
            ("RPC_UNICODE_STRING", Json::String(text)) => {
                let units: Vec<Value> = text
                    .encode_utf16()
                    .map(|u| Value::Int(i64::from(u)))
                    .collect();
                let bytes = (units.len() * 2) as i64;
                Ok(Value::Record(
                    s.name,
                    vec![
                        ("Length", Value::Int(bytes)),
                        ("MaximumLength", Value::Int(bytes)),
                        ("Buffer", Value::List(units)),
                    ],
                ))
            }
            ("RPC_SID", Json::String(text)) => sid_value(s.name, text),
            ("GUID", Json::String(text)) => guid_value(s.name, text),
            ("twr_t", Json::Object(_)) => {
                let octets = tower_octets(json)?;
                Ok(Value::Record(
                    s.name,
                    vec![
                        ("tower_length", Value::Int(octets.len() as i64)),
                        (
                            "tower_octet_string",
                            Value::List(
                                octets
                                    .into_iter()
                                    .map(|b| Value::Int(i64::from(b)))
                                    .collect(),
                            ),
                        ),
                    ],
                ))
            }
            (_, Json::Object(map)) => {
                let mut fields = Vec::new();
                let mut used: Vec<&str> = Vec::new();
                for f in s.fields {
                    let j = map.get(f.name);
                    let v = match (j, f.ty) {
                        (Some(j), t) => {
                            used.push(f.name);
                            to_value(t, j)?
                        }
                        // A union's arm may stand beside the discriminant in the JSON.
                        (None, Type::Union(u)) => {
                            used.extend(u.arms.iter().map(|a| a.name));
                            to_value(f.ty, json)?
                        }
                        (None, _) => continue,
                    };
                    fields.push((f.name, v));
                }
                // Every value the JSON gives must be compared: a key naming no field means
                // the JSON and the IDL disagree (or an adapter is missing).
                if let Some(k) = map.keys().find(|k| !used.contains(&k.as_str())) {
                    return Err(format!("`{k}` names no field of {}", s.name));
                }
                Ok(Value::Record(s.name, fields))
            }
            (_, other) => Err(format!(
                "an object was expected for {}, not {other}",
                s.name
            )),
        },
        Type::Union(u) => {
            let Json::Object(map) = json else {
                return Err(format!("an object was expected for a union, not {json}"));
            };
            for a in u.arms {
                if let Some(j) = map.get(a.name).filter(|_| !a.name.is_empty()) {
                    let v = match a.ty {
                        Some(t) => to_value(t, j)?,
                        None => Value::Null,
                    };
                    return Ok(Value::Union(a.name, a.case, Box::new(v)));
                }
            }
            Err(format!("no arm of the union is named in {json}"))
        }
        Type::Ignore | Type::Unsupported(_) => Ok(Value::Null),
    }
}

fn handle_value(json: &Json) -> Result<Value, String> {
    let attributes = json["attributes"].as_u64().ok_or("a handle's attributes")? as u32;
    let uuid = json["uuid"].as_str().ok_or("a handle's uuid")?;
    let g = comidl_runtime::GUID::parse(uuid).map_err(|e| format!("{uuid}: {e:?}"))?;
    let mut b = [0u8; 20];
    b[..4].copy_from_slice(&attributes.to_le_bytes());
    b[4..8].copy_from_slice(&g.data1.to_le_bytes());
    b[8..10].copy_from_slice(&g.data2.to_le_bytes());
    b[10..12].copy_from_slice(&g.data3.to_le_bytes());
    b[12..].copy_from_slice(&g.data4);
    Ok(Value::Handle(b))
}

fn guid_value(name: &'static str, text: &str) -> Result<Value, String> {
    let g = comidl_runtime::GUID::parse(text).map_err(|e| format!("{text}: {e:?}"))?;
    Ok(Value::Record(
        name,
        vec![
            ("Data1", Value::Int(i64::from(g.data1))),
            ("Data2", Value::Int(i64::from(g.data2))),
            ("Data3", Value::Int(i64::from(g.data3))),
            (
                "Data4",
                Value::List(g.data4.iter().map(|&b| Value::Int(i64::from(b))).collect()),
            ),
        ],
    ))
}

fn guid_bytes(text: &str) -> Result<[u8; 16], String> {
    let g = comidl_runtime::GUID::parse(text).map_err(|e| format!("{text}: {e:?}"))?;
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&g.data1.to_le_bytes());
    b[4..6].copy_from_slice(&g.data2.to_le_bytes());
    b[6..8].copy_from_slice(&g.data3.to_le_bytes());
    b[8..].copy_from_slice(&g.data4);
    Ok(b)
}

/// A protocol tower (C706 Appendix L; MS-RPCE 2.2.1.2.3's floors, ncacn_ip_tcp and ncacn_np): the
/// floor count, then per floor a left side (protocol id and data) and a right side, each
/// with a 16-bit length. Floors: the interface (0x0d, UUID, major version | minor), the
/// transfer syntax (likewise), RPC connection-oriented (0x0b | minor 0), TCP (0x07 | port,
/// big-endian), IP (0x09 | the IPv4 address).
fn tower_octets(t: &Json) -> Result<Vec<u8>, String> {
    let protseq = t["protseq"].as_str().unwrap_or("");
    if protseq != "ncacn_ip_tcp" && protseq != "ncacn_np" {
        return Err(format!("tower protseq {protseq} not built here"));
    }
    let version = |v: &Json| -> Result<(u16, u16), String> {
        Ok((
            v[0].as_u64().ok_or("a major version")? as u16,
            v[1].as_u64().ok_or("a minor version")? as u16,
        ))
    };
    let mut out = Vec::new();
    let floor = |out: &mut Vec<u8>, lhs: &[u8], rhs: &[u8]| {
        out.extend_from_slice(&(lhs.len() as u16).to_le_bytes());
        out.extend_from_slice(lhs);
        out.extend_from_slice(&(rhs.len() as u16).to_le_bytes());
        out.extend_from_slice(rhs);
    };
    out.extend_from_slice(&5u16.to_le_bytes());
    for (uuid, ver) in [
        ("interface", "interface_version"),
        ("transfer_syntax", "transfer_syntax_version"),
    ] {
        let (major, minor) = version(&t[ver])?;
        let mut lhs = vec![0x0d];
        lhs.extend_from_slice(&guid_bytes(t[uuid].as_str().ok_or("a tower uuid")?)?);
        lhs.extend_from_slice(&major.to_le_bytes());
        floor(&mut out, &lhs, &minor.to_le_bytes());
    }
    floor(&mut out, &[0x0b], &0u16.to_le_bytes());
    if protseq == "ncacn_np" {
        // Named pipes: SMB (0x0f | the pipe's name) and NetBIOS (0x11 | the host's), each
        // NUL-terminated.
        let text = |k: &str| -> Result<Vec<u8>, String> {
            let mut b = t[k]
                .as_str()
                .ok_or(format!("a tower {k}"))?
                .as_bytes()
                .to_vec();
            b.push(0);
            Ok(b)
        };
        floor(&mut out, &[0x0f], &text("pipe")?);
        floor(&mut out, &[0x11], &text("host")?);
        return Ok(out);
    }
    let port = t["port"].as_u64().ok_or("a tower port")? as u16;
    floor(&mut out, &[0x07], &port.to_be_bytes());
    let ip: std::net::Ipv4Addr = t["ip"]
        .as_str()
        .ok_or("a tower ip")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    floor(&mut out, &[0x09], &ip.octets());
    Ok(out)
}

fn sid_value(name: &'static str, text: &str) -> Result<Value, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let ["S", rev, auth, subs @ ..] = parts.as_slice() else {
        return Err(format!("{text} is not a SID"));
    };
    let num = |s: &str| s.parse::<u64>().map_err(|e| format!("{text}: {e}"));
    let auth = num(auth)?;
    let authority: Vec<Value> = (0..6)
        .rev()
        .map(|i| Value::Int(((auth >> (8 * i)) & 0xFF) as i64))
        .collect();
    let subs: Vec<Value> = subs
        .iter()
        .map(|s| num(s).map(|v| Value::Int(v as i64)))
        .collect::<Result<_, _>>()?;
    Ok(Value::Record(
        name,
        vec![
            ("Revision", Value::Int(num(rev)? as i64)),
            ("SubAuthorityCount", Value::Int(subs.len() as i64)),
            (
                "IdentifierAuthority",
                Value::Record(
                    "_RPC_SID_IDENTIFIER_AUTHORITY",
                    vec![("Value", Value::List(authority))],
                ),
            ),
            ("SubAuthority", Value::List(subs)),
        ],
    ))
}

/// Compares what the engine read with what the JSON says, field by field as far as the
/// JSON goes.
fn compare(ty: Type, want: &Json, got: &Value, at: &str) -> Result<(), String> {
    let expected = to_value(ty, want).map_err(|e| format!("{at}: {e}"))?;
    same(&expected, got, at)
}

fn same(want: &Value, got: &Value, at: &str) -> Result<(), String> {
    let differ = || Err(format!("{at}: expected {want:?}, got {got:?}"));
    match (want, got) {
        (Value::Record(_, wf), Value::Record(_, gf)) => {
            for (n, wv) in wf {
                // A counted string's buffer is compared as text (its room may differ).
                let gv = gf
                    .iter()
                    .find(|(g, _)| g == n)
                    .map(|(_, v)| v)
                    .unwrap_or(&Value::Null);
                if *n == "MaximumLength" {
                    continue;
                }
                same(wv, gv, &format!("{at}.{n}"))?;
            }
            Ok(())
        }
        (Value::Union(wn, _, wv), Value::Union(gn, _, gv)) => {
            if wn != gn {
                return differ();
            }
            same(wv, gv, &format!("{at}.{wn}"))
        }
        (Value::List(w), Value::List(g)) => {
            if w.len() != g.len() {
                return differ();
            }
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                same(a, b, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Float(a), Value::Float(b)) if (a - b).abs() < 1e-6 => Ok(()),
        (a, b) if a == b => Ok(()),
        // A nil handle (20 zeros) is a NULL handle in memory.
        (Value::Handle(b), Value::Null) if *b == [0; 20] => Ok(()),
        _ => differ(),
    }
}
