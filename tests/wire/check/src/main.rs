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

use comidl_runtime::ndr::{self, Param, Proc, Type, Value};
use serde_json::Value as Json;
use wire_check::calls;

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
            calls::guarded(|| server_decode(proc, &request, &json)),
        ),
        (
            "client-decode",
            calls::guarded(|| client_decode(proc, &reply, &json)),
        ),
        (
            "client-encode",
            calls::guarded(|| {
                client_encode(proc, &json, &request, &out.join(format!("{name}.in.bin")))
            }),
        ),
        (
            "server-encode",
            calls::guarded(|| {
                server_encode(
                    proc,
                    &request,
                    &json,
                    &reply,
                    &out.join(format!("{name}.out.bin")),
                )
            }),
        ),
    ]
}

/// The JSON's value for a parameter, as a value tree.
fn param_value(json: &Json, key: &str) -> impl Fn(&Param) -> Result<Value, String> {
    move |p: &Param| to_value(p.ty, &json[key][p.name]).map_err(|e| format!("{}: {e}", p.name))
}

fn server_decode(proc: &'static Proc, request: &[u8], json: &Json) -> Outcome {
    for (name, got) in calls::server_values(proc, request)? {
        let Some(p) = proc.params.iter().find(|p| p.name == name) else {
            continue;
        };
        if matches!(p.ty, Type::Ignore) {
            continue;
        }
        compare(p.ty, &json["in"][name], &got, name)?;
    }
    Ok(String::new())
}

fn client_decode(proc: &'static Proc, reply: &[u8], json: &Json) -> Outcome {
    let (outs, ret) = calls::client_values(
        proc,
        &param_value(json, "in"),
        &param_value(json, "out"),
        reply,
    )?;
    for (name, got) in outs {
        let Some(p) = proc.params.iter().find(|p| p.name == name) else {
            continue;
        };
        compare(p.ty, &json["out"][name], &got, name)?;
    }
    if let (Some(t), Some(got)) = (proc.ret, ret) {
        compare(t, &json["out"]["ReturnValue"], &got, "ReturnValue")?;
    }
    Ok(String::new())
}

fn client_encode(proc: &'static Proc, json: &Json, theirs: &[u8], path: &Path) -> Outcome {
    let bytes = calls::client_request(proc, &param_value(json, "in"))?;
    std::fs::write(path, &bytes).map_err(|e| e.to_string())?;
    Ok(same_bytes_note(&bytes, theirs))
}

fn server_encode(
    proc: &'static Proc,
    request: &[u8],
    json: &Json,
    theirs: &[u8],
    path: &Path,
) -> Outcome {
    let ret = match proc.ret {
        Some(t) => Some(to_value(t, &json["out"]["ReturnValue"])?),
        None => None,
    };
    let bytes = calls::server_reply(proc, request, &param_value(json, "out"), ret)?;
    std::fs::write(path, &bytes).map_err(|e| e.to_string())?;
    Ok(same_bytes_note(&bytes, theirs))
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
        Type::String(_) | Type::Bstr => json
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
        // A user-marshalled value's tree is its wire value's.
        Type::User(u) => to_value(u.wire, json),
        _ => Err(format!("no JSON form for {ty:?}")),
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
    calls::same(&expected, got, at)
}
