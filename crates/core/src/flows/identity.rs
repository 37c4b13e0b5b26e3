//! What a session adds to a request and its answer: the headers that tell
//! the origin who is calling, the cookies that carry the (renewed) session
//! and its XSRF token, and the password expiry warning.

use super::steps::Finish;
use crate::policy::{PasswordPolicy, ProbationPolicy};
use crate::probation::moderation_header;
use crate::session::{password_expires_in, session_cookie, xsrf_cookie};
use crate::snapshot::Secrets;
use crate::tokens::{Claims, dangerous};

/// The headers that tell the origin who is calling (client copies are
/// dropped by the shell: only the edge can set them), and which probation
/// rules hold the account when the origin moderates new users' posts.
pub(crate) fn caller_headers(
    claims: &Claims,
    probation: &ProbationPolicy,
    now: u64,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("Portcullis-User", claims.sub.clone()),
        ("Portcullis-Session", claims.sid.clone()),
        ("Portcullis-Roles", claims.roles.join(",")),
    ];
    if let Some(rules) = moderation_header(probation, claims, now) {
        headers.push(("Portcullis-Probation", rules));
    }
    headers
}

/// The cookies that carry the session and its XSRF token (the session's
/// last: simple clients that keep one `Set-Cookie` keep it).
pub(crate) fn session_cookies(secrets: &Secrets, claims: &Claims, now: u64) -> Vec<String> {
    let token = dangerous::sign_jwt(secrets.jwt.as_bytes(), claims);
    let xsrf = crate::tokens::xsrf_token(secrets.xsrf.as_bytes(), &claims.sid);
    vec![
        xsrf_cookie(&xsrf, claims, now),
        session_cookie(&token, claims, now),
    ]
}

/// `Portcullis-Password-Expires-In` while the password is inside its
/// warning period.
pub(crate) fn expiry_warning(
    passwords: &PasswordPolicy,
    claims: &Claims,
    now: u64,
) -> Vec<(&'static str, String)> {
    password_expires_in(claims, passwords, now)
        .map(|left| vec![("Portcullis-Password-Expires-In", left.to_string())])
        .unwrap_or_default()
}

/// The headers a forwarded request and its answer carry.
pub(crate) struct Forwarded {
    /// To the origin.
    pub(crate) to_origin: Vec<(&'static str, String)>,
    /// Added to its answer.
    pub(crate) finish: Finish,
}

impl Forwarded {
    /// What its answer carries when the origin's answer changed the
    /// session's claims: the same headers, the session renewed as `claims`.
    pub(crate) fn renewed(&self, secrets: &Secrets, claims: &Claims, now: u64) -> Finish {
        Finish {
            headers: self.finish.headers.clone(),
            cookies: session_cookies(secrets, claims, now),
        }
    }
}
