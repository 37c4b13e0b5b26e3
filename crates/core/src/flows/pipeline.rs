//! The per-request pipeline, in order: who is calling, the configuration,
//! bans, forced HTTPS, the edge's own routes, the session, login and
//! logout, protected paths, a required password change, XSRF, the pages
//! with checks of their own (CAPTCHA, signup, change password, reset),
//! uploads, probation, then the origin. Each step either lets the request
//! on or answers it; nothing after an answer runs.

use super::caller::{Caller, Flow, failed, refused};
use super::identity::{Forwarded, caller_headers, expiry_warning, session_cookies};
use super::io::Io;
use super::signup_form;
use super::steps::{AdminCall, Body, Finish, Forward, Input, Reply, Step, Upstream};
use super::{captcha_gate, challenge_route, limited_action, login, password_change};
use super::{rate_limit, reset_link};
use super::{session_check, upload_check, vault_fields};
use crate::bans::{Access, BanEntry, Denial, WarningKind, decide_access};
use crate::captcha::{email_verified, unverified_action};
use crate::context::Context;
use crate::form::query_carries;
use crate::objects::{AuditEntry, AuditKind};
use crate::policy::{CaptchaPage, ManualBanScope, Mode};
use crate::ratelimit::{KeySource, Limits, RateAlgorithm};
use crate::ratelimit::{bucket_name, key_hash, seconds_up};
use crate::refusal;
use crate::request::{Request, RequestFacts, cross_site};
use crate::roles::Role;
use crate::routes::{ADMIN_PREFIX, CONSOLE_PATH, ConsolePath, METRICS_PATH, OwnRoute};
use crate::routes::{console_path, own_route};
use crate::snapshot::FRAUD_FEED_RECORD;
use crate::tokens::Claims;

/// Largest admin request body (settings are small).
const MAX_ADMIN_BYTES: u64 = 64 * 1024;

/// The whole pipeline for one request.
pub(crate) async fn run(io: Io, facts: RequestFacts, ctx: Context) -> Reply {
    let req = Request::new(facts);
    match pipeline(&io, &req, ctx).await {
        Ok(reply) | Err(reply) => reply,
    }
}

/// The headers every answer carries (a rate limit's) added to `reply`.
fn with_headers(mut reply: Reply, headers: Vec<(&'static str, String)>) -> Reply {
    match &mut reply {
        Reply::Refuse(refusal) => refusal.headers.extend(headers),
        Reply::Upstream(finish) => finish.headers.extend(headers),
        Reply::Redirect { .. } | Reply::Json { .. } => {}
    }
    reply
}

async fn pipeline(io: &Io, req: &Request, ctx: Context) -> Flow<Reply> {
    let ip = req
        .client_ip()
        .and_then(crate::net::parse_client_ip)
        .ok_or_else(|| Reply::Refuse(refusal::no_client_address()))?;
    let snapshot = match io.perform(Step::Snapshot).await {
        Input::Snapshot(snapshot) => snapshot,
        _ => return Err(Reply::Refuse(refusal::configuration_unavailable())),
    };
    let key = crate::net::client_key(ip, snapshot.policy.bans.ipv6_prefix_length);
    // A warning this client earned on an earlier request may still be on
    // its way to its IpGuard: the ban it triggers must apply to this one
    // (the shell then hands over the snapshot with it).
    let snapshot = match io.perform(Step::Settle(Some(key.clone()))).await {
        Input::Snapshot(settled) => settled,
        _ => snapshot,
    };
    let c = Caller {
        io,
        req,
        ip_text: ip.to_string(),
        ip,
        key,
        snapshot,
        ctx,
        body: std::cell::RefCell::new(None),
        captcha_passed: std::cell::Cell::new(false),
        audits: std::cell::Cell::new(0),
        headers: std::cell::RefCell::new(Vec::new()),
    };
    let reply = match requested(&c).await {
        Ok(reply) | Err(reply) => reply,
    };
    Ok(with_headers(reply, c.headers.take()))
}

/// The pipeline after the caller is known.
async fn requested(c: &Caller<'_>) -> Flow<Reply> {
    let req = c.req;
    access(c).await?;
    if let Some(location) = crate::headers::https_redirect(&c.policy().responses, req.url()) {
        return Ok(Reply::Redirect {
            status: 301,
            location,
            cookies: Vec::new(),
        });
    }
    if let Some(route) = own_route(req) {
        return own(c, route).await;
    }
    let checked = read_path(c).await?;
    let state = session_check::state(c).await?;
    let user = match &state {
        crate::session::SessionState::Valid(claims) => Some(claims.sub.as_str()),
        _ => None,
    };
    rate_limit::run(c, user).await?;
    match checked {
        Some(Checked::Login) if req.submits() => return login::run(c).await,
        Some(Checked::Logout) if req.is_write() => {
            return session_check::logout(c, &state).await;
        }
        _ => {}
    }
    let session = session_check::require(c, state)?;
    session_check::password_gate(c, &session)?;
    let session = session_check::xsrf(c, session).await?;
    if let Some(reply) = checked_pages(c, checked, session.renewed.as_ref()).await? {
        return Ok(reply);
    }
    unverified_gate(c, session.renewed.as_ref()).await?;
    let role = session
        .claims
        .as_ref()
        .map_or(Role::EndUser, |c| Role::from_session_roles(&c.roles));
    upload_check::run(c, role).await?;
    let finish = forwarding(c, &session);
    let (status, added) = match vault_fields::run(c, &finish).await? {
        Some(status) => (status, Finish::default()),
        None => match limited_action::run(c, session.renewed.as_ref(), &finish).await? {
            Some(done) => done,
            None => {
                let checked = checked.is_some() && req.submits();
                pass_through(c, finish, checked, session.renewed.as_ref()).await?
            }
        },
    };
    // The origin's 403 on a protected path is a warning (the request is
    // answered: a warning that cannot be recorded is only logged).
    if status == 403 && session.protected {
        c.warn_answered(WarningKind::OriginForbidden).await;
    }
    Ok(Reply::Upstream(added))
}

/// The routes with checks of their own, matched on their route key (see
/// `paths::route_key`: `/login.json`, `/login.php/x`, `/Login/` and a
/// front controller's `/index.php/login` are the login).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    Login,
    Logout,
    Signup,
    ChangePassword,
    Reset,
}

/// How the path reads: refused when it reads two ways (double encoding,
/// or encoded separators unless the policy allows them); which checked
/// route it is; and an unsafe request to a checked route from another
/// site's page is refused before anything is counted.
async fn read_path(c: &Caller<'_>) -> Flow<Option<Checked>> {
    let doubt = c.req.path_doubt();
    let routes = &c.policy().routes;
    if doubt.double_encoded || (doubt.encoded_separator && !routes.allow_encoded_separators) {
        return refused(refusal::ambiguous_path());
    }
    let keys = &c.snapshot.routes;
    let checked = [
        (&keys.login, Checked::Login),
        (&keys.logout, Checked::Logout),
        (&keys.signup, Checked::Signup),
        (&keys.change_password, Checked::ChangePassword),
        (&keys.reset, Checked::Reset),
    ]
    .into_iter()
    .find(|(route, _)| c.req.is_route(route))
    .map(|(_, checked)| checked);
    if checked.is_none() {
        return Ok(None);
    }
    if c.req.submits() && cross_site(c.req, &routes.allowed_origins) {
        return refused(refusal::cross_site());
    }
    // A read of a checked page that carries a password in its query: an
    // origin that reads `$_REQUEST` or `$_GET` would take it unchecked.
    let fields = &routes.fields;
    if !c.req.submits() && query_carries(c.req, &[&fields.password, &fields.new_password]) {
        return Err(c.refuse(refusal::ambiguous_field()).await);
    }
    Ok(checked)
}

/// Bans, manual bans and fraud signals: a denied client is answered here.
async fn access(c: &Caller<'_>) -> Flow<()> {
    let policy = c.policy();
    // Without the fraud feed's list the deny list is incomplete: refused,
    // but for the admin API (so the damaged record can be cleared; the
    // rest of the ban checks still apply to it).
    let fraud = &policy.bans.fraud;
    if fraud.enabled
        && fraud.feed_url.is_some()
        && c.snapshot.is_unreadable(FRAUD_FEED_RECORD)
        && own_route(c.req) != Some(OwnRoute::Admin)
    {
        return refused(refusal::state_unavailable());
    }
    let bot_score = if policy.bans.fraud.enabled && policy.bans.fraud.bot_score_below > 0 {
        match c.io.perform(Step::BotScore).await {
            Input::BotScore(score) => score,
            _ => None,
        }
    } else {
        None
    };
    let now = c.now();
    let access = decide_access(
        &policy.bans,
        &c.snapshot.access,
        c.ip,
        c.req.method(),
        bot_score,
        now,
    );
    // Monitor mode never covers the edge's own routes (the admin API).
    let mode = match own_route(c.req) {
        Some(_) => Mode::Enforce,
        None => policy.bans.mode,
    };
    match access {
        Access::Allow => Ok(()),
        Access::Deny(Denial::Banned { until }) => {
            c.enforce(mode, "bans", refusal::banned(until, now)).await
        }
        Access::Deny(Denial::Fraud) if mode == Mode::Monitor => {
            let until = now.saturating_add(policy.bans.ban_seconds);
            c.enforce(mode, "bans", refusal::banned(until, now)).await
        }
        Access::Deny(Denial::Fraud) => {
            let ban = BanEntry {
                target: c.key.clone(),
                until: now.saturating_add(policy.bans.ban_seconds),
                scope: ManualBanScope::All,
                reason: "fraud".to_owned(),
            };
            let until = ban.until;
            c.publish_ban(ban).await?;
            Err(Reply::Refuse(refusal::banned(until, now)))
        }
    }
}

/// The edge's own routes: the public policy and the admin API.
async fn own(c: &Caller<'_>, route: OwnRoute) -> Flow<Reply> {
    match route {
        OwnRoute::PublicPolicy => Ok(Reply::Json {
            status: 200,
            body: serde_json::json!(c.snapshot.public_policy()),
        }),
        OwnRoute::NotFound => Err(Reply::Refuse(refusal::not_found())),
        OwnRoute::Console => console(c).await,
        OwnRoute::CspReport => csp_report(c).await,
        OwnRoute::Challenge => challenge_route::run(c).await,
        OwnRoute::Admin => {
            // The key is checked here, against its digest in the snapshot:
            // a wrong one never reaches Control. Only a key presented and
            // wrong is a warning (a third-party page can make a visitor's
            // browser request the admin API, never send a key).
            let secrets = &c.snapshot.secrets;
            if !crate::admin::presents_application_key(
                secrets.application_key.as_deref(),
                &secrets.pepper,
                c.req.authorization(),
            ) {
                let refusal = refusal::unauthorized();
                return Err(if c.req.has_authorization() {
                    c.refuse(refusal).await
                } else {
                    Reply::Refuse(refusal)
                });
            }
            // The operator's reads see what every warning so far recorded.
            if matches!(c.req.method(), "GET" | "HEAD") {
                c.io.perform(Step::Settle(None)).await;
            }
            if c.req.path() == METRICS_PATH && matches!(c.req.method(), "GET" | "HEAD") {
                return match c.io.perform(Step::Metrics).await {
                    Input::Json(body) => Ok(Reply::Json { status: 200, body }),
                    other => Err(failed(other)),
                };
            }
            match admin(c.io, c.req, &c.ip_text).await? {
                // Only a key presented and wrong: a third-party page can
                // make a visitor's browser request the admin API, never
                // send a key.
                401 if c.req.has_authorization() => {
                    c.warn(WarningKind::WrongApplicationKey).await?;
                }
                200 | 201 if c.req.is_write() => {
                    c.io.perform(Step::Invalidate).await;
                }
                _ => {}
            }
            Ok(Reply::Upstream(Finish::default()))
        }
    }
}

/// The console's files (behind every check so far: bans, HTTPS, the
/// security headers); only reads.
async fn console(c: &Caller<'_>) -> Flow<Reply> {
    if !matches!(c.req.method(), "GET" | "HEAD") {
        return refused(refusal::method_not_allowed("GET, HEAD"));
    }
    match console_path(c.req.path()) {
        ConsolePath::Redirect => Ok(Reply::Redirect {
            status: 301,
            location: format!("{CONSOLE_PATH}/"),
            cookies: Vec::new(),
        }),
        ConsolePath::Asset(name) => match c.io.perform(Step::Asset(name)).await {
            Input::Upstream(upstream) if matches!(upstream.status, 200 | 304) => {
                Ok(Reply::Upstream(Finish {
                    headers: crate::headers::console_headers(),
                    cookies: Vec::new(),
                }))
            }
            Input::Upstream(_) => refused(refusal::not_found()),
            other => Err(failed(other)),
        },
        ConsolePath::NotFound => refused(refusal::not_found()),
    }
}

/// Largest CSP report the edge reads.
const MAX_CSP_REPORT_BYTES: u64 = 16 * 1024;
/// The CSP reports' bucket prefix (no rule id has a `:`).
const CSP_BUCKET: &str = ":csp-report";
/// CSP reports per client key: 20 a minute, in bursts of 20.
const CSP_REPORT_LIMITS: Limits = Limits {
    algorithm: RateAlgorithm::TokenBucket,
    limit: 20,
    window_ms: 60_000,
};

/// A browser's CSP violation report, in report-only mode (else 404): a
/// JSON body of at most 16 KB, at most 20 a minute per client (then 429),
/// its summary kept in the audit log as `cspReport`. Never a warning: a
/// page's own violations are not an attack.
async fn csp_report(c: &Caller<'_>) -> Flow<Reply> {
    if !c.policy().responses.csp_report_only {
        return refused(refusal::not_found());
    }
    if c.req.method() != "POST" {
        return refused(refusal::method_not_allowed("POST"));
    }
    match c.req.content_length() {
        None => {
            return refused(refusal::length_required(
                "Send the report with a Content-Length.",
            ));
        }
        Some(n) if n > MAX_CSP_REPORT_BYTES => {
            return refused(refusal::body_too_large(
                "A CSP report carries at most 16 KB.",
            ));
        }
        Some(_) => {}
    }
    // `:` is in no rule id: no rule shares these buckets.
    let hash = key_hash(
        &c.snapshot.secrets.pepper,
        CSP_BUCKET,
        &KeySource::Ip,
        Some(&c.key),
    );
    let decision = rate_limit::take(c, bucket_name(CSP_BUCKET, &hash), CSP_REPORT_LIMITS).await?;
    if !decision.allowed {
        let retry_after = seconds_up(decision.next_ms).max(1);
        return refused(refusal::rate_limited("csp-report", retry_after));
    }
    let body = c.body().await?;
    let Some(report) = crate::headers::csp_report_summary(&body) else {
        return refused(refusal::malformed_form());
    };
    let entry = AuditEntry::new(AuditKind::CspReport, c.ip_text.clone(), report);
    c.audit(entry).await;
    Ok(Reply::Json {
        status: 202,
        body: serde_json::json!({ "received": true }),
    })
}

/// Sends an admin API request to Control and gives its status. Bodies are
/// bounded before the key is checked.
async fn admin(io: &Io, req: &Request, client_ip: &str) -> Flow<u16> {
    if !matches!(req.method(), "GET" | "HEAD")
        && req.has_body()
        && req.content_length().is_none_or(|n| n > MAX_ADMIN_BYTES)
    {
        return refused(refusal::body_too_large(
            "Admin requests carry at most 64 KB, with a Content-Length.",
        ));
    }
    let call = AdminCall {
        rest: req.path_and_query()[ADMIN_PREFIX.len()..].to_owned(),
        client_ip: client_ip.to_owned(),
    };
    match io.perform(Step::Admin(call)).await {
        Input::Upstream(upstream) => Ok(upstream.status),
        other => Err(failed(other)),
    }
}

/// The pages with checks of their own: the CAPTCHA on signup, reset and
/// change forms, the signup rules, the change-password flow, reset links.
async fn checked_pages(
    c: &Caller<'_>,
    checked: Option<Checked>,
    claims: Option<&Claims>,
) -> Flow<Option<Reply>> {
    let page = match checked {
        _ if !c.req.submits() => None,
        Some(Checked::Signup) => Some(CaptchaPage::Signup),
        Some(Checked::Reset) => Some(CaptchaPage::Reset),
        Some(Checked::ChangePassword) => Some(CaptchaPage::ChangePassword),
        Some(Checked::Login | Checked::Logout) | None => None,
    };
    if let Some(page) = page {
        captcha_gate::check(c, page, 0).await?;
    }
    match page {
        Some(CaptchaPage::Signup) => signup_form::check(c).await?,
        Some(CaptchaPage::ChangePassword) => {
            return password_change::run(c, claims).await.map(Some);
        }
        _ => {}
    }
    if checked == Some(Checked::Reset) {
        return reset_link::run(c).await;
    }
    Ok(None)
}

/// What the origin and the client get besides the request and its
/// answer: the verified caller, a renewed session, the expiry warning, or
/// the cookies of a dead session cleared.
fn forwarding(c: &Caller<'_>, session: &session_check::Session) -> Forwarded {
    let now = c.now();
    match &session.renewed {
        Some(claims) => Forwarded {
            to_origin: caller_headers(claims, &c.policy().probation, now),
            finish: Finish {
                headers: expiry_warning(&c.policy().passwords, claims, now),
                cookies: if session.renewal_due {
                    session_cookies(&c.snapshot.secrets, claims, now)
                } else {
                    Vec::new()
                },
            },
        },
        None => Forwarded {
            to_origin: Vec::new(),
            finish: Finish {
                headers: Vec::new(),
                cookies: session.clear.clone(),
            },
        },
    }
}

/// The CAPTCHA on `captcha.unverifiedActions` for a session whose email
/// the origin has not verified, when `captcha.unverifiedUsers` is on.
async fn unverified_gate(c: &Caller<'_>, claims: Option<&Claims>) -> Flow<()> {
    let captcha = &c.policy().captcha;
    if claims.is_some_and(|claims| claims.unv)
        && unverified_action(captcha, c.req.method(), c.req.route())
    {
        captcha_gate::check(c, CaptchaPage::UnverifiedAction, 0).await?;
    }
    Ok(())
}

/// The origin's answer header that marks the session's email verified.
const VERIFIED_HEADER: &[&str] = &["Portcullis-Login-Verified"];

/// The request goes to the origin as it came; the origin's status, and
/// what to add to its answer still. On a checked route the origin's
/// failure is the edge's answer: 502 `origin_error` for a 5xx, 503
/// `origin_unavailable` when it does not answer; elsewhere its 5xx passes
/// through. A session whose email is not verified listens for the origin's
/// `Portcullis-Login-Verified: true`, and is renewed without the mark.
async fn pass_through(
    c: &Caller<'_>,
    forwarded: Forwarded,
    checked: bool,
    claims: Option<&Claims>,
) -> Flow<(u16, Finish)> {
    let Some(claims) = claims.filter(|claims| claims.unv) else {
        // The hot path: the additions go with the forward, in one call.
        let forward = Forward::new(forwarded.to_origin, Body::Own, &[], Some(forwarded.finish));
        return Ok((send(c, forward, checked).await?.status, Finish::default()));
    };
    let to_origin = forwarded.to_origin.clone();
    let forward = Forward::new(to_origin, Body::Own, VERIFIED_HEADER, None);
    let upstream = send(c, forward, checked).await?;
    let said = upstream.headers.first().cloned().flatten();
    let finish = if email_verified(said.as_deref()) == Some(true) {
        let verified = Claims {
            unv: false,
            ..claims.clone()
        };
        forwarded.renewed(&c.snapshot.secrets, &verified, c.now())
    } else {
        forwarded.finish
    };
    Ok((upstream.status, finish))
}

/// Sends `forward`; on a checked route the origin's 5xx is the edge's 502.
async fn send(c: &Caller<'_>, forward: Forward, checked: bool) -> Flow<Upstream> {
    if !checked {
        return c.forward(forward).await;
    }
    match c.forward_checked(forward).await? {
        upstream if upstream.status >= 500 => refused(refusal::origin_failed(true)),
        upstream => Ok(upstream),
    }
}
