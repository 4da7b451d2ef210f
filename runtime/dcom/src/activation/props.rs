//! The activation properties blob (MS-DCOM 2.2.22): an OBJREF_CUSTOM whose data is
//!
//! ```text
//! dwSize  dwReserved  CustomHeader  property 0  property 1 ...
//! ```
//!
//! where the CustomHeader and every property are NDR type-serialized (MS-RPCE 2.2.6) on
//! their own, and the header lists the properties' CLSIDs and sizes in order. A request
//! (CLSID_ActivationPropertiesIn) says which class and interfaces the client wants; a
//! reply (CLSID_ActivationPropertiesOut) carries one result per interface (PropsOutInfo)
//! and where the object's exporter is (ScmReplyInfo).
//!
//! Decoding trusts no byte: sizes are checked against what the blob holds, every property
//! against its description, and the counts against each other.

use comidl_runtime_core::{GUID, HRESULT};

use super::bindings::owned;
use crate::dualstring::DualStringArray;
use crate::objref::{Objref, ObjrefForm};
use crate::orpc::ComVersion;
use crate::packed::{Result, WireError};

const fn dcom_guid(data1: u32) -> GUID {
    GUID::from_values(data1, 0, 0, [0xC0, 0, 0, 0, 0, 0, 0, 0x46])
}

/// The OBJREF_CUSTOM class of a request's properties.
pub const CLSID_ACTIVATION_PROPERTIES_IN: GUID = dcom_guid(0x0000_0338);
/// The OBJREF_CUSTOM class of a reply's properties (also CLSID_PropsOutInfo).
pub const CLSID_ACTIVATION_PROPERTIES_OUT: GUID = dcom_guid(0x0000_0339);
/// The OBJREF's IID of a request's properties.
pub const IID_IACTIVATION_PROPERTIES_IN: GUID = dcom_guid(0x0000_01A2);
/// The OBJREF's IID of a reply's properties.
pub const IID_IACTIVATION_PROPERTIES_OUT: GUID = dcom_guid(0x0000_01A3);

/// The properties' CLSIDs (MS-DCOM 1.9).
pub const CLSID_INSTANTIATION_INFO: GUID = dcom_guid(0x0000_01AB);
pub const CLSID_ACTIVATION_CONTEXT_INFO: GUID = dcom_guid(0x0000_01A5);
pub const CLSID_SERVER_LOCATION_INFO: GUID = dcom_guid(0x0000_01A4);
pub const CLSID_SCM_REQUEST_INFO: GUID = dcom_guid(0x0000_01AA);
pub const CLSID_SECURITY_INFO: GUID = dcom_guid(0x0000_01A6);
pub const CLSID_SPECIAL_SYSTEM_PROPERTIES: GUID = dcom_guid(0x0000_01B9);
pub const CLSID_INSTANCE_INFO: GUID = dcom_guid(0x0000_01AD);
pub const CLSID_PROPS_OUT_INFO: GUID = dcom_guid(0x0000_0339);
pub const CLSID_SCM_REPLY_INFO: GUID = dcom_guid(0x0000_01B6);

/// A client context (2.2.20) travels as an OBJREF_CUSTOM of this class, for IID_IContext.
pub const CLSID_CONTEXT_MARSHALER: GUID = dcom_guid(0x0000_033B);
pub const IID_ICONTEXT: GUID = dcom_guid(0x0000_01C0);

/// MSHCTX_DIFFERENTMACHINE: the CustomHeader's `destCtx` as clients on another machine
/// send it.
const DEST_DIFFERENT_MACHINE: u32 = 2;

/// What the spec bounds a blob's property count to (MIN_ACTPROP_LIMIT, MAX_ACTPROP_LIMIT).
const MAX_PROPERTIES: usize = 10;

fn bad(at: usize, why: &'static str) -> WireError {
    WireError { at, why }
}

/// A GUID of the generated owned types, if its last field has its eight bytes.
pub fn guid_of(g: &owned::GUID) -> Result<GUID> {
    Ok(GUID::from_values(
        g.Data1,
        g.Data2,
        g.Data3,
        g.Data4
            .as_slice()
            .try_into()
            .map_err(|_| bad(0, "a GUID without its eight last bytes"))?,
    ))
}

/// A GUID as the generated owned types carry it.
pub fn owned_guid(g: &GUID) -> owned::GUID {
    owned::GUID {
        Data1: g.data1,
        Data2: g.data2,
        Data3: g.data3,
        Data4: g.data4.to_vec(),
    }
}

fn ndr(e: comidl_runtime_ndr::NdrError) -> WireError {
    match e {
        comidl_runtime_ndr::NdrError::BadStubData { at, why } => bad(at, why),
        _ => bad(0, "a property set the NDR engine refuses"),
    }
}

/// The properties of a blob, in order: each one's CLSID and its serialized bytes.
pub fn split_blob(data: &[u8]) -> Result<Vec<(GUID, &[u8])>> {
    if data.len() < 8 {
        return Err(bad(0, "an activation blob shorter than its size fields"));
    }
    let size = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
    let rest = &data[8..];
    if size > rest.len() {
        return Err(bad(0, "an activation blob's size exceeds its data"));
    }
    let rest = &rest[..size];
    let header = owned::CustomHeader::decode(rest).map_err(ndr)?;
    let count = header.cIfs as usize;
    let clsids = header.pclsid.unwrap_or_default();
    let sizes = header.pSizes.unwrap_or_default();
    if count == 0 || count > MAX_PROPERTIES || clsids.len() != count || sizes.len() != count {
        return Err(bad(
            8,
            "an activation blob's header lists no or mismatched properties",
        ));
    }
    let mut at = header.headerSize as usize;
    if at > rest.len() || header.totalSize as usize > rest.len() {
        return Err(bad(8, "an activation blob's header size exceeds the blob"));
    }
    let mut props = Vec::with_capacity(count);
    for (clsid, len) in clsids.iter().zip(&sizes) {
        let len = *len as usize;
        let end = at
            .checked_add(len)
            .filter(|&e| e <= rest.len())
            .ok_or(bad(8 + at, "a property runs past the activation blob"))?;
        props.push((guid_of(clsid)?, &rest[at..end]));
        at = end;
    }
    Ok(props)
}

/// A blob of serialized properties, in order.
pub fn join_blob(props: &[(GUID, Vec<u8>)]) -> Result<Vec<u8>> {
    if props.is_empty() || props.len() > MAX_PROPERTIES {
        return Err(bad(0, "an activation blob holds 1 to 10 properties"));
    }
    let sizes: Vec<u32> = props.iter().map(|(_, p)| p.len() as u32).collect();
    let body: u32 = sizes.iter().sum();
    let mut header = owned::CustomHeader {
        totalSize: 0,
        headerSize: 0,
        dwReserved: 0,
        destCtx: DEST_DIFFERENT_MACHINE,
        cIfs: props.len() as u32,
        classInfoClsid: owned_guid(&GUID::default()),
        pclsid: Some(props.iter().map(|(c, _)| owned_guid(c)).collect()),
        pSizes: Some(sizes),
        pdwReserved: None,
    };
    // The header's own size does not depend on the sizes it states.
    let len = header.encode().map_err(ndr)?.len() as u32;
    header.headerSize = len;
    header.totalSize = len + body;
    let encoded = header.encode().map_err(ndr)?;
    let mut out = Vec::with_capacity(8 + header.totalSize as usize);
    out.extend_from_slice(&header.totalSize.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&encoded);
    for (_, p) in props {
        out.extend_from_slice(p);
    }
    Ok(out)
}

/// The blob inside an OBJREF_CUSTOM of class `clsid`.
fn blob_of(objref: &[u8], clsid: &GUID) -> Result<Vec<u8>> {
    let o = Objref::decode(objref)?;
    match o.form {
        ObjrefForm::Custom { clsid: c, data, .. } if c == *clsid => Ok(data),
        _ => Err(bad(
            0,
            "activation properties in another OBJREF than their custom one",
        )),
    }
}

fn wrap(iid: GUID, clsid: GUID, blob: Vec<u8>) -> Result<Vec<u8>> {
    Objref {
        iid,
        form: ObjrefForm::Custom {
            clsid,
            cb_extension: 0,
            reserved: 0,
            data: blob,
        },
    }
    .encode()
}

/// What a client asks for (RemoteCreateInstance or RemoteGetClassObject).
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationRequest {
    pub clsid: GUID,
    /// The interfaces asked for (one for RemoteGetClassObject).
    pub iids: Vec<GUID>,
    /// The client's COM version.
    pub client_version: ComVersion,
    /// The protocol sequences (tower ids) the client can use to reach the object.
    pub protseqs: Vec<u16>,
    /// The impersonation level the client allows.
    pub imp_level: u32,
    /// The server name the client used (SecurityInfo's COSERVERINFO), if it sent one.
    pub server_name: Option<String>,
    /// The client asked to activate from a persistent object (InstanceInfo): not served.
    pub from_instance: bool,
}

/// One requested interface's result.
#[derive(Clone, Debug, PartialEq)]
pub struct InterfaceResult {
    pub iid: GUID,
    pub hr: HRESULT,
    /// The interface's OBJREF, for a success.
    pub objref: Option<Vec<u8>>,
}

/// Where the object's exporter is (customREMOTE_REPLY_SCM_INFO).
#[derive(Clone, Debug, PartialEq)]
pub struct ScmReply {
    pub oxid: u64,
    pub bindings: DualStringArray,
    pub rem_unknown: GUID,
    pub authn_hint: u32,
    pub version: ComVersion,
}

/// What the service answers.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationReply {
    pub results: Vec<InterfaceResult>,
    pub scm: ScmReply,
}

/// A DUALSTRINGARRAY as the generated owned types carry it (its UTF-16 units).
pub fn owned_bindings(d: &DualStringArray) -> Result<owned::DUALSTRINGARRAY> {
    let (n, sec, units) = d.to_units()?;
    Ok(owned::DUALSTRINGARRAY {
        wNumEntries: n,
        wSecurityOffset: sec,
        aStringArray: units,
    })
}

/// The DUALSTRINGARRAY of an owned value, checked as any received one.
pub fn bindings_of(o: &owned::DUALSTRINGARRAY) -> Result<DualStringArray> {
    DualStringArray::from_units(o.wNumEntries, o.wSecurityOffset, &o.aStringArray)
}

fn version_of(v: &owned::COMVERSION) -> ComVersion {
    ComVersion {
        major: v.MajorVersion,
        minor: v.MinorVersion,
    }
}

fn owned_version(v: ComVersion) -> owned::COMVERSION {
    owned::COMVERSION {
        MajorVersion: v.major,
        MinorVersion: v.minor,
    }
}

fn interface_pointer(objref: Vec<u8>) -> Box<owned::MInterfacePointer> {
    Box::new(owned::MInterfacePointer {
        ulCntData: objref.len() as u32,
        abData: objref,
    })
}

/// A client context (MS-DCOM 2.2.20) with no properties, marshalled by value, as clients
/// send in ActivationContextInfo.
fn empty_client_context() -> Result<Vec<u8>> {
    let mut ctx = Vec::with_capacity(48);
    ctx.extend_from_slice(&1u16.to_le_bytes()); // MajorVersion
    ctx.extend_from_slice(&0u16.to_le_bytes()); // MinorVersion
    ctx.extend_from_slice(&GUID::try_new_v4().unwrap_or_default().to_bytes_le());
    ctx.extend_from_slice(&2u32.to_le_bytes()); // Flags: CTXMSHLFLAGS_BYVAL
    ctx.extend_from_slice(&0u32.to_le_bytes()); // Reserved
    ctx.extend_from_slice(&0u32.to_le_bytes()); // dwNumExtents
    ctx.extend_from_slice(&0u32.to_le_bytes()); // cbExtents
    ctx.extend_from_slice(&0u32.to_le_bytes()); // MshlFlags
    ctx.extend_from_slice(&0u32.to_le_bytes()); // Count
    ctx.extend_from_slice(&1u32.to_le_bytes()); // Frozen
    wrap(IID_ICONTEXT, CLSID_CONTEXT_MARSHALER, ctx)
}

impl ActivationRequest {
    /// Reads a request from the OBJREF a client sent as `pActProperties`.
    pub fn decode(objref: &[u8]) -> Result<ActivationRequest> {
        let blob = blob_of(objref, &CLSID_ACTIVATION_PROPERTIES_IN)?;
        let props = split_blob(&blob)?;
        let mut instantiation = None;
        let mut scm = None;
        let mut security = None;
        let mut from_instance = false;
        for (clsid, bytes) in props {
            if clsid == CLSID_INSTANTIATION_INFO {
                instantiation = Some(owned::InstantiationInfoData::decode(bytes).map_err(ndr)?);
            } else if clsid == CLSID_SCM_REQUEST_INFO {
                scm = Some(owned::ScmRequestInfoData::decode(bytes).map_err(ndr)?);
            } else if clsid == CLSID_SECURITY_INFO {
                security = Some(owned::SecurityInfoData::decode(bytes).map_err(ndr)?);
            } else if clsid == CLSID_INSTANCE_INFO {
                from_instance = true;
            } else if clsid == CLSID_ACTIVATION_CONTEXT_INFO {
                owned::ActivationContextInfoData::decode(bytes).map_err(ndr)?;
            } else if clsid == CLSID_SERVER_LOCATION_INFO {
                owned::LocationInfoData::decode(bytes).map_err(ndr)?;
            } else if clsid == CLSID_SPECIAL_SYSTEM_PROPERTIES {
                owned::SpecialPropertiesData::decode(bytes).map_err(ndr)?;
            }
            // Properties of other classes are an implementation's own: ignored.
        }
        let inst =
            instantiation.ok_or(bad(0, "an activation request without InstantiationInfo"))?;
        let iids = inst
            .pIID
            .unwrap_or_default()
            .iter()
            .map(guid_of)
            .collect::<Result<Vec<_>>>()?;
        if iids.is_empty() || iids.len() != inst.cIID as usize {
            return Err(bad(0, "an activation request asks for no interface"));
        }
        let remote = scm
            .ok_or(bad(0, "an activation request without ScmRequestInfo"))?
            .remoteRequest
            .ok_or(bad(0, "an activation request without its remote request"))?;
        Ok(ActivationRequest {
            clsid: guid_of(&inst.classId)?,
            iids,
            client_version: version_of(&inst.clientCOMVersion),
            protseqs: remote.pRequestedProtseqs.unwrap_or_default(),
            imp_level: remote.ClientImpLevel,
            server_name: security
                .and_then(|s| s.pServerInfo)
                .and_then(|i| i.pwszName),
            from_instance,
        })
    }

    /// The OBJREF a client sends as `pActProperties`.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let iids: Vec<owned::GUID> = self.iids.iter().map(owned_guid).collect();
        let instantiation = owned::InstantiationInfoData {
            classId: owned_guid(&self.clsid),
            classCtx: 0,
            actvflags: 0,
            fIsSurrogate: 0,
            cIID: iids.len() as u32,
            instFlag: 0,
            pIID: Some(iids),
            thisSize: 0,
            clientCOMVersion: owned_version(self.client_version),
        };
        // `thisSize` is the property's own serialized size: the same whatever it says.
        let mut instantiation_bytes = instantiation.encode().map_err(ndr)?;
        let this_size = instantiation_bytes.len() as u32;
        instantiation_bytes = owned::InstantiationInfoData {
            thisSize: this_size,
            ..instantiation
        }
        .encode()
        .map_err(ndr)?;
        let context = owned::ActivationContextInfoData {
            clientOK: 0,
            bReserved1: 0,
            dwReserved1: 0,
            dwReserved2: 0,
            pIFDClientCtx: Some(interface_pointer(empty_client_context()?)),
            pIFDPrototypeCtx: None,
        };
        let location = owned::LocationInfoData {
            machineName: None,
            processId: 0,
            apartmentId: 0,
            contextId: 0,
        };
        let scm = owned::ScmRequestInfoData {
            pdwReserved: None,
            remoteRequest: Some(Box::new(owned::customREMOTE_REQUEST_SCM_INFO {
                ClientImpLevel: self.imp_level,
                cRequestedProtseqs: self.protseqs.len() as u16,
                pRequestedProtseqs: Some(self.protseqs.clone()),
            })),
        };
        let mut props = vec![
            (CLSID_INSTANTIATION_INFO, instantiation_bytes),
            (
                CLSID_ACTIVATION_CONTEXT_INFO,
                context.encode().map_err(ndr)?,
            ),
            (CLSID_SERVER_LOCATION_INFO, location.encode().map_err(ndr)?),
            (CLSID_SCM_REQUEST_INFO, scm.encode().map_err(ndr)?),
        ];
        if let Some(name) = &self.server_name {
            let security = owned::SecurityInfoData {
                dwAuthnFlags: 0,
                pServerInfo: Some(Box::new(owned::COSERVERINFO {
                    dwReserved1: 0,
                    pwszName: Some(name.clone()),
                    pdwReserved: None,
                    dwReserved2: 0,
                })),
                pdwReserved: None,
            };
            props.push((CLSID_SECURITY_INFO, security.encode().map_err(ndr)?));
        }
        wrap(
            IID_IACTIVATION_PROPERTIES_IN,
            CLSID_ACTIVATION_PROPERTIES_IN,
            join_blob(&props)?,
        )
    }
}

impl ActivationReply {
    /// The OBJREF the service returns as `ppActProperties`: PropsOutInfo, then
    /// ScmReplyInfo (clients read them by position).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let props_out = owned::PropsOutInfo {
            cIfs: self.results.len() as u32,
            piid: Some(self.results.iter().map(|r| owned_guid(&r.iid)).collect()),
            phresults: Some(self.results.iter().map(|r| r.hr.0).collect()),
            ppIntfData: Some(
                self.results
                    .iter()
                    .map(|r| r.objref.clone().map(interface_pointer))
                    .collect(),
            ),
        };
        let scm = owned::ScmReplyInfoData {
            pdwReserved: None,
            remoteReply: Some(Box::new(owned::customREMOTE_REPLY_SCM_INFO {
                Oxid: self.scm.oxid,
                pdsaOxidBindings: Some(Box::new(owned_bindings(&self.scm.bindings)?)),
                ipidRemUnknown: owned_guid(&self.scm.rem_unknown),
                authnHint: self.scm.authn_hint,
                serverVersion: owned_version(self.scm.version),
            })),
        };
        let props = [
            (CLSID_PROPS_OUT_INFO, props_out.encode().map_err(ndr)?),
            (CLSID_SCM_REPLY_INFO, scm.encode().map_err(ndr)?),
        ];
        wrap(
            IID_IACTIVATION_PROPERTIES_OUT,
            CLSID_ACTIVATION_PROPERTIES_OUT,
            join_blob(&props)?,
        )
    }

    /// Reads the reply a service sent as `ppActProperties`.
    pub fn decode(objref: &[u8]) -> Result<ActivationReply> {
        let blob = blob_of(objref, &CLSID_ACTIVATION_PROPERTIES_OUT)?;
        let mut props_out = None;
        let mut scm = None;
        for (clsid, bytes) in split_blob(&blob)? {
            if clsid == CLSID_PROPS_OUT_INFO {
                props_out = Some(owned::PropsOutInfo::decode(bytes).map_err(ndr)?);
            } else if clsid == CLSID_SCM_REPLY_INFO {
                scm = Some(owned::ScmReplyInfoData::decode(bytes).map_err(ndr)?);
            }
        }
        let out = props_out.ok_or(bad(0, "an activation reply without PropsOutInfo"))?;
        let iids = out.piid.unwrap_or_default();
        let hrs = out.phresults.unwrap_or_default();
        let data = out.ppIntfData.unwrap_or_default();
        let n = out.cIfs as usize;
        if iids.len() != n || hrs.len() != n || data.len() != n {
            return Err(bad(0, "an activation reply's result counts disagree"));
        }
        let mut results = Vec::with_capacity(n);
        for ((iid, hr), d) in iids.iter().zip(hrs).zip(data) {
            results.push(InterfaceResult {
                iid: guid_of(iid)?,
                hr: HRESULT(hr),
                objref: d.map(|p| p.abData),
            });
        }
        let reply = scm
            .and_then(|s| s.remoteReply)
            .ok_or(bad(0, "an activation reply without ScmReplyInfo"))?;
        let bindings = match &reply.pdsaOxidBindings {
            Some(b) => bindings_of(b)?,
            None => DualStringArray::default(),
        };
        Ok(ActivationReply {
            results,
            scm: ScmReply {
                oxid: reply.Oxid,
                bindings,
                rem_unknown: guid_of(&reply.ipidRemUnknown)?,
                authn_hint: reply.authnHint,
                version: version_of(&reply.serverVersion),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dualstring::StringBinding;

    #[test]
    fn a_request_reads_back_as_written() {
        let req = ActivationRequest {
            clsid: GUID::from_u128(0x1234_5678_9abc_def0_1122_3344_5566_7788),
            iids: vec![dcom_guid(0), dcom_guid(0x0000_0001)],
            client_version: ComVersion::CURRENT,
            protseqs: vec![7],
            imp_level: 2,
            server_name: Some("host".into()),
            from_instance: false,
        };
        let bytes = req.encode().unwrap();
        assert_eq!(ActivationRequest::decode(&bytes).unwrap(), req);
        // Every size in the blob is a multiple of 8 and adds up.
        let blob = blob_of(&bytes, &CLSID_ACTIVATION_PROPERTIES_IN).unwrap();
        let props = split_blob(&blob).unwrap();
        assert_eq!(props.len(), 5);
        assert!(props.iter().all(|(_, p)| p.len() % 8 == 0));
    }

    #[test]
    fn a_reply_reads_back_as_written() {
        let reply = ActivationReply {
            results: vec![
                InterfaceResult {
                    iid: dcom_guid(0),
                    hr: HRESULT(0),
                    objref: Some(vec![1, 2, 3, 4, 5]),
                },
                InterfaceResult {
                    iid: dcom_guid(9),
                    hr: comidl_runtime_core::E_NOINTERFACE,
                    objref: None,
                },
            ],
            scm: ScmReply {
                oxid: 0x1122_3344_5566_7788,
                bindings: DualStringArray {
                    string_bindings: vec![StringBinding {
                        tower_id: 7,
                        network_addr: "10.0.0.1[49152]".into(),
                    }],
                    security_bindings: Vec::new(),
                },
                rem_unknown: dcom_guid(0x77),
                authn_hint: 1,
                version: ComVersion::CURRENT,
            },
        };
        let bytes = reply.encode().unwrap();
        assert_eq!(ActivationReply::decode(&bytes).unwrap(), reply);
    }

    #[test]
    fn truncated_and_inconsistent_blobs_are_refused() {
        let req = ActivationRequest {
            clsid: GUID::default(),
            iids: vec![dcom_guid(0)],
            client_version: ComVersion::CURRENT,
            protseqs: vec![7],
            imp_level: 2,
            server_name: None,
            from_instance: false,
        };
        let bytes = req.encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(
                ActivationRequest::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        // A property size that runs past the blob.
        let mut blob = blob_of(&bytes, &CLSID_ACTIVATION_PROPERTIES_IN).unwrap();
        let props = split_blob(&blob).unwrap();
        let first = props[0].1.len() as u32;
        let at = blob
            .windows(4)
            .position(|w| w == first.to_le_bytes())
            .unwrap();
        blob[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(split_blob(&blob).is_err());
    }
}
