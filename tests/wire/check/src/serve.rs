//! The wire harness's server of tests/wire/idl/constructs.idl: what the `wire-server` bin
//! serves to impacket and to Wine's client. Each operation answers in a way a caller can
//! predict from what it sent, so the peers check values, not just that bytes came back:
//!
//! | operation    | reply                                                        |
//! |--------------|--------------------------------------------------------------|
//! | Bases        | the structure with `l` doubled                               |
//! | Conformant   | the structure with `points` reversed                         |
//! | Varying      | the structure with `text` reversed                           |
//! | Arrays, Encapsulated, Tagged | the value sent                               |
//! | Top          | kind 0: `zero + 1`; kind 1: the point's x and y swapped; kind 2: the empty arm; else `other` |
//! | Pointers     | the list with a first node holding the sum of the values     |
//! | Counted      | `*pcb` = length of `text`, `echo` = its bytes                |
//! | Strings      | `narrow + "+" + wide`                                        |
//! | Ranged       | `2 * r` (and `r` outside -5..5 is refused by the stub)        |
//! | Bstrs        | `a` in upper case                                            |
//! | Guarded      | returns `x`                                                  |
//! | Status       | returns 7                                                    |
//! | Open, Close  | a real context handle (the server's table), closed to nil    |
//!
//! Every operation returns 0 unless said otherwise.

use comidl_runtime::ndr::{ContextHandle, Fault};
use comidl_runtime::rpc::server::context;

use crate::constructs::constructs_Handler;
use crate::constructs::owned::{self, CHOICE, NODE, POINT2, PTRS};

/// The handler.
pub struct Constructs;

type R<T> = Result<T, Fault>;

/// What an open SESSION stands for.
struct Session;

impl constructs_Handler for Constructs {
    fn bases(&self, b: owned::BASES) -> R<(u32, owned::BASES)> {
        Ok((
            0,
            owned::BASES {
                l: b.l.wrapping_mul(2),
                ..b
            },
        ))
    }
    fn conformant(&self, c: owned::CSTRUCT) -> R<(u32, Option<Box<owned::CSTRUCT>>)> {
        let mut points = c.points.clone();
        points.reverse();
        Ok((0, Some(Box::new(owned::CSTRUCT { points, ..c }))))
    }
    fn varying(&self, v: owned::CVSTRUCT) -> R<(u32, Option<Box<owned::CVSTRUCT>>)> {
        let mut text = v.text.clone();
        text.reverse();
        Ok((0, Some(Box::new(owned::CVSTRUCT { text, ..v }))))
    }
    fn arrays(&self, a: owned::ARRAYS) -> R<(u32, owned::ARRAYS)> {
        Ok((0, a))
    }
    fn encapsulated(&self, e: owned::ENCAPSULATED) -> R<(u32, owned::ENCAPSULATED)> {
        Ok((0, e))
    }
    fn tagged(&self, t: owned::TAGGED) -> R<(u32, owned::TAGGED)> {
        Ok((0, t))
    }
    fn top(&self, _kind: i32, c: CHOICE) -> R<(u32, CHOICE)> {
        Ok((
            0,
            match c {
                CHOICE::Zero(v) => CHOICE::Zero(v.wrapping_add(1)),
                CHOICE::One(p) => CHOICE::One(p.map(|p| Box::new(POINT2 { x: p.y, y: p.x }))),
                other => other,
            },
        ))
    }
    fn pointers(&self, p: PTRS) -> R<(u32, PTRS)> {
        let mut sum = 0i32;
        let mut at = p.list.as_deref();
        while let Some(n) = at {
            sum = sum.wrapping_add(n.value);
            at = n.next.as_deref();
        }
        let list = Some(Box::new(NODE {
            value: sum,
            next: p.list.clone(),
        }));
        Ok((0, PTRS { list, ..p }))
    }
    fn counted(
        &self,
        _cb: u32,
        _halves: Vec<i16>,
        _bytes: Vec<u8>,
        pcb: &mut u32,
        text: String,
    ) -> R<(u32, Vec<u8>)> {
        *pcb = text.len() as u32;
        Ok((0, text.into_bytes()))
    }
    fn strings(&self, narrow: String, wide: Option<String>) -> R<(u32, Option<String>)> {
        Ok((0, Some(format!("{narrow}+{}", wide.unwrap_or_default()))))
    }
    fn ranged(&self, r: i32) -> R<(u32, i32)> {
        Ok((0, r * 2))
    }
    fn bstrs(&self, a: Option<String>, _none: Option<String>) -> R<(u32, Option<String>)> {
        Ok((0, a.map(|s| s.to_uppercase())))
    }
    fn guarded(&self, x: i32) -> R<(u32, u32, u32)> {
        Ok((x as u32, 0, 0))
    }
    fn status(&self) -> R<u32> {
        Ok(7)
    }
    fn open(&self) -> R<(u32, ContextHandle)> {
        Ok((0, context::create(Session)?))
    }
    fn close(&self, s: &mut ContextHandle) -> R<u32> {
        *s = context::close(s)?.1;
        Ok(0)
    }
}
