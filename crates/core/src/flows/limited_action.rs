//! Probation: the search-page cap for visitors and accounts on probation,
//! and the limited actions of accounts on probation: each use is counted
//! in the user's record (429 over the 24-hour limit), a CAPTCHA when the
//! policy asks, links in the submitted form turned into plain text, and a
//! use the origin accepts counted toward leaving probation (one it refused,
//! or that never reached it, given back).

use super::caller::{Caller, Flow, failed, refused};
use super::captcha_gate;
use super::identity::Forwarded;
use super::steps::{Body, Failure, Finish, Forward, Input, Step};
use crate::objects::{UserAnswer, UserOp};
use crate::policy::CaptchaPage;
use crate::probation::{
    REPLY_ACTION, matching_action, search_capped_for, search_page_refused, strip_links,
    strip_links_in_json,
};
use crate::refusal;
use crate::request::MAX_FORM_BYTES;
use crate::roles::Role;
use crate::tokens::Claims;

/// Probation for this request: `None` when it does not apply (the request
/// goes on as usual), a refusal, or the origin's status when a limited
/// action reached it (its answer is the reply, with the [`Finish`] still to
/// add to it).
pub(crate) async fn run(
    c: &Caller<'_>,
    claims: Option<&Claims>,
    forwarded: &Forwarded,
) -> Flow<Option<(u16, Finish)>> {
    let probation = &c.policy().probation;
    if !probation.enabled {
        return Ok(None);
    }
    let role = claims.map_or(Role::EndUser, |c| Role::from_session_roles(&c.roles));
    let capped = search_capped_for(role, claims.map(|c| c.prb));
    if search_page_refused(probation, c.req.route(), c.req.query(), capped) {
        let refusal = refusal::search_page_capped(probation.max_search_pages);
        c.enforce(probation.mode, "probation", refusal).await?;
    }
    let Some(action) = matching_action(probation, c.req.method(), c.req.route()) else {
        return Ok(None);
    };
    // Actions by visitors without a session are the origin's to refuse.
    let Some(session) = claims.filter(|_| role == Role::EndUser) else {
        return Ok(None);
    };
    let op = UserOp::UseAction {
        policy: Box::new(c.policy().clone()),
        roles: session.roles.clone(),
        action: action.clone(),
    };
    let on_probation = match c.user(&session.sub, op).await? {
        UserAnswer::ActionCounted { probation } => probation,
        UserAnswer::ActionLimited { retry_after } => {
            let limit = action.limit_per_day;
            let refusal = refusal::probation_limit(&action.name, limit, retry_after);
            // Monitor mode: the use goes on as any request, uncounted,
            // still behind the enforced CAPTCHA of a use on probation.
            c.enforce(probation.mode, "probation", refusal).await?;
            captcha_gate::check(c, CaptchaPage::ProbationAction, 0).await?;
            return Ok(None);
        }
        _ => return refused(refusal::internal()),
    };
    // A reply may end `reply-count`: its session is renewed after the
    // origin's answer, with the count the record now holds.
    let counts_reply = on_probation && session.prb && action.name == REPLY_ACTION;
    let settle_use = |accepted: bool| settle(c, &session.sub, &action.name, accepted);
    let body = match prepare(c, on_probation).await {
        Ok(body) => body,
        Err(reply) => {
            settle_use(false).await;
            return Err(reply);
        }
    };
    let finish = (!counts_reply).then(|| forwarded.finish.clone());
    let forward = Forward::new(forwarded.to_origin.clone(), body, &[], finish);
    match c.forward(forward).await {
        Ok(upstream) => {
            // A reply the origin accepted counts toward leaving probation;
            // a use it refused is given back.
            let replies = settle_use(upstream.status < 400).await;
            let finish = match replies {
                _ if !counts_reply => Finish::default(),
                Some(replies) if replies != session.rpl => {
                    let claims = Claims {
                        rpl: replies,
                        ..session.clone()
                    };
                    forwarded.renewed(&c.snapshot.secrets, &claims, c.now())
                }
                _ => forwarded.finish.clone(),
            };
            Ok(Some((upstream.status, finish)))
        }
        Err(reply) => {
            settle_use(false).await;
            Err(reply)
        }
    }
}

/// The CAPTCHA and the rewritten body of a use on probation.
async fn prepare(c: &Caller<'_>, on_probation: bool) -> Flow<Body> {
    if !on_probation {
        return Ok(Body::Own);
    }
    captcha_gate::check(c, CaptchaPage::ProbationAction, 0).await?;
    let probation = &c.policy().probation;
    if probation.strip_links && probation.mode == crate::policy::Mode::Enforce {
        rewritten(c).await
    } else {
        Ok(Body::Own)
    }
}

/// Tells the user's record how a counted use ended, and gives the replies
/// it now holds. A failure is logged by the shell, never turned into an
/// error: the origin may already have answered.
async fn settle(c: &Caller<'_>, user: &str, action: &str, accepted: bool) -> Option<u32> {
    let op = UserOp::SettleAction {
        action: action.to_owned(),
        accepted,
    };
    match c.user(user, op).await {
        Ok(UserAnswer::Settled { replies }) => Some(replies),
        _ => None,
    }
}

/// The request's form with every text value passed through core's
/// `strip_links`: urlencoded, multipart (files untouched; up to the upload
/// size limit) or a JSON document; other media types are refused.
async fn rewritten(c: &Caller<'_>) -> Flow<Body> {
    let media = c.req.media_type();
    let json = media == "application/json";
    let multipart = media == "multipart/form-data";
    if !json && !multipart && media != "application/x-www-form-urlencoded" {
        return refused(refusal::unsupported_body(
            "Posts from new accounts are accepted urlencoded, multipart or as JSON.",
        ));
    }
    let limit = if multipart {
        MAX_FORM_BYTES.max(c.policy().uploads.max_bytes.saturating_add(64 * 1024))
    } else {
        MAX_FORM_BYTES
    };
    if c.req.content_length().is_none_or(|n| n > limit) {
        return refused(refusal::body_too_large(
            "A post from a new account is too large, or has no Content-Length.",
        ));
    }
    if multipart {
        return match c.io.perform(Step::StripMultipart).await {
            Input::Done => Ok(Body::Stripped),
            Input::Failed(Failure::Unreadable) => Err(c.refuse(refusal::malformed_form()).await),
            other => Err(failed(other)),
        };
    }
    let body = c.body().await?;
    let Ok(text) = std::str::from_utf8(&body) else {
        return Err(c.refuse(refusal::malformed_form()).await);
    };
    if !json {
        let pairs = form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k, strip_links(&v)));
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        return Ok(Body::Text(body));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut value) => {
            strip_links_in_json(&mut value);
            Ok(Body::Text(value.to_string()))
        }
        Err(_) => Err(c.refuse(refusal::malformed_form()).await),
    }
}
