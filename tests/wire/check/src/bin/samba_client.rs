//! `samba-client HOST`: comidl's generated safe clients, over runtime/rpc's TCP connection,
//! calling a real server (Samba in tests/wire): the endpoint mapper's ept_map for wkssvc
//! and srvsvc, then wkssvc's NetrWkstaGetInfo level 100 and srvsvc's NetrShareEnum level 1
//! (a conformant array of structures with strings), all unauthenticated. Prints what each
//! returned as `key=value` lines for the harness to compare with impacket's and rpcclient's
//! answers; exits non-zero when a call fails.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use comidl_runtime::GUID;
use comidl_runtime::ndr::{ContextHandle, Interface};
use comidl_runtime_rpc::client::Connection;
use wire_check::epmapper::{ept, owned as epm};
use wire_check::srvsvc::{owned as srv, srvsvc};
use wire_check::wkssvc::{owned as wks, wkssvc};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A tower for an interface over TCP (C706 Appendix L, MS-RPCE 2.2.1.2.3), port and
/// address 0 as a map request has them.
fn tcp_tower(i: &Interface) -> epm::twr_t {
    let mut out = 5u16.to_le_bytes().to_vec();
    let mut floor = |lhs: &[u8], rhs: &[u8]| {
        out.extend_from_slice(&(lhs.len() as u16).to_le_bytes());
        out.extend_from_slice(lhs);
        out.extend_from_slice(&(rhs.len() as u16).to_le_bytes());
        out.extend_from_slice(rhs);
    };
    let uuid = |g: &GUID| {
        let mut b = vec![0x0d];
        b.extend_from_slice(&g.data1.to_le_bytes());
        b.extend_from_slice(&g.data2.to_le_bytes());
        b.extend_from_slice(&g.data3.to_le_bytes());
        b.extend_from_slice(&g.data4);
        b
    };
    let mut lhs = uuid(&i.uuid);
    lhs.extend_from_slice(&i.version.0.to_le_bytes());
    floor(&lhs, &i.version.1.to_le_bytes());
    let mut lhs = uuid(&GUID::from_u128(0x8a885d04_1ceb_11c9_9fe8_08002b104860));
    lhs.extend_from_slice(&2u16.to_le_bytes());
    floor(&lhs, &0u16.to_le_bytes());
    floor(&[0x0b], &0u16.to_le_bytes());
    floor(&[0x07], &0u16.to_be_bytes());
    floor(&[0x09], &[0, 0, 0, 0]);
    epm::twr_t {
        tower_length: out.len() as u32,
        tower_octet_string: out,
    }
}

/// The TCP port in a tower's fourth floor.
fn tower_port(t: &epm::twr_t) -> Option<u16> {
    let b = &t.tower_octet_string;
    let mut at = 2;
    for floor in 0..5 {
        let l = u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize;
        let lhs = b.get(at + 2..at + 2 + l)?;
        at += 2 + l;
        let r = u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize;
        let rhs = b.get(at + 2..at + 2 + r)?;
        at += 2 + r;
        if floor == 3 && lhs == [0x07] {
            return Some(u16::from_be_bytes(rhs.try_into().ok()?));
        }
    }
    None
}

fn map(host: IpAddr, i: &Interface) -> Result<u16, String> {
    let conn = Connection::tcp(SocketAddr::new(host, 135), TIMEOUT).map_err(|e| e.to_string())?;
    let epm = ept::new(conn);
    let mut handle = ContextHandle::default();
    let (num, towers, status) = epm
        .ept_map(&None, &Some(tcp_tower(i)), &mut handle, 4)
        .map_err(|e| format!("ept_map: {e}"))?;
    if status != 0 || num == 0 {
        return Err(format!("ept_map: status {status:#x}, {num} towers"));
    }
    towers
        .iter()
        .flatten()
        .find_map(|t| tower_port(t))
        .ok_or_else(|| "ept_map: no TCP tower".to_string())
}

fn run(host: IpAddr) -> Result<(), String> {
    let wks_port = map(host, &wire_check::wkssvc::ndr::wkssvc_INTERFACE)?;
    println!("epm.wkssvc.port={wks_port}");
    let srv_port = map(host, &wire_check::srvsvc::ndr::srvsvc_INTERFACE)?;
    println!("epm.srvsvc.port={srv_port}");

    let conn =
        Connection::tcp(SocketAddr::new(host, wks_port), TIMEOUT).map_err(|e| e.to_string())?;
    let w = wkssvc::new(conn);
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

    let conn =
        Connection::tcp(SocketAddr::new(host, srv_port), TIMEOUT).map_err(|e| e.to_string())?;
    let s = srvsvc::new(conn);
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
    match run(host) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samba-client: {e}");
            ExitCode::FAILURE
        }
    }
}
