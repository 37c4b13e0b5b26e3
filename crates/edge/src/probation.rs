//! Probation at the edge (core's `probation` decides): the search-page cap
//! for anonymous visitors and accounts on probation, and the limited
//! actions: the user's `UserState` counts each use (429 with `Retry-After`
//! over the 24-hour limit), a CAPTCHA when the policy asks, links in the
//! submitted form turned into plain text, and a reply the origin accepts
//! counted toward leaving probation.

use portcullis_core::CaptchaPage;
use portcullis_core::bans::WarningKind;
use portcullis_core::probation::{
    matching_action, search_capped_for, search_page_refused, strip_links, strip_links_in_json,
};
use portcullis_core::tokens::Claims;
use portcullis_core::uploads::{Role, media_type};
use serde_json::{Value, json};
use wasm_bindgen::JsValue;
use worker::{Request, Response, Result};

use crate::auth::Caller;
use crate::gateway::{captcha_gate, header};
use crate::proxy::{forward, forward_with_body, secure, stripped_multipart};
use crate::{reply, user};

/// Largest form whose links the edge rewrites.
const MAX_REWRITE_BYTES: u64 = 256 * 1024;

/// The headers a forwarded request carries: to the origin, extra response
/// headers, and cookies.
pub(crate) struct Forwarding<'a> {
    pub(crate) to_origin: &'a [String],
    pub(crate) extra: &'a [String],
    pub(crate) cookies: &'a [String],
}

fn refused(c: &Caller<'_>, response: Result<Response>) -> Result<Option<web_sys::Response>> {
    Ok(Some(secure(response?, c.snapshot)?.into()))
}

/// Probation for this request; `None` when it does not apply (the request
/// goes on as usual), else the answer (a refusal, or the origin's answer to
/// a limited action).
pub(crate) async fn guard(
    c: &Caller<'_>,
    claims: Option<&Claims>,
    route: &str,
    path_and_query: &str,
    headers: Forwarding<'_>,
) -> Result<Option<web_sys::Response>> {
    let policy = &c.snapshot.policy;
    let probation = &policy.probation;
    if !probation.enabled {
        return Ok(None);
    }
    let role = claims.map_or(Role::EndUser, |c| Role::from_session_roles(&c.roles));
    let method = c.req.method();
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    let capped = search_capped_for(role, claims.map(|c| c.prb));
    if search_page_refused(probation, route, query, capped) {
        return refused(
            c,
            reply::json(
                429,
                &json!({
                    "error": "search_page_capped",
                    "message": format!("Search results are limited to {} pages.", probation.max_search_pages),
                    "maxPages": probation.max_search_pages,
                }),
            ),
        );
    }
    let Some(action) = matching_action(probation, &method, route) else {
        return Ok(None);
    };
    // Actions by visitors without a session are the origin's to refuse.
    let Some(session) = claims.filter(|_| role == Role::EndUser) else {
        return Ok(None);
    };
    let call = user::Call {
        policy: Some(policy.clone()),
        roles: session.roles.clone(),
        action: Some(action.name.clone()),
        ..user::Call::default()
    };
    let answer = user::call(c.env, &session.sub, "action", &call).await?;
    if let Some(retry) = answer.retry_after {
        let mut response = reply::json(
            429,
            &json!({
                "error": "probation_limit",
                "message": format!(
                    "New accounts may do this {} times a day; try again later.",
                    action.limit_per_day
                ),
                "action": action.name,
                "retryAfter": retry,
            }),
        )?;
        response
            .headers_mut()
            .set("Retry-After", &retry.to_string())?;
        return refused(c, Ok(response));
    }
    let on_probation = answer.probation;
    if on_probation
        && let Some(refusal) = captcha_gate(
            c.req,
            c.env,
            c.snapshot,
            c.key,
            c.ip,
            CaptchaPage::ProbationAction,
            0,
        )
        .await?
    {
        settle(c, &session.sub, &action.name, "action-failed").await;
        return refused(c, Ok(refusal));
    }
    let response = if on_probation && probation.strip_links {
        let body = match rewritten_body(c.req, policy.uploads.max_bytes).await? {
            Ok(body) => body,
            Err(refusal) => {
                settle(c, &session.sub, &action.name, "action-failed").await;
                return Ok(Some(refusal_response(c, refusal).await?));
            }
        };
        forward_with_body(
            c.req,
            c.env,
            c.snapshot,
            path_and_query,
            (headers.to_origin, headers.extra, headers.cookies),
            &body,
        )
        .await?
    } else {
        forward(
            c.req,
            c.env,
            c.snapshot,
            headers.to_origin,
            headers.extra,
            headers.cookies,
        )
        .await?
    };
    // A reply the origin accepted counts toward leaving probation; a use it
    // refused is given back.
    let op = if response.status() < 400 {
        "action-done"
    } else {
        "action-failed"
    };
    settle(c, &session.sub, &action.name, op).await;
    Ok(Some(response))
}

/// Tells the user's record how a counted use ended: `action-done` (the
/// origin accepted it) or `action-failed` (given back). A failure is logged,
/// never turned into an error: the origin may already have answered.
async fn settle(c: &Caller<'_>, user_id: &str, action: &str, op: &str) {
    let call = user::Call {
        action: Some(action.to_owned()),
        ..user::Call::default()
    };
    if let Err(e) = user::call(c.env, user_id, op, &call).await {
        worker::console_error!("portcullis: settling a probation use failed: {e}");
    }
}

/// Why a form could not be rewritten.
struct Unreadable {
    status: u16,
    code: &'static str,
    message: &'static str,
}

async fn refusal_response(c: &Caller<'_>, refusal: Unreadable) -> Result<web_sys::Response> {
    if refusal.code == "malformed_body" {
        crate::gateway::warn(
            c.env,
            &c.snapshot.policy,
            c.key,
            c.ip,
            WarningKind::MalformedBody,
        )
        .await;
    }
    Ok(secure(
        reply::error(refusal.status, refusal.code, refusal.message)?,
        c.snapshot,
    )?
    .into())
}

/// The request's form with every text value passed through core's
/// `strip_links`: urlencoded, multipart (files untouched; up to the upload
/// size limit) or a JSON document.
async fn rewritten_body(
    req: &web_sys::Request,
    max_upload: u64,
) -> Result<std::result::Result<JsValue, Unreadable>> {
    let content_type = media_type(&header(req, "Content-Type").unwrap_or_default());
    let json = content_type == "application/json";
    let multipart = content_type == "multipart/form-data";
    if !json && !multipart && content_type != "application/x-www-form-urlencoded" {
        return Ok(Err(Unreadable {
            status: 415,
            code: "unsupported_body",
            message: "Posts from new accounts are accepted urlencoded, multipart or as JSON.",
        }));
    }
    let limit = if multipart {
        MAX_REWRITE_BYTES.max(max_upload.saturating_add(64 * 1024))
    } else {
        MAX_REWRITE_BYTES
    };
    let length = header(req, "Content-Length").and_then(|v| v.trim().parse::<u64>().ok());
    if length.is_none_or(|n| n > limit) {
        return Ok(Err(Unreadable {
            status: 413,
            code: "body_too_large",
            message: "A post from a new account is too large, or has no Content-Length.",
        }));
    }
    let malformed = Unreadable {
        status: 400,
        code: "malformed_body",
        message: "The form could not be read.",
    };
    if multipart {
        return Ok(stripped_multipart(req, strip_links).await?.ok_or(malformed));
    }
    let text = Request::from(req.clone()?).text().await?;
    if !json {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), strip_links(&v)))
            .collect();
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        return Ok(Ok(JsValue::from_str(&body)));
    }
    let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
        return Ok(Err(malformed));
    };
    strip_links_in_json(&mut value);
    Ok(Ok(JsValue::from_str(&value.to_string())))
}
