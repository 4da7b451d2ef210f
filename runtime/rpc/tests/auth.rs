//! NTLM between our client and our server over real sockets (runtime/rpc/src/auth.rs):
//! calls at PKT_INTEGRITY and PKT_PRIVACY reach the handler with the caller's name and
//! level, large requests and replies cross in many protected fragments, and every refusal
//! the server's security makes is seen: a wrong password, an unknown user, a call below
//! the minimum level, an unauthenticated call, a client that asks for authentication from
//! a server without users. (Against independent implementations: Samba in
//! tests/wire/samba.sh, impacket in tests/wire/dcom.sh.)

use std::net::SocketAddr;
use std::time::Duration;

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{CallError, Channel, Fault, Interface};
use comidl_runtime_rpc::auth::{
    AuthnLevel, ClientAuth, NtlmCredentials, NtlmUser, ServerSecurity, UserSecret,
};
use comidl_runtime_rpc::client::Connection;
use comidl_runtime_rpc::server::context;
use comidl_runtime_rpc::{Server, ServerLimits, StringBinding};

static ECHO: Interface = Interface {
    name: "echo",
    uuid: GUID::from_u128(0x6563686f_0000_4000_8000_0000000a0001),
    version: (1, 0),
    procs: &[],
};

const WAIT: Duration = Duration::from_secs(5);

/// A server of ECHO (opnum 0: the request back, then the caller's user and level) that
/// knows alice (a password) and bob (an NT hash of "hunter2"), at least `min` level.
fn server(min: AuthnLevel, with_users: bool) -> (Server, SocketAddr) {
    let server = Server::start(ServerLimits::default()).unwrap();
    server.register(&ECHO, |_: u16, stub: &[u8]| {
        let c = context::current().unwrap();
        let mut out = stub.to_vec();
        out.extend_from_slice(
            format!("|{}|{:?}", c.user.unwrap_or_default(), c.authn_level).as_bytes(),
        );
        Ok(out)
    });
    if with_users {
        server.set_security(ServerSecurity {
            users: vec![
                NtlmUser {
                    user: "alice".into(),
                    domain: String::new(),
                    secret: UserSecret::Password("Wonder-land1".into()),
                },
                NtlmUser {
                    user: "bob".into(),
                    domain: "WORKGROUP".into(),
                    // MD4 of UTF-16LE "hunter2".
                    secret: UserSecret::NtHash(nt_hash("hunter2")),
                },
            ],
            min_level: min,
        });
    }
    let b = server
        .listen(&StringBinding::parse("ncacn_ip_tcp:127.0.0.1").unwrap())
        .unwrap();
    let port: u16 = b.endpoint.unwrap().parse().unwrap();
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// MD4 over the UTF-16LE password (MS-NLMP's NTOWFv1), written out here so the test
/// does not trust the library it checks.
fn nt_hash(password: &str) -> [u8; 16] {
    let msg: Vec<u8> = password
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    md4(&msg)
}

fn md4(msg: &[u8]) -> [u8; 16] {
    let mut m = msg.to_vec();
    let bits = (msg.len() as u64).wrapping_mul(8);
    m.push(0x80);
    while m.len() % 64 != 56 {
        m.push(0);
    }
    m.extend_from_slice(&bits.to_le_bytes());
    let (mut a, mut b, mut c, mut d) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    for block in m.chunks(64) {
        let x: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (aa, bb, cc, dd) = (a, b, c, d);
        let f = |x: u32, y: u32, z: u32| (x & y) | (!x & z);
        let g = |x: u32, y: u32, z: u32| (x & y) | (x & z) | (y & z);
        let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
        for &i in &[0usize, 4, 8, 12] {
            a = a.wrapping_add(f(b, c, d)).wrapping_add(x[i]).rotate_left(3);
            d = d
                .wrapping_add(f(a, b, c))
                .wrapping_add(x[i + 1])
                .rotate_left(7);
            c = c
                .wrapping_add(f(d, a, b))
                .wrapping_add(x[i + 2])
                .rotate_left(11);
            b = b
                .wrapping_add(f(c, d, a))
                .wrapping_add(x[i + 3])
                .rotate_left(19);
        }
        for &i in &[0usize, 1, 2, 3] {
            let k = 0x5a827999u32;
            a = a
                .wrapping_add(g(b, c, d))
                .wrapping_add(x[i])
                .wrapping_add(k)
                .rotate_left(3);
            d = d
                .wrapping_add(g(a, b, c))
                .wrapping_add(x[i + 4])
                .wrapping_add(k)
                .rotate_left(5);
            c = c
                .wrapping_add(g(d, a, b))
                .wrapping_add(x[i + 8])
                .wrapping_add(k)
                .rotate_left(9);
            b = b
                .wrapping_add(g(c, d, a))
                .wrapping_add(x[i + 12])
                .wrapping_add(k)
                .rotate_left(13);
        }
        for &i in &[0usize, 2, 1, 3] {
            let k = 0x6ed9eba1u32;
            a = a
                .wrapping_add(h(b, c, d))
                .wrapping_add(x[i])
                .wrapping_add(k)
                .rotate_left(3);
            d = d
                .wrapping_add(h(a, b, c))
                .wrapping_add(x[i + 8])
                .wrapping_add(k)
                .rotate_left(9);
            c = c
                .wrapping_add(h(d, a, b))
                .wrapping_add(x[i + 4])
                .wrapping_add(k)
                .rotate_left(11);
            b = b
                .wrapping_add(h(c, d, a))
                .wrapping_add(x[i + 12])
                .wrapping_add(k)
                .rotate_left(15);
        }
        a = a.wrapping_add(aa);
        b = b.wrapping_add(bb);
        c = c.wrapping_add(cc);
        d = d.wrapping_add(dd);
    }
    let mut out = [0u8; 16];
    for (i, v) in [a, b, c, d].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    out
}

fn client(
    at: SocketAddr,
    auth: Option<(&str, &str, &str, AuthnLevel)>,
) -> Connection<std::net::TcpStream> {
    let c = Connection::tcp(at, WAIT).unwrap();
    match auth {
        Some((user, domain, password, level)) => c.with_auth(ClientAuth {
            credentials: NtlmCredentials {
                user: user.into(),
                domain: domain.into(),
                password: password.into(),
            },
            level,
        }),
        None => c,
    }
}

fn denied(r: Result<Vec<u8>, CallError>) -> bool {
    matches!(
        r,
        Err(CallError::Fault(Fault(5))) | Err(CallError::Transport(5))
    )
}

#[test]
fn md4_is_md4() {
    // RFC 1320's test vector.
    let h = md4(b"abc");
    assert_eq!(
        h,
        [
            0xa4, 0x48, 0x01, 0x7a, 0xaf, 0x21, 0xd8, 0x52, 0x5f, 0xc1, 0x0a, 0xe8, 0x7a, 0xa6,
            0x72, 0x9d
        ]
    );
}

#[test]
fn signed_and_sealed_calls_reach_the_handler_with_the_caller() {
    let (_s, at) = server(AuthnLevel::PktIntegrity, true);
    for (user, domain, pw, level, who) in [
        (
            "alice",
            "",
            "Wonder-land1",
            AuthnLevel::PktIntegrity,
            "alice",
        ),
        (
            "ALICE",
            "ANYDOMAIN",
            "Wonder-land1",
            AuthnLevel::PktPrivacy,
            "alice",
        ),
        ("bob", "WORKGROUP", "hunter2", AuthnLevel::PktPrivacy, "bob"),
    ] {
        let c = client(at, Some((user, domain, pw, level)));
        // Several calls: the sequence numbers and the sealing stream go on.
        for i in 0..3u8 {
            let reply = c.call(&ECHO, 0, vec![i, 1, 2, 3]).unwrap();
            assert_eq!(
                reply,
                [&[i, 1, 2, 3][..], format!("|{who}|{level:?}").as_bytes()].concat()
            );
        }
        // A request and a reply of many fragments each.
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let reply = c.call(&ECHO, 0, big.clone()).unwrap();
        assert_eq!(&reply[..big.len()], &big[..]);
    }
}

#[test]
fn every_refusal_is_access_denied() {
    let (_s, at) = server(AuthnLevel::PktIntegrity, true);
    // A wrong password, an unknown user, bob's password for alice.
    for (user, pw) in [
        ("alice", "wrong"),
        ("mallory", "Wonder-land1"),
        ("alice", "hunter2"),
    ] {
        let c = client(at, Some((user, "", pw, AuthnLevel::PktPrivacy)));
        assert!(denied(c.call(&ECHO, 0, vec![1])), "{user}/{pw}");
    }
    // Below the minimum: unauthenticated, and CONNECT.
    assert!(denied(client(at, None).call(&ECHO, 0, vec![1])));
    let c = client(at, Some(("alice", "", "Wonder-land1", AuthnLevel::Connect)));
    assert!(denied(c.call(&ECHO, 0, vec![1])));
}

#[test]
fn connect_level_names_the_caller_without_protecting_pdus() {
    let (_s, at) = server(AuthnLevel::Connect, true);
    let c = client(at, Some(("alice", "", "Wonder-land1", AuthnLevel::Connect)));
    assert_eq!(
        c.call(&ECHO, 0, vec![7]).unwrap(),
        [&[7][..], b"|alice|Connect"].concat()
    );
    assert!(denied(client(at, None).call(&ECHO, 0, vec![1])));
}

#[test]
fn a_server_without_users_refuses_authentication_and_serves_the_rest() {
    let (_s, at) = server(AuthnLevel::None, false);
    let c = client(
        at,
        Some(("alice", "", "Wonder-land1", AuthnLevel::PktIntegrity)),
    );
    assert!(c.call(&ECHO, 0, vec![1]).is_err());
    assert_eq!(
        client(at, None).call(&ECHO, 0, vec![9]).unwrap(),
        [&[9][..], b"||None"].concat()
    );
}
