//! The request pipeline: who is calling, may they (bans), the edge's own
//! routes (public policy, admin API), forced HTTPS, the session (login,
//! logout, protected paths, XSRF), signup and upload checks, then the
//! origin. Each step asks core and only translates.

use std::net::IpAddr;

use portcullis_core::bans::{
    Access, BanEntry, Denial, PERMANENT, WarningKind, client_key, decide_access, is_write,
    parse_client_ip,
};
use portcullis_core::captcha;
use portcullis_core::headers::https_redirect;
use portcullis_core::session::{
    NoSession, SESSION_COOKIE, SessionState, XSRF_FIELD, XSRF_HEADER, clearing_cookies, cookie,
    new_session, no_session, renew, session_cookie, session_state, xsrf_cookie, xsrf_ok,
    xsrf_required,
};
use portcullis_core::signup::email_domain_blocked;
use portcullis_core::tokens::{random_token, sign_jwt, xsrf_token};
use portcullis_core::uploads::{
    Role, UploadError, canonical_path, check_upload, declared_too_large,
};
use portcullis_core::{CaptchaPage, Locale, ManualBanScope, PasswordChecker, Policy, Subject};
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::{Context, Env, Request, Response, Result};

use crate::cache::{self, Snapshot};
use crate::proxy::{fetch_origin, forward, origin_failed, secure, secure_raw, secure_with};
use crate::reply::{self, now_seconds};
use crate::{account, control, guard};

/// Cloudflare's bot score (1–99), when the request carries one. Reading
/// `cf` costs time, so only when the policy uses the score.
fn bot_score(req: &web_sys::Request, policy: &Policy) -> Option<u8> {
    let fraud = &policy.bans.fraud;
    if !fraud.enabled || fraud.bot_score_below == 0 {
        return None;
    }
    let cf = js_sys::Reflect::get(req, &JsValue::from_str("cf")).ok()?;
    let bm = js_sys::Reflect::get(&cf, &JsValue::from_str("botManagement")).ok()?;
    let score = js_sys::Reflect::get(&bm, &JsValue::from_str("score"))
        .ok()?
        .as_f64()?;
    (1.0..=99.0).contains(&score).then_some(score as u8)
}

/// Records a warning for the caller; a ban it triggers is live in this
/// isolate at once.
async fn warn(env: &Env, policy: &Policy, key: &str, ip: IpAddr, kind: WarningKind) {
    match guard::warn(env, key, &ip.to_string(), kind, &policy.bans).await {
        Ok(outcome) => {
            if let Some(ban) = outcome.ban {
                cache::add_ban(ban);
            }
        }
        Err(e) => worker::console_error!("portcullis: recording a warning failed: {e}"),
    }
}

fn banned(until: u64, now: u64) -> Result<Response> {
    let mut response = reply::error(403, "banned", "This address is banned.")?;
    if until != PERMANENT {
        response
            .headers_mut()
            .set("Retry-After", &until.saturating_sub(now).to_string())?;
    }
    Ok(response)
}

/// A header of the raw request.
fn header(req: &web_sys::Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The path and the path with its query, sliced from the serialised URL
/// (no URL parsing on the hot path; the runtime already normalised it).
fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_and_query = url[after_scheme..]
        .find('/')
        .map_or("/", |i| &url[after_scheme + i..]);
    let path = path_and_query
        .split(['?', '#'])
        .next()
        .unwrap_or(path_and_query);
    (path, path_and_query)
}

/// An edge answer as the runtime's response.
fn raw(response: Result<Response>) -> Result<web_sys::Response> {
    response.map(Into::into)
}

fn locale(req: &web_sys::Request) -> Locale {
    header(req, "Accept-Language")
        .and_then(|v| v.split([',', ';']).next().and_then(Locale::parse))
        .unwrap_or_default()
}

/// The whole pipeline for one request.
pub(crate) async fn handle(
    req: web_sys::Request,
    env: Env,
    ctx: Context,
) -> Result<web_sys::Response> {
    let now = now_seconds();
    let Some(ip) = header(&req, "CF-Connecting-IP")
        .as_deref()
        .and_then(parse_client_ip)
    else {
        return raw(reply::error(
            400,
            "no_client_address",
            "The request carries no client address.",
        ));
    };
    let snapshot = match cache::current(&env, &ctx).await {
        Ok(s) => s,
        Err(e) => {
            worker::console_error!("portcullis: {e}");
            return raw(reply::error(
                503,
                "configuration_unavailable",
                "The gateway's configuration is unavailable; see the Worker's logs.",
            ));
        }
    };
    let policy = &snapshot.policy;
    let respond = |r: Result<Response>| r.and_then(|r| secure(r, &snapshot)).map(Into::into);
    let key = client_key(ip, policy.bans.ipv6_prefix_length);
    let method = req.method();
    let write = is_write(&method);

    match decide_access(
        &policy.bans,
        &snapshot.bans,
        ip,
        &method,
        bot_score(&req, policy),
        now,
    ) {
        Access::Allow => {}
        Access::Deny(Denial::Banned { until }) => return respond(banned(until, now)),
        Access::Deny(Denial::Fraud) => {
            let ban = BanEntry {
                target: key.clone(),
                until: now.saturating_add(policy.bans.ban_seconds),
                scope: ManualBanScope::All,
                reason: "fraud".to_owned(),
            };
            let body =
                serde_json::to_value(&ban).map_err(|e| worker::Error::RustError(e.to_string()))?;
            control::call(&env, "POST", "/bans", Some(&body)).await?;
            let until = ban.until;
            cache::add_ban(ban);
            return respond(banned(until, now));
        }
        // A refusal this build does not know yet still refuses.
        _ => return respond(reply::error(403, "denied", "This request is not allowed.")),
    }

    let url = req.url();
    let (path, path_and_query) = split_url(&url);
    // Every route decision uses the canonical path (decoded, dot segments
    // resolved, slashes merged, lowercase), so `/%6Cogin` is `/login`; the
    // request itself goes to the origin unchanged.
    let route = canonical_path(path);
    let routes = snapshot.routes();
    if let Some(location) = https_redirect(&policy.responses, &url) {
        let mut response = Response::empty()?.with_status(301);
        response.headers_mut().set("Location", &location)?;
        return respond(Ok(response));
    }
    if route.starts_with("/__portcullis") && !path.starts_with("/__portcullis/") {
        // The edge's own namespace is reached only by its exact spelling.
        return respond(reply::error(404, "not_found", "No such route."));
    }
    if path == "/__portcullis/policy" {
        return respond(reply::json(200, &json!(policy.public())));
    }
    if let Some(rest) = path.strip_prefix("/__portcullis/admin") {
        let rest = rest.to_owned();
        let response = control::admin(&env, Request::from(req), &rest, &ip.to_string()).await?;
        match response.status_code() {
            401 => warn(&env, policy, &key, ip, WarningKind::WrongApplicationKey).await,
            200 | 201 if write => cache::invalidate(),
            _ => {}
        }
        return respond(Ok(response));
    }
    if path.starts_with("/__portcullis/") {
        return respond(reply::error(404, "not_found", "No such route."));
    }

    // Sessions: the cookie is read and verified here on every request; a
    // forged or tampered token is a warning and counts as no session.
    let secrets = &snapshot.secrets;
    let cookie_header = header(&req, "Cookie");
    let state = session_state(
        secrets.jwt.as_bytes(),
        cookie_header
            .as_deref()
            .and_then(|h| cookie(h, SESSION_COOKIE)),
        &policy.sessions,
        now,
    );
    if state == SessionState::Forged {
        warn(&env, policy, &key, ip, WarningKind::ForgedToken).await;
    }
    if write && route == routes.login {
        return login(&req, &env, &snapshot, &key, ip, path_and_query, now).await;
    }
    if write && route == routes.logout {
        let cookies = clearing_cookies();
        return forward(&req, &env, &snapshot, path_and_query, &[], &cookies).await;
    }
    // A dead or forged cookie is cleared so the browser stops sending it.
    let clear: Vec<String> = match state {
        SessionState::Expired | SessionState::Forged => clearing_cookies().to_vec(),
        _ => Vec::new(),
    };
    let claims = match &state {
        SessionState::Valid(claims) => Some(claims),
        _ => None,
    };
    let protected = routes.protected.matches(&route);
    if protected && claims.is_none() {
        let accept = header(&req, "Accept").unwrap_or_default();
        let answer = match no_session(&accept, &policy.routes.login, &state) {
            NoSession::Redirect(location) => {
                let mut response = Response::empty()?.with_status(302);
                response.headers_mut().set("Location", &location)?;
                response
            }
            NoSession::Unauthorized(code) => reply::error(401, code, "Sign in to continue.")?,
            _ => reply::error(401, "login_required", "Sign in to continue.")?,
        };
        return Ok(secure_with(answer, &snapshot, &clear)?.into());
    }
    // An unsafe request carries the user's identity to the origin only with
    // the XSRF token bound to the session; on protected paths it is refused
    // without one, elsewhere it goes on as anonymous.
    let mut claims = claims;
    if let Some(session) = claims
        && write
    {
        let echoed = match header(&req, XSRF_HEADER) {
            Some(token) => Some(token),
            None => form_field(&req, XSRF_FIELD).await,
        };
        if !xsrf_ok(secrets.xsrf.as_bytes(), session, echoed.as_deref()) {
            if xsrf_required(&method, protected) {
                warn(&env, policy, &key, ip, WarningKind::BadXsrf).await;
                return respond(reply::error(
                    403,
                    "xsrf_failed",
                    "The XSRF token is missing or wrong: send the __Host-portcullis-xsrf cookie's value in X-XSRF-Token or _xsrf.",
                ));
            }
            claims = None;
        }
    }
    let role = claims.map_or(Role::EndUser, |c| Role::from_session_roles(&c.roles));

    let page = if !write {
        None
    } else if route == routes.signup {
        Some(CaptchaPage::Signup)
    } else if route == routes.reset {
        Some(CaptchaPage::Reset)
    } else if route == routes.change_password {
        Some(CaptchaPage::ChangePassword)
    } else {
        None
    };
    if let Some(page) = page
        && let Some(refusal) = captcha_gate(&req, &env, &snapshot, &key, ip, page, 0).await?
    {
        return respond(Ok(refusal));
    }
    if page == Some(CaptchaPage::Signup)
        && let Some(refusal) = check_signup(&req, &env, &snapshot, &key, ip).await?
    {
        return respond(Ok(refusal));
    }
    if page == Some(CaptchaPage::ChangePassword)
        && let Some(refusal) = check_new_password(&req, &env, &snapshot, &key, ip, claims).await?
    {
        return respond(Ok(refusal));
    }

    // Any request with a body counts, whatever its method.
    if routes.uploads.matches(&route) && (write || req.body().is_some()) {
        let declared = header(&req, "Content-Length").and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_none() && req.body().is_some() {
            // Without a length the body could only be measured by reading
            // all of it: refuse rather than buffer an unbounded stream.
            return respond(reply::error(
                411,
                "length_required",
                "Uploads need a Content-Length.",
            ));
        }
        let verdict = if declared_too_large(&policy.uploads, declared) {
            Err(UploadError::TooLarge {
                limit: policy.uploads.max_bytes,
            })
        } else {
            let content_type = header(&req, "Content-Type").unwrap_or_default();
            let body = Request::from(req.clone()?).bytes().await?;
            // The role comes only from the verified session.
            check_upload(&policy.uploads, role, &content_type, &body)
        };
        if let Err(e) = verdict {
            warn(&env, policy, &key, ip, WarningKind::BlockedUpload).await;
            let refusal = match e {
                UploadError::TooLarge { limit } => reply::error(
                    413,
                    "upload_too_large",
                    &format!("Files may be at most {limit} bytes."),
                ),
                UploadError::ExtensionNotAllowed { filename } => reply::error(
                    415,
                    "upload_type_not_allowed",
                    &format!("Files like `{filename}` may not be uploaded here."),
                ),
                _ => reply::error(
                    400,
                    "malformed_body",
                    "The upload is not a readable multipart body.",
                ),
            };
            return respond(refusal);
        }
    }

    // A valid session is renewed (sliding expiry) and the origin learns who
    // is calling from headers only the edge can set.
    let (to_origin, cookies) = match claims {
        Some(claims) => {
            let renewed = renew(claims, &policy.sessions, now);
            let token = sign_jwt(secrets.jwt.as_bytes(), &renewed);
            let xsrf = xsrf_token(secrets.xsrf.as_bytes(), &renewed.sid);
            (
                vec![
                    "Portcullis-User".to_owned(),
                    renewed.sub.clone(),
                    "Portcullis-Session".to_owned(),
                    renewed.sid.clone(),
                    "Portcullis-Roles".to_owned(),
                    renewed.roles.join(","),
                ],
                vec![
                    session_cookie(&token, &renewed, now),
                    xsrf_cookie(&xsrf, &renewed, now),
                ],
            )
        }
        None => (Vec::new(), clear),
    };
    let response = forward(&req, &env, &snapshot, path_and_query, &to_origin, &cookies).await?;
    if response.status() == 403 && protected {
        warn(&env, policy, &key, ip, WarningKind::OriginForbidden).await;
    }
    Ok(response)
}

/// Signup: refuse blocked email domains and passwords that fail the policy
/// (422) before the origin sees the form. `None` lets it through.
async fn check_signup(
    req: &web_sys::Request,
    env: &Env,
    snapshot: &Snapshot,
    key: &str,
    ip: IpAddr,
) -> Result<Option<Response>> {
    let policy = &snapshot.policy;
    let fields = &policy.routes.fields;
    let names = [
        fields.email.as_str(),
        fields.password.as_str(),
        fields.username.as_str(),
        "name",
    ];
    let values = match read_fields(req, &names).await {
        Ok(values) => values,
        Err(refusal) => {
            if refusal.warning {
                warn(env, policy, key, ip, WarningKind::MalformedBody).await;
            }
            return reply::error(refusal.status, refusal.code, refusal.message).map(Some);
        }
    };
    let text = |i: usize| values.get(i).cloned().flatten().unwrap_or_default();
    let email = text(0);
    if email_domain_blocked(&policy.signup, &email) {
        return reply::error(
            422,
            "email_domain_blocked",
            "Signups from this email domain are not accepted.",
        )
        .map(Some);
    }
    let password = text(1);
    let subject = Subject {
        username: text(2),
        email,
        name: text(3),
        is_admin: false,
    };
    let verdict =
        PasswordChecker::new(policy.passwords.clone()).check(&password, &subject, locale(req));
    if !verdict.ok {
        let failed: Vec<_> = verdict.rules.iter().filter(|r| !r.ok).collect();
        return reply::json(
            422,
            &json!({
                "error": "password_rejected",
                "message": failed.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "),
                "rules": verdict.failed_rule_ids(),
            }),
        )
        .map(Some);
    }
    Ok(None)
}

/// A form field of the request body (urlencoded or multipart), read from a
/// copy so the original still streams to the origin.
async fn form_field(req: &web_sys::Request, name: &str) -> Option<String> {
    let content_type = header(req, "Content-Type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.starts_with("multipart/form-data"))
    {
        return None;
    }
    let form = Request::from(req.clone().ok()?).form_data().await.ok()?;
    match form.get(name) {
        Some(worker::FormEntry::Field(value)) => Some(value),
        _ => None,
    }
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

/// The login form: refused at once while the account is locked; otherwise
/// the attempt is counted in advance and forwarded, and the origin's answer
/// settles it. Success (the origin names the user in
/// `Portcullis-Login-User`) issues the session; failure counts against the
/// account and, as a warning, against the IP.
#[allow(clippy::too_many_arguments)]
async fn login(
    req: &web_sys::Request,
    env: &Env,
    snapshot: &Snapshot,
    key: &str,
    ip: IpAddr,
    path_and_query: &str,
    now: u64,
) -> Result<web_sys::Response> {
    let policy = &snapshot.policy;
    let secured =
        |r: Result<Response>| -> Result<web_sys::Response> { Ok(secure(r?, snapshot)?.into()) };
    let fields = match read_fields(req, &[&policy.routes.fields.username]).await {
        Ok(fields) => fields,
        Err(refusal) => {
            if refusal.warning {
                warn(env, policy, key, ip, WarningKind::MalformedBody).await;
            }
            return secured(reply::error(refusal.status, refusal.code, refusal.message));
        }
    };
    let login_name = fields.into_iter().next().flatten().unwrap_or_default();
    let counted = !login_name.trim().is_empty();
    let failures = if counted && policy.captcha.after_failed_logins > 0 {
        account::call(env, &login_name, "peek", &policy.login)
            .await?
            .failures
    } else {
        0
    };
    if let Some(refusal) =
        captcha_gate(req, env, snapshot, key, ip, CaptchaPage::Login, failures).await?
    {
        return secured(Ok(refusal));
    }
    if counted {
        let gate = account::call(env, &login_name, "begin", &policy.login).await?;
        if gate.state != "open" {
            return locked(&gate, snapshot);
        }
    }
    let Some(raw) = fetch_origin(req, env, path_and_query, &[]).await? else {
        return origin_failed(env, snapshot);
    };
    let origin_header = |name: &str| raw.headers().get(name).ok().flatten();
    let user = origin_header("Portcullis-Login-User").filter(|u| !u.trim().is_empty());
    match user {
        Some(user) if raw.status() < 400 => {
            if counted {
                let gate = account::call(env, &login_name, "success", &policy.login).await?;
                if gate.state != "open" {
                    // A parallel attempt locked the account meanwhile.
                    return locked(&gate, snapshot);
                }
            }
            let roles: Vec<String> = origin_header("Portcullis-Login-Roles")
                .unwrap_or_default()
                .split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect();
            let mut random = [0u8; 32];
            getrandom::fill(&mut random)
                .map_err(|_| worker::Error::RustError("no random source".into()))?;
            let claims = new_session(
                user.trim(),
                &random_token(&random),
                roles,
                &policy.sessions,
                now,
            );
            let secrets = &snapshot.secrets;
            let token = sign_jwt(secrets.jwt.as_bytes(), &claims);
            let xsrf = xsrf_token(secrets.xsrf.as_bytes(), &claims.sid);
            let cookies = [
                session_cookie(&token, &claims, now),
                xsrf_cookie(&xsrf, &claims, now),
            ];
            Ok(secure_raw(&raw, snapshot, &[], &cookies))
        }
        _ => {
            warn(env, policy, key, ip, WarningKind::FailedLogin).await;
            if !counted {
                return Ok(secure_raw(&raw, snapshot, &[], &[]));
            }
            let outcome = account::call(env, &login_name, "failure", &policy.login).await?;
            if outcome.state != "open" {
                return locked(&outcome, snapshot);
            }
            let extra: Vec<String> = outcome
                .attempts_left
                .map(|n| vec!["Portcullis-Attempts-Left".to_owned(), n.to_string()])
                .unwrap_or_default();
            Ok(secure_raw(&raw, snapshot, &extra, &[]))
        }
    }
}

/// Why the edge could not read a form it must check.
struct Refusal {
    status: u16,
    code: &'static str,
    message: &'static str,
    /// Whether it counts as a security warning (a malformed body on the
    /// edge's own route does; an unsupported format does not).
    warning: bool,
}

/// Largest login or signup body the edge reads.
const MAX_FORM_BYTES: u64 = 256 * 1024;

/// Reads the named fields (urlencoded, multipart or a JSON object) from a
/// copy of the body. Refuses bodies without a length or too large, formats
/// it cannot read (the origin might read them differently), and fields
/// sent twice (frameworks disagree on which copy counts).
async fn read_fields(
    req: &web_sys::Request,
    names: &[&str],
) -> std::result::Result<Vec<Option<String>>, Refusal> {
    let length = header(req, "Content-Length").and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        None => {
            return Err(Refusal {
                status: 411,
                code: "length_required",
                message: "Send the form with a Content-Length.",
                warning: false,
            });
        }
        Some(n) if n > MAX_FORM_BYTES => {
            return Err(Refusal {
                status: 413,
                code: "body_too_large",
                message: "The form is too large.",
                warning: false,
            });
        }
        _ => {}
    }
    let content_type = header(req, "Content-Type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let Ok(copy) = req.clone() else {
        return Err(malformed_body());
    };
    let mut copy = Request::from(copy);
    if content_type.starts_with("application/json") {
        let text = copy.text().await.map_err(|_| malformed_body())?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| malformed_body())?;
        let object = value.as_object().ok_or_else(malformed_body)?;
        return Ok(names
            .iter()
            .map(|n| object.get(*n).and_then(|v| v.as_str()).map(str::to_owned))
            .collect());
    }
    if !(content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.starts_with("multipart/form-data"))
    {
        return Err(Refusal {
            status: 415,
            code: "unsupported_body",
            message: "Send the form as urlencoded, multipart or JSON.",
            warning: false,
        });
    }
    let form = copy.form_data().await.map_err(|_| malformed_body())?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let values = form.get_all(name).unwrap_or_default();
        if values.len() > 1 {
            return Err(Refusal {
                status: 400,
                code: "duplicate_field",
                message: "A checked form field was sent more than once.",
                warning: true,
            });
        }
        out.push(values.into_iter().find_map(|v| match v {
            worker::FormEntry::Field(v) => Some(v),
            _ => None,
        }));
    }
    Ok(out)
}

fn malformed_body() -> Refusal {
    Refusal {
        status: 400,
        code: "malformed_body",
        message: "The form could not be read.",
        warning: true,
    }
}

/// The CAPTCHA on `page`: verified with the provider before the origin sees
/// the form. `None` lets the request through. An unreachable or slow
/// provider fails closed (503, nothing counted against the user) unless the
/// policy says fail open.
async fn captcha_gate(
    req: &web_sys::Request,
    env: &Env,
    snapshot: &Snapshot,
    key: &str,
    ip: IpAddr,
    page: CaptchaPage,
    failed_logins: u32,
) -> Result<Option<Response>> {
    let policy = &snapshot.policy;
    let settings = &policy.captcha;
    let secret = snapshot.secrets.captcha.as_deref();
    if !captcha::required(settings, secret.is_some(), page, failed_logins) {
        return Ok(None);
    }
    let field = captcha::token_field(settings.provider).unwrap_or_default();
    let token = match read_fields(req, &[field]).await {
        Ok(values) => values.into_iter().next().flatten().unwrap_or_default(),
        Err(refusal) => {
            if refusal.warning {
                warn(env, policy, key, ip, WarningKind::MalformedBody).await;
            }
            return reply::error(refusal.status, refusal.code, refusal.message).map(Some);
        }
    };
    let Some((url, body)) = captcha::verify_request(
        settings,
        secret.unwrap_or_default(),
        &token,
        &ip.to_string(),
    ) else {
        return Ok(None);
    };
    let answer = if token.is_empty() {
        Some(r#"{"success":false}"#.to_owned())
    } else {
        let timeout =
            u32::try_from(settings.verify_timeout_seconds.saturating_mul(1000)).unwrap_or(u32::MAX);
        crate::proxy::verify_captcha(&url, &body, timeout).await?
    };
    let result = match &answer {
        None => "unavailable",
        Some(text) => match captcha::verdict(settings, text) {
            captcha::Verdict::Pass => "pass",
            captcha::Verdict::Fail(reason) => reason,
            _ => "fail",
        },
    };
    if settings.log_results {
        let entry = json!({ "kind": "captcha", "ip": ip.to_string(), "detail": { "page": page, "result": result } });
        if let Err(e) = control::call(env, "POST", "/audit", Some(&entry)).await {
            worker::console_error!("portcullis: audit failed: {e}");
        }
    }
    match result {
        "pass" => Ok(None),
        "unavailable" if settings.fail_open => Ok(None),
        "unavailable" => reply::error(
            503,
            "captcha_unavailable",
            "The CAPTCHA could not be checked just now; please try again.",
        )
        .map(Some),
        reason => {
            warn(env, policy, key, ip, WarningKind::FailedCaptcha).await;
            reply::json(
                403,
                &json!({ "error": "captcha_failed", "message": "The CAPTCHA was not solved.", "reason": reason }),
            )
            .map(Some)
        }
    }
}

/// Change password: the new password is checked by core before the origin
/// sees it (422 with the failed rule ids). Administrators, as the origin
/// named them at login, may skip the strength rules when the policy says so.
async fn check_new_password(
    req: &web_sys::Request,
    env: &Env,
    snapshot: &Snapshot,
    key: &str,
    ip: IpAddr,
    claims: Option<&portcullis_core::tokens::Claims>,
) -> Result<Option<Response>> {
    let policy = &snapshot.policy;
    let values = match read_fields(req, &[&policy.routes.fields.new_password]).await {
        Ok(values) => values,
        Err(refusal) => {
            if refusal.warning {
                warn(env, policy, key, ip, WarningKind::MalformedBody).await;
            }
            return reply::error(refusal.status, refusal.code, refusal.message).map(Some);
        }
    };
    let Some(password) = values.into_iter().next().flatten() else {
        return Ok(None);
    };
    let subject = Subject {
        username: claims.map(|c| c.sub.clone()).unwrap_or_default(),
        email: String::new(),
        name: String::new(),
        is_admin: claims.is_some_and(|c| Role::from_session_roles(&c.roles) == Role::Admin),
    };
    let verdict =
        PasswordChecker::new(policy.passwords.clone()).check(&password, &subject, locale(req));
    if verdict.ok {
        return Ok(None);
    }
    let failed: Vec<&str> = verdict
        .rules
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.message.as_str())
        .collect();
    reply::json(
        422,
        &json!({
            "error": "password_rejected",
            "message": failed.join("; "),
            "rules": verdict.failed_rule_ids(),
        }),
    )
    .map(Some)
}
