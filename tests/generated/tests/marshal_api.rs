//! The marshalling API under COM's names (`comidl_runtime::dcom::api`): streams, normal
//! and table marshals, the size bound, the inter-thread pair, the standard marshaller as
//! an IMarshal object, CoDisconnectObject, and custom marshalling (an object that
//! implements IMarshal, unmarshalled by the class it names). One test: the scenarios
//! share the process's exporter and assert its object count between them.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

use comidl_generated_tests::orpc::{IOrpcSink, IOrpcSink_Impl, IOrpcSink_PROXY_STUB};
use comidl_runtime::dcom::api::{
    CoDisconnectObject, CoGetInterfaceAndReleaseStream, CoGetMarshalSizeMax, CoGetStandardMarshal,
    CoMarshalInterThreadInterfaceInStream, CoMarshalInterface, CoReleaseMarshalData,
    CoUnmarshalInterface, CreateStreamOnHGlobal,
};
use comidl_runtime::dcom::bindings::{IMarshal, IMarshal_Impl, IStream, LARGE_INTEGER};
use comidl_runtime::dcom::marshal::CLSID_STD_MARSHAL;
use comidl_runtime::dcom::{self, stream::MemoryStream};
use comidl_runtime::{
    CLSCTX_INPROC_SERVER, ClassFactory, ClassInfo, ComInit, ComObject, ComPtr, Creatable, GUID,
    HRESULT, IUnknown, Interface, RPC_E_DISCONNECTED, Result,
};

static SINKS: AtomicUsize = AtomicUsize::new(0);

struct Sink;

comidl_runtime::implement!(Sink: IOrpcSink);

impl IOrpcSink_Impl for Sink {
    fn notify(&self, value: i32) -> Result<i32> {
        Ok(value * 3)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        SINKS.fetch_add(1, Ordering::SeqCst);
    }
}

fn rewind(stream: &IStream) {
    stream.seek(LARGE_INTEGER { QuadPart: 0 }, 0).unwrap();
}

fn bytes_of(stream: &IStream) -> Vec<u8> {
    let size = stream.stat(1).unwrap().cbSize.QuadPart as usize;
    rewind(stream);
    let mut out = vec![0u8; size];
    // SAFETY: `out` has room for `size` bytes.
    let n = unsafe { stream.read(out.as_mut_ptr().cast(), size as u32) }.unwrap();
    assert_eq!(n as usize, size);
    out
}

fn new_stream() -> ComPtr<IStream> {
    let mut raw = std::ptr::null_mut();
    // SAFETY: a writable out pointer; NULL asks for a new stream.
    unsafe { CreateStreamOnHGlobal(std::ptr::null_mut(), 1, &mut raw) }
        .ok()
        .unwrap();
    // SAFETY: an IStream with our reference.
    unsafe { ComPtr::from_raw(raw) }.unwrap()
}

fn unmarshal_sink(stream: &IStream) -> std::result::Result<ComPtr<IOrpcSink>, HRESULT> {
    let mut out = std::ptr::null_mut();
    // SAFETY: live stream, an IID, a writable out pointer.
    unsafe { CoUnmarshalInterface(stream.as_raw(), &IOrpcSink::IID, &mut out) }.ok()?;
    // SAFETY: an IOrpcSink with our reference.
    Ok(unsafe { ComPtr::from_raw(out) }.unwrap())
}

/// The custom marshaller's class: what an OBJREF_CUSTOM names. Its UnmarshalInterface
/// reads the four bytes the object wrote and answers a new Sink for them; the test counts
/// what it read.
const CUSTOM_CLSID: GUID = GUID::from_u128(0x7c0f_3a51_2e94_4b08_9d61_5a2b_8c3e_f140);
static CUSTOM: ClassInfo = ClassInfo::new(CUSTOM_CLSID, "comidl test custom unmarshaller");
static TOKENS_READ: AtomicUsize = AtomicUsize::new(0);
static RELEASED: AtomicUsize = AtomicUsize::new(0);

/// An object that marshals itself: four bytes (its token) instead of an OBJREF to an
/// exporter.
struct SelfMarshalled;

comidl_runtime::implement!(SelfMarshalled: IOrpcSink, IMarshal);

impl IOrpcSink_Impl for SelfMarshalled {
    fn notify(&self, value: i32) -> Result<i32> {
        Ok(value)
    }
}

impl IMarshal_Impl for SelfMarshalled {
    fn get_unmarshal_class(
        &self,
        _: &GUID,
        _: *mut c_void,
        _: u32,
        _: *mut c_void,
        _: u32,
    ) -> Result<GUID> {
        Ok(CUSTOM_CLSID)
    }
    fn get_marshal_size_max(
        &self,
        _: &GUID,
        _: *mut c_void,
        _: u32,
        _: *mut c_void,
        _: u32,
    ) -> Result<u32> {
        Ok(4)
    }
    fn marshal_interface(
        &self,
        stream: Option<&IStream>,
        _: &GUID,
        _: *mut c_void,
        _: u32,
        _: *mut c_void,
        _: u32,
    ) -> Result<()> {
        let token = 0x2a2a_2a2au32.to_le_bytes();
        // SAFETY: four bytes.
        unsafe { stream.unwrap().write(token.as_ptr().cast(), 4) }.map(|_| ())
    }
    fn unmarshal_interface(&self, _: Option<&IStream>, _: &GUID) -> Result<*mut c_void> {
        Err(comidl_runtime::E_NOTIMPL)
    }
    fn release_marshal_data(&self, _: Option<&IStream>) -> Result<()> {
        Ok(())
    }
    fn disconnect_object(&self, _: u32) -> Result<()> {
        Ok(())
    }
}

/// The unmarshaller (an instance of CUSTOM_CLSID).
struct Unmarshaller;

comidl_runtime::implement!(Unmarshaller: IMarshal);

impl Creatable for Unmarshaller {
    const CLASS: &'static ClassInfo = &CUSTOM;
    fn create() -> Result<Unmarshaller> {
        Ok(Unmarshaller)
    }
}

fn read_token(stream: Option<&IStream>) -> Result<u32> {
    let mut token = [0u8; 4];
    // SAFETY: four bytes of room.
    let n = unsafe { stream.unwrap().read(token.as_mut_ptr().cast(), 4) }?;
    assert_eq!(n, 4);
    Ok(u32::from_le_bytes(token))
}

impl IMarshal_Impl for Unmarshaller {
    fn get_unmarshal_class(
        &self,
        _: &GUID,
        _: *mut c_void,
        _: u32,
        _: *mut c_void,
        _: u32,
    ) -> Result<GUID> {
        Ok(CUSTOM_CLSID)
    }
    fn get_marshal_size_max(
        &self,
        _: &GUID,
        _: *mut c_void,
        _: u32,
        _: *mut c_void,
        _: u32,
    ) -> Result<u32> {
        Ok(4)
    }
    fn marshal_interface(
        &self,
        _: Option<&IStream>,
        _: &GUID,
        _: *mut c_void,
        _: u32,
        _: *mut c_void,
        _: u32,
    ) -> Result<()> {
        Err(comidl_runtime::E_NOTIMPL)
    }
    fn unmarshal_interface(&self, stream: Option<&IStream>, iid: &GUID) -> Result<*mut c_void> {
        assert_eq!(read_token(stream)?, 0x2a2a_2a2a);
        TOKENS_READ.fetch_add(1, Ordering::SeqCst);
        let sink = ComObject::create::<IOrpcSink>(Sink)?;
        let mut out = std::ptr::null_mut();
        // SAFETY: a live object; QueryInterface writes an owned pointer.
        unsafe { (sink.vtable().base__.QueryInterface)(sink.as_raw(), iid, &mut out) }.ok()?;
        Ok(out)
    }
    fn release_marshal_data(&self, stream: Option<&IStream>) -> Result<()> {
        assert_eq!(read_token(stream)?, 0x2a2a_2a2a);
        RELEASED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn disconnect_object(&self, _: u32) -> Result<()> {
        Ok(())
    }
}

#[test]
fn the_marshalling_api_over_streams() {
    let _com = ComInit::multithreaded().unwrap();
    dcom::register(&[&IOrpcSink_PROXY_STUB]);
    let sink = ComObject::create::<IOrpcSink>(Sink).unwrap();
    let identity = sink.cast::<IUnknown>().unwrap().as_raw();

    // A normal marshal into a stream: within the bound CoGetMarshalSizeMax gives, an
    // OBJREF_STANDARD, unmarshalled once into the object itself (this process exports it).
    let stream = new_stream();
    let mut max = 0u32;
    // SAFETY: valid pointers throughout.
    unsafe {
        CoGetMarshalSizeMax(
            &mut max,
            &IOrpcSink::IID,
            sink.as_raw(),
            0,
            std::ptr::null_mut(),
            0,
        )
    }
    .ok()
    .unwrap();
    // SAFETY: as above.
    unsafe {
        CoMarshalInterface(
            stream.as_raw(),
            &IOrpcSink::IID,
            sink.as_raw(),
            0,
            std::ptr::null_mut(),
            0,
        )
    }
    .ok()
    .unwrap();
    let bytes = bytes_of(&stream);
    assert!(bytes.len() as u32 <= max, "{} > bound {max}", bytes.len());
    assert_eq!(&bytes[..8], b"MEOW\x01\0\0\0", "an OBJREF_STANDARD");
    assert_eq!(dcom::object_counts().0, 1);
    rewind(&stream);
    let back = unmarshal_sink(&stream).unwrap();
    assert_eq!(back.cast::<IUnknown>().unwrap().as_raw(), identity);
    assert_eq!(back.notify(5).unwrap(), 15);
    drop(back);
    assert_eq!(
        dcom::object_counts().0,
        0,
        "the marshal's reference came home"
    );

    // A table-strong marshal: any number of unmarshals until CoReleaseMarshalData.
    let stream = new_stream();
    // SAFETY: valid pointers.
    unsafe {
        CoMarshalInterface(
            stream.as_raw(),
            &IOrpcSink::IID,
            sink.as_raw(),
            0,
            std::ptr::null_mut(),
            1,
        )
    }
    .ok()
    .unwrap();
    for _ in 0..3 {
        rewind(&stream);
        assert_eq!(unmarshal_sink(&stream).unwrap().notify(1).unwrap(), 3);
    }
    assert_eq!(dcom::object_counts().0, 1, "the table keeps it exported");
    rewind(&stream);
    // SAFETY: a live stream.
    unsafe { CoReleaseMarshalData(stream.as_raw()) }
        .ok()
        .unwrap();
    assert_eq!(dcom::object_counts().0, 0);

    // The inter-thread pair: another thread gets the object through the stream.
    let mut raw = std::ptr::null_mut();
    // SAFETY: valid pointers.
    unsafe { CoMarshalInterThreadInterfaceInStream(&IOrpcSink::IID, sink.as_raw(), &mut raw) }
        .ok()
        .unwrap();
    let raw = raw as usize;
    let got = std::thread::spawn(move || {
        let mut out = std::ptr::null_mut();
        // SAFETY: the stream's reference is handed over; valid pointers.
        unsafe { CoGetInterfaceAndReleaseStream(raw as *mut c_void, &IOrpcSink::IID, &mut out) }
            .ok()
            .unwrap();
        // SAFETY: an IOrpcSink with our reference.
        let p = unsafe { ComPtr::<IOrpcSink>::from_raw(out) }.unwrap();
        (
            p.notify(7).unwrap(),
            p.cast::<IUnknown>().unwrap().as_raw() as usize,
        )
    })
    .join()
    .unwrap();
    assert_eq!(got, (21, identity as usize));
    assert_eq!(dcom::object_counts().0, 0);

    // The standard marshaller as an object: it names CLSID_StdMarshal and writes what
    // CoUnmarshalInterface reads.
    let mut raw = std::ptr::null_mut();
    // SAFETY: valid pointers.
    unsafe {
        CoGetStandardMarshal(
            &IOrpcSink::IID,
            sink.as_raw(),
            0,
            std::ptr::null_mut(),
            0,
            &mut raw,
        )
    }
    .ok()
    .unwrap();
    // SAFETY: an IMarshal with our reference.
    let std_marshal = unsafe { ComPtr::<IMarshal>::from_raw(raw) }.unwrap();
    // SAFETY: valid pointers.
    let class = unsafe {
        std_marshal.get_unmarshal_class(&IOrpcSink::IID, sink.as_raw(), 0, std::ptr::null_mut(), 0)
    }
    .unwrap();
    assert_eq!(class, CLSID_STD_MARSHAL);
    let stream = new_stream();
    // SAFETY: valid pointers.
    unsafe {
        std_marshal.marshal_interface(
            Some(&*stream),
            &IOrpcSink::IID,
            sink.as_raw(),
            0,
            std::ptr::null_mut(),
            0,
        )
    }
    .unwrap();
    rewind(&stream);
    assert_eq!(unmarshal_sink(&stream).unwrap().notify(2).unwrap(), 6);
    drop(std_marshal);
    assert_eq!(dcom::object_counts().0, 0);

    // CoDisconnectObject: an outstanding marshal no longer reaches the object.
    let stream = new_stream();
    // SAFETY: valid pointers.
    unsafe {
        CoMarshalInterface(
            stream.as_raw(),
            &IOrpcSink::IID,
            sink.as_raw(),
            0,
            std::ptr::null_mut(),
            0,
        )
    }
    .ok()
    .unwrap();
    assert_eq!(dcom::object_counts().0, 1);
    // SAFETY: a live object.
    unsafe { CoDisconnectObject(sink.as_raw(), 0) }
        .ok()
        .unwrap();
    assert_eq!(dcom::object_counts().0, 0);
    rewind(&stream);
    assert_eq!(unmarshal_sink(&stream).err(), Some(RPC_E_DISCONNECTED));

    // Bad input: an empty stream and a stream of garbage are refused, nothing panics.
    let empty = MemoryStream::create().unwrap();
    assert!(unmarshal_sink(&empty).is_err());
    let junk = MemoryStream::with_bytes(b"MEOW\x04\0\0\0junk".to_vec()).unwrap();
    assert!(unmarshal_sink(&junk).is_err());

    drop(sink);
    assert_eq!(SINKS.load(Ordering::SeqCst), 1);

    // Custom marshalling: the object's IMarshal writes an OBJREF_CUSTOM naming its
    // unmarshaller's class, which reads the object's bytes back in process.
    let factory = ClassFactory::<Unmarshaller>::new();
    let mut cookie = 0;
    // SAFETY: valid pointers; REGCLS_MULTIPLEUSE.
    unsafe {
        comidl_runtime::CoRegisterClassObject(
            &CUSTOM_CLSID,
            factory.as_raw(),
            CLSCTX_INPROC_SERVER,
            1,
            &mut cookie,
        )
    }
    .ok()
    .unwrap();
    let own = ComObject::create::<IOrpcSink>(SelfMarshalled).unwrap();
    let stream = new_stream();
    let mut max = 0u32;
    // SAFETY: valid pointers.
    unsafe {
        CoGetMarshalSizeMax(
            &mut max,
            &IOrpcSink::IID,
            own.as_raw(),
            0,
            std::ptr::null_mut(),
            0,
        )
    }
    .ok()
    .unwrap();
    assert_eq!(max, 48 + 4);
    // SAFETY: valid pointers.
    unsafe {
        CoMarshalInterface(
            stream.as_raw(),
            &IOrpcSink::IID,
            own.as_raw(),
            0,
            std::ptr::null_mut(),
            0,
        )
    }
    .ok()
    .unwrap();
    let bytes = bytes_of(&stream);
    assert_eq!(&bytes[..8], b"MEOW\x04\0\0\0", "an OBJREF_CUSTOM");
    assert_eq!(bytes.len(), 48 + 4);
    assert_eq!(&bytes[24..40], &CUSTOM_CLSID.to_bytes_le());
    assert_eq!(
        dcom::object_counts().0,
        0,
        "a custom marshal exports nothing"
    );
    rewind(&stream);
    let back = unmarshal_sink(&stream).unwrap();
    assert_eq!(back.notify(4).unwrap(), 12, "the unmarshaller's Sink");
    assert_eq!(TOKENS_READ.load(Ordering::SeqCst), 1);
    rewind(&stream);
    // SAFETY: a live stream.
    unsafe { CoReleaseMarshalData(stream.as_raw()) }
        .ok()
        .unwrap();
    assert_eq!(RELEASED.load(Ordering::SeqCst), 1);
    // The byte-level API takes the same path (what the NDR engine uses for parameters).
    let objref = dcom::marshal::marshal(&*own, dcom::Keep::Normal).unwrap();
    assert_eq!(objref, bytes);
    let again = dcom::marshal::unmarshal::<IOrpcSink>(&objref).unwrap();
    assert_eq!(again.notify(1).unwrap(), 3);
    assert_eq!(TOKENS_READ.load(Ordering::SeqCst), 2);
    drop((back, again, own));
    comidl_runtime::CoRevokeClassObject(cookie).ok().unwrap();
}
