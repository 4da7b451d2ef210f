//! The safe layer of an RPC interface (tests/wire/idl/constructs.idl): a handler written
//! with owned values, served by the generated `constructs_serve`, called through the
//! generated `constructs` client over an in-memory channel. No `unsafe` anywhere here: the
//! values that come back are plain owned Rust data, walked as such, and the task
//! allocator is balanced after each call.

use comidl_runtime::alloc::task::thread_balance;
use comidl_runtime::ndr::{CallError, Channel, ContextHandle, Fault, Interface};
use wire_check::constructs::owned::{CHOICE, NODE, POINT2, PTRS};
use wire_check::constructs::{constructs, constructs_Handler, constructs_serve, owned};

struct Server;

type R<T> = Result<T, Fault>;

impl constructs_Handler for Server {
    fn bases(&self, b: owned::BASES) -> R<(u32, owned::BASES)> {
        Ok((0, owned::BASES { l: b.l * 2, ..b }))
    }
    fn conformant(&self, c: owned::CSTRUCT) -> R<(u32, Option<Box<owned::CSTRUCT>>)> {
        let mut points = c.points.clone();
        points.reverse();
        Ok((0, Some(Box::new(owned::CSTRUCT { points, ..c }))))
    }
    fn varying(&self, _: owned::CVSTRUCT) -> R<(u32, Option<Box<owned::CVSTRUCT>>)> {
        Ok((0, None))
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
    fn top(&self, kind: i32, c: CHOICE) -> R<(u32, CHOICE)> {
        match c {
            CHOICE::Zero(v) if kind == 0 => Ok((0, CHOICE::Zero(v + 1))),
            CHOICE::One(p) if kind == 1 => Ok((
                0,
                CHOICE::One(p.map(|p| Box::new(POINT2 { x: p.y, y: p.x }))),
            )),
            _ => Err(Fault(0x1C00_0012)),
        }
    }
    fn pointers(&self, p: PTRS) -> R<(u32, PTRS)> {
        // Walk the list and count it, then send back a longer one.
        let mut sum = 0;
        let mut at = p.list.as_deref();
        while let Some(n) = at {
            sum += n.value;
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
        cb: u32,
        halves: Vec<i16>,
        bytes: Vec<u8>,
        pcb: &mut u32,
        text: String,
    ) -> R<(u32, Vec<u8>)> {
        assert_eq!((halves.len() as u32, bytes.len() as u32), (cb / 2, cb));
        *pcb = text.len() as u32;
        Ok((0, text.into_bytes()))
    }
    fn strings(&self, narrow: String, wide: Option<String>) -> R<(u32, Option<String>)> {
        Ok((0, Some(format!("{narrow}+{}", wide.unwrap_or_default()))))
    }
    fn ranged(&self, r: i32) -> R<(u32, i32)> {
        Ok((0, r * 2))
    }
    fn bstrs(&self, a: Option<String>, none: Option<String>) -> R<(u32, Option<String>)> {
        assert!(none.is_none());
        Ok((0, a.map(|s| s.to_uppercase())))
    }
    fn guarded(&self, x: i32) -> R<(u32, u32, u32)> {
        Ok((x as u32, 0, 0))
    }
    fn status(&self) -> R<u32> {
        Ok(7)
    }
    fn open(&self) -> R<(u32, ContextHandle)> {
        let mut h = [0u8; 20];
        h[4] = 1;
        Ok((0, ContextHandle(h)))
    }
    fn close(&self, s: &mut ContextHandle) -> R<u32> {
        assert_eq!(s.0[4], 1);
        *s = ContextHandle::default();
        Ok(0)
    }
}

struct InMemory;

impl Channel for InMemory {
    fn call(&self, _: &Interface, opnum: u16, request: Vec<u8>) -> Result<Vec<u8>, CallError> {
        constructs_serve(&Server, opnum, &request).map_err(CallError::Fault)
    }
}

fn balanced(f: impl FnOnce()) {
    let before = thread_balance().unwrap();
    f();
    assert_eq!(thread_balance().unwrap(), before, "every block was freed");
}

#[test]
fn strings_slices_and_options_cross_safely() {
    balanced(|| {
        let c = constructs::new(InMemory);
        assert_eq!(
            c.strings("narrow", Some("wïde")).unwrap(),
            (0, Some("narrow+wïde".into()))
        );
        assert_eq!(c.strings("", None).unwrap(), (0, Some("+".into())));
        // The caller's buffer holds *pcb bytes; the server says how many it filled.
        let mut pcb = 8;
        let (status, echo) = c
            .counted(4, &[1, 2], &[1, 2, 3, 4], &mut pcb, "abc")
            .unwrap();
        assert_eq!((status, pcb, echo), (0, 3, b"abc".to_vec()));
        assert_eq!(c.ranged(-4).unwrap(), (0, -8));
        assert_eq!(
            c.bstrs(Some("bstr"), None).unwrap(),
            (0, Some("BSTR".into()))
        );
    });
}

#[test]
fn a_returned_tree_is_walked_without_unsafe() {
    balanced(|| {
        let c = constructs::new(InMemory);
        let node = |value, next| Some(Box::new(NODE { value, next }));
        let p = PTRS {
            maybe: None,
            a: Some(Box::new(1)),
            b: Some(Box::new(2)),
            always: Box::new(3),
            list: node(1, node(2, node(3, None))),
            n: 2,
            items: Some(vec![10, 20]),
            names: Some(vec![Some("x".into()), None]),
        };
        let (status, back) = c.pointers(&p).unwrap();
        assert_eq!(status, 0);
        let mut values = Vec::new();
        let mut at = back.list.as_deref();
        while let Some(n) = at {
            values.push(n.value);
            at = n.next.as_deref();
        }
        assert_eq!(values, [6, 1, 2, 3]);
        assert_eq!((back.items, back.names), (p.items.clone(), p.names.clone()));
        assert_eq!(*back.always, 3);
    });
}

#[test]
fn unions_structures_and_handles() {
    balanced(|| {
        let c = constructs::new(InMemory);
        assert_eq!(c.top(0, &CHOICE::Zero(41)).unwrap(), (0, CHOICE::Zero(42)));
        let one = CHOICE::One(Some(Box::new(POINT2 { x: 1, y: 2 })));
        assert_eq!(
            c.top(1, &one).unwrap(),
            (0, CHOICE::One(Some(Box::new(POINT2 { x: 2, y: 1 }))))
        );
        // The handler's fault comes back as the call's.
        assert_eq!(
            c.top(2, &CHOICE::Case2),
            Err(CallError::Fault(Fault(0x1C00_0012)))
        );
        let cs = owned::CSTRUCT {
            n: 3,
            origin: POINT2 { x: 0, y: 0 },
            points: vec![
                POINT2 { x: 1, y: 1 },
                POINT2 { x: 2, y: 2 },
                POINT2 { x: 3, y: 3 },
            ],
        };
        let (_, back) = c.conformant(&cs).unwrap();
        let back = back.expect("a structure came back");
        assert_eq!(
            back.points.iter().map(|p| p.x).collect::<Vec<_>>(),
            [3, 2, 1]
        );
        let (_, mut h) = c.open().unwrap();
        assert!(!h.is_nil());
        assert_eq!(c.close(&mut h).unwrap(), 0);
        assert!(h.is_nil());
    });
}
