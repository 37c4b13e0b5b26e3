//! `GET /__portcullis/challenge?route=/signup`: a built-in CAPTCHA
//! challenge for the form that posts to `route`, bound to it and to the
//! client, at the client's difficulty (raised after recent warnings).

use serde_json::json;

use super::caller::{Caller, Flow, refused};
use super::steps::{Answer, Call, Input, Reply, Step};
use crate::challenge::{FIELD, difficulty_for, issue, signing_key};
use crate::objects::{GuardAnswer, GuardOp};
use crate::paths::{canonical_path, route_key};
use crate::policy::CaptchaProvider;
use crate::refusal;

/// Longest `route` accepted.
const MAX_ROUTE_LEN: usize = 2048;

/// The challenge, or a refusal: 404 unless the built-in CAPTCHA is on.
pub(crate) async fn run(c: &Caller<'_>) -> Flow<Reply> {
    if !matches!(c.req.method(), "GET" | "HEAD") {
        return refused(refusal::method_not_allowed("GET, HEAD"));
    }
    let settings = &c.policy().captcha;
    if !settings.enabled || settings.provider != CaptchaProvider::Builtin {
        return refused(refusal::not_found());
    }
    let route = c.req.query_param("route").unwrap_or_default();
    if !route.starts_with('/') || route.len() > MAX_ROUTE_LEN {
        return refused(refusal::invalid_challenge_route());
    }
    let builtin = &settings.builtin;
    let warnings = if builtin.raise_after_warnings == 0 {
        Some(0)
    } else {
        let op = GuardOp::Count {
            window_seconds: c.policy().bans.window_seconds,
        };
        let call = Call::Guard {
            key: c.key.clone(),
            op,
        };
        match c.io.perform(Step::Ask(call)).await {
            Input::Answer(Answer::Guard(GuardAnswer::Counted { in_window })) => Some(in_window),
            // Not counted: the raised difficulty (fail closed, and harder).
            _ => None,
        }
    };
    let bits = difficulty_for(builtin, warnings);
    let expires = c.now().saturating_add(builtin.expiry_seconds);
    let key = route_key(&canonical_path(&route));
    let nonce = c.ctx.derive(b"portcullis-challenge-nonce");
    let secret = signing_key(&c.snapshot.secrets.pepper);
    let challenge = issue(&secret, &key, &c.key, bits, expires, &nonce);
    Ok(Reply::Json {
        status: 200,
        body: json!({
            "challenge": challenge,
            "algorithm": "SHA-256",
            "difficulty": bits,
            "expires": expires,
            "field": FIELD,
        }),
    })
}
