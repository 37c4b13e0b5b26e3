//! Sessions: the JWT cookie with a sliding idle timeout and an absolute
//! lifetime, the XSRF double-submit cookie, and what to do with a request
//! that has no valid session. Names follow SPEC: `__Host-portcullis-session`
//! (HttpOnly) and `__Host-portcullis-xsrf` (readable by the page).

use crate::policy::SessionPolicy;
use crate::tokens::{Claims, TokenError, verify_jwt, xsrf_valid};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "__Host-portcullis-session";
/// The XSRF cookie's name (the page reads it and echoes it back).
pub const XSRF_COOKIE: &str = "__Host-portcullis-xsrf";
/// The header a page echoes the XSRF token in.
pub const XSRF_HEADER: &str = "X-XSRF-Token";
/// The form field a page echoes the XSRF token in.
pub const XSRF_FIELD: &str = "_xsrf";

/// The state of a request's session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// A valid session.
    Valid(Claims),
    /// No session cookie.
    Missing,
    /// The session ran out (idle or absolute); not a warning.
    Expired,
    /// Forged or tampered: a security warning.
    Forged,
}

/// Reads the session from the cookie value at `now`.
pub fn session_state(
    secret: &[u8],
    cookie: Option<&str>,
    policy: &SessionPolicy,
    now: u64,
) -> SessionState {
    let Some(token) = cookie.filter(|t| !t.is_empty()) else {
        return SessionState::Missing;
    };
    match verify_jwt(secret, token, now, policy.leeway_seconds) {
        Ok(claims) if now >= claims.auth.saturating_add(policy.absolute_lifetime_seconds) => {
            SessionState::Expired
        }
        Ok(claims) => SessionState::Valid(claims),
        Err(e) if e.is_forgery() => SessionState::Forged,
        Err(TokenError::Expired | TokenError::NotYetValid) | Err(_) => SessionState::Expired,
    }
}

fn expiry(auth: u64, policy: &SessionPolicy, now: u64) -> u64 {
    now.saturating_add(policy.idle_timeout_seconds)
        .min(auth.saturating_add(policy.absolute_lifetime_seconds))
}

/// The claims of a new session.
pub fn new_session(
    user: &str,
    session_id: &str,
    roles: Vec<String>,
    policy: &SessionPolicy,
    now: u64,
) -> Claims {
    Claims {
        sub: user.to_owned(),
        sid: session_id.to_owned(),
        iat: now,
        exp: expiry(now, policy, now),
        auth: now,
        roles,
    }
}

/// The claims renewed on a successful request (sliding expiry, never past
/// the absolute lifetime).
pub fn renew(claims: &Claims, policy: &SessionPolicy, now: u64) -> Claims {
    Claims {
        iat: now,
        exp: expiry(claims.auth, policy, now),
        ..claims.clone()
    }
}

/// `Set-Cookie` for the session token.
pub fn session_cookie(token: &str, claims: &Claims, now: u64) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax",
        claims.exp.saturating_sub(now)
    )
}

/// `Set-Cookie` for the XSRF token (readable by the page's scripts).
pub fn xsrf_cookie(token: &str, claims: &Claims, now: u64) -> String {
    format!(
        "{XSRF_COOKIE}={token}; Max-Age={}; Path=/; Secure; SameSite=Lax",
        claims.exp.saturating_sub(now)
    )
}

/// `Set-Cookie` values that end both cookies (logout, rotation).
pub fn clearing_cookies() -> [String; 2] {
    [
        format!("{SESSION_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"),
        format!("{XSRF_COOKIE}=; Max-Age=0; Path=/; Secure; SameSite=Lax"),
    ]
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// Whether an unsafe request needs the XSRF token.
pub fn xsrf_required(method: &str, protected: bool) -> bool {
    protected && crate::bans::is_write(method)
}

/// Whether the echoed token matches the session (constant time).
pub fn xsrf_ok(salt: &[u8], claims: &Claims, echoed: Option<&str>) -> bool {
    echoed.is_some_and(|token| xsrf_valid(salt, &claims.sid, token))
}

/// What a request to a protected path gets without a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoSession {
    /// An HTML request: redirect (302) to this login URL, whose `reason`
    /// the page shows (ClientSpace's "Session Expired").
    Redirect(String),
    /// Anything else: 401 with this error code.
    Unauthorized(&'static str),
}

/// The answer for a protected path without a valid session.
pub fn no_session(accept: &str, login_path: &str, state: &SessionState) -> NoSession {
    let reason = match state {
        SessionState::Expired => "session_expired",
        _ => "login_required",
    };
    if accept.to_ascii_lowercase().contains("text/html") {
        NoSession::Redirect(format!("{login_path}?reason={reason}"))
    } else {
        NoSession::Unauthorized(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{sign_jwt, xsrf_token};

    const SECRET: &[u8] = b"session-secret-session-secret-32";

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle_timeout_seconds: 100,
            absolute_lifetime_seconds: 250,
            leeway_seconds: 0,
            ..SessionPolicy::default()
        }
    }

    #[test]
    fn sliding_expiry_up_to_the_absolute_lifetime() {
        let p = policy();
        let c = new_session("u", "s", vec![], &p, 1000);
        assert_eq!(c.exp, 1100);
        let c2 = renew(&c, &p, 1090);
        assert_eq!(c2.exp, 1190);
        let c3 = renew(&c2, &p, 1200);
        assert_eq!(c3.exp, 1250, "capped by auth + absolute");
        let t = sign_jwt(SECRET, &c3);
        assert!(matches!(
            session_state(SECRET, Some(&t), &p, 1240),
            SessionState::Valid(_)
        ));
        assert_eq!(
            session_state(SECRET, Some(&t), &p, 1250),
            SessionState::Expired
        );
    }

    #[test]
    fn idle_expiry_forgery_and_missing() {
        let p = policy();
        let t = sign_jwt(SECRET, &new_session("u", "s", vec![], &p, 1000));
        assert_eq!(
            session_state(SECRET, Some(&t), &p, 1101),
            SessionState::Expired
        );
        assert_eq!(
            session_state(b"other-secret-other-secret-other!", Some(&t), &p, 1001),
            SessionState::Forged
        );
        assert_eq!(
            session_state(SECRET, Some("garbage"), &p, 1001),
            SessionState::Forged
        );
        assert_eq!(session_state(SECRET, None, &p, 1001), SessionState::Missing);
        assert_eq!(
            session_state(SECRET, Some(""), &p, 1001),
            SessionState::Missing
        );
    }

    #[test]
    fn cookies_and_xsrf() {
        let p = policy();
        let c = new_session("u", "s-1", vec![], &p, 1000);
        let sc = session_cookie("tok", &c, 1000);
        assert!(sc.starts_with("__Host-portcullis-session=tok;"));
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=100",
        ] {
            assert!(sc.contains(attr), "{sc}");
        }
        assert!(!xsrf_cookie("x", &c, 1000).contains("HttpOnly"));
        assert_eq!(
            cookie("a=1; __Host-portcullis-session=abc; b=2", SESSION_COOKIE),
            Some("abc")
        );
        assert_eq!(cookie("a=1", SESSION_COOKIE), None);
        let token = xsrf_token(b"salt", "s-1");
        assert!(xsrf_ok(b"salt", &c, Some(&token)));
        assert!(!xsrf_ok(b"salt", &c, None));
        assert!(xsrf_required("POST", true));
        assert!(!xsrf_required("GET", true));
        assert!(!xsrf_required("POST", false));
    }

    #[test]
    fn html_is_redirected_with_a_reason() {
        assert_eq!(
            no_session(
                "text/html,application/xhtml+xml",
                "/login",
                &SessionState::Expired
            ),
            NoSession::Redirect("/login?reason=session_expired".into())
        );
        assert_eq!(
            no_session("application/json", "/login", &SessionState::Missing),
            NoSession::Unauthorized("login_required")
        );
    }
}
