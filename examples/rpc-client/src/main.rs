//! `share-list HOST`: an MS-RPC client written with comidl. It asks HOST's endpoint mapper
//! where the workstation service (MS-WKST) and the server service (MS-SRVS) listen, then
//! calls NetrWkstaGetInfo (level 100) and NetrShareEnum (level 1), unauthenticated over
//! TCP, as Windows's `net view` asks a host. Samba answers these; so does Windows where
//! anonymous access is allowed.
//!
//! ```text
//! cargo run -p rpc-client-example -- 192.0.2.10
//! ```

use std::process::ExitCode;

use comidl_runtime::rpc::{BindingHandle, ClientOptions};

comidl_runtime::include_idl!(mod ms_types = "ms_types");
comidl_runtime::include_idl!(mod wkssvc = "wkssvc");
comidl_runtime::include_idl!(mod srvsvc = "srvsvc");

use srvsvc::owned::{SHARE_ENUM_STRUCT, SHARE_ENUM_UNION, SHARE_INFO_1_CONTAINER};
use wkssvc::owned::WKSTA_INFO;

fn run(host: &str) -> Result<(), String> {
    // No endpoint in the binding: the first call asks the host's mapper (port 135).
    let binding = format!("ncacn_ip_tcp:{host}");
    let server = format!("\\\\{host}");

    let wks = wkssvc::wkssvc::new(
        BindingHandle::parse(&binding, ClientOptions::default()).map_err(|e| e.to_string())?,
    );
    let (status, info) = wks
        .netr_wksta_get_info(Some(&server), 100)
        .map_err(|e| format!("NetrWkstaGetInfo: {e}"))?;
    if status != 0 {
        return Err(format!("NetrWkstaGetInfo returned {status}"));
    }
    if let WKSTA_INFO::WkstaInfo100(Some(i)) = info {
        println!(
            "{} in {} (platform {}, version {}.{})",
            i.wki100_computername.unwrap_or_default(),
            i.wki100_langroup.unwrap_or_default(),
            i.wki100_platform_id,
            i.wki100_ver_major,
            i.wki100_ver_minor
        );
    }

    let srv = srvsvc::srvsvc::new(
        BindingHandle::parse(&binding, ClientOptions::default()).map_err(|e| e.to_string())?,
    );
    let mut shares = SHARE_ENUM_STRUCT {
        Level: 1,
        ShareInfo: SHARE_ENUM_UNION::Level1(Some(Box::new(SHARE_INFO_1_CONTAINER {
            EntriesRead: 0,
            Buffer: None,
        }))),
    };
    let mut resume = Some(0);
    let (status, total) = srv
        .netr_share_enum(Some(&server), &mut shares, u32::MAX, &mut resume)
        .map_err(|e| format!("NetrShareEnum: {e}"))?;
    if status != 0 {
        return Err(format!("NetrShareEnum returned {status}"));
    }
    println!("{total} shares:");
    if let SHARE_ENUM_UNION::Level1(Some(c)) = shares.ShareInfo {
        for s in c.Buffer.unwrap_or_default() {
            println!(
                "  {:<12} type {:#010x}  {}",
                s.shi1_netname.unwrap_or_default(),
                s.shi1_type,
                s.shi1_remark.unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(host) = std::env::args().nth(1) else {
        eprintln!("usage: share-list HOST");
        return ExitCode::from(2);
    };
    match run(&host) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("share-list: {e}");
            ExitCode::FAILURE
        }
    }
}
