//! Protocol towers (C706 Appendix L, MS-RPCE 2.2.1.2.3 and 2.1.1.1): how the endpoint
//! mapper names "interface X over transport Y at address Z" in bytes.
//!
//! A tower is a little-endian floor count, then floors; each floor is a left-hand side
//! (a little-endian length, then a protocol identifier and its data) and a right-hand
//! side (a little-endian length, then the address data). The towers comidl reads and
//! writes:
//!
//! | floor | LHS                                        | RHS                          |
//! |-------|--------------------------------------------|------------------------------|
//! | 1     | `0x0d`, interface UUID (NDR), major (LE)   | minor (LE)                   |
//! | 2     | `0x0d`, transfer syntax UUID, major        | minor                        |
//! | 3     | `0x0b` (connection-oriented RPC)           | minor version (2 bytes)      |
//! | 4     | `0x07` (TCP)                               | port, **big-endian**         |
//! | 5     | `0x09` (IPv4)                              | address, network order       |
//!
//! or, for ncalrpc (a local socket), floor 4 is `0x20` with the endpoint's name and a NUL,
//! and there is no floor 5. Decoding checks every length against the bytes left and
//! allocates no more than the input's size; it never panics.

use std::fmt;
use std::net::Ipv4Addr;

use comidl_runtime_core::GUID;

use crate::pdu::SyntaxId;

/// Protocol identifier of a UUID floor (interface or transfer syntax).
pub const FLOOR_UUID: u8 = 0x0d;
/// Protocol identifier of connection-oriented RPC (floor 3).
pub const FLOOR_RPC_CO: u8 = 0x0b;
/// Protocol identifier of TCP: the RHS is the port, big-endian.
pub const FLOOR_TCP: u8 = 0x07;
/// Protocol identifier of IPv4: the RHS is the address in network order.
pub const FLOOR_IP: u8 = 0x09;
/// Protocol identifier of a local (Unix-domain) socket: the RHS is its name and a NUL.
pub const FLOOR_LOCAL: u8 = 0x20;

/// The longest ncalrpc endpoint name a tower may carry (bytes, without the NUL).
pub const MAX_LOCAL_NAME: usize = 255;

/// Where an interface is reached.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// ncacn_ip_tcp: a port and an IPv4 address (`0` and `0.0.0.0` in a map request).
    Tcp { port: u16, addr: Ipv4Addr },
    /// ncalrpc: a local socket's endpoint name (empty in a map request).
    Local { name: String },
}

/// A decoded tower: interface, transfer syntax, transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tower {
    pub interface: SyntaxId,
    pub transfer: SyntaxId,
    pub transport: Transport,
}

/// Why bytes are not a tower comidl understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TowerError {
    /// The bytes end inside the named part.
    Truncated(&'static str),
    /// Bytes follow the last floor.
    TrailingBytes,
    /// A floor's content does not fit its protocol (what, and which floor from 1).
    BadFloor(usize, &'static str),
    /// A floor count or a protocol comidl does not speak.
    Unsupported(&'static str),
}

impl fmt::Display for TowerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TowerError::Truncated(what) => write!(f, "tower ends inside {what}"),
            TowerError::TrailingBytes => f.write_str("bytes follow the tower's last floor"),
            TowerError::BadFloor(n, why) => write!(f, "tower floor {n}: {why}"),
            TowerError::Unsupported(what) => write!(f, "unsupported tower: {what}"),
        }
    }
}

impl std::error::Error for TowerError {}

/// One floor as it travels: protocol identifier and its data (LHS), address data (RHS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Floor<'a> {
    pub lhs: &'a [u8],
    pub rhs: &'a [u8],
}

impl Floor<'_> {
    /// The protocol identifier (the LHS's first byte).
    pub fn protocol(&self) -> Option<u8> {
        self.lhs.first().copied()
    }
}

/// A reader over bytes that checks each length before it takes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], TowerError> {
        if self.bytes.len() < n {
            return Err(TowerError::Truncated(what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u16_le(&mut self, what: &'static str) -> Result<u16, TowerError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
}

/// Splits a tower into its floors, checking every length. The floor list is no longer
/// than the bytes can hold (each floor takes at least four), whatever the count says.
pub fn floors(bytes: &[u8]) -> Result<Vec<Floor<'_>>, TowerError> {
    let mut r = Reader { bytes };
    let count = r.u16_le("the floor count")? as usize;
    let mut out = Vec::with_capacity(count.min(r.bytes.len() / 4));
    for _ in 0..count {
        let l = r.u16_le("a floor's LHS length")? as usize;
        let lhs = r.take(l, "a floor's LHS")?;
        let l = r.u16_le("a floor's RHS length")? as usize;
        let rhs = r.take(l, "a floor's RHS")?;
        out.push(Floor { lhs, rhs });
    }
    if !r.bytes.is_empty() {
        return Err(TowerError::TrailingBytes);
    }
    Ok(out)
}

/// Writes floors as a tower's bytes. A side longer than 65535 bytes is cut to what its
/// length field can say (this module's floors are all far shorter).
pub fn encode_floors(floors: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(floors.len().min(u16::MAX as usize) as u16).to_le_bytes());
    for (lhs, rhs) in floors.iter().take(u16::MAX as usize) {
        for side in [lhs, rhs] {
            let side = &side[..side.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(side.len() as u16).to_le_bytes());
            out.extend_from_slice(side);
        }
    }
    out
}

/// A UUID floor's two sides: `0x0d`, the UUID, the major version; the minor version.
fn uuid_floor(s: &SyntaxId) -> ([u8; 19], [u8; 2]) {
    let mut lhs = [0u8; 19];
    lhs[0] = FLOOR_UUID;
    lhs[1..17].copy_from_slice(&s.uuid.to_bytes_le());
    lhs[17..].copy_from_slice(&((s.version & 0xffff) as u16).to_le_bytes());
    (lhs, ((s.version >> 16) as u16).to_le_bytes())
}

fn read_uuid_floor(n: usize, f: &Floor<'_>) -> Result<SyntaxId, TowerError> {
    if f.lhs.len() != 19 || f.lhs[0] != FLOOR_UUID {
        return Err(TowerError::BadFloor(
            n,
            "expected 0x0d, a UUID and a major version",
        ));
    }
    if f.rhs.len() != 2 {
        return Err(TowerError::BadFloor(n, "the minor version takes two bytes"));
    }
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&f.lhs[1..17]);
    let major = u16::from_le_bytes([f.lhs[17], f.lhs[18]]);
    let minor = u16::from_le_bytes([f.rhs[0], f.rhs[1]]);
    Ok(SyntaxId::new(GUID::from_bytes_le(uuid), major, minor))
}

impl Tower {
    /// The tower of an interface over a transport, with NDR20 as the transfer syntax.
    pub fn new(interface: SyntaxId, transport: Transport) -> Tower {
        Tower {
            interface,
            transfer: SyntaxId::NDR20,
            transport,
        }
    }

    /// The tower's bytes (what `twr_t.tower_octet_string` holds).
    pub fn encode(&self) -> Vec<u8> {
        let (if_lhs, if_rhs) = uuid_floor(&self.interface);
        let (ts_lhs, ts_rhs) = uuid_floor(&self.transfer);
        let co_minor = 0u16.to_le_bytes();
        match &self.transport {
            Transport::Tcp { port, addr } => encode_floors(&[
                (&if_lhs, &if_rhs),
                (&ts_lhs, &ts_rhs),
                (&[FLOOR_RPC_CO], &co_minor),
                (&[FLOOR_TCP], &port.to_be_bytes()),
                (&[FLOOR_IP], &addr.octets()),
            ]),
            Transport::Local { name } => {
                let mut rhs: Vec<u8> = name.bytes().take(MAX_LOCAL_NAME).collect();
                rhs.push(0);
                encode_floors(&[
                    (&if_lhs, &if_rhs),
                    (&ts_lhs, &ts_rhs),
                    (&[FLOOR_RPC_CO], &co_minor),
                    (&[FLOOR_LOCAL], &rhs),
                ])
            }
        }
    }

    /// Reads a tower. Floor 3's minor version is not checked beyond its length (Wine
    /// sends none at all); everything else must be as the table in this module says.
    pub fn decode(bytes: &[u8]) -> Result<Tower, TowerError> {
        let f = floors(bytes)?;
        if f.len() < 4 {
            return Err(TowerError::Unsupported("fewer than four floors"));
        }
        let interface = read_uuid_floor(1, &f[0])?;
        let transfer = read_uuid_floor(2, &f[1])?;
        if f[2].lhs != [FLOOR_RPC_CO] {
            return Err(TowerError::Unsupported(
                "floor 3 is not connection-oriented RPC (0x0b)",
            ));
        }
        if f[2].rhs.len() > 2 {
            return Err(TowerError::BadFloor(3, "the minor version takes two bytes"));
        }
        let transport = match (f[3].protocol(), f.len()) {
            (Some(FLOOR_TCP), 5) => {
                if f[3].lhs.len() != 1 {
                    return Err(TowerError::BadFloor(4, "data after the TCP identifier"));
                }
                let port: [u8; 2] = f[3]
                    .rhs
                    .try_into()
                    .map_err(|_| TowerError::BadFloor(4, "a TCP port takes two bytes"))?;
                if f[4].lhs != [FLOOR_IP] {
                    return Err(TowerError::Unsupported("floor 5 is not IPv4 (0x09)"));
                }
                let addr: [u8; 4] = f[4]
                    .rhs
                    .try_into()
                    .map_err(|_| TowerError::BadFloor(5, "an IPv4 address takes four bytes"))?;
                Transport::Tcp {
                    port: u16::from_be_bytes(port),
                    addr: Ipv4Addr::from(addr),
                }
            }
            (Some(FLOOR_LOCAL), 4) => {
                if f[3].lhs.len() != 1 {
                    return Err(TowerError::BadFloor(
                        4,
                        "data after the local-socket identifier",
                    ));
                }
                let Some((0, name)) = f[3].rhs.split_last() else {
                    return Err(TowerError::BadFloor(4, "the name does not end with a NUL"));
                };
                if name.len() > MAX_LOCAL_NAME || name.contains(&0) {
                    return Err(TowerError::BadFloor(
                        4,
                        "the name is too long or holds a NUL",
                    ));
                }
                let name = std::str::from_utf8(name)
                    .map_err(|_| TowerError::BadFloor(4, "the name is not UTF-8"))?;
                Transport::Local {
                    name: name.to_string(),
                }
            }
            (Some(FLOOR_TCP), _) | (Some(FLOOR_LOCAL), _) => {
                return Err(TowerError::Unsupported(
                    "wrong floor count for the transport",
                ));
            }
            _ => {
                return Err(TowerError::Unsupported(
                    "floor 4 is neither TCP (0x07) nor a local socket (0x20)",
                ));
            }
        };
        Ok(Tower {
            interface,
            transfer,
            transport,
        })
    }

    /// The endpoint as a string binding writes it: the port, or the local name.
    pub fn endpoint(&self) -> String {
        match &self.transport {
            Transport::Tcp { port, .. } => port.to_string(),
            Transport::Local { name } => name.clone(),
        }
    }
}
