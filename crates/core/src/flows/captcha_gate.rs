//! The CAPTCHA on a page: verified with the provider before the origin
//! sees the form. An unreachable or slow provider fails closed (503,
//! nothing counted against the user) unless the policy says fail open; an
//! unsolved one is refused as a warning.

use serde_json::json;

use super::caller::{Caller, Flow, failed};
use super::steps::{Answer, Call, CaptchaCheck, Input, Step, timeout_ms};
use crate::captcha::{Decision, decide, required_for, token_field, verify_request};
use crate::challenge::{signing_key, spend_bucket, verify};
use crate::objects::{AuditEntry, AuditKind};
use crate::policy::{CaptchaPage, CaptchaProvider};
use crate::ratelimit::{RateAnswer, RateOp};
use crate::refusal;

/// Passes, or answers with the refusal, for the CAPTCHA of `page`
/// (`failed_logins`: the account's failures, for "after N failed logins").
pub(crate) async fn check(c: &Caller<'_>, page: CaptchaPage, failed_logins: u32) -> Flow<()> {
    let policy = c.policy();
    let settings = &policy.captcha;
    let secret = c.snapshot.secrets.captcha.as_deref();
    // A token is verified once: a second page's check on the same request
    // (a rate limit's, then the login's) takes the first one's pass.
    if !required_for(policy, secret.is_some(), page, failed_logins) || c.captcha_passed.get() {
        return Ok(());
    }
    let field = token_field(settings.provider).unwrap_or_default();
    let token = c
        .fields(&[field])
        .await?
        .into_iter()
        .next()
        .flatten()
        .unwrap_or_default();
    let (decision, result) = if settings.provider == CaptchaProvider::Builtin {
        builtin(c, &token).await?
    } else {
        match provider(c, &token).await? {
            Some(outcome) => outcome,
            None => return Ok(()),
        }
    };
    if settings.log_results {
        let detail = json!({ "page": page, "result": result });
        c.audit(AuditEntry::new(
            AuditKind::Captcha,
            c.ip_text.clone(),
            detail,
        ))
        .await;
    }
    match decision {
        Decision::Pass => {
            c.captcha_passed.set(true);
            Ok(())
        }
        Decision::Unavailable => {
            c.enforce(settings.mode, "captcha", refusal::captcha_unavailable())
                .await
        }
        Decision::Refuse(reason) => {
            c.enforce(settings.mode, "captcha", refusal::captcha_failed(reason))
                .await
        }
    }
}

/// The built-in challenge's decision: the solution checked by core, then
/// its nonce spent once in its shard (a replay is refused). A shard that
/// cannot be asked fails closed even under `failOpen`: passing then would
/// let one solution be replayed without limit.
async fn builtin(c: &Caller<'_>, solution: &str) -> Flow<(Decision, &'static str)> {
    let settings = &c.policy().captcha;
    let key = signing_key(&c.snapshot.secrets.pepper);
    let min = settings.builtin.difficulty;
    let solved = match verify(&key, solution, c.req.route_key(), &c.key, min, c.now()) {
        Ok(solved) => solved,
        Err(reason) => return Ok((Decision::Refuse(reason), reason)),
    };
    let call = Call::Rate {
        bucket: spend_bucket(&solved.nonce),
        op: RateOp::Spend {
            until_ms: solved.expires.saturating_mul(1000),
            id: solved.nonce,
        },
    };
    Ok(match c.io.perform(Step::Ask(call)).await {
        Input::Answer(Answer::Rate(RateAnswer::Spent { first: true })) => (Decision::Pass, "pass"),
        Input::Answer(Answer::Rate(RateAnswer::Spent { first: false })) => {
            (Decision::Refuse("replayed"), "replayed")
        }
        _ => (Decision::Unavailable, "unavailable"),
    })
}

/// A provider's decision on `token` (its siteverify endpoint asked);
/// `None` when the provider has no endpoint.
async fn provider(c: &Caller<'_>, token: &str) -> Flow<Option<(Decision, &'static str)>> {
    let settings = &c.policy().captcha;
    let secret = c.snapshot.secrets.captcha.as_deref();
    let Some((url, body)) = verify_request(settings, secret.unwrap_or_default(), token, &c.ip_text)
    else {
        return Ok(None);
    };
    let (status, answer) = if token.is_empty() {
        (200, r#"{"success":false}"#.to_owned())
    } else {
        let check = CaptchaCheck {
            url,
            body,
            timeout_ms: timeout_ms(settings.verify_timeout_seconds),
        };
        match c.io.perform(Step::VerifyCaptcha(check)).await {
            Input::Captcha { status, body } => (status, body),
            other => return Err(failed(other)),
        }
    };
    Ok(Some(decide(settings, status, &answer)))
}
