//! The edge's authentication flows, each a translation of core's decisions:
//! login (lockout, CAPTCHA after failures, the user's lifecycle record, the
//! session), change password (core's rules and the history, then the
//! session without its change requirement) and single-use reset links.

use std::net::IpAddr;

use portcullis_core::bans::WarningKind;
use portcullis_core::lifecycle::{
    LoginAnswer, change_accepted, login_answer, reused_message, tracks_users,
};
use portcullis_core::session::{new_session, password_expires_in, session_cookie, xsrf_cookie};
use portcullis_core::tokens::{Claims, ResetError, random_token, sign_jwt, xsrf_token};
use portcullis_core::uploads::Role;
use portcullis_core::{
    CaptchaPage, HistoryFingerprint, PasswordChecker, Subject, Verdict, password_fingerprint,
};
use serde_json::{Value, json};
use worker::{Env, Response, Result};

use crate::cache::Snapshot;
use crate::gateway::{captcha_gate, header, locale, read_fields, warn};
use crate::proxy::{fetch_origin, origin_failed, secure, secure_raw};
use crate::{account, control, reply, user};

/// Who is asking, as the pipeline established it.
pub(crate) struct Caller<'a> {
    pub(crate) req: &'a web_sys::Request,
    pub(crate) env: &'a Env,
    pub(crate) snapshot: &'a Snapshot,
    /// The client's ban key (IP or IPv6 /64).
    pub(crate) key: &'a str,
    pub(crate) ip: IpAddr,
    pub(crate) now: u64,
}

impl Caller<'_> {
    fn secured(&self, response: Result<Response>) -> Result<web_sys::Response> {
        Ok(secure(response?, self.snapshot)?.into())
    }

    async fn warn(&self, kind: WarningKind) {
        warn(self.env, &self.snapshot.policy, self.key, self.ip, kind).await;
    }

    /// Reads the named form fields, answering a clear refusal (and a
    /// warning for a malformed body) when it cannot.
    async fn fields(
        &self,
        names: &[&str],
    ) -> Result<std::result::Result<Vec<Option<String>>, web_sys::Response>> {
        match read_fields(self.req, names).await {
            Ok(values) => Ok(Ok(values)),
            Err(refusal) => {
                if refusal.warning {
                    self.warn(WarningKind::MalformedBody).await;
                }
                let answer =
                    self.secured(reply::error(refusal.status, refusal.code, refusal.message))?;
                Ok(Err(answer))
            }
        }
    }

    /// 400 for a form the edge must check that lacks a field (a warning:
    /// a malformed body on the edge's own route). Forwarding it unchecked
    /// would let an origin that reads the body differently skip the check.
    async fn missing(&self, fields: &str) -> Result<web_sys::Response> {
        self.warn(WarningKind::MalformedBody).await;
        self.secured(reply::error(
            400,
            "missing_field",
            &format!("This form needs {fields}."),
        ))
    }

    fn fingerprint(&self, user: &str, password: &str) -> HistoryFingerprint {
        password_fingerprint(self.snapshot.secrets.pepper.as_bytes(), user, password)
    }
}

/// The headers that tell the origin who is calling.
pub(crate) fn caller_headers(claims: &Claims) -> Vec<String> {
    vec![
        "Portcullis-User".to_owned(),
        claims.sub.clone(),
        "Portcullis-Session".to_owned(),
        claims.sid.clone(),
        "Portcullis-Roles".to_owned(),
        claims.roles.join(","),
    ]
}

/// The cookies that carry the (renewed) session and its XSRF token (the
/// session's last: simple clients that keep one `Set-Cookie` keep it).
pub(crate) fn session_cookies(snapshot: &Snapshot, claims: &Claims, now: u64) -> Vec<String> {
    let secrets = &snapshot.secrets;
    let token = sign_jwt(secrets.jwt.as_bytes(), claims);
    let xsrf = xsrf_token(secrets.xsrf.as_bytes(), &claims.sid);
    vec![
        xsrf_cookie(&xsrf, claims, now),
        session_cookie(&token, claims, now),
    ]
}

/// `Portcullis-Password-Expires-In` while the password is inside its
/// warning period.
pub(crate) fn expiry_warning(snapshot: &Snapshot, claims: &Claims, now: u64) -> Vec<String> {
    password_expires_in(claims, &snapshot.policy.passwords, now)
        .map(|left| {
            vec![
                "Portcullis-Password-Expires-In".to_owned(),
                left.to_string(),
            ]
        })
        .unwrap_or_default()
}

/// 422 with the failed rule ids and their messages.
pub(crate) fn password_rejected(verdict: &Verdict) -> Result<Response> {
    let messages: Vec<&str> = verdict
        .rules
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.message.as_str())
        .collect();
    reply::json(
        422,
        &json!({
            "error": "password_rejected",
            "message": messages.join("; "),
            "rules": verdict.failed_rule_ids(),
        }),
    )
}

/// 422 for a password the user had recently (rule id `history`).
fn password_reused(req: &web_sys::Request) -> Result<Response> {
    reply::json(
        422,
        &json!({
            "error": "password_rejected",
            "message": reused_message(locale(req)),
            "rules": ["history"],
        }),
    )
}

/// 423 for a locked account (429 is for rate limits).
fn locked(outcome: &account::Outcome, snapshot: &Snapshot) -> Result<web_sys::Response> {
    let mut response = reply::json(
        423,
        &json!({
            "error": "account_locked",
            "message": if outcome.state == "permanent" {
                "This account is locked until an administrator unlocks it."
            } else {
                "Too many failed logins: this account is locked for a while."
            },
            "retryAfter": outcome.retry_after,
            "attemptsLeft": 0,
        }),
    )?;
    if let Some(seconds) = outcome.retry_after {
        response
            .headers_mut()
            .set("Retry-After", &seconds.to_string())?;
    }
    let raw: web_sys::Response = response.into();
    let extra = ["Portcullis-Attempts-Left".to_owned(), "0".to_owned()];
    Ok(secure_raw(&raw, snapshot, &extra, &[]))
}

fn new_session_id() -> Result<String> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|_| worker::Error::RustError("no random source".into()))?;
    Ok(random_token(&random))
}

/// The login form: refused at once while the account is locked; otherwise
/// the attempt is counted in advance and forwarded, and the origin's answer
/// settles it. Success (the origin names the user in
/// `Portcullis-Login-User`) consults the user's lifecycle record (inactive,
/// single session, a required change, expiry) and issues the session;
/// failure counts against the account and, as a warning, against the IP.
pub(crate) async fn login(c: &Caller<'_>, path_and_query: &str) -> Result<web_sys::Response> {
    let snapshot = c.snapshot;
    let policy = &snapshot.policy;
    let fields = &policy.routes.fields;
    let values = match c.fields(&[&fields.username, &fields.password]).await? {
        Ok(values) => values,
        Err(refusal) => return Ok(refusal),
    };
    let mut values = values.into_iter();
    let login_name = values.next().flatten().unwrap_or_default();
    let password = values.next().flatten();
    if login_name.trim().is_empty() || password.is_none() {
        let fields = format!("`{}` and `{}`", fields.username, fields.password);
        return c.missing(&fields).await;
    }
    let failures = if policy.captcha.after_failed_logins > 0 {
        account::call(c.env, &login_name, "peek", &policy.login)
            .await?
            .failures
    } else {
        0
    };
    if let Some(refusal) = captcha_gate(
        c.req,
        c.env,
        snapshot,
        c.key,
        c.ip,
        CaptchaPage::Login,
        failures,
    )
    .await?
    {
        return c.secured(Ok(refusal));
    }
    let gate = account::call(c.env, &login_name, "begin", &policy.login).await?;
    if gate.state != "open" {
        return locked(&gate, snapshot);
    }
    let Some(raw) = fetch_origin(c.req, c.env, path_and_query, &[]).await? else {
        return origin_failed(c.env, snapshot);
    };
    let origin_header = |name: &str| raw.headers().get(name).ok().flatten();
    let answer = login_answer(
        raw.status(),
        origin_header("Portcullis-Login-User").as_deref(),
        origin_header("Portcullis-Login-Roles").as_deref(),
    );
    let (user, roles) = match answer {
        LoginAnswer::Succeeded { user, roles } => (user, roles),
        LoginAnswer::Unusable => {
            worker::console_error!("portcullis: the origin named an unusable user id at login");
            return c.secured(reply::error(
                502,
                "origin_bad_login",
                "The application's login answer named no usable user.",
            ));
        }
        _ => return failed_login(c, &login_name, &raw).await,
    };
    let gate = account::call(c.env, &login_name, "success", &policy.login).await?;
    if gate.state != "open" {
        // A parallel attempt locked the account meanwhile.
        return locked(&gate, snapshot);
    }
    let mut claims = new_session(&user, &new_session_id()?, roles, &policy.sessions, c.now);
    claims.lms = crate::reply::now_millis();
    if tracks_users(policy) {
        let meets_policy = !policy.passwords.apply_to_existing
            || password.as_deref().is_none_or(|p| {
                let subject = Subject {
                    username: login_name.clone(),
                    is_admin: Role::from_session_roles(&claims.roles) == Role::Admin,
                    ..Subject::default()
                };
                PasswordChecker::new(policy.passwords.clone())
                    .check(p, &subject, locale(c.req))
                    .ok
            });
        let call = user::Call {
            policy: Some(policy.clone()),
            fingerprint: password.as_deref().map(|p| c.fingerprint(&user, p)),
            meets_policy,
            sid: Some(claims.sid.clone()),
            created: origin_header("Portcullis-Login-Created").and_then(|v| v.trim().parse().ok()),
            roles: claims.roles.clone(),
            ..user::Call::default()
        };
        let answer = user::call(c.env, &user, "login", &call).await?;
        match answer.refused.as_deref() {
            Some("account_inactive") => {
                return c.secured(reply::error(
                    403,
                    "account_inactive",
                    "This account was not used for too long; an administrator can reactivate it.",
                ));
            }
            Some(code) => {
                return c.secured(reply::error(
                    409,
                    if code == "session_active" {
                        "session_active"
                    } else {
                        "login_refused"
                    },
                    "This account is signed in elsewhere; sign out there first.",
                ));
            }
            None => {}
        }
        claims.chg = answer.change;
        claims.pwx = answer.expires_at;
        claims.prb = answer.probation;
    }
    let cookies = session_cookies(snapshot, &claims, c.now);
    let extra = expiry_warning(snapshot, &claims, c.now);
    Ok(secure_raw(&raw, snapshot, &extra, &cookies))
}

/// A failed login: a warning for the client, a failure for the account
/// (locking it at the limit, listed for the admin), attempts left.
async fn failed_login(
    c: &Caller<'_>,
    login_name: &str,
    raw: &web_sys::Response,
) -> Result<web_sys::Response> {
    let snapshot = c.snapshot;
    let policy = &snapshot.policy;
    c.warn(WarningKind::FailedLogin).await;
    let outcome = account::call(c.env, login_name, "failure", &policy.login).await?;
    if outcome.state != "open" {
        // This failure started the lockout: list it for the admin.
        let lock = json!({
            "account": account::account_key(login_name),
            "until": outcome.retry_after.map(|s| c.now.saturating_add(s)),
            "ip": c.ip.to_string(),
        });
        control::call(c.env, "POST", "/locks", Some(&lock)).await?;
        return locked(&outcome, snapshot);
    }
    let extra: Vec<String> = outcome
        .attempts_left
        .map(|n| vec!["Portcullis-Attempts-Left".to_owned(), n.to_string()])
        .unwrap_or_default();
    Ok(secure_raw(raw, snapshot, &extra, &[]))
}

/// Change password: the new password is checked by core (422 with the
/// failed rule ids; administrators, as the origin named them at login, may
/// skip the strength rules when the policy says so) and against the user's
/// history before the origin sees it. When the origin accepts it (answers
/// below 400) the edge remembers it and the session loses its change
/// requirement. `claims` is the renewed session, when there is one.
pub(crate) async fn change_password(
    c: &Caller<'_>,
    claims: Option<&Claims>,
    path_and_query: &str,
) -> Result<web_sys::Response> {
    let snapshot = c.snapshot;
    let policy = &snapshot.policy;
    let values = match c.fields(&[&policy.routes.fields.new_password]).await? {
        Ok(values) => values,
        Err(refusal) => return Ok(refusal),
    };
    let password = values.into_iter().next().flatten();
    let Some(password) = password else {
        let field = format!("`{}`", policy.routes.fields.new_password);
        return c.missing(&field).await;
    };
    let is_admin = claims.is_some_and(|c| Role::from_session_roles(&c.roles) == Role::Admin);
    let fingerprint =
        match vet_new_password(c, claims.map(|c| c.sub.as_str()), is_admin, &password).await? {
            Ok(fingerprint) => fingerprint,
            Err(refusal) => return Ok(refusal),
        };
    let (to_origin, mut cookies, mut extra) = match claims {
        Some(claims) => (
            caller_headers(claims),
            session_cookies(snapshot, claims, c.now),
            expiry_warning(snapshot, claims, c.now),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let Some(raw) = fetch_origin(c.req, c.env, path_and_query, &to_origin).await? else {
        return origin_failed(c.env, snapshot);
    };
    if accepted(&raw)
        && let (Some(fp), Some(claims)) = (fingerprint, claims)
        && let Some((before, expires_at)) =
            record_change(c, &claims.sub, Some(&claims.sid), fp).await
    {
        // The user's other sessions ended; this one goes on, from now.
        let changed = Claims {
            chg: None,
            pwx: expires_at,
            lms: before,
            ..claims.clone()
        };
        cookies = session_cookies(snapshot, &changed, c.now);
        extra = expiry_warning(snapshot, &changed, c.now);
    }
    Ok(secure_raw(&raw, snapshot, &extra, &cookies))
}

/// A new password, vetted before the origin sees it: core's rules (for
/// `user_id`, the session's or the reset link's user; administrators may
/// skip the strength rules when the policy says so), then the user's
/// history. `Err` is the 422 to answer; `Ok` the fingerprint to remember
/// once the origin takes the password (`None` without a user).
async fn vet_new_password(
    c: &Caller<'_>,
    user_id: Option<&str>,
    is_admin: bool,
    password: &str,
) -> Result<std::result::Result<Option<HistoryFingerprint>, web_sys::Response>> {
    let policy = &c.snapshot.policy;
    let subject = Subject {
        username: user_id.unwrap_or_default().to_owned(),
        is_admin,
        ..Subject::default()
    };
    let verdict =
        PasswordChecker::new(policy.passwords.clone()).check(password, &subject, locale(c.req));
    if !verdict.ok {
        return Ok(Err(c.secured(password_rejected(&verdict))?));
    }
    let Some(user_id) = user_id else {
        return Ok(Ok(None));
    };
    let fingerprint = c.fingerprint(user_id, password);
    if policy.passwords.history_count > 0 {
        let call = user::Call {
            policy: Some(policy.clone()),
            fingerprint: Some(fingerprint.clone()),
            ..user::Call::default()
        };
        if user::call(c.env, user_id, "reuses", &call).await?.yes {
            return Ok(Err(c.secured(password_reused(c.req))?));
        }
    }
    Ok(Ok(Some(fingerprint)))
}

/// Whether the origin took the new password (core's `change_accepted`).
fn accepted(raw: &web_sys::Response) -> bool {
    let said = raw
        .headers()
        .get("Portcullis-Password-Changed")
        .ok()
        .flatten();
    change_accepted(raw.status(), said.as_deref())
}

/// After the origin took a new password: the user's record remembers it
/// (history, age, no change required) and ends their other tracked
/// sessions, and Control ends their older sessions everywhere. Answers the
/// revocation moment and the new expiry; `None` when that failed (logged:
/// the origin's answer still goes to the client).
async fn record_change(
    c: &Caller<'_>,
    user_id: &str,
    keep: Option<&str>,
    fingerprint: HistoryFingerprint,
) -> Option<(u64, Option<u64>)> {
    let call = user::Call {
        policy: Some(c.snapshot.policy.clone()),
        fingerprint: Some(fingerprint),
        sid: keep.map(str::to_owned),
        ..user::Call::default()
    };
    let changed = user::call(c.env, user_id, "changed", &call).await;
    let revoked = async {
        let mut response = control::call(
            c.env,
            "POST",
            "/revoke-user",
            Some(&json!({ "user": user_id })),
        )
        .await?;
        let answer: Value = serde_json::from_str(&response.text().await?)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        answer
            .get("before")
            .and_then(Value::as_u64)
            .ok_or_else(|| worker::Error::RustError("no revocation time".into()))
    }
    .await;
    // This isolate sees the revocation at once.
    crate::cache::invalidate();
    match (changed, revoked) {
        (Ok(answer), Ok(before)) => Some((before, answer.expires_at)),
        (Err(e), _) | (_, Err(e)) => {
            worker::console_error!("portcullis: recording a password change failed: {e}");
            None
        }
    }
}

/// The value of query parameter `name` in a URL.
fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = worker::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A refused reset link: HTML requests go back to the reset page with the
/// reason; others get the JSON error. An unknown token is a warning.
async fn reset_refused(c: &Caller<'_>, code: &str) -> Result<web_sys::Response> {
    if code == ResetError::Unknown.code() {
        c.warn(WarningKind::ForgedToken).await;
    }
    let accept = header(c.req, "Accept").unwrap_or_default();
    if accept.to_ascii_lowercase().contains("text/html") {
        let mut response = Response::empty()?.with_status(302);
        response.headers_mut().set(
            "Location",
            &format!("{}?reason={code}", c.snapshot.policy.routes.reset),
        )?;
        return c.secured(Ok(response));
    }
    let (status, message) = if code == ResetError::Unknown.code() {
        (400, "This reset link is not valid.")
    } else if code == ResetError::Used.code() {
        (410, "This reset link was already used; ask for a new one.")
    } else {
        (410, "This reset link has expired; ask for a new one.")
    };
    c.secured(reply::error(status, code, message))
}

/// Asks Control about a reset token: `check`, `redeem` or `release`.
/// `Ok(user, purpose)` or `Err(error code)`.
async fn reset_call(
    c: &Caller<'_>,
    op: &str,
    token: &str,
) -> Result<std::result::Result<(String, String), String>> {
    let body = json!({ "token": token, "ip": c.ip.to_string() });
    let mut response = control::call(c.env, "POST", &format!("/reset/{op}"), Some(&body)).await?;
    let answer: Value = serde_json::from_str(&response.text().await?)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(match (text("error"), text("user"), text("purpose")) {
        (Some(code), _, _) => Err(code),
        (None, Some(user), Some(purpose)) => Ok((user, purpose)),
        _ => Err(ResetError::Unknown.code().to_owned()),
    })
}

/// The reset page with a single-use token (query parameter or form field,
/// `routes.fields.resetToken`): a read shows the page if the token is good;
/// a form with the new password uses it once (checked by core and the
/// history first). The origin learns the verified user from
/// `Portcullis-Reset-User` and `Portcullis-Reset-Purpose`. `None`: no token,
/// so the request goes on as any other (the page that asks for a link).
pub(crate) async fn reset(
    c: &Caller<'_>,
    url: &str,
    write: bool,
    path_and_query: &str,
) -> Result<Option<web_sys::Response>> {
    let snapshot = c.snapshot;
    let policy = &snapshot.policy;
    let fields = &policy.routes.fields;
    let from_query = query_param(url, &fields.reset_token);
    if !policy.signup.password_reset_enabled {
        return if from_query.is_some() || write {
            c.secured(reply::error(
                404,
                "password_reset_disabled",
                "Password reset is switched off.",
            ))
            .map(Some)
        } else {
            Ok(None)
        };
    }
    let (token, password) = if write {
        let values = match c
            .fields(&[&fields.reset_token, &fields.new_password])
            .await?
        {
            Ok(values) => values,
            Err(refusal) => return Ok(Some(refusal)),
        };
        let mut values = values.into_iter();
        let token = values.next().flatten().or(from_query);
        (token, values.next().flatten())
    } else {
        (from_query, None)
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let (user, purpose) = match reset_call(c, "check", &token).await? {
        Ok(found) => found,
        Err(code) => return reset_refused(c, &code).await.map(Some),
    };
    let to_origin = vec![
        "Portcullis-Reset-User".to_owned(),
        user.clone(),
        "Portcullis-Reset-Purpose".to_owned(),
        purpose,
    ];
    if write && password.is_none() {
        // A token without the new password: never forwarded unredeemed.
        let field = format!("`{}`", fields.new_password);
        return c.missing(&field).await.map(Some);
    }
    let Some(password) = password.filter(|_| write) else {
        let Some(raw) = fetch_origin(c.req, c.env, path_and_query, &to_origin).await? else {
            return origin_failed(c.env, snapshot).map(Some);
        };
        return Ok(Some(secure_raw(&raw, snapshot, &[], &[])));
    };
    let fingerprint = match vet_new_password(c, Some(&user), false, &password).await? {
        Ok(fingerprint) => fingerprint,
        Err(refusal) => return Ok(Some(refusal)),
    };
    if let Err(code) = reset_call(c, "redeem", &token).await? {
        return reset_refused(c, &code).await.map(Some);
    }
    let answer = fetch_origin(c.req, c.env, path_and_query, &to_origin).await?;
    if let Some(raw) = answer.as_ref().filter(|raw| accepted(raw)) {
        // Every session of the user ends: a reset is how accounts are recovered.
        if let Some(fingerprint) = fingerprint {
            record_change(c, &user, None, fingerprint).await;
        }
        return Ok(Some(secure_raw(raw, snapshot, &[], &[])));
    }
    // The origin did not take the new password: the link stays usable.
    if let Err(code) = reset_call(c, "release", &token).await? {
        worker::console_error!("portcullis: releasing a reset token failed: {code}");
    }
    match answer {
        Some(raw) => Ok(Some(secure_raw(&raw, snapshot, &[], &[]))),
        None => origin_failed(c.env, snapshot).map(Some),
    }
}
