//! Sessions: the JWT cookie with a sliding idle timeout and an absolute
//! lifetime, the XSRF double-submit cookie, and what to do with a request
//! that has no valid session. Names follow SPEC: `__Host-portcullis-session`
//! (HttpOnly) and `__Host-portcullis-xsrf` (readable by the page).

use std::collections::BTreeMap;

use crate::policy::{PasswordPolicy, SessionPolicy};
use crate::tokens::{Claims, TokenError, check_times, verify_hs256, verify_jwt, xsrf_valid};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "__Host-portcullis-session";
/// The XSRF cookie's name (the page reads it and echoes it back).
pub(crate) const XSRF_COOKIE: &str = "__Host-portcullis-xsrf";
/// The header a page echoes the XSRF token in.
pub(crate) const XSRF_HEADER: &str = "X-XSRF-Token";
/// The form field a page echoes the XSRF token in.
pub(crate) const XSRF_FIELD: &str = "_xsrf";

/// The state of a request's session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum SessionState {
    /// A valid session.
    Valid(Claims),
    /// No session cookie.
    Missing,
    /// The session ran out (idle or absolute); not a warning.
    Expired,
    /// The session was ended: by a rotated secret, by an administrator, or
    /// by a newer login in single-session mode; not a warning.
    Ended,
    /// Forged or tampered: a security warning.
    Forged,
}

/// The signing secrets a session is checked with.
#[derive(Debug, Clone, Copy)]
pub struct SessionKeys<'a> {
    /// The current JWT secret.
    pub secret: &'a [u8],
    /// The secret before the last rotation: a token it signed is ended,
    /// not forged (rotation logs everyone out without a warning).
    pub previous: Option<&'a [u8]>,
    /// Tokens whose signature under `secret` already checked out, with
    /// their claims (the snapshot's: it ends with the secrets it holds).
    pub verified: Option<&'a VerifiedTokens>,
}

/// A per-isolate cache of signature checks: whole token → the claims its
/// signature vouched for. It holds nothing else: expiry, the absolute
/// lifetime, revocations and single-session mode are checked on every
/// request as for a token seen the first time. Bounded; emptied when
/// full.
#[derive(Debug, Default)]
pub struct VerifiedTokens(std::cell::RefCell<std::collections::HashMap<String, Claims>>);

/// Most tokens [`VerifiedTokens`] holds.
const MAX_VERIFIED: usize = 4096;

impl VerifiedTokens {
    fn get(&self, token: &str) -> Option<Claims> {
        self.0.borrow().get(token).cloned()
    }

    fn put(&self, token: &str, claims: &Claims) {
        let mut map = self.0.borrow_mut();
        if map.len() >= MAX_VERIFIED {
            map.clear();
        }
        map.insert(token.to_owned(), claims.clone());
    }
}

/// Sessions ended before their time, as isolates replicate them. Times are
/// unix milliseconds, compared with a session's login time (`lms`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Revocations {
    /// Sessions that began before this are over: a secret was rotated or
    /// every session was ended.
    pub all_before: u64,
    /// Per user id: that user's sessions that began before this are over.
    pub users: BTreeMap<String, u64>,
}

impl Revocations {
    /// Whether a session of `user` that began at `login_ms` was ended.
    pub fn ended(&self, user: &str, login_ms: u64) -> bool {
        login_ms < self.all_before
            || self
                .users
                .get(user)
                .is_some_and(|before| login_ms < *before)
    }

    /// Forgets per-user entries no session can outlive (older than the
    /// absolute lifetime) at `now_ms`.
    pub fn prune(&mut self, policy: &SessionPolicy, now_ms: u64) {
        let lifetime_ms = policy.absolute_lifetime_seconds.saturating_mul(1000);
        let oldest = now_ms.saturating_sub(lifetime_ms);
        self.users.retain(|_, before| *before > oldest);
    }
}

/// Reads the session from the cookie value at `now`.
pub(crate) fn session_state(
    keys: &SessionKeys<'_>,
    cookie: Option<&str>,
    policy: &SessionPolicy,
    revocations: &Revocations,
    now: u64,
) -> SessionState {
    let Some(token) = cookie.filter(|t| !t.is_empty()) else {
        return SessionState::Missing;
    };
    let checked = match keys.verified.and_then(|v| v.get(token)) {
        Some(claims) => check_times(claims, now, policy.leeway_seconds),
        None => {
            let checked = verify_jwt(keys.secret, token, now, policy.leeway_seconds);
            if let (Ok(claims), Some(verified)) = (&checked, keys.verified) {
                verified.put(token, claims);
            }
            checked
        }
    };
    match checked {
        Ok(claims) if now >= claims.auth.saturating_add(policy.absolute_lifetime_seconds) => {
            SessionState::Expired
        }
        Ok(claims) if revocations.ended(&claims.sub, claims.lms) => SessionState::Ended,
        Ok(claims) => SessionState::Valid(claims),
        Err(TokenError::BadSignature)
            if keys
                .previous
                .is_some_and(|old| verify_hs256(old, token).is_ok()) =>
        {
            SessionState::Ended
        }
        Err(e) if e.is_forgery() => SessionState::Forged,
        Err(TokenError::Expired | TokenError::NotYetValid) | Err(_) => SessionState::Expired,
    }
}

fn expiry(auth: u64, policy: &SessionPolicy, now: u64) -> u64 {
    now.saturating_add(policy.idle_timeout_seconds)
        .min(auth.saturating_add(policy.absolute_lifetime_seconds))
}

/// The claims of a new session.
pub(crate) fn new_session(
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
        chg: None,
        pwx: None,
        lms: now.saturating_mul(1000),
        prb: false,
        crt: None,
        rpl: 0,
        unv: false,
        nbf: None,
    }
}

/// Whether a valid session's token is due for renewal at `now`: once a
/// 60th of the idle timeout (at least a second) has passed since it was
/// issued. A page's burst of requests then shares one token instead of
/// getting a new cookie each, and the idle timeout holds to within that
/// interval (30 s of the default 30 min).
pub(crate) fn renewal_due(claims: &Claims, policy: &SessionPolicy, now: u64) -> bool {
    let interval = (policy.idle_timeout_seconds / 60).max(1);
    now.saturating_sub(claims.iat) >= interval
}

/// The claims renewed on a successful request (sliding expiry, never past
/// the absolute lifetime).
pub(crate) fn renew(claims: &Claims, policy: &SessionPolicy, now: u64) -> Claims {
    Claims {
        iat: now,
        exp: expiry(claims.auth, policy, now),
        ..claims.clone()
    }
}

/// `Set-Cookie` for the session token.
pub(crate) fn session_cookie(token: &str, claims: &Claims, now: u64) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax",
        claims.exp.saturating_sub(now)
    )
}

/// `Set-Cookie` for the XSRF token (readable by the page's scripts).
pub(crate) fn xsrf_cookie(token: &str, claims: &Claims, now: u64) -> String {
    format!(
        "{XSRF_COOKIE}={token}; Max-Age={}; Path=/; Secure; SameSite=Lax",
        claims.exp.saturating_sub(now)
    )
}

/// `Set-Cookie` values that end both cookies (logout, rotation).
pub(crate) fn clearing_cookies() -> [String; 2] {
    [
        format!("{SESSION_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"),
        format!("{XSRF_COOKIE}=; Max-Age=0; Path=/; Secure; SameSite=Lax"),
    ]
}

/// The value of cookie `name` in a `Cookie` header.
pub(crate) fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// Whether an unsafe request needs the XSRF token.
pub(crate) fn xsrf_required(method: &str, protected: bool) -> bool {
    protected && crate::bans::is_write(method)
}

/// Whether the echoed token matches the session (constant time).
pub(crate) fn xsrf_ok(salt: &[u8], claims: &Claims, echoed: Option<&str>) -> bool {
    echoed.is_some_and(|token| xsrf_valid(salt, &claims.sid, token))
}

/// What a request with a valid session gets from the XSRF check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum XsrfDecision {
    /// A safe method, or the token matches: the identity goes to the origin.
    Pass,
    /// An unsafe request without the right token off the protected paths:
    /// it goes on, but as anonymous (the session is not lent to it).
    Anonymous,
    /// An unsafe request without the right token on a protected path:
    /// 403 `xsrf_failed` and a security warning.
    Refuse,
}

/// The XSRF decision for `method` on a path that is `protected` or not,
/// with the token the page echoed (constant-time comparison).
pub(crate) fn xsrf_decision(
    salt: &[u8],
    claims: &Claims,
    method: &str,
    protected: bool,
    echoed: Option<&str>,
) -> XsrfDecision {
    if !crate::bans::is_write(method) || xsrf_ok(salt, claims, echoed) {
        XsrfDecision::Pass
    } else if xsrf_required(method, protected) {
        XsrfDecision::Refuse
    } else {
        XsrfDecision::Anonymous
    }
}

/// Why the session's user must change their password first, if they must:
/// the reason set at login, or the password expiring while the session lives.
pub(crate) fn change_reason(claims: &Claims, now: u64) -> Option<&str> {
    claims.chg.as_deref().or_else(|| {
        claims
            .pwx
            .filter(|at| now >= *at)
            .map(|_| crate::lifecycle::ChangeReason::PasswordExpired.as_str())
    })
}

/// Seconds until the password expires, while inside the warning period
/// (for `Portcullis-Password-Expires-In`).
pub(crate) fn password_expires_in(
    claims: &Claims,
    passwords: &PasswordPolicy,
    now: u64,
) -> Option<u64> {
    let left = claims.pwx?.checked_sub(now).filter(|left| *left > 0)?;
    (left <= passwords.expiry_warning_seconds).then_some(left)
}

/// File extensions that count as static assets (they pass while a password
/// change is required, so the change page can load its styles and scripts).
const STATIC_EXTENSIONS: &[&str] = &[
    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "woff",
    "woff2", "ttf", "otf", "wasm",
];

/// Whether a GET or HEAD of `path` fetches a static asset.
pub(crate) fn is_static_asset(method: &str, path: &str) -> bool {
    if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") {
        return false;
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    last.rsplit_once('.').is_some_and(|(_, ext)| {
        STATIC_EXTENSIONS
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e))
    })
}

/// What a request gets while its session must change the password first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum ChangeGate {
    /// The change page, logout, or a static asset: let it through.
    Pass,
    /// An HTML request: redirect (302) to this change-page URL.
    Redirect(String),
    /// Anything else: 403 `password_change_required`.
    Refuse,
}

/// The gate for a request to canonical `route` (whose route key is `key`)
/// when `reason` says a change is required. `change_page` and `logout` are
/// the route keys; the redirect goes to `change_url` (the configured
/// spelling).
pub(crate) fn change_gate(
    reason: &str,
    method: &str,
    (route, key): (&str, &str),
    accept: &str,
    routes: (&str, &str),
    change_url: &str,
) -> ChangeGate {
    let (change_page, logout) = routes;
    if key == change_page || key == logout || is_static_asset(method, route) {
        ChangeGate::Pass
    } else if accept.to_ascii_lowercase().contains("text/html") {
        ChangeGate::Redirect(format!("{change_url}?reason={reason}"))
    } else {
        ChangeGate::Refuse
    }
}

/// What a request to a protected path gets without a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum NoSession {
    /// An HTML request: redirect (302) to this login URL, whose `reason`
    /// the page shows (ClientSpace's "Session Expired").
    Redirect(String),
    /// Anything else: 401 with this error code.
    Unauthorized(&'static str),
}

/// The answer for a protected path without a valid session.
pub(crate) fn no_session(accept: &str, login_path: &str, state: &SessionState) -> NoSession {
    let reason = match state {
        SessionState::Expired => "session_expired",
        SessionState::Ended => "session_ended",
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
    use crate::tokens::dangerous::sign_jwt;
    use crate::tokens::xsrf_token;

    const SECRET: &[u8] = b"session-secret-session-secret-32";

    fn state(secret: &[u8], cookie: Option<&str>, now: u64) -> SessionState {
        let keys = SessionKeys {
            secret,
            previous: None,
            verified: None,
        };
        session_state(&keys, cookie, &policy(), &Revocations::default(), now)
    }

    #[test]
    fn a_cached_signature_check_still_meets_expiry_and_revocation() {
        let cache = VerifiedTokens::default();
        let keys = SessionKeys {
            secret: SECRET,
            previous: None,
            verified: Some(&cache),
        };
        let p = policy();
        let claims = new_session("u-1", "sid-1", vec![], &p, 1000);
        let token = crate::tokens::dangerous::sign_jwt(SECRET, &claims);
        let none = Revocations::default();
        assert!(matches!(
            session_state(&keys, Some(&token), &p, &none, 1001),
            SessionState::Valid(_)
        ));
        assert_eq!(cache.0.borrow().len(), 1, "the check is cached");
        let mut ended = Revocations::default();
        ended.users.insert("u-1".into(), claims.lms + 1);
        assert_eq!(
            session_state(&keys, Some(&token), &p, &ended, 1002),
            SessionState::Ended
        );
        assert_eq!(
            session_state(
                &keys,
                Some(&token),
                &p,
                &none,
                claims.exp + p.leeway_seconds + 1
            ),
            SessionState::Expired
        );
        // A forged token is never cached.
        let forged = format!("{}x", &token[..token.len() - 1]);
        assert_eq!(
            session_state(&keys, Some(&forged), &p, &none, 1001),
            SessionState::Forged
        );
        assert_eq!(cache.0.borrow().len(), 1);
    }

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
            state(SECRET, Some(&t), 1240),
            SessionState::Valid(_)
        ));
        assert_eq!(state(SECRET, Some(&t), 1250), SessionState::Expired);
    }

    #[test]
    fn renewal_waits_a_sixtieth_of_the_idle_timeout() {
        let mut p = policy();
        let c = new_session("u", "s", vec![], &p, 1000);
        assert!(!renewal_due(&c, &p, 1000), "not within the same second");
        assert!(renewal_due(&c, &p, 1001), "idle 100 s: every second");
        p.idle_timeout_seconds = 1800;
        assert!(!renewal_due(&c, &p, 1029));
        assert!(renewal_due(&c, &p, 1030));
    }

    #[test]
    fn idle_expiry_forgery_and_missing() {
        let p = policy();
        let t = sign_jwt(SECRET, &new_session("u", "s", vec![], &p, 1000));
        assert_eq!(state(SECRET, Some(&t), 1101), SessionState::Expired);
        assert_eq!(
            state(b"other-secret-other-secret-other!", Some(&t), 1001),
            SessionState::Forged
        );
        assert_eq!(state(SECRET, Some("garbage"), 1001), SessionState::Forged);
        assert_eq!(state(SECRET, None, 1001), SessionState::Missing);
        assert_eq!(state(SECRET, Some(""), 1001), SessionState::Missing);
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
    fn xsrf_decisions() {
        let c = new_session("u", "s-1", vec![], &policy(), 1000);
        let good = xsrf_token(b"salt", "s-1");
        assert_eq!(
            xsrf_decision(b"salt", &c, "GET", true, None),
            XsrfDecision::Pass
        );
        assert_eq!(
            xsrf_decision(b"salt", &c, "POST", true, Some(&good)),
            XsrfDecision::Pass
        );
        assert_eq!(
            xsrf_decision(b"salt", &c, "POST", true, Some("forged")),
            XsrfDecision::Refuse
        );
        assert_eq!(
            xsrf_decision(b"salt", &c, "DELETE", true, None),
            XsrfDecision::Refuse
        );
        assert_eq!(
            xsrf_decision(b"salt", &c, "POST", false, None),
            XsrfDecision::Anonymous
        );
        assert_eq!(
            xsrf_decision(b"other-salt", &c, "POST", false, Some(&good)),
            XsrfDecision::Anonymous
        );
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

    #[test]
    fn rotation_and_revocation_end_sessions_without_a_warning() {
        let p = policy();
        let old = b"old-secret-old-secret-old-secret";
        let t = sign_jwt(old, &new_session("u", "s", vec![], &p, 1000));
        let rotated = SessionKeys {
            secret: SECRET,
            previous: Some(old),
            verified: None,
        };
        let none = Revocations::default();
        assert_eq!(
            session_state(&rotated, Some(&t), &p, &none, 1001),
            SessionState::Ended
        );
        let unknown = SessionKeys {
            secret: SECRET,
            previous: Some(b"neither-neither-neither-neither!"),
            verified: None,
        };
        assert_eq!(
            session_state(&unknown, Some(&t), &p, &none, 1001),
            SessionState::Forged
        );

        let keys = SessionKeys {
            secret: old,
            previous: None,
            verified: None,
        };
        let mut r = Revocations::default();
        assert!(matches!(
            session_state(&keys, Some(&t), &p, &r, 1001),
            SessionState::Valid(_)
        ));
        r.users.insert("u".into(), 1_000_500);
        assert_eq!(
            session_state(&keys, Some(&t), &p, &r, 1002),
            SessionState::Ended
        );
        assert!(!r.ended("other", 1000));
        let mut later_claims = new_session("u", "s2", vec![], &p, 1000);
        later_claims.lms = 1_000_600;
        let later = sign_jwt(old, &later_claims);
        assert!(
            matches!(
                session_state(&keys, Some(&later), &p, &r, 1002),
                SessionState::Valid(_)
            ),
            "a login after the revocation is fine"
        );
        let everyone = Revocations {
            all_before: 1_000_001,
            ..Revocations::default()
        };
        assert_eq!(
            session_state(&keys, Some(&t), &p, &everyone, 1002),
            SessionState::Ended
        );
        assert_eq!(
            no_session("text/html", "/login", &SessionState::Ended),
            NoSession::Redirect("/login?reason=session_ended".into())
        );
        r.prune(&p, 1_000_500 + 250_000);
        assert!(
            r.users.is_empty(),
            "no session outlives the absolute lifetime"
        );
    }

    #[test]
    fn a_required_change_lets_only_the_change_page_through() {
        let routes = ("/account/password", "/logout");
        let gate = |method, route: &str, accept| {
            let key = crate::paths::route_key(route);
            change_gate(
                "first_login",
                method,
                (route, &key),
                accept,
                routes,
                "/account/password",
            )
        };
        assert_eq!(
            gate("GET", "/account/password", "text/html"),
            ChangeGate::Pass
        );
        assert_eq!(gate("POST", "/account/password", "*/*"), ChangeGate::Pass);
        assert_eq!(gate("POST", "/logout", "*/*"), ChangeGate::Pass);
        assert_eq!(gate("GET", "/style.css", "text/css"), ChangeGate::Pass);
        assert_eq!(
            gate("POST", "/style.css", "*/*"),
            ChangeGate::Refuse,
            "only reads of assets"
        );
        assert_eq!(
            gate("GET", "/app/home", "text/html"),
            ChangeGate::Redirect("/account/password?reason=first_login".into())
        );
        assert_eq!(
            gate("GET", "/app/data.json.php", "application/json"),
            ChangeGate::Refuse
        );
    }

    #[test]
    fn expiry_inside_the_session() {
        let p = policy();
        let mut pw = PasswordPolicy::default();
        pw.expiry_seconds = 1000;
        pw.expiry_warning_seconds = 100;
        let mut c = new_session("u", "s", vec![], &p, 0);
        assert_eq!(change_reason(&c, 5), None);
        assert_eq!(password_expires_in(&c, &pw, 5), None, "no expiry known");
        c.pwx = Some(500);
        assert_eq!(
            password_expires_in(&c, &pw, 300),
            None,
            "before the warning period"
        );
        assert_eq!(password_expires_in(&c, &pw, 450), Some(50));
        assert_eq!(change_reason(&c, 499), None);
        assert_eq!(change_reason(&c, 500), Some("password_expired"));
        assert_eq!(password_expires_in(&c, &pw, 500), None);
        c.chg = Some("admin_required".into());
        assert_eq!(change_reason(&c, 1), Some("admin_required"));
    }
}
