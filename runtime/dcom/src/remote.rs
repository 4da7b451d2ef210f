//! Remote activation, the client's side (MS-DCOM 3.2.4.1.1): asking another machine's
//! DCOM service (its IRemoteSCMActivator on port 135) for a class object or a new
//! instance, with the activation properties of MS-DCOM 2.2.22, and turning the OBJREFs
//! that come back into proxies. The reply's ScmReplyInfo says where the object's exporter
//! is, so no ResolveOxid is needed; the proxies' objects are pinged from then on (see
//! [`crate::pinger`]).
//!
//! A server is named as COSERVERINFO names it, with an optional port for a service on
//! another than 135: `host`, `host:port`, `host[port]`, `[v6 address]:port`.

use std::ffi::c_void;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use comidl_runtime_core::{E_INVALIDARG, GUID, HRESULT, RPC_S_SERVER_UNAVAILABLE_HR, Result};
use comidl_runtime_rpc::auth::{AuthnLevel, ClientAuth, NtlmCredentials};
use comidl_runtime_rpc::client::Connection;

use crate::activation::bindings::{IRemoteSCMActivator, owned};
use crate::activation::props::{ActivationReply, ActivationRequest, owned_guid};
use crate::call::COM_VERSION;
use crate::exporter::TOWER_TCP;

/// How long connecting to the service and its answer may take: activation may start a
/// server there, which local activation bounds by 30 s.
const ACTIVATION_TIMEOUT: Duration = Duration::from_secs(45);

/// RPC_C_IMP_LEVEL_IDENTIFY: what the client lets the server do with its identity.
const IMP_LEVEL_IDENTIFY: u32 = 2;

/// The host and port a server name gives.
pub fn parse_server(name: &str) -> Result<(String, u16)> {
    let name = name.trim();
    let default = comidl_runtime_rpc::epm::EPT_TCP_PORT;
    let parsed = if let Some(rest) = name.strip_prefix('[') {
        // [v6]:port or [v6]
        let close = rest.find(']').ok_or(E_INVALIDARG)?;
        let host = &rest[..close];
        let port = match rest[close + 1..].strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| E_INVALIDARG)?,
            None if rest[close + 1..].is_empty() => default,
            None => return Err(E_INVALIDARG),
        };
        (host.to_string(), port)
    } else if let (Some(open), true) = (name.find('['), name.ends_with(']')) {
        let port = name[open + 1..name.len() - 1]
            .parse()
            .map_err(|_| E_INVALIDARG)?;
        (name[..open].to_string(), port)
    } else if name.matches(':').count() == 1 {
        let (h, p) = name.split_once(':').ok_or(E_INVALIDARG)?;
        (h.to_string(), p.parse().map_err(|_| E_INVALIDARG)?)
    } else {
        (name.to_string(), default)
    };
    if parsed.0.is_empty() {
        return Err(E_INVALIDARG);
    }
    Ok(parsed)
}

static DEFAULT_AUTH: std::sync::RwLock<Option<ClientAuth>> = std::sync::RwLock::new(None);

/// How this process authenticates to other machines unless an activation says otherwise
/// (what CoInitializeSecurity sets on Windows): every remote activation, every call on
/// the objects it gives, and the pings.
pub fn set_default_auth(auth: Option<ClientAuth>) {
    match DEFAULT_AUTH.write() {
        Ok(mut a) => *a = auth,
        Err(p) => *p.into_inner() = auth,
    }
}

/// The process's authentication for other machines: what [`set_default_auth`] set, else
/// the environment's `COMIDL_DCOM_USER` (with `COMIDL_DCOM_PASSWORD`, `COMIDL_DCOM_DOMAIN`
/// and `COMIDL_DCOM_AUTHN_LEVEL`: connect, integrity or privacy, privacy by default),
/// else none.
pub fn default_auth() -> Option<ClientAuth> {
    let set = match DEFAULT_AUTH.read() {
        Ok(a) => a.clone(),
        Err(p) => p.into_inner().clone(),
    };
    set.or_else(|| {
        let user = std::env::var("COMIDL_DCOM_USER")
            .ok()
            .filter(|u| !u.is_empty())?;
        let level = std::env::var("COMIDL_DCOM_AUTHN_LEVEL")
            .ok()
            .and_then(|l| AuthnLevel::parse(&l))
            .unwrap_or(AuthnLevel::PktPrivacy);
        Some(ClientAuth {
            credentials: NtlmCredentials {
                user,
                domain: std::env::var("COMIDL_DCOM_DOMAIN").unwrap_or_default(),
                password: std::env::var("COMIDL_DCOM_PASSWORD").unwrap_or_default(),
            },
            level,
        })
    })
    .filter(|a| a.level > AuthnLevel::None)
}

/// The interfaces `iids` of a new instance of `clsid` on `server`: per interface, its
/// HRESULT and (for a success) the interface pointer, with one reference the caller owns.
/// An error when the service could not be reached or refused the activation as a whole.
/// Authenticated as `auth` (or the process's default, [`default_auth`]).
pub fn create_instance(
    server: &str,
    clsid: &GUID,
    iids: &[GUID],
    auth: Option<ClientAuth>,
) -> Result<Vec<(HRESULT, *mut c_void)>> {
    activate(server, clsid, iids, false, auth)
}

/// The class object of `clsid` on `server`, as interface `iid` (one reference).
pub fn class_object(
    server: &str,
    clsid: &GUID,
    iid: &GUID,
    auth: Option<ClientAuth>,
) -> Result<*mut c_void> {
    let mut r = activate(server, clsid, std::slice::from_ref(iid), true, auth)?;
    match r.pop() {
        Some((hr, p)) if hr.is_ok() && !p.is_null() => Ok(p),
        Some((hr, _)) if hr.is_err() => Err(hr),
        _ => Err(comidl_runtime_core::E_NOINTERFACE),
    }
}

fn activate(
    server: &str,
    clsid: &GUID,
    iids: &[GUID],
    class_object: bool,
    auth: Option<ClientAuth>,
) -> Result<Vec<(HRESULT, *mut c_void)>> {
    let auth = auth.or_else(default_auth);
    if iids.is_empty() || iids.len() > 0x8000 {
        return Err(E_INVALIDARG);
    }
    let (host, port) = parse_server(server)?;
    let at: SocketAddr = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or(RPC_S_SERVER_UNAVAILABLE_HR)?;
    let conn = Connection::tcp(at, ACTIVATION_TIMEOUT).map_err(|e| crate::call::hresult_of(&e))?;
    let conn = match &auth {
        Some(a) => conn.with_auth(a.clone()),
        None => conn,
    };
    let request = ActivationRequest {
        clsid: *clsid,
        iids: iids.to_vec(),
        client_version: COM_VERSION,
        protseqs: vec![TOWER_TCP],
        imp_level: IMP_LEVEL_IDENTIFY,
        server_name: Some(host.clone()),
        from_instance: false,
    }
    .encode()
    .map_err(|e| e.hresult())?;
    let this = owned::ORPCTHIS {
        version: owned::COMVERSION {
            MajorVersion: COM_VERSION.major,
            MinorVersion: COM_VERSION.minor,
        },
        flags: 0,
        reserved1: 0,
        cid: owned_guid(&GUID::try_new_v4()?),
        extensions: None,
    };
    let props = Some(owned::MInterfacePointer {
        ulCntData: request.len() as u32,
        abData: request,
    });
    let scm = IRemoteSCMActivator::new(&conn);
    let answer = if class_object {
        scm.remote_get_class_object(&this, &props)
    } else {
        scm.remote_create_instance(&this, &None, &props)
    };
    let (hr, _that, out) = answer.map_err(|e| crate::call::hresult_of(&e))?;
    HRESULT(hr).ok()?;
    let out = out.ok_or(crate::packed::RPC_E_INVALID_OBJREF)?;
    let reply = ActivationReply::decode(&out.abData).map_err(|e| e.hresult())?;
    if reply.results.len() != iids.len() {
        return Err(crate::packed::RPC_E_INVALID_OBJREF);
    }
    crate::proxy::seed_oxid(
        reply.scm.oxid,
        &reply.scm.bindings,
        reply.scm.rem_unknown,
        &host,
        at,
        auth,
    )?;
    let mut results = Vec::with_capacity(iids.len());
    for (iid, r) in iids.iter().zip(reply.results) {
        let got = match (r.hr.is_ok(), r.objref) {
            (true, Some(objref)) => crate::marshal::unmarshal_interface(&objref, iid),
            (true, None) => Err(crate::packed::RPC_E_INVALID_OBJREF),
            (false, _) => Err(r.hr),
        };
        results.push(match got {
            Ok(p) => (comidl_runtime_core::S_OK, p),
            Err(hr) => (hr, std::ptr::null_mut()),
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::parse_server;

    #[test]
    fn server_names() {
        assert_eq!(parse_server("host").unwrap(), ("host".into(), 135));
        assert_eq!(
            parse_server("10.0.0.2:1135").unwrap(),
            ("10.0.0.2".into(), 1135)
        );
        assert_eq!(parse_server("host[1135]").unwrap(), ("host".into(), 1135));
        assert_eq!(parse_server("[::1]:99").unwrap(), ("::1".into(), 99));
        assert_eq!(parse_server("[::1]").unwrap(), ("::1".into(), 135));
        assert_eq!(parse_server("fe80::1").unwrap(), ("fe80::1".into(), 135));
        for bad in ["", ":135", "host:x", "[::1", "host[x]"] {
            assert!(parse_server(bad).is_err(), "{bad}");
        }
    }
}
