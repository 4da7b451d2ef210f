//! `samba-client HOST`: comidl's generated safe clients, over runtime/rpc's TCP connection,
//! calling a real server (Samba in tests/wire): the runtime's endpoint-mapper client
//! (`epm::resolve`, an ept_map with its own towers) for wkssvc and srvsvc, then wkssvc's
//! NetrWkstaGetInfo level 100 and srvsvc's NetrShareEnum level 1 (a conformant array of
//! structures with strings), unauthenticated, or with `samba-client HOST USER PASSWORD
//! LEVEL` authenticated with NTLM at LEVEL (`integrity` or `privacy`: every PDU signed, or
//! signed and sealed). Prints what each
//! returned as `key=value` lines for the harness to compare with impacket's and rpcclient's
//! answers; exits non-zero when a call fails.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use comidl_runtime::ndr::Interface;
use comidl_runtime_rpc::client::Connection;
use comidl_runtime_rpc::{Protseq, StringBinding, SyntaxId, epm};
use wire_check::srvsvc::{owned as srv, srvsvc};
use wire_check::wkssvc::{owned as wks, wkssvc};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The interface's TCP port, from the host's endpoint mapper: the runtime's `resolve`
/// completes a string binding without an endpoint (its towers and `ept_map` call).
fn map(host: IpAddr, i: &Interface) -> Result<u16, String> {
    let binding =
        StringBinding::parse(&format!("ncacn_ip_tcp:{host}")).map_err(|e| e.to_string())?;
    let interface = SyntaxId::new(i.uuid, i.version.0, i.version.1);
    let options = epm::ResolveOptions {
        timeout: TIMEOUT,
        ..Default::default()
    };
    let resolved = epm::resolve(&binding, interface, &options).map_err(|e| e.to_string())?;
    resolved
        .endpoint
        .as_deref()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("ept_map: no TCP port in {resolved}"))
}

/// A connection to `port`, authenticated when `auth` says so.
fn connect(
    host: IpAddr,
    port: u16,
    auth: &Option<comidl_runtime_rpc::auth::ClientAuth>,
) -> Result<Connection<std::net::TcpStream>, String> {
    let conn = Connection::tcp(SocketAddr::new(host, port), TIMEOUT).map_err(|e| e.to_string())?;
    Ok(match auth {
        Some(a) => conn.with_auth(a.clone()),
        None => conn,
    })
}

fn run(host: IpAddr, auth: Option<comidl_runtime_rpc::auth::ClientAuth>) -> Result<(), String> {
    let wkssvc = &wire_check::wkssvc::ndr::wkssvc_INTERFACE;
    let request = epm::client::map_request_tower(
        SyntaxId::new(wkssvc.uuid, wkssvc.version.0, wkssvc.version.1),
        Protseq::Tcp,
    );
    let hex: String = request
        .encode()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("epm.tower.wkssvc={hex}");
    let wks_port = map(host, &wire_check::wkssvc::ndr::wkssvc_INTERFACE)?;
    println!("epm.wkssvc.port={wks_port}");
    let srv_port = map(host, &wire_check::srvsvc::ndr::srvsvc_INTERFACE)?;
    println!("epm.srvsvc.port={srv_port}");

    let w = wkssvc::new(connect(host, wks_port, &auth)?);
    let server = format!("\\\\{host}");
    let (status, info) = w
        .netr_wksta_get_info(Some(&server), 100)
        .map_err(|e| format!("NetrWkstaGetInfo: {e}"))?;
    println!("wkssvc.status={status}");
    let wks::WKSTA_INFO::WkstaInfo100(Some(i)) = info else {
        return Err(format!(
            "NetrWkstaGetInfo: level 100 expected, got {info:?}"
        ));
    };
    println!("wkssvc.platform_id={}", i.wki100_platform_id);
    println!(
        "wkssvc.computername={}",
        i.wki100_computername.unwrap_or_default()
    );
    println!("wkssvc.langroup={}", i.wki100_langroup.unwrap_or_default());
    println!(
        "wkssvc.version={}.{}",
        i.wki100_ver_major, i.wki100_ver_minor
    );

    let s = srvsvc::new(connect(host, srv_port, &auth)?);
    let mut info = srv::SHARE_ENUM_STRUCT {
        Level: 1,
        ShareInfo: srv::SHARE_ENUM_UNION::Level1(Some(Box::new(srv::SHARE_INFO_1_CONTAINER {
            EntriesRead: 0,
            Buffer: None,
        }))),
    };
    let mut resume = Some(0);
    let (status, total) = s
        .netr_share_enum(Some(&server), &mut info, u32::MAX, &mut resume)
        .map_err(|e| format!("NetrShareEnum: {e}"))?;
    println!("srvsvc.status={status}");
    println!("srvsvc.total={total}");
    let srv::SHARE_ENUM_UNION::Level1(Some(c)) = info.ShareInfo else {
        return Err("NetrShareEnum: level 1 expected".into());
    };
    for share in c.Buffer.unwrap_or_default() {
        println!(
            "srvsvc.share={}|{}|{}",
            share.shi1_netname.unwrap_or_default(),
            share.shi1_type,
            share.shi1_remark.unwrap_or_default()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let host: IpAddr = match std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1".into())
        .parse()
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("samba-client: {e}");
            return ExitCode::from(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(2).collect();
    let auth = match args.as_slice() {
        [] => None,
        [user, password, level] => {
            let level = match level.as_str() {
                "integrity" => comidl_runtime_rpc::auth::AuthnLevel::PktIntegrity,
                "privacy" => comidl_runtime_rpc::auth::AuthnLevel::PktPrivacy,
                other => {
                    eprintln!("samba-client: level {other}: integrity or privacy");
                    return ExitCode::from(2);
                }
            };
            Some(comidl_runtime_rpc::auth::ClientAuth {
                credentials: comidl_runtime_rpc::auth::NtlmCredentials {
                    user: user.clone(),
                    domain: String::new(),
                    password: password.clone(),
                },
                level,
            })
        }
        _ => {
            eprintln!("samba-client: HOST [USER PASSWORD LEVEL]");
            return ExitCode::from(2);
        }
    };
    match run(host, auth) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samba-client: {e}");
            ExitCode::FAILURE
        }
    }
}
