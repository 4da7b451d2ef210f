//! OBJREF (MS-DCOM 2.2.18): a marshalled object reference, the bytes an interface
//! pointer becomes on the wire (inside an `MInterfacePointer`, see [`crate::orpc`]).
//!
//! Layout (little-endian, no padding): `signature` 0x574F454D ("MEOW"), `flags` (exactly
//! one of OBJREF_STANDARD 1, OBJREF_HANDLER 2, OBJREF_CUSTOM 4, OBJREF_EXTENDED 8), `iid`
//! (16 bytes), then the form the flag names:
//! - OBJREF_STANDARD (2.2.18.4): a STDOBJREF (40 bytes) and the resolver's
//!   DUALSTRINGARRAY;
//! - OBJREF_HANDLER (2.2.18.5): a STDOBJREF, the handler's CLSID, a DUALSTRINGARRAY;
//! - OBJREF_CUSTOM (2.2.18.6): the unmarshaller's CLSID, `cbExtension` (0 when sent),
//!   `reserved` (any value), and the marshaller's data: the rest of the OBJREF;
//! - OBJREF_EXTENDED (2.2.18.7): a STDOBJREF, `Signature1` 0x4E535956, a
//!   DUALSTRINGARRAY, `nElms` (1), `Signature2` 0x4E535956 and one DATAELEMENT
//!   (2.2.18.8: `dataID`, `cbSize`, `cbRounded` = `cbSize` rounded up to 8, then
//!   `cbRounded` bytes).
//!
//! Decoding refuses a wrong signature or flags (what 3.2.4.1.2 has a client answer with
//! RPC_E_INVALID_OBJREF), a form cut short, and bytes left over after a form that has a
//! length of its own (every form but the custom one).

use comidl_runtime_core::GUID;

use crate::dualstring::DualStringArray;
use crate::packed::{Cursor, Put, Result, WireError};

/// "MEOW", the first four bytes of every OBJREF.
pub const OBJREF_SIGNATURE: u32 = 0x574F_454D;
pub const OBJREF_STANDARD: u32 = 0x1;
pub const OBJREF_HANDLER: u32 = 0x2;
pub const OBJREF_CUSTOM: u32 = 0x4;
pub const OBJREF_EXTENDED: u32 = 0x8;
/// STDOBJREF flag (2.2.18.2): the client is asked not to ping the object's OID.
pub const SORF_NOPING: u32 = 0x1000;
/// OBJREF_EXTENDED's `Signature1` and `Signature2`.
pub const OBJREF_EXTENDED_SIGNATURE: u32 = 0x4E53_5956;

/// STDOBJREF (2.2.18.2): which interface of which object of which exporter, and how
/// many references come with it. 40 bytes when packed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StdObjref {
    /// 0, or [`SORF_NOPING`]; other values are kept as received.
    pub flags: u32,
    pub public_refs: u32,
    pub oxid: u64,
    pub oid: u64,
    pub ipid: GUID,
}

impl StdObjref {
    pub const LEN: usize = 40;

    pub fn no_ping(&self) -> bool {
        self.flags & SORF_NOPING != 0
    }

    pub(crate) fn read(c: &mut Cursor) -> Result<StdObjref> {
        Ok(StdObjref {
            flags: c.u32()?,
            public_refs: c.u32()?,
            oxid: c.u64()?,
            oid: c.u64()?,
            ipid: c.guid()?,
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<StdObjref> {
        let mut c = Cursor::new(bytes);
        let s = Self::read(&mut c)?;
        end(&c)?;
        Ok(s)
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.flags);
        out.put_u32(self.public_refs);
        out.put_u64(self.oxid);
        out.put_u64(self.oid);
        out.put_guid(&self.ipid);
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        self.write(&mut out);
        out
    }
}

/// DATAELEMENT (2.2.18.8): one marshalled envoy context of an OBJREF_EXTENDED. `data`
/// holds the `cbSize` bytes; the padding up to `cbRounded` is dropped on reading and
/// written as zeros.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataElement {
    pub data_id: GUID,
    pub data: Vec<u8>,
}

impl DataElement {
    fn read(c: &mut Cursor) -> Result<DataElement> {
        let data_id = c.guid()?;
        let at = c.pos();
        let size = c.u32()? as usize;
        let rounded = c.u32()? as usize;
        if Some(rounded) != size.checked_next_multiple_of(8) {
            return Err(WireError::new(
                at,
                "cbRounded is not cbSize rounded up to 8",
            ));
        }
        let data = c.take(rounded)?[..size].to_vec();
        Ok(DataElement { data_id, data })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let rounded = self.data.len().next_multiple_of(8);
        let (Ok(size), Ok(rounded32)) = (u32::try_from(self.data.len()), u32::try_from(rounded))
        else {
            return Err(WireError::new(0, "a DATAELEMENT longer than 4 GiB"));
        };
        out.put_guid(&self.data_id);
        out.put_u32(size);
        out.put_u32(rounded32);
        out.extend_from_slice(&self.data);
        out.resize(out.len() + rounded - self.data.len(), 0);
        Ok(())
    }
}

/// The four forms of OBJREF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjrefForm {
    Standard {
        std: StdObjref,
        res_addr: DualStringArray,
    },
    Handler {
        std: StdObjref,
        clsid: GUID,
        res_addr: DualStringArray,
    },
    Custom {
        clsid: GUID,
        /// `cbExtension`: 0 when sent, kept as received.
        cb_extension: u32,
        /// `reserved`: any value, kept as received.
        reserved: u32,
        /// `pObjectData`: the custom marshaller's bytes, to the end of the OBJREF.
        data: Vec<u8>,
    },
    Extended {
        std: StdObjref,
        res_addr: DualStringArray,
        element: DataElement,
    },
}

impl ObjrefForm {
    /// The OBJREF flag of this form.
    pub fn flag(&self) -> u32 {
        match self {
            ObjrefForm::Standard { .. } => OBJREF_STANDARD,
            ObjrefForm::Handler { .. } => OBJREF_HANDLER,
            ObjrefForm::Custom { .. } => OBJREF_CUSTOM,
            ObjrefForm::Extended { .. } => OBJREF_EXTENDED,
        }
    }

    /// The STDOBJREF of every form but the custom one.
    pub fn std(&self) -> Option<&StdObjref> {
        match self {
            ObjrefForm::Standard { std, .. }
            | ObjrefForm::Handler { std, .. }
            | ObjrefForm::Extended { std, .. } => Some(std),
            ObjrefForm::Custom { .. } => None,
        }
    }
}

/// An OBJREF: the interface it was marshalled for and its form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Objref {
    pub iid: GUID,
    pub form: ObjrefForm,
}

fn end(c: &Cursor) -> Result<()> {
    if c.remaining() != 0 {
        return Err(c.error("bytes follow the structure"));
    }
    Ok(())
}

impl Objref {
    /// Reads an OBJREF that is all of `bytes` (an `MInterfacePointer`'s `abData`).
    pub fn decode(bytes: &[u8]) -> Result<Objref> {
        let mut c = Cursor::new(bytes);
        if c.u32()? != OBJREF_SIGNATURE {
            return Err(WireError::new(0, "the signature is not MEOW"));
        }
        let flags = c.u32()?;
        let iid = c.guid()?;
        let form = match flags {
            OBJREF_STANDARD => ObjrefForm::Standard {
                std: StdObjref::read(&mut c)?,
                res_addr: DualStringArray::read(&mut c)?,
            },
            OBJREF_HANDLER => ObjrefForm::Handler {
                std: StdObjref::read(&mut c)?,
                clsid: c.guid()?,
                res_addr: DualStringArray::read(&mut c)?,
            },
            OBJREF_CUSTOM => ObjrefForm::Custom {
                clsid: c.guid()?,
                cb_extension: c.u32()?,
                reserved: c.u32()?,
                data: c.rest().to_vec(),
            },
            OBJREF_EXTENDED => {
                let std = StdObjref::read(&mut c)?;
                if c.u32()? != OBJREF_EXTENDED_SIGNATURE {
                    return Err(WireError::new(c.pos() - 4, "Signature1 is not 0x4E535956"));
                }
                let res_addr = DualStringArray::read(&mut c)?;
                if c.u32()? != 1 {
                    return Err(WireError::new(c.pos() - 4, "nElms is not 1"));
                }
                if c.u32()? != OBJREF_EXTENDED_SIGNATURE {
                    return Err(WireError::new(c.pos() - 4, "Signature2 is not 0x4E535956"));
                }
                ObjrefForm::Extended {
                    std,
                    res_addr,
                    element: DataElement::read(&mut c)?,
                }
            }
            _ => return Err(WireError::new(4, "the flags name no single OBJREF form")),
        };
        end(&c)?;
        Ok(Objref { iid, form })
    }

    /// The OBJREF's bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(128);
        out.put_u32(OBJREF_SIGNATURE);
        out.put_u32(self.form.flag());
        out.put_guid(&self.iid);
        match &self.form {
            ObjrefForm::Standard { std, res_addr } => {
                std.write(&mut out);
                res_addr.write(&mut out)?;
            }
            ObjrefForm::Handler {
                std,
                clsid,
                res_addr,
            } => {
                std.write(&mut out);
                out.put_guid(clsid);
                res_addr.write(&mut out)?;
            }
            ObjrefForm::Custom {
                clsid,
                cb_extension,
                reserved,
                data,
            } => {
                out.put_guid(clsid);
                out.put_u32(*cb_extension);
                out.put_u32(*reserved);
                out.extend_from_slice(data);
            }
            ObjrefForm::Extended {
                std,
                res_addr,
                element,
            } => {
                std.write(&mut out);
                out.put_u32(OBJREF_EXTENDED_SIGNATURE);
                res_addr.write(&mut out)?;
                out.put_u32(1);
                out.put_u32(OBJREF_EXTENDED_SIGNATURE);
                element.write(&mut out)?;
            }
        }
        Ok(out)
    }
}
