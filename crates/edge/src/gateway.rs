//! The request pipeline: who is calling, may they (bans), the edge's own
//! routes (public policy, admin API), forced HTTPS, the session (login,
//! logout, protected paths, XSRF), signup and upload checks, then the
//! origin. Each step asks core and only translates.

use std::net::IpAddr;

use portcullis_core::bans::{
    Access, BanEntry, Denial, PERMANENT, WarningKind, decide_access, is_write,
};
use portcullis_core::captcha;
use portcullis_core::headers::https_redirect;
use portcullis_core::net::{client_key, parse_client_ip};
use portcullis_core::session::{
    ChangeGate, NoSession, SESSION_COOKIE, SessionState, XSRF_FIELD, XSRF_HEADER, XsrfDecision,
    change_gate, change_reason, clearing_cookies, cookie, no_session, renew, renewal_due,
    session_state, xsrf_decision,
};
use portcullis_core::signup::email_domain_blocked;
use portcullis_core::uploads::{
    Role, UploadError, canonical_path, check_upload, declared_too_large, media_type,
};
use portcullis_core::{
    CaptchaPage, Locale, ManualBanScope, PasswordChecker, Policy, SingleSession, Subject,
};
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::{Context, Env, Request, Response, Result};

use crate::auth::{self, Caller};
use crate::cache::{self, Snapshot};
use crate::proxy::{forward, secure, secure_with};
use crate::reply::{self, now_seconds};
use crate::{control, guard, user};

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

/// Records a warning for the caller (its IpGuard also logs it in the audit
/// log); a ban it triggers is live in this isolate at once.
pub(crate) async fn warn(env: &Env, policy: &Policy, key: &str, ip: IpAddr, kind: WarningKind) {
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
pub(crate) fn header(req: &web_sys::Request, name: &str) -> Option<String> {
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

pub(crate) fn locale(req: &web_sys::Request) -> Locale {
    header(req, "Accept-Language")
        .and_then(|v| v.split([',', ';']).next().and_then(Locale::parse))
        .unwrap_or_default()
}

/// A snapshot younger than this is trusted to know the current signing
/// secrets (milliseconds); an older one is refreshed before a token is
/// called forged.
const FRESH_MS: f64 = 1000.0;

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
    if path.starts_with("/__portcullis/admin") {
        // The query goes along (audit filters and exports).
        let rest = path_and_query["/__portcullis/admin".len()..].to_owned();
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
    let mut state = session_state(
        &secrets.session_keys(),
        cookie_header
            .as_deref()
            .and_then(|h| cookie(h, SESSION_COOKIE)),
        &policy.sessions,
        &snapshot.revocations,
        now,
    );
    if state == SessionState::Forged {
        // A copy of the secrets older than a second may have missed a
        // rotation made elsewhere: check once more against a fresh copy
        // before calling the token forged. Not forged after all: no session
        // for this request (the cookie stays), the fresh copy decides next.
        let stale = cache::age_ms().is_none_or(|age| age > FRESH_MS);
        let forged = if stale {
            match cache::reload(&env).await {
                Ok(fresh) => {
                    let keys = fresh.secrets.session_keys();
                    let token = cookie_header
                        .as_deref()
                        .and_then(|h| cookie(h, SESSION_COOKIE));
                    session_state(
                        &keys,
                        token,
                        &fresh.policy.sessions,
                        &fresh.revocations,
                        now,
                    ) == SessionState::Forged
                }
                Err(_) => true,
            }
        } else {
            true
        };
        if forged {
            warn(&env, policy, &key, ip, WarningKind::ForgedToken).await;
        } else {
            state = SessionState::Missing;
        }
    }
    // Single-session mode: the user's record says whether this session is
    // still theirs (the one Durable Object round trip it costs).
    if policy.login.single_session != SingleSession::Off
        && let SessionState::Valid(claims) = &state
    {
        let call = user::Call {
            sessions: Some(policy.sessions.clone()),
            sid: Some(claims.sid.clone()),
            ..user::Call::default()
        };
        if !user::call(&env, &claims.sub, "touch", &call).await?.yes {
            state = SessionState::Ended;
        }
    }
    let caller = Caller {
        req: &req,
        env: &env,
        snapshot: &snapshot,
        key: &key,
        ip,
        now,
    };
    if write && route == routes.login {
        return auth::login(&caller, path_and_query).await;
    }
    if write && route == routes.logout {
        if policy.login.single_session != SingleSession::Off
            && let SessionState::Valid(claims) = &state
        {
            let call = user::Call {
                sid: Some(claims.sid.clone()),
                ..user::Call::default()
            };
            user::call(&env, &claims.sub, "logout", &call).await?;
        }
        let cookies = clearing_cookies();
        return forward(&req, &env, &snapshot, &[], &[], &cookies).await;
    }
    // A dead or forged cookie is cleared so the browser stops sending it.
    let clear: Vec<String> = match state {
        SessionState::Expired | SessionState::Ended | SessionState::Forged => {
            clearing_cookies().to_vec()
        }
        _ => Vec::new(),
    };
    let claims = match &state {
        SessionState::Valid(claims) => Some(claims),
        _ => None,
    };
    let protected = routes.protected.matches(&route);
    let accept = || header(&req, "Accept").unwrap_or_default();
    if protected && claims.is_none() {
        let answer = match no_session(&accept(), &policy.routes.login, &state) {
            NoSession::Redirect(location) => redirect(&location)?,
            NoSession::Unauthorized(code) => reply::error(401, code, "Sign in to continue.")?,
            _ => reply::error(401, "login_required", "Sign in to continue.")?,
        };
        return Ok(secure_with(answer, &snapshot, &clear)?.into());
    }
    // While a password change is required (first login, expiry, tightened
    // policy, an admin's request) only the change page, logout and static
    // assets pass.
    if let Some(session) = claims
        && let Some(reason) = change_reason(session, now)
    {
        let gate = change_gate(
            reason,
            &method,
            &route,
            &accept(),
            (&routes.change_password, &routes.logout),
            &policy.routes.change_password,
        );
        match gate {
            ChangeGate::Pass => {}
            ChangeGate::Redirect(location) => return respond(redirect(&location)),
            _ => {
                return respond(reply::json(
                    403,
                    &json!({
                        "error": "password_change_required",
                        "message": "Change your password to continue.",
                        "reason": reason,
                    }),
                ));
            }
        }
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
        match xsrf_decision(
            secrets.xsrf.as_bytes(),
            session,
            &method,
            protected,
            echoed.as_deref(),
        ) {
            XsrfDecision::Pass => {}
            XsrfDecision::Anonymous => claims = None,
            _ => {
                warn(&env, policy, &key, ip, WarningKind::BadXsrf).await;
                return respond(reply::error(
                    403,
                    "xsrf_failed",
                    "The XSRF token is missing or wrong: send the __Host-portcullis-xsrf cookie's value in X-XSRF-Token or _xsrf.",
                ));
            }
        }
    }
    let role = claims.map_or(Role::EndUser, |c| Role::from_session_roles(&c.roles));
    // A valid session is renewed (sliding expiry) once a 60th of the idle
    // timeout has passed since its token was issued.
    let due = claims.is_some_and(|c| renewal_due(c, &policy.sessions, now));
    let renewed = claims.map(|claims| renew(claims, &policy.sessions, now));

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
    if page == Some(CaptchaPage::ChangePassword) {
        return auth::change_password(&caller, renewed.as_ref(), path_and_query).await;
    }
    if route == routes.reset
        && let Some(answer) = auth::reset(&caller, &url, write, path_and_query).await?
    {
        return Ok(answer);
    }

    // The origin learns who is calling from headers only the edge can set.
    let (to_origin, cookies, extra) = match &renewed {
        Some(claims) => (
            auth::caller_headers(claims),
            if due {
                auth::session_cookies(&snapshot, claims, now)
            } else {
                Vec::new()
            },
            auth::expiry_warning(&snapshot, claims, now),
        ),
        None => (Vec::new(), clear, Vec::new()),
    };
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

    // Probation (after the upload rules, which apply to its actions too).
    let forwarding = crate::probation::Forwarding {
        to_origin: &to_origin,
        extra: &extra,
        cookies: &cookies,
    };
    let guarded = crate::probation::guard(
        &caller,
        renewed.as_ref(),
        &route,
        path_and_query,
        forwarding,
    )
    .await?;
    let response = match guarded {
        Some(answer) => answer,
        None => forward(&req, &env, &snapshot, &to_origin, &extra, &cookies).await?,
    };
    if response.status() == 403 && protected {
        warn(&env, policy, &key, ip, WarningKind::OriginForbidden).await;
    }
    Ok(response)
}

fn redirect(location: &str) -> Result<Response> {
    let mut response = Response::empty()?.with_status(302);
    response.headers_mut().set("Location", location)?;
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
        return auth::password_rejected(&verdict).map(Some);
    }
    Ok(None)
}

/// A form field of the request body (urlencoded or multipart), read from a
/// copy so the original still streams to the origin.
async fn form_field(req: &web_sys::Request, name: &str) -> Option<String> {
    let content_type = media_type(&header(req, "Content-Type").unwrap_or_default());
    if !(content_type == "application/x-www-form-urlencoded"
        || content_type == "multipart/form-data")
    {
        return None;
    }
    let form = Request::from(req.clone().ok()?).form_data().await.ok()?;
    match form.get(name) {
        Some(worker::FormEntry::Field(value)) => Some(value),
        _ => None,
    }
}

/// Why the edge could not read a form it must check.
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: &'static str,
    /// Whether it counts as a security warning (a malformed body on the
    /// edge's own route does; an unsupported format does not).
    pub(crate) warning: bool,
}

/// Largest login or signup body the edge reads.
const MAX_FORM_BYTES: u64 = 256 * 1024;

/// Reads the named fields (urlencoded, multipart or a JSON object) from a
/// copy of the body. Refuses bodies without a length or too large, formats
/// it cannot read (the origin might read them differently), and fields
/// sent twice (frameworks disagree on which copy counts).
pub(crate) async fn read_fields(
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
    let content_type = media_type(&header(req, "Content-Type").unwrap_or_default());
    let Ok(copy) = req.clone() else {
        return Err(malformed_body());
    };
    let mut copy = Request::from(copy);
    if content_type == "application/json" {
        let text = copy.text().await.map_err(|_| malformed_body())?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| malformed_body())?;
        let object = value.as_object().ok_or_else(malformed_body)?;
        return Ok(names
            .iter()
            .map(|n| object.get(*n).and_then(|v| v.as_str()).map(str::to_owned))
            .collect());
    }
    if !(content_type == "application/x-www-form-urlencoded"
        || content_type == "multipart/form-data")
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
pub(crate) async fn captcha_gate(
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
    if !captcha::required_for(policy, secret.is_some(), page, failed_logins) {
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
    let (decision, result) = captcha::decide(settings, answer.as_deref());
    if settings.log_results {
        let entry = json!({ "kind": "captcha", "ip": ip.to_string(), "detail": { "page": page, "result": result } });
        if let Err(e) = control::call(env, "POST", "/audit", Some(&entry)).await {
            worker::console_error!("portcullis: audit failed: {e}");
        }
    }
    match decision {
        captcha::Decision::Pass => Ok(None),
        captcha::Decision::Unavailable => reply::error(
            503,
            "captcha_unavailable",
            "The CAPTCHA could not be checked just now; please try again.",
        )
        .map(Some),
        captcha::Decision::Refuse(reason) => {
            warn(env, policy, key, ip, WarningKind::FailedCaptcha).await;
            reply::json(
                403,
                &json!({ "error": "captcha_failed", "message": "The CAPTCHA was not solved.", "reason": reason }),
            )
            .map(Some)
        }
        // A decision this build does not know yet refuses.
        _ => reply::error(403, "captcha_failed", "The CAPTCHA was not solved.").map(Some),
    }
}
