//! NTLM messages as a comidl server receives them (runtime/rpc/src/auth.rs, through the
//! sspi crate): the input is split into a NEGOTIATE (a bind's auth_value), an
//! AUTHENTICATE (an rpc_auth_3's) and a protected request fragment, each length-prefixed
//! by one byte pair; byte 0 picks the level. Nothing may panic or run away; hostile
//! tokens are refused (a random AUTHENTICATE never authenticates, since the challenge is
//! fresh each time).

#![no_main]

use comidl_runtime_rpc::auth::{AuthnLevel, fuzz_server};
use libfuzzer_sys::fuzz_target;

fn take<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    if data.len() < 2 {
        let all = *data;
        *data = &[];
        return all;
    }
    let n = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
    let part = &data[2..2 + n];
    *data = &data[2 + n..];
    part
}

fuzz_target!(|data: &[u8]| {
    let Some((&level, mut rest)) = data.split_first() else {
        return;
    };
    let level = match level % 3 {
        0 => AuthnLevel::Connect,
        1 => AuthnLevel::PktIntegrity,
        _ => AuthnLevel::PktPrivacy,
    };
    let negotiate = take(&mut rest);
    let authenticate = take(&mut rest);
    let (_, authenticated, _) = fuzz_server(negotiate, authenticate, rest, level);
    assert!(
        !authenticated,
        "a fuzzed AUTHENTICATE answered a fresh challenge"
    );
});
