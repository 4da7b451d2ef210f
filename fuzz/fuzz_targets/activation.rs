//! The activation property sets as comidl-dcomd receives them (MS-DCOM 2.2.22): byte 0
//! picks a request (IRemoteSCMActivator's pActProperties), a reply (what a client reads
//! back) or a bare blob; the rest is the OBJREF_CUSTOM or the blob. No input may panic.
//! Whatever decodes must encode, and the encoding must decode to the same value.

#![no_main]

use comidl_runtime_dcom::activation::props::{ActivationReply, ActivationRequest, split_blob};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(r) = ActivationRequest::decode(rest) {
                let again = r.encode().expect("a decoded request encodes");
                let back = ActivationRequest::decode(&again).expect("our request decodes");
                // What the encoder does not carry: a persistent-object request.
                assert_eq!(back.clsid, r.clsid);
                assert_eq!(back.iids, r.iids);
                assert_eq!(back.protseqs, r.protseqs);
            }
        }
        1 => {
            if let Ok(r) = ActivationReply::decode(rest) {
                let again = r.encode().expect("a decoded reply encodes");
                assert_eq!(
                    ActivationReply::decode(&again).as_ref(),
                    Ok(&r),
                    "not a fixed point"
                );
            }
        }
        _ => {
            if let Ok(props) = split_blob(rest) {
                assert!(props.len() <= 10);
                assert!(props.iter().all(|(_, p)| p.len() <= rest.len()));
            }
        }
    }
});
