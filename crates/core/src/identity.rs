//! The identity the edge signs for the origin: every request it forwards
//! carries `Portcullis-Identity-Signature: t=<unix seconds>,v1=<hex>`, the
//! HMAC-SHA-256 under `ORIGIN_SECRET` of these lines joined by `\n`: `t`,
//! the method, the Host the origin receives, the path with its query as
//! the origin receives it, and `Portcullis-User`, `Portcullis-Roles` and
//! `Portcullis-Session` (empty when absent). An origin that checks it
//! (against the current and the previous secret during a rotation, and
//! refusing anything older than 60 s) refuses traffic that did not come
//! through the edge, and identity headers the edge did not set.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header's name.
pub const SIGNATURE_HEADER: &str = "Portcullis-Identity-Signature";
/// How old a signature an origin should accept, in seconds.
pub const MAX_AGE_SECONDS: u64 = 60;

/// What a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed<'a> {
    /// Unix seconds.
    pub t: u64,
    /// The method.
    pub method: &'a str,
    /// The Host header the origin receives.
    pub host: &'a str,
    /// The path and query the origin receives.
    pub path_and_query: &'a str,
    /// `Portcullis-User` (empty when absent).
    pub user: &'a str,
    /// `Portcullis-Roles` (empty when absent).
    pub roles: &'a str,
    /// `Portcullis-Session` (empty when absent).
    pub session: &'a str,
}

fn mac(secret: &[u8], signed: &Signed<'_>) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    let t = signed.t.to_string();
    let lines = [
        t.as_str(),
        signed.method,
        signed.host,
        signed.path_and_query,
        signed.user,
        signed.roles,
        signed.session,
    ];
    mac.update(lines.join("\n").as_bytes());
    mac.finalize().into_bytes().into()
}

/// The header's value for `signed` under `secret`.
pub fn identity_signature(secret: &[u8], signed: &Signed<'_>) -> String {
    format!(
        "t={},v1={}",
        signed.t,
        crate::text::hex(&mac(secret, signed))
    )
}

/// Whether `header` signs `signed` (its `t` taken from the header) under
/// one of `secrets`, at most [`MAX_AGE_SECONDS`] from `now` either way;
/// compared in constant time. What an origin's verifier does (the README's
/// Express and Flask ones are this, in their languages).
pub fn verify_identity(secrets: &[&[u8]], header: &str, signed: &Signed<'_>, now: u64) -> bool {
    let Some((t, v1)) = crate::text::timestamped_signature(header) else {
        return false;
    };
    if t.abs_diff(now) > MAX_AGE_SECONDS {
        return false;
    }
    let signed = Signed { t, ..*signed };
    secrets.iter().any(|secret| {
        let expected = crate::text::hex(&mac(secret, &signed));
        bool::from(expected.as_bytes().ct_eq(v1.as_bytes()))
    })
}

/// The Host header a request to `origin_url` carries (its authority:
/// `127.0.0.1:8788`), or the service binding's when there is no URL.
pub fn origin_host(origin_url: Option<&str>) -> String {
    let Some(url) = origin_url.map(str::trim).filter(|u| !u.is_empty()) else {
        return "origin.internal".to_owned();
    };
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (scheme, _) = url.split_once("://").unwrap_or(("https", ""));
    // Fetch leaves the scheme's default port out of Host.
    match (scheme, authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_owned(),
        _ => authority.to_owned(),
    }
    .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(t: u64) -> Signed<'static> {
        Signed {
            t,
            method: "GET",
            host: "app.internal:8080",
            path_and_query: "/app/x?y=1",
            user: "u-1",
            roles: "admin",
            session: "s-1",
        }
    }

    #[test]
    fn a_signature_verifies_under_either_secret_and_nothing_else() {
        let header = identity_signature(b"new-secret", &signed(1000));
        assert!(header.starts_with("t=1000,v1="));
        assert_eq!(header.len(), "t=1000,v1=".len() + 64);
        for now in [1000, 1060, 940] {
            assert!(verify_identity(
                &[b"old", b"new-secret"],
                &header,
                &signed(0),
                now
            ));
        }
        assert!(
            !verify_identity(&[b"new-secret"], &header, &signed(0), 1061),
            "stale"
        );
        assert!(
            !verify_identity(&[b"other"], &header, &signed(0), 1000),
            "wrong secret"
        );
        for changed in [
            Signed {
                method: "POST",
                ..signed(0)
            },
            Signed {
                host: "evil",
                ..signed(0)
            },
            Signed {
                path_and_query: "/app/x?y=2",
                ..signed(0)
            },
            Signed {
                user: "u-2",
                ..signed(0)
            },
            Signed {
                roles: "",
                ..signed(0)
            },
            Signed {
                session: "s-2",
                ..signed(0)
            },
        ] {
            assert!(
                !verify_identity(&[b"new-secret"], &header, &changed, 1000),
                "{changed:?}"
            );
        }
        assert!(!verify_identity(
            &[b"new-secret"],
            "v1=00",
            &signed(0),
            1000
        ));
        assert!(!verify_identity(&[b"new-secret"], "", &signed(0), 1000));
    }

    #[test]
    fn the_host_is_the_urls_authority() {
        assert_eq!(origin_host(Some("http://127.0.0.1:8788")), "127.0.0.1:8788");
        assert_eq!(origin_host(Some("https://App.example/base")), "app.example");
        assert_eq!(origin_host(Some("https://app.example:443")), "app.example");
        assert_eq!(origin_host(Some("http://app.example:80/")), "app.example");
        assert_eq!(origin_host(None), "origin.internal");
        assert_eq!(origin_host(Some("")), "origin.internal");
    }
}
