//! Authenticated calls (MS-RPCE 2.2.2.11-2.2.2.13, 3.3.1.5.2): NTLM (MS-NLMP) through the
//! `sspi` crate, at the spec's levels. A client's bind carries the NTLM NEGOTIATE message
//! in its auth_value, the server's bind_ack the CHALLENGE, and the client's rpc_auth_3
//! the AUTHENTICATE; from then on every request and response fragment carries a
//! sec_trailer and a 16-byte NTLM signature:
//!
//! - PKT_INTEGRITY: the signature covers the fragment from its header to the end of the
//!   sec_trailer (frag_length and auth_length already final);
//! - PKT_PRIVACY: the same signature, and the stub data with its padding is sealed.
//!
//! The stub data is padded so that the sec_trailer starts on a 16-byte boundary
//! (auth_pad_length says how much), as Windows and Samba do.

use comidl_runtime_ndr::CallError;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation,
    EncryptionFlags, Ntlm, SecurityBuffer, SecurityBufferFlags, SecurityBufferRef, Sspi, SspiImpl,
    Username,
};

/// RPC_C_AUTHN_WINNT: NTLM's auth_type.
pub const AUTHN_WINNT: u8 = 10;

/// The size of an NTLM signature (the auth_value of a protected PDU).
pub const SIGNATURE_LEN: usize = 16;

/// The alignment of the sec_trailer after the stub data.
pub const AUTH_PAD_ALIGN: usize = 16;

/// RPC_S_ACCESS_DENIED: the credentials were refused, or a PDU failed its check.
pub const ACCESS_DENIED: u32 = 5;
/// RPC_S_SEC_PKG_ERROR: the security package failed.
pub const SEC_PKG_ERROR: u32 = 1825;

/// The authentication levels (RPC_C_AUTHN_LEVEL_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum AuthnLevel {
    None = 1,
    Connect = 2,
    Call = 3,
    Pkt = 4,
    PktIntegrity = 5,
    PktPrivacy = 6,
}

impl AuthnLevel {
    pub fn from_u8(v: u8) -> Option<AuthnLevel> {
        Some(match v {
            1 => AuthnLevel::None,
            2 => AuthnLevel::Connect,
            3 => AuthnLevel::Call,
            4 => AuthnLevel::Pkt,
            5 => AuthnLevel::PktIntegrity,
            6 => AuthnLevel::PktPrivacy,
            _ => return None,
        })
    }

    /// Whether request and response fragments carry a signature at this level (CALL and
    /// PKT are raised to PKT_INTEGRITY, as Windows does for NTLM).
    pub fn protects_pdus(self) -> bool {
        self >= AuthnLevel::Call
    }
}

/// A user's NTLM credentials.
#[derive(Clone)]
pub struct NtlmCredentials {
    pub user: String,
    pub domain: String,
    pub password: String,
}

impl std::fmt::Debug for NtlmCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtlmCredentials")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// How a client authenticates: NTLM with these credentials, at this level.
#[derive(Clone, Debug)]
pub struct ClientAuth {
    pub credentials: NtlmCredentials,
    pub level: AuthnLevel,
}

fn sec_error(_: sspi::Error) -> CallError {
    CallError::Transport(SEC_PKG_ERROR)
}

/// The NTLM side of one authenticated connection, client or server.
pub(crate) struct Session {
    ntlm: Ntlm,
    pub level: AuthnLevel,
    /// The sec_trailer's auth_context_id of this connection's security context.
    pub context_id: u32,
    /// Sequence numbers of signed (not sealed) PDUs, each way.
    send_seq: u32,
    recv_seq: u32,
}

/// A client's security context while it is being built, then its session.
pub(crate) struct ClientContext {
    ntlm: Ntlm,
    credentials: <Ntlm as SspiImpl>::CredentialsHandle,
    level: AuthnLevel,
}

impl ClientContext {
    /// The context, and the NEGOTIATE message for the bind.
    pub(crate) fn start(auth: &ClientAuth) -> Result<(ClientContext, Vec<u8>), CallError> {
        let mut ntlm = Ntlm::new();
        let username = Username::new(&auth.credentials.user, Some(&auth.credentials.domain))
            .map_err(|_| CallError::Transport(ACCESS_DENIED))?;
        let identity = AuthIdentity {
            username,
            password: auth.credentials.password.clone().into(),
        };
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(sec_error)?;
        let mut ctx = ClientContext {
            ntlm,
            credentials: acquired.credentials_handle,
            level: auth.level,
        };
        let token = ctx.step(None)?;
        Ok((ctx, token))
    }

    fn requirements(&self) -> ClientRequestFlags {
        let mut f = ClientRequestFlags::ALLOCATE_MEMORY;
        if self.level >= AuthnLevel::Call {
            f |= ClientRequestFlags::INTEGRITY;
        }
        if self.level >= AuthnLevel::PktPrivacy {
            f |= ClientRequestFlags::CONFIDENTIALITY;
        }
        f
    }

    fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, CallError> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input_buffers =
            input.map(|i| vec![SecurityBuffer::new(i.to_vec(), BufferType::Token)]);
        let requirements = self.requirements();
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(requirements)
            .with_target_data_representation(DataRepresentation::Native)
            .with_output(&mut output);
        if let Some(i) = input_buffers.as_mut() {
            builder = builder.with_input(i);
        }
        self.ntlm
            .initialize_security_context_impl(&mut builder)
            .map_err(sec_error)?
            .resolve_to_result()
            .map_err(sec_error)?;
        Ok(output.pop().map(|b| b.buffer).unwrap_or_default())
    }

    /// The AUTHENTICATE message for the server's CHALLENGE, and the session.
    pub(crate) fn finish(mut self, challenge: &[u8]) -> Result<(Session, Vec<u8>), CallError> {
        let token = self.step(Some(challenge))?;
        Ok((
            Session {
                ntlm: self.ntlm,
                level: self.level,
                context_id: 0,
                send_seq: 0,
                recv_seq: 0,
            },
            token,
        ))
    }
}

/// The padding after `stub_len` bytes of stub data that puts the sec_trailer on a
/// 16-byte boundary.
pub(crate) fn pad_for(stub_len: usize) -> usize {
    (AUTH_PAD_ALIGN - stub_len % AUTH_PAD_ALIGN) % AUTH_PAD_ALIGN
}

impl Session {
    /// Protects an encoded fragment whose auth_value is `SIGNATURE_LEN` zero bytes at its
    /// end: `stub` is the range of the stub data and its padding (sealed at PKT_PRIVACY),
    /// the signature goes into the last 16 bytes.
    pub(crate) fn protect(
        &mut self,
        pdu: &mut [u8],
        stub: std::ops::Range<usize>,
    ) -> Result<(), CallError> {
        self.apply(pdu, stub, true)
            .map_err(|_| CallError::Transport(SEC_PKG_ERROR))
    }

    /// Checks (and at PKT_PRIVACY unseals) a received fragment whose last 16 bytes are
    /// its signature; `stub` as for [`Session::protect`]. A fragment that fails its check
    /// is refused with RPC_S_ACCESS_DENIED.
    pub(crate) fn unprotect(
        &mut self,
        pdu: &mut [u8],
        stub: std::ops::Range<usize>,
    ) -> Result<(), CallError> {
        self.apply(pdu, stub, false)
            .map_err(|_| CallError::Transport(ACCESS_DENIED))
    }

    /// Signs or seals (`sending`), or checks or unseals, one fragment. The signature
    /// covers the fragment from its header to the end of the sec_trailer; at PKT_PRIVACY
    /// only the stub range is sealed (the rest signed as it is).
    fn apply(
        &mut self,
        pdu: &mut [u8],
        stub: std::ops::Range<usize>,
        sending: bool,
    ) -> Result<(), Option<sspi::Error>> {
        let len = pdu.len();
        if len < SIGNATURE_LEN + 8 || stub.start > stub.end || stub.end > len - SIGNATURE_LEN - 8 {
            return Err(None);
        }
        let (signed, signature) = pdu.split_at_mut(len - SIGNATURE_LEN);
        if self.level >= AuthnLevel::PktPrivacy {
            let (head, rest) = signed.split_at_mut(stub.start);
            let (data, trailer) = rest.split_at_mut(stub.end - stub.start);
            let mut buffers = [
                SecurityBufferRef::data_buf(head)
                    .with_flags(SecurityBufferFlags::SECBUFFER_READONLY_WITH_CHECKSUM),
                SecurityBufferRef::data_buf(data),
                SecurityBufferRef::data_buf(trailer)
                    .with_flags(SecurityBufferFlags::SECBUFFER_READONLY_WITH_CHECKSUM),
                SecurityBufferRef::token_buf(signature),
            ];
            if sending {
                self.ntlm
                    .encrypt_message(EncryptionFlags::empty(), &mut buffers)
                    .map(drop)
            } else {
                self.ntlm.decrypt_message(&mut buffers).map(drop)
            }
            .map_err(Some)
        } else {
            let mut buffers = [
                SecurityBufferRef::data_buf(signed),
                SecurityBufferRef::token_buf(signature),
            ];
            // Signed PDUs count their own sequence numbers, each way.
            if sending {
                self.ntlm.make_signature(0, &mut buffers, self.send_seq)
            } else {
                self.ntlm
                    .verify_signature(&mut buffers, self.recv_seq)
                    .map(drop)
            }
            .map_err(Some)?;
            let seq = if sending {
                &mut self.send_seq
            } else {
                &mut self.recv_seq
            };
            *seq = seq.wrapping_add(1);
            Ok(())
        }
    }
}

/// The stub range of a received protected fragment (`bytes`, whose header says its
/// auth_length): from the end of the request or response header to the sec_trailer.
pub(crate) fn stub_range(bytes: &[u8], head: usize) -> Option<std::ops::Range<usize>> {
    let auth_len = usize::from(u16::from_le_bytes([*bytes.get(10)?, *bytes.get(11)?]));
    let end = bytes.len().checked_sub(auth_len + 8)?;
    (head <= end).then_some(head..end)
}

/// A user the server knows, with the secret NTLM proves: a password or its NT hash
/// (MD4 of the UTF-16 password, as smbpasswd keeps it).
#[derive(Clone)]
pub struct NtlmUser {
    pub user: String,
    pub domain: String,
    pub secret: UserSecret,
}

#[derive(Clone)]
pub enum UserSecret {
    Password(String),
    NtHash([u8; 16]),
}

impl std::fmt::Debug for NtlmUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtlmUser")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// What a server accepts: the users NTLM may authenticate, and the lowest
/// authentication level a call may have (calls below it are refused with
/// RPC_S_ACCESS_DENIED before they run; `AuthnLevel::None` lets unauthenticated calls in).
#[derive(Clone, Debug)]
pub struct ServerSecurity {
    pub users: Vec<NtlmUser>,
    pub min_level: AuthnLevel,
}

/// The user name and domain an NTLM AUTHENTICATE message names (MS-NLMP 2.2.1.3).
fn authenticate_names(msg: &[u8]) -> Option<(String, String)> {
    if msg.len() < 64 || &msg[..8] != b"NTLMSSP\0" || msg.get(8..12)? != [3, 0, 0, 0] {
        return None;
    }
    let field = |at: usize| -> Option<String> {
        let len = usize::from(u16::from_le_bytes([msg[at], msg[at + 1]]));
        let off = u32::from_le_bytes([msg[at + 4], msg[at + 5], msg[at + 6], msg[at + 7]]) as usize;
        let bytes = msg.get(off..off.checked_add(len)?)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()
    };
    Some((field(36)?, field(28)?))
}

/// A server's security context while it is being built.
pub(crate) struct ServerContext {
    ntlm: Ntlm,
    level: AuthnLevel,
    context_id: u32,
}

impl ServerContext {
    /// Reads a client's NEGOTIATE: the context, and the CHALLENGE for the bind_ack.
    pub(crate) fn accept(
        negotiate: &[u8],
        level: AuthnLevel,
        context_id: u32,
    ) -> Option<(ServerContext, Vec<u8>)> {
        let mut ntlm = Ntlm::new();
        let mut handle: <Ntlm as SspiImpl>::CredentialsHandle = None;
        let token = accept_step(&mut ntlm, &mut handle, negotiate).ok()?;
        Some((
            ServerContext {
                ntlm,
                level,
                context_id,
            },
            token,
        ))
    }

    /// Reads the client's AUTHENTICATE and checks it against the user it names: the
    /// session and the user's name, or `None` when the user is unknown or the proof wrong.
    pub(crate) fn finish(
        mut self,
        authenticate: &[u8],
        users: &[NtlmUser],
    ) -> Option<(Session, String)> {
        let (name, domain) = authenticate_names(authenticate)?;
        // The user the message names, and only that user: its own secret must prove it.
        let user = users.iter().find(|u| {
            u.user.eq_ignore_ascii_case(&name)
                && (u.domain.is_empty()
                    || domain.is_empty()
                    || u.domain.eq_ignore_ascii_case(&domain))
        })?;
        let identity = match &user.secret {
            UserSecret::Password(p) => sspi::AuthIdentityBuffers::from_utf8(&name, &domain, p),
            UserSecret::NtHash(h) => sspi::AuthIdentityBuffers::from_utf8_with_hash(
                &name,
                &domain,
                &sspi::ntlm::NtlmHash::from_bytes(*h),
            ),
        };
        let mut handle: <Ntlm as SspiImpl>::CredentialsHandle = Some(identity);
        accept_step(&mut self.ntlm, &mut handle, authenticate).ok()?;
        self.ntlm.complete_auth_token(&mut []).ok()?;
        Some((
            Session {
                ntlm: self.ntlm,
                level: self.level,
                context_id: self.context_id,
                send_seq: 0,
                recv_seq: 0,
            },
            user.user.clone(),
        ))
    }
}

fn accept_step(
    ntlm: &mut Ntlm,
    handle: &mut <Ntlm as SspiImpl>::CredentialsHandle,
    input: &[u8],
) -> Result<Vec<u8>, sspi::Error> {
    let mut input = vec![SecurityBuffer::new(input.to_vec(), BufferType::Token)];
    let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let builder = ntlm
        .accept_security_context()
        .with_credentials_handle(handle)
        .with_context_requirements(sspi::ServerRequestFlags::ALLOCATE_MEMORY)
        .with_target_data_representation(DataRepresentation::Native)
        .with_input(&mut input)
        .with_output(&mut output);
    ntlm.accept_security_context_impl(builder)?
        .resolve_to_result()?;
    Ok(output.pop().map(|b| b.buffer).unwrap_or_default())
}

/// Reads a users file: one user per line, `name:domain:nthash` (the NT hash as 32 hex
/// digits, as smbpasswd keeps it; the domain may be empty, then any domain the client
/// names is accepted), `#` comments and blank lines ignored. The line of an error.
pub fn parse_users(text: &str) -> Result<Vec<NtlmUser>, String> {
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| format!("line {}: {why}", n + 1);
        let mut parts = line.split(':');
        let (Some(user), Some(domain), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name:domain:nthash"));
        };
        if user.is_empty() {
            return Err(bad("an empty user name"));
        }
        if hash.len() != 32 {
            return Err(bad("the NT hash is 32 hexadecimal digits"));
        }
        let mut h = [0u8; 16];
        for (i, b) in h.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16)
                .map_err(|_| bad("the NT hash is 32 hexadecimal digits"))?;
        }
        users.push(NtlmUser {
            user: user.to_string(),
            domain: domain.to_string(),
            secret: UserSecret::NtHash(h),
        });
    }
    Ok(users)
}

impl AuthnLevel {
    /// The level a name gives: none, connect, call, pkt, integrity, privacy.
    pub fn parse(name: &str) -> Option<AuthnLevel> {
        Some(match name.to_ascii_lowercase().as_str() {
            "none" => AuthnLevel::None,
            "connect" => AuthnLevel::Connect,
            "call" => AuthnLevel::Call,
            "pkt" => AuthnLevel::Pkt,
            "integrity" | "pkt_integrity" => AuthnLevel::PktIntegrity,
            "privacy" | "pkt_privacy" => AuthnLevel::PktPrivacy,
            _ => return None,
        })
    }
}

/// The NT hash of a password (MS-NLMP NTOWFv1: MD4 of its UTF-16LE form), as 32 hex
/// digits: what a users file keeps.
pub fn nt_hash_hex(password: &str) -> String {
    use md4::Digest;
    let bytes: Vec<u8> = password
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    md4::Md4::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a server's NTLM does with hostile tokens, for fuzzing: `negotiate` as a bind's
/// NEGOTIATE, then (when it was accepted) `authenticate` as the rpc_auth_3's AUTHENTICATE
/// against one user, then (when that authenticated) `pdu` unprotected as a request
/// fragment at `level`. Whether each step succeeded; nothing may panic.
#[doc(hidden)]
pub fn fuzz_server(
    negotiate: &[u8],
    authenticate: &[u8],
    pdu: &[u8],
    level: AuthnLevel,
) -> (bool, bool, bool) {
    let Some((ctx, _challenge)) = ServerContext::accept(negotiate, level, 0) else {
        return (false, false, false);
    };
    let users = [NtlmUser {
        user: "alice".into(),
        domain: String::new(),
        secret: UserSecret::Password("Wonder-land1".into()),
    }];
    let Some((mut session, _user)) = ctx.finish(authenticate, &users) else {
        return (true, false, false);
    };
    let mut bytes = pdu.to_vec();
    let ok = stub_range(&bytes, 24).is_some_and(|r| session.unprotect(&mut bytes, r).is_ok());
    (true, true, ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_files() {
        let u = parse_users("# users\n\nalice::8846F7EAEE8FB117AD06BDD830B7586C\nbob:WG:00112233445566778899aabbccddeeff\n")
            .unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].domain, "WG");
        assert!(matches!(u[0].secret, UserSecret::NtHash(h) if h[0] == 0x88 && h[15] == 0x6c));
        for bad in [
            "alice",
            "alice::zz46F7EAEE8FB117AD06BDD830B7586C",
            ":x:8846F7EAEE8FB117AD06BDD830B7586C",
            "a:b:c:d",
        ] {
            assert!(parse_users(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nt_hashes() {
        // MS-NLMP's NTOWFv1 of "password" and of "Password" (4.2.2.1.2).
        assert_eq!(nt_hash_hex("password"), "8846f7eaee8fb117ad06bdd830b7586c");
        assert_eq!(nt_hash_hex("Password"), "a4f49c406510bdcab6824ee7c30fd852");
    }

    #[test]
    fn authenticate_names_are_read_within_the_message() {
        assert_eq!(authenticate_names(b"NTLMSSP\0"), None);
        let mut m = vec![0u8; 64];
        m[..8].copy_from_slice(b"NTLMSSP\0");
        m[8] = 3;
        // A user name field pointing past the end.
        m[36] = 10;
        m[40] = 60;
        assert_eq!(authenticate_names(&m), None);
    }
}
