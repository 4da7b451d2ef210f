//! AgileReference: an interface pointer made Send + Sync by a table-strong marshal;
//! resolved on other threads it gives the same object (in its own process, the object
//! itself), and dropping it unexports the object.

use std::sync::atomic::{AtomicUsize, Ordering};

use comidl_generated_tests::orpc::{IOrpcSink, IOrpcSink_Impl, IOrpcSink_PROXY_STUB};
use comidl_runtime::dcom::{self, AgileReference};
use comidl_runtime::{ComObject, IUnknown, Result};

static DROPS: AtomicUsize = AtomicUsize::new(0);

struct Sink;

comidl_runtime::implement!(Sink: IOrpcSink);

impl IOrpcSink_Impl for Sink {
    fn notify(&self, value: i32) -> Result<i32> {
        Ok(value * 2)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn an_agile_reference_crosses_threads_and_lets_go() {
    assert_send_sync::<AgileReference<IOrpcSink>>();
    dcom::register(&[&IOrpcSink_PROXY_STUB]);
    let sink = ComObject::create::<IOrpcSink>(Sink).unwrap();
    let identity = sink.cast::<IUnknown>().unwrap().as_raw() as usize;
    let agile = AgileReference::new(&*sink).unwrap();
    drop(sink);
    // The marshal keeps the object alive without any pointer held.
    assert_eq!(DROPS.load(Ordering::SeqCst), 0);
    std::thread::scope(|s| {
        for k in 0..4 {
            let agile = &agile;
            s.spawn(move || {
                let p = agile.resolve().unwrap();
                assert_eq!(p.notify(k).unwrap(), k * 2);
                // In its own process the object itself, not a proxy.
                assert!(!dcom::proxy::is_proxy(&*p));
                assert_eq!(p.cast::<IUnknown>().unwrap().as_raw() as usize, identity);
            });
        }
    });
    drop(agile);
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        1,
        "dropping the last reference frees it"
    );
    assert_eq!(dcom::object_counts().0, 0);
}
