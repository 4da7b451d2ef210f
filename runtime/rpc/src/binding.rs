//! String bindings (C706 Appendix I / MS-RPCE 2.1.1): where a server is, as text.
//!
//! `[object-uuid@]protseq:[network-address][[endpoint][,option=value]...]`, for example
//! `ncacn_ip_tcp:127.0.0.1[49152]`, `ncalrpc:[epmapper]`,
//! `3c4728c5-f0ab-448b-bda1-6ce01eb0a6d5@ncacn_ip_tcp:host`. The endpoint is optional: the
//! endpoint mapper resolves a binding without one. A backslash escapes the next character
//! (`\[`, `\]`, `\,`, `\\`, `\@`, `\:`).

use comidl_runtime_core::GUID;

/// The protocol sequences comidl speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protseq {
    /// Connection-oriented over TCP.
    Tcp,
    /// Connection-oriented over a local socket (a Unix-domain socket here).
    Local,
}

impl Protseq {
    pub fn name(self) -> &'static str {
        match self {
            Protseq::Tcp => "ncacn_ip_tcp",
            Protseq::Local => "ncalrpc",
        }
    }
}

/// A parsed string binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringBinding {
    pub object: Option<GUID>,
    pub protseq: Protseq,
    pub network_address: String,
    pub endpoint: Option<String>,
    pub options: Vec<(String, String)>,
}

/// Why a string binding cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingError {
    pub at: usize,
    pub why: &'static str,
}

impl std::fmt::Display for BindingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bad string binding at character {}: {}",
            self.at, self.why
        )
    }
}

impl std::error::Error for BindingError {}

/// Splits at the first unescaped `stop` character: (text before, unescaped; index after).
fn until(
    s: &str,
    from: usize,
    stops: &[char],
) -> Result<(String, usize, Option<char>), BindingError> {
    let mut out = String::new();
    let mut chars = s[from..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some((_, e)) => out.push(e),
                None => {
                    return Err(BindingError {
                        at: from + i,
                        why: "a backslash ends the binding",
                    });
                }
            }
        } else if stops.contains(&c) {
            return Ok((out, from + i + c.len_utf8(), Some(c)));
        } else {
            out.push(c);
        }
    }
    Ok((out, s.len(), None))
}

impl StringBinding {
    pub fn parse(s: &str) -> Result<StringBinding, BindingError> {
        let bad = |at, why| Err(BindingError { at, why });
        let (first, after, stop) = until(s, 0, &['@', ':'])?;
        let (object, protseq_text, rest) = match stop {
            Some('@') => {
                let g = GUID::parse(first.trim()).map_err(|_| BindingError {
                    at: 0,
                    why: "the object UUID is not a UUID",
                })?;
                let (p, after2, stop2) = until(s, after, &[':'])?;
                if stop2 != Some(':') {
                    return bad(after, "no ':' after the protocol sequence");
                }
                (Some(g), p, after2)
            }
            Some(':') => (None, first, after),
            _ => return bad(0, "no ':' after the protocol sequence"),
        };
        let protseq = match protseq_text.as_str() {
            "ncacn_ip_tcp" => Protseq::Tcp,
            "ncalrpc" => Protseq::Local,
            _ => return bad(0, "a protocol sequence other than ncacn_ip_tcp or ncalrpc"),
        };
        let (network_address, after, stop) = until(s, rest, &['['])?;
        let mut endpoint = None;
        let mut options = Vec::new();
        if stop == Some('[') {
            // The endpoint, then `,option=value`s, split at unescaped commas.
            let mut at = after;
            let mut first = true;
            loop {
                let (part, next, stop) = until(s, at, &[',', ']'])?;
                match stop {
                    Some(',') | Some(']') => {}
                    _ => return bad(after, "'[' without its ']'"),
                }
                if first {
                    if !part.trim().is_empty() {
                        endpoint = Some(part.trim().to_string());
                    }
                    first = false;
                } else {
                    let Some((k, v)) = part.split_once('=') else {
                        return bad(at, "an option without '='");
                    };
                    options.push((k.trim().to_string(), v.trim().to_string()));
                }
                at = next;
                if stop == Some(']') {
                    break;
                }
            }
            if at != s.len() {
                return bad(at, "text after the endpoint's ']'");
            }
        }
        if protseq == Protseq::Tcp
            && let Some(ep) = &endpoint
            && ep.parse::<u16>().is_err()
        {
            return bad(after, "a TCP endpoint is a port number");
        }
        Ok(StringBinding {
            object,
            protseq,
            network_address: network_address.trim().to_string(),
            endpoint,
            options,
        })
    }

    /// Compose the binding back (special characters escaped).
    pub fn compose(&self) -> String {
        fn esc(s: &str) -> String {
            s.chars()
                .flat_map(|c| {
                    let e = matches!(c, '[' | ']' | ',' | '\\' | '@' | ':');
                    e.then_some('\\').into_iter().chain(std::iter::once(c))
                })
                .collect()
        }
        let mut out = String::new();
        if let Some(g) = &self.object {
            out.push_str(&g.to_string().to_ascii_lowercase().replace(['{', '}'], ""));
            out.push('@');
        }
        out.push_str(self.protseq.name());
        out.push(':');
        out.push_str(&esc(&self.network_address));
        if self.endpoint.is_some() || !self.options.is_empty() {
            out.push('[');
            if let Some(e) = &self.endpoint {
                out.push_str(&esc(e));
            }
            for (k, v) in &self.options {
                out.push(',');
                out.push_str(&esc(k));
                out.push('=');
                out.push_str(&esc(v));
            }
            out.push(']');
        }
        out
    }
}

impl std::fmt::Display for StringBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.compose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms_rpce_forms() {
        let b = StringBinding::parse("ncacn_ip_tcp:127.0.0.1[49152]").unwrap();
        assert_eq!(
            (b.protseq, b.network_address.as_str(), b.endpoint.as_deref()),
            (Protseq::Tcp, "127.0.0.1", Some("49152"))
        );
        assert_eq!(b.compose(), "ncacn_ip_tcp:127.0.0.1[49152]");
        let b = StringBinding::parse("ncalrpc:[epmapper]").unwrap();
        assert_eq!(
            (b.protseq, b.network_address.as_str(), b.endpoint.as_deref()),
            (Protseq::Local, "", Some("epmapper"))
        );
        let b =
            StringBinding::parse("3c4728c5-f0ab-448b-bda1-6ce01eb0a6d5@ncacn_ip_tcp:host").unwrap();
        assert!(b.object.is_some() && b.endpoint.is_none());
        let b = StringBinding::parse("ncacn_ip_tcp:host[135,timeout=5]").unwrap();
        assert_eq!(b.options, [("timeout".to_string(), "5".to_string())]);
        assert_eq!(StringBinding::parse(&b.compose()).unwrap(), b);
        let b = StringBinding::parse(r"ncalrpc:[a\]b\,c]").unwrap();
        assert_eq!(b.endpoint.as_deref(), Some("a]b,c"));
    }

    #[test]
    fn bad_bindings_say_where() {
        for s in [
            "",
            "ncacn_ip_tcp",
            "ncadg_ip_udp:host",
            "ncacn_ip_tcp:host[notaport]",
            "ncacn_ip_tcp:host[135",
            "ncacn_ip_tcp:host[135]x",
            "nonsense@ncacn_ip_tcp:h",
            "ncalrpc:[a,b]",
            "ncalrpc:x\\",
        ] {
            assert!(StringBinding::parse(s).is_err(), "{s:?} accepted");
        }
    }
}
