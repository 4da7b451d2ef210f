//! Connection-oriented PDUs: the 16-byte common header (C706 12.6.1) and the bodies of
//! every packet type (12.6.4, MS-RPCE 2.2.2), with the authentication trailer (sec_trailer
//! and auth_value, MS-RPCE 2.2.2.11) split off when `auth_length` says there is one.
//!
//! [`Pdu::parse`] reads exactly one fragment and checks every length and count against the
//! bytes it has; a fragment it cannot read is a [`PduError`], never a panic. Only the
//! little-endian, ASCII, IEEE data representation is accepted (what every peer sends in
//! practice; the NDR engine speaks only it). [`Pdu::encode`] writes the fragment back,
//! `frag_length` and `auth_length` computed.

use comidl_runtime_core::GUID;

/// The common header's size.
pub const HEADER_LEN: usize = 16;
/// `packed_drep` for little-endian integers, ASCII characters and IEEE floats.
pub const DREP_LE: [u8; 4] = [0x10, 0, 0, 0];

/// `pfc_flags` bits (C706 12.6.3.1; MS-RPCE 2.2.2.3).
pub mod flags {
    pub const FIRST_FRAG: u8 = 0x01;
    pub const LAST_FRAG: u8 = 0x02;
    /// A cancel was pending at the call's sender (in a bind: header signing supported,
    /// MS-RPCE's PFC_SUPPORT_HEADER_SIGN).
    pub const PENDING_CANCEL: u8 = 0x04;
    pub const CONC_MPX: u8 = 0x10;
    pub const DID_NOT_EXECUTE: u8 = 0x20;
    pub const MAYBE: u8 = 0x40;
    /// The request carries an object UUID after its opnum.
    pub const OBJECT_UUID: u8 = 0x80;
}

/// The packet types of the connection-oriented protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    Request = 0,
    Response = 2,
    Fault = 3,
    Bind = 11,
    BindAck = 12,
    BindNak = 13,
    AlterContext = 14,
    AlterContextResp = 15,
    Auth3 = 16,
    Shutdown = 17,
    CoCancel = 18,
    Orphaned = 19,
}

impl PacketType {
    fn from_u8(v: u8) -> Option<PacketType> {
        Some(match v {
            0 => PacketType::Request,
            2 => PacketType::Response,
            3 => PacketType::Fault,
            11 => PacketType::Bind,
            12 => PacketType::BindAck,
            13 => PacketType::BindNak,
            14 => PacketType::AlterContext,
            15 => PacketType::AlterContextResp,
            16 => PacketType::Auth3,
            17 => PacketType::Shutdown,
            18 => PacketType::CoCancel,
            19 => PacketType::Orphaned,
            _ => return None,
        })
    }
}

/// Why a fragment cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PduError {
    /// The byte offset in the fragment where reading failed.
    pub at: usize,
    pub why: &'static str,
}

impl std::fmt::Display for PduError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed PDU at byte {}: {}", self.at, self.why)
    }
}

impl std::error::Error for PduError {}

/// The common header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub rpc_vers_minor: u8,
    pub ptype: PacketType,
    pub flags: u8,
    pub frag_length: u16,
    pub auth_length: u16,
    pub call_id: u32,
}

impl Header {
    /// Reads the common header (what a transport reads first, to learn `frag_length`).
    pub fn parse(bytes: &[u8]) -> Result<Header, PduError> {
        let bad = |at, why| Err(PduError { at, why });
        if bytes.len() < HEADER_LEN {
            return bad(bytes.len(), "shorter than the common header");
        }
        if bytes[0] != 5 {
            return bad(0, "rpc_vers is not 5 (not connection-oriented DCE/RPC)");
        }
        if bytes[1] > 1 {
            return bad(1, "rpc_vers_minor is neither 0 nor 1");
        }
        let Some(ptype) = PacketType::from_u8(bytes[2]) else {
            return bad(2, "an unknown packet type");
        };
        if bytes[4] & 0xF0 != 0x10 {
            return bad(4, "big-endian data representation is not supported");
        }
        if bytes[4] & 0x0F != 0 || bytes[5] != 0 {
            return bad(5, "only ASCII characters and IEEE floats are supported");
        }
        let frag_length = u16::from_le_bytes([bytes[8], bytes[9]]);
        let auth_length = u16::from_le_bytes([bytes[10], bytes[11]]);
        if usize::from(frag_length) < HEADER_LEN {
            return bad(8, "frag_length is shorter than the header");
        }
        Ok(Header {
            rpc_vers_minor: bytes[1],
            ptype,
            flags: bytes[3],
            frag_length,
            auth_length,
            call_id: u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]),
        })
    }
}

/// An interface or transfer syntax: a UUID and a version (major in the low 16 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntaxId {
    pub uuid: GUID,
    pub version: u32,
}

impl SyntaxId {
    /// NDR20, the transfer syntax (8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0).
    pub const NDR20: SyntaxId = SyntaxId {
        uuid: GUID::from_u128(0x8a885d04_1ceb_11c9_9fe8_08002b104860),
        version: 2,
    };

    /// `major.minor` as the version field holds it.
    pub const fn new(uuid: GUID, major: u16, minor: u16) -> SyntaxId {
        SyntaxId {
            uuid,
            version: major as u32 | (minor as u32) << 16,
        }
    }
}

/// One presentation context a bind or alter_context proposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextElement {
    pub context_id: u16,
    pub abstract_syntax: SyntaxId,
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// The body of a bind or alter_context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindBody {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    pub contexts: Vec<ContextElement>,
}

/// A bind_ack's or alter_context_resp's answer to one proposed context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextResult {
    /// 0 acceptance, 1 user rejection, 2 provider rejection, 3 negotiate_ack.
    pub result: u16,
    /// For a rejection: 1 abstract syntax not supported, 2 proposed transfer syntaxes not
    /// supported, ...; for negotiate_ack: the bind-time feature bits.
    pub reason: u16,
    pub transfer_syntax: SyntaxId,
}

/// The body of a bind_ack or alter_context_resp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindAckBody {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    /// The secondary address (the server's port, as text; empty in alter_context_resp).
    pub sec_addr: Vec<u8>,
    pub results: Vec<ContextResult>,
}

/// A PDU's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Request {
        alloc_hint: u32,
        context_id: u16,
        opnum: u16,
        object: Option<GUID>,
        stub: Vec<u8>,
    },
    Response {
        alloc_hint: u32,
        context_id: u16,
        cancel_count: u8,
        stub: Vec<u8>,
    },
    Fault {
        alloc_hint: u32,
        context_id: u16,
        cancel_count: u8,
        status: u32,
    },
    Bind(BindBody),
    BindAck(BindAckBody),
    BindNak {
        reason: u16,
        /// The protocol versions (major, minor) the server supports.
        versions: Vec<(u8, u8)>,
    },
    AlterContext(BindBody),
    AlterContextResp(BindAckBody),
    Auth3,
    Shutdown,
    CoCancel,
    Orphaned,
}

impl Body {
    pub fn ptype(&self) -> PacketType {
        match self {
            Body::Request { .. } => PacketType::Request,
            Body::Response { .. } => PacketType::Response,
            Body::Fault { .. } => PacketType::Fault,
            Body::Bind(_) => PacketType::Bind,
            Body::BindAck(_) => PacketType::BindAck,
            Body::BindNak { .. } => PacketType::BindNak,
            Body::AlterContext(_) => PacketType::AlterContext,
            Body::AlterContextResp(_) => PacketType::AlterContextResp,
            Body::Auth3 => PacketType::Auth3,
            Body::Shutdown => PacketType::Shutdown,
            Body::CoCancel => PacketType::CoCancel,
            Body::Orphaned => PacketType::Orphaned,
        }
    }
}

/// The authentication trailer: sec_trailer's fields and the auth_value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    pub auth_type: u8,
    pub auth_level: u8,
    pub auth_pad_length: u8,
    pub context_id: u32,
    pub value: Vec<u8>,
}

/// One fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdu {
    pub flags: u8,
    pub call_id: u32,
    pub body: Body,
    pub auth: Option<Auth>,
}

/// A bounds-checked reader over one fragment.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, why: &'static str) -> PduError {
        PduError { at: self.pos, why }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], PduError> {
        if n > self.bytes.len() - self.pos {
            return Err(self.err("the fragment ends early"));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, PduError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, PduError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, PduError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn align(&mut self, n: usize) -> Result<(), PduError> {
        let to = self.pos.next_multiple_of(n);
        self.take(to - self.pos).map(|_| ())
    }
    fn guid(&mut self) -> Result<GUID, PduError> {
        let b = self.take(16)?;
        let mut d4 = [0u8; 8];
        d4.copy_from_slice(&b[8..]);
        Ok(GUID {
            data1: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            data2: u16::from_le_bytes([b[4], b[5]]),
            data3: u16::from_le_bytes([b[6], b[7]]),
            data4: d4,
        })
    }
    fn syntax(&mut self) -> Result<SyntaxId, PduError> {
        Ok(SyntaxId {
            uuid: self.guid()?,
            version: self.u32()?,
        })
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        s
    }
}

impl Pdu {
    /// Reads one fragment: `bytes` holds exactly `frag_length` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Pdu, PduError> {
        let h = Header::parse(bytes)?;
        if usize::from(h.frag_length) != bytes.len() {
            return Err(PduError {
                at: 8,
                why: "frag_length disagrees with the fragment's size",
            });
        }
        // The authentication trailer: 8 bytes of sec_trailer, then auth_length bytes.
        let (body_bytes, auth) = if h.auth_length > 0 {
            let trailer = usize::from(h.auth_length) + 8;
            if HEADER_LEN + trailer > bytes.len() {
                return Err(PduError {
                    at: 10,
                    why: "auth_length exceeds the fragment",
                });
            }
            let start = bytes.len() - trailer;
            let t = &bytes[start..];
            let auth = Auth {
                auth_type: t[0],
                auth_level: t[1],
                auth_pad_length: t[2],
                context_id: u32::from_le_bytes([t[4], t[5], t[6], t[7]]),
                value: t[8..].to_vec(),
            };
            (&bytes[..start], Some(auth))
        } else {
            (bytes, None)
        };
        let mut c = Cursor {
            bytes: body_bytes,
            pos: HEADER_LEN,
        };
        let stub = |c: &mut Cursor, auth: &Option<Auth>| -> Result<Vec<u8>, PduError> {
            let rest = c.rest();
            let pad = auth.as_ref().map_or(0, |a| usize::from(a.auth_pad_length));
            if pad > rest.len() {
                return Err(c.err("auth_pad_length exceeds the stub data"));
            }
            Ok(rest[..rest.len() - pad].to_vec())
        };
        let body = match h.ptype {
            PacketType::Request => {
                let alloc_hint = c.u32()?;
                let context_id = c.u16()?;
                let opnum = c.u16()?;
                let object = if h.flags & flags::OBJECT_UUID != 0 {
                    Some(c.guid()?)
                } else {
                    None
                };
                Body::Request {
                    alloc_hint,
                    context_id,
                    opnum,
                    object,
                    stub: stub(&mut c, &auth)?,
                }
            }
            PacketType::Response => {
                let alloc_hint = c.u32()?;
                let context_id = c.u16()?;
                let cancel_count = c.u8()?;
                c.u8()?;
                Body::Response {
                    alloc_hint,
                    context_id,
                    cancel_count,
                    stub: stub(&mut c, &auth)?,
                }
            }
            PacketType::Fault => {
                let alloc_hint = c.u32()?;
                let context_id = c.u16()?;
                let cancel_count = c.u8()?;
                c.u8()?;
                let status = c.u32()?;
                Body::Fault {
                    alloc_hint,
                    context_id,
                    cancel_count,
                    status,
                }
            }
            PacketType::Bind => Body::Bind(bind_body(&mut c)?),
            PacketType::AlterContext => Body::AlterContext(bind_body(&mut c)?),
            PacketType::BindAck => Body::BindAck(bind_ack_body(&mut c)?),
            PacketType::AlterContextResp => Body::AlterContextResp(bind_ack_body(&mut c)?),
            PacketType::BindNak => {
                let reason = c.u16()?;
                // Older peers stop after the reason.
                let versions = if c.pos < c.bytes.len() {
                    let n = c.u8()?;
                    (0..n)
                        .map(|_| Ok((c.u8()?, c.u8()?)))
                        .collect::<Result<_, PduError>>()?
                } else {
                    Vec::new()
                };
                Body::BindNak { reason, versions }
            }
            PacketType::Auth3 => Body::Auth3,
            PacketType::Shutdown => Body::Shutdown,
            PacketType::CoCancel => Body::CoCancel,
            PacketType::Orphaned => Body::Orphaned,
        };
        Ok(Pdu {
            flags: h.flags,
            call_id: h.call_id,
            body,
            auth,
        })
    }

    /// Writes the fragment. The stub data of a request or response must leave the
    /// fragment within 65,535 bytes; [`crate::fragment`] splits larger ones.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![5, 0, self.body.ptype() as u8, self.flags];
        b.extend_from_slice(&DREP_LE);
        b.extend_from_slice(&[0; 4]); // frag_length and auth_length, set below
        b.extend_from_slice(&self.call_id.to_le_bytes());
        let mut flags = self.flags;
        match &self.body {
            Body::Request {
                alloc_hint,
                context_id,
                opnum,
                object,
                stub,
            } => {
                b.extend_from_slice(&alloc_hint.to_le_bytes());
                b.extend_from_slice(&context_id.to_le_bytes());
                b.extend_from_slice(&opnum.to_le_bytes());
                if let Some(g) = object {
                    put_guid(&mut b, g);
                    flags |= flags::OBJECT_UUID;
                } else {
                    flags &= !flags::OBJECT_UUID;
                }
                b.extend_from_slice(stub);
            }
            Body::Response {
                alloc_hint,
                context_id,
                cancel_count,
                stub,
            } => {
                b.extend_from_slice(&alloc_hint.to_le_bytes());
                b.extend_from_slice(&context_id.to_le_bytes());
                b.extend_from_slice(&[*cancel_count, 0]);
                b.extend_from_slice(stub);
            }
            Body::Fault {
                alloc_hint,
                context_id,
                cancel_count,
                status,
            } => {
                b.extend_from_slice(&alloc_hint.to_le_bytes());
                b.extend_from_slice(&context_id.to_le_bytes());
                b.extend_from_slice(&[*cancel_count, 0]);
                b.extend_from_slice(&status.to_le_bytes());
                b.extend_from_slice(&[0; 4]);
            }
            Body::Bind(body) | Body::AlterContext(body) => {
                b.extend_from_slice(&body.max_xmit_frag.to_le_bytes());
                b.extend_from_slice(&body.max_recv_frag.to_le_bytes());
                b.extend_from_slice(&body.assoc_group_id.to_le_bytes());
                b.extend_from_slice(&[body.contexts.len().min(255) as u8, 0, 0, 0]);
                for ctx in body.contexts.iter().take(255) {
                    b.extend_from_slice(&ctx.context_id.to_le_bytes());
                    b.extend_from_slice(&[ctx.transfer_syntaxes.len().min(255) as u8, 0]);
                    put_syntax(&mut b, &ctx.abstract_syntax);
                    for t in ctx.transfer_syntaxes.iter().take(255) {
                        put_syntax(&mut b, t);
                    }
                }
            }
            Body::BindAck(body) | Body::AlterContextResp(body) => {
                b.extend_from_slice(&body.max_xmit_frag.to_le_bytes());
                b.extend_from_slice(&body.max_recv_frag.to_le_bytes());
                b.extend_from_slice(&body.assoc_group_id.to_le_bytes());
                b.extend_from_slice(&(body.sec_addr.len() as u16).to_le_bytes());
                b.extend_from_slice(&body.sec_addr);
                b.resize(b.len().next_multiple_of(4), 0);
                b.extend_from_slice(&[body.results.len().min(255) as u8, 0, 0, 0]);
                for r in body.results.iter().take(255) {
                    b.extend_from_slice(&r.result.to_le_bytes());
                    b.extend_from_slice(&r.reason.to_le_bytes());
                    put_syntax(&mut b, &r.transfer_syntax);
                }
            }
            Body::BindNak { reason, versions } => {
                b.extend_from_slice(&reason.to_le_bytes());
                b.push(versions.len().min(255) as u8);
                for (major, minor) in versions.iter().take(255) {
                    b.extend_from_slice(&[*major, *minor]);
                }
            }
            Body::Auth3 => b.extend_from_slice(&[0; 4]),
            Body::Shutdown | Body::CoCancel | Body::Orphaned => {}
        }
        b[3] = flags;
        if let Some(a) = &self.auth {
            b.extend(std::iter::repeat_n(0u8, usize::from(a.auth_pad_length)));
            b.extend_from_slice(&[a.auth_type, a.auth_level, a.auth_pad_length, 0]);
            b.extend_from_slice(&a.context_id.to_le_bytes());
            b.extend_from_slice(&a.value);
            let len = a.value.len().min(usize::from(u16::MAX)) as u16;
            b[10..12].copy_from_slice(&len.to_le_bytes());
        }
        let frag = b.len().min(usize::from(u16::MAX)) as u16;
        b[8..10].copy_from_slice(&frag.to_le_bytes());
        b
    }
}

fn put_guid(b: &mut Vec<u8>, g: &GUID) {
    b.extend_from_slice(&g.data1.to_le_bytes());
    b.extend_from_slice(&g.data2.to_le_bytes());
    b.extend_from_slice(&g.data3.to_le_bytes());
    b.extend_from_slice(&g.data4);
}

fn put_syntax(b: &mut Vec<u8>, s: &SyntaxId) {
    put_guid(b, &s.uuid);
    b.extend_from_slice(&s.version.to_le_bytes());
}

fn bind_body(c: &mut Cursor) -> Result<BindBody, PduError> {
    let max_xmit_frag = c.u16()?;
    let max_recv_frag = c.u16()?;
    let assoc_group_id = c.u32()?;
    let n = c.u8()?;
    c.take(3)?;
    let mut contexts = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let context_id = c.u16()?;
        let n_transfer = c.u8()?;
        c.u8()?;
        let abstract_syntax = c.syntax()?;
        if n_transfer == 0 {
            return Err(c.err("a presentation context proposes no transfer syntax"));
        }
        let transfer_syntaxes = (0..n_transfer)
            .map(|_| c.syntax())
            .collect::<Result<_, _>>()?;
        contexts.push(ContextElement {
            context_id,
            abstract_syntax,
            transfer_syntaxes,
        });
    }
    Ok(BindBody {
        max_xmit_frag,
        max_recv_frag,
        assoc_group_id,
        contexts,
    })
}

fn bind_ack_body(c: &mut Cursor) -> Result<BindAckBody, PduError> {
    let max_xmit_frag = c.u16()?;
    let max_recv_frag = c.u16()?;
    let assoc_group_id = c.u32()?;
    let len = c.u16()?;
    let sec_addr = c.take(usize::from(len))?.to_vec();
    c.align(4)?;
    let n = c.u8()?;
    c.take(3)?;
    let results = (0..n)
        .map(|_| {
            Ok(ContextResult {
                result: c.u16()?,
                reason: c.u16()?,
                transfer_syntax: c.syntax()?,
            })
        })
        .collect::<Result<_, PduError>>()?;
    Ok(BindAckBody {
        max_xmit_frag,
        max_recv_frag,
        assoc_group_id,
        sec_addr,
        results,
    })
}
