//! DUALSTRINGARRAY (MS-DCOM 2.2.19.1, the packet version that OBJREFs carry): where an
//! object resolver or exporter can be reached (STRINGBINDINGs, 2.2.19.3) and with which
//! security (SECURITYBINDINGs, 2.2.19.4).
//!
//! Layout: `wNumEntries` and `wSecurityOffset` (u16 each), then `wNumEntries` u16 units.
//! The units from 0 hold string bindings, each a non-zero `wTowerId` and a NUL-terminated
//! UTF-16 address, the list ended by a zero unit; from `wSecurityOffset` they hold
//! security bindings, each a non-zero `wAuthnSvc`, a `Reserved` unit (`wAuthzSvc` in
//! older texts: 0xFFFF when sent, kept as received) and a NUL-terminated UTF-16 principal
//! name, ended by a zero unit. An empty list is written as two zero units: the smallest
//! array is 4 units and `wSecurityOffset` 2, all zeros (2.2.19.1).
//!
//! Decoding checks that `wSecurityOffset <= wNumEntries`, that every binding and both
//! terminators lie inside their part of the array, that whatever follows a terminator
//! in its part is zero, and that every string is valid UTF-16. A `wAuthnSvc` of
//! RPC_C_AUTHN_NONE (0) would be written without the fields after it (2.2.19.4), which
//! makes it the terminator: such a binding cannot be told from the end of the list and
//! is not represented.

use crate::packed::{Cursor, Put, Result, WireError};

/// One way to reach the server: an RPC protocol sequence (its tower id, C706 appendix I:
/// 0x07 ncacn_ip_tcp, ...) and a network address, optionally with an endpoint
/// (`host[port]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringBinding {
    pub tower_id: u16,
    pub network_addr: String,
}

/// One security provider the server accepts, and the principal name to use with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityBinding {
    /// An RPC_C_AUTHN_* value; never 0.
    pub authn_svc: u16,
    /// The `Reserved` unit (0xFFFF when sent).
    pub authz_svc: u16,
    /// Empty: no principal name.
    pub principal_name: String,
}

impl SecurityBinding {
    /// A binding for `authn_svc` with the reserved unit as MS-DCOM sends it.
    pub fn new(authn_svc: u16, principal_name: impl Into<String>) -> SecurityBinding {
        SecurityBinding {
            authn_svc,
            authz_svc: 0xFFFF,
            principal_name: principal_name.into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DualStringArray {
    pub string_bindings: Vec<StringBinding>,
    pub security_bindings: Vec<SecurityBinding>,
}

/// The received units, read on demand.
struct Units<'a>(&'a [u8]);

impl Units<'_> {
    fn get(&self, i: usize) -> u16 {
        u16::from_le_bytes([self.0[2 * i], self.0[2 * i + 1]])
    }

    /// The NUL-terminated string starting at unit `from`, which must end before `end`:
    /// the string and the index just past its NUL.
    fn string(
        &self,
        from: usize,
        end: usize,
        base: usize,
        why: &'static str,
    ) -> Result<(String, usize)> {
        let nul = (from..end)
            .find(|&i| self.get(i) == 0)
            .ok_or(WireError::new(base + 2 * from, why))?;
        let text = char::decode_utf16((from..nul).map(|i| self.get(i)))
            .collect::<std::result::Result<String, _>>()
            .map_err(|_| WireError::new(base + 2 * from, "a string is not valid UTF-16"))?;
        Ok((text, nul + 1))
    }

    /// Units `from..end` must all be zero.
    fn zeros(&self, from: usize, end: usize, base: usize) -> Result<()> {
        match (from..end).find(|&i| self.get(i) != 0) {
            None => Ok(()),
            Some(i) => Err(WireError::new(
                base + 2 * i,
                "a non-zero unit after a list's terminator",
            )),
        }
    }
}

impl DualStringArray {
    /// Reads a DUALSTRINGARRAY at the start of `bytes`: the array and the bytes it took
    /// The NDR form's fields (MS-DCOM 2.2.19.1 as IDL declares it): `wNumEntries`,
    /// `wSecurityOffset` and the UTF-16 units, as generated owned types carry them.
    pub fn to_units(&self) -> Result<(u16, u16, Vec<u16>)> {
        let bytes = self.encode()?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok((units[0], units[1], units[2..].to_vec()))
    }

    /// The array those fields hold, checked as received bytes are.
    pub fn from_units(
        num_entries: u16,
        security_offset: u16,
        units: &[u16],
    ) -> Result<DualStringArray> {
        if usize::from(num_entries) != units.len() {
            return Err(WireError::new(
                0,
                "a DUALSTRINGARRAY whose count disagrees with its units",
            ));
        }
        let mut bytes = Vec::with_capacity(4 + 2 * units.len());
        bytes.extend_from_slice(&num_entries.to_le_bytes());
        bytes.extend_from_slice(&security_offset.to_le_bytes());
        for u in units {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let (d, used) = DualStringArray::decode(&bytes)?;
        if used != bytes.len() {
            return Err(WireError::new(
                used,
                "units after the DUALSTRINGARRAY's end",
            ));
        }
        Ok(d)
    }

    /// (4 + 2 * `wNumEntries`).
    pub fn decode(bytes: &[u8]) -> Result<(DualStringArray, usize)> {
        let mut c = Cursor::new(bytes);
        Self::read(&mut c).map(|d| (d, c.pos()))
    }

    pub(crate) fn read(c: &mut Cursor) -> Result<DualStringArray> {
        let start = c.pos();
        let n = usize::from(c.u16()?);
        let sec = usize::from(c.u16()?);
        if sec > n {
            return Err(WireError::new(
                start + 2,
                "wSecurityOffset is beyond wNumEntries",
            ));
        }
        let base = c.pos();
        let units = Units(c.take(2 * n)?);
        let mut out = DualStringArray::default();
        let mut i = 0;
        loop {
            if i >= sec {
                return Err(WireError::new(
                    base + 2 * i,
                    "the string bindings have no terminator before wSecurityOffset",
                ));
            }
            let tower_id = units.get(i);
            i += 1;
            if tower_id == 0 {
                break;
            }
            let (network_addr, next) = units.string(
                i,
                sec,
                base,
                "a string binding's address runs past wSecurityOffset",
            )?;
            i = next;
            out.string_bindings.push(StringBinding {
                tower_id,
                network_addr,
            });
        }
        units.zeros(i, sec, base)?;
        let mut j = sec;
        loop {
            if j >= n {
                return Err(WireError::new(
                    base + 2 * j,
                    "the security bindings have no terminator before wNumEntries",
                ));
            }
            let authn_svc = units.get(j);
            j += 1;
            if authn_svc == 0 {
                break;
            }
            if j >= n {
                return Err(WireError::new(
                    base + 2 * j,
                    "a security binding is cut short",
                ));
            }
            let authz_svc = units.get(j);
            j += 1;
            let (principal_name, next) = units.string(
                j,
                n,
                base,
                "a security binding's principal name runs past wNumEntries",
            )?;
            j = next;
            out.security_bindings.push(SecurityBinding {
                authn_svc,
                authz_svc,
                principal_name,
            });
        }
        units.zeros(j, n, base)?;
        Ok(out)
    }

    /// The array's bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(&mut out)?;
        Ok(out)
    }

    /// Appends the array's bytes to `out` (nothing on failure).
    pub fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let bad = |why| Err(WireError::new(0, why));
        let mut units: Vec<u16> = Vec::new();
        let text = |units: &mut Vec<u16>, s: &str| -> Result<()> {
            let from = units.len();
            units.extend(s.encode_utf16());
            if units[from..].contains(&0) {
                return Err(WireError::new(0, "a binding's string holds a NUL"));
            }
            units.push(0);
            Ok(())
        };
        for b in &self.string_bindings {
            if b.tower_id == 0 {
                return bad("a string binding's tower id is 0");
            }
            units.push(b.tower_id);
            text(&mut units, &b.network_addr)?;
        }
        units.push(0);
        if self.string_bindings.is_empty() {
            units.push(0);
        }
        let sec = units.len();
        for b in &self.security_bindings {
            if b.authn_svc == 0 {
                return bad("a security binding's authentication service is 0");
            }
            units.push(b.authn_svc);
            units.push(b.authz_svc);
            text(&mut units, &b.principal_name)?;
        }
        units.push(0);
        if self.security_bindings.is_empty() {
            units.push(0);
        }
        let (Ok(n), Ok(sec)) = (u16::try_from(units.len()), u16::try_from(sec)) else {
            return bad("the bindings need more than 65535 units");
        };
        out.reserve(4 + 2 * units.len());
        out.put_u16(n);
        out.put_u16(sec);
        for u in units {
            out.put_u16(u);
        }
        Ok(())
    }
}
