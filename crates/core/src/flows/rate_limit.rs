//! Rate limits: every rule whose path and method match counts the request
//! in its bucket (one `RateLimiter` object per rule and key hash, exact
//! across isolates), in the policy's order, until one refuses. A refusal
//! is 429 `rate_limited` with `Retry-After`, audited with the rule and
//! the key's hash; a rule whose action is `captcha` lets a form post with
//! a solved CAPTCHA through instead. Every answer to a counted request
//! carries `RateLimit-Policy` and `RateLimit`. Requests no rule matches
//! pay nothing.
//!
//! The key is read the way every origin reads it, or the request is
//! refused (400 `ambiguous_field`): a query parameter under the form
//! reader's rules; a cookie once, under exactly its name; a header once,
//! under exactly its name (`X_Api_Key` reads as `X-Api-Key` in PHP and
//! CGI) and without a comma (the runtime merges duplicates with `, `,
//! and origins keep the first, the last or both). Values are compared as
//! the most lenient origin reads them (a cookie's quotes and escapes
//! removed), so no spelling an origin reads as the same key starts a
//! bucket of its own. A request without the key counts in the rule's one
//! shared bucket.

use serde_json::json;

use super::caller::{Caller, Flow, failed, refused};
use super::captcha_gate;
use super::steps::{Answer, Call, Input, Step};
use crate::objects::{AuditEntry, AuditKind};
use crate::paths::percent_decode_component;
use crate::policy::CaptchaPage;
use crate::ratelimit::{
    CompiledRule, Decision, KeySource, RateAction, RateAnswer, RateOp, bucket_name, key_hash,
    limit_item, policy_item, seconds_up,
};
use crate::refusal::{self, Refusal};

/// Counts the request under every matching rule; refuses it over a limit.
/// `user`: the verified session's user id.
pub(crate) async fn run(c: &Caller<'_>, user: Option<&str>) -> Flow<()> {
    let rules = &c.snapshot.routes.rate_limits;
    if rules.is_empty() {
        return Ok(());
    }
    let method = c.req.method();
    let mut headers: Option<Vec<(String, String)>> = None;
    let mut policies = Vec::new();
    let mut limits = Vec::new();
    let mut over = None;
    for rule in rules
        .iter()
        .filter(|r| r.counts_method(method) && c.req.under(&r.path))
    {
        let value = match &rule.source {
            KeySource::Header(_) if headers.is_none() => {
                headers = Some(match c.io.perform(Step::Headers).await {
                    Input::Headers(all) => all,
                    other => return Err(failed(other)),
                });
                key_value(c, rule, user, headers.as_deref())
            }
            _ => key_value(c, rule, user, headers.as_deref()),
        };
        let value = match value {
            Ok(value) => value,
            Err(refusal) => return Err(c.refuse(refusal).await),
        };
        let id = &rule.rule.id;
        let hash = key_hash(
            &c.snapshot.secrets.pepper,
            id,
            &rule.source,
            value.as_deref(),
        );
        let call = Call::Rate {
            bucket: bucket_name(id, &hash),
            op: RateOp::Take {
                limits: rule.limits(),
            },
        };
        let decision = match c.io.perform(Step::Ask(call)).await {
            Input::Answer(Answer::Rate(RateAnswer::Taken(decision))) => decision,
            other => return Err(failed(other)),
        };
        policies.push(policy_item(&rule.rule));
        limits.push(limit_item(&rule.rule, &decision));
        if !decision.allowed {
            over = Some((rule, decision, hash));
            break;
        }
    }
    if policies.is_empty() {
        return Ok(());
    }
    c.headers.borrow_mut().extend([
        ("RateLimit-Policy", policies.join(", ")),
        ("RateLimit", limits.join(", ")),
    ]);
    let Some((rule, decision, hash)) = over else {
        return Ok(());
    };
    if rule.rule.action == RateAction::Captcha && captcha_may_pass(c) {
        return captcha_gate::check(c, CaptchaPage::RateLimit, 0).await;
    }
    refuse(c, rule, &decision, &hash).await
}

/// Whether a request over a `captcha` rule may pass with a solved
/// CAPTCHA: a form post (a JSON or GET request cannot carry the widget's
/// token), while a CAPTCHA is configured.
fn captcha_may_pass(c: &Caller<'_>) -> bool {
    let policy = c.policy();
    c.req.submits()
        && c.req.is_form()
        && crate::captcha::required_for(
            policy,
            c.snapshot.secrets.captcha.is_some(),
            CaptchaPage::RateLimit,
            0,
        )
}

async fn refuse(c: &Caller<'_>, rule: &CompiledRule, decision: &Decision, hash: &str) -> Flow<()> {
    let retry_after = seconds_up(decision.next_ms).max(1);
    let detail = json!({
        "rule": rule.rule.id,
        "key": hash,
        "algorithm": rule.rule.algorithm.as_str(),
        "retryAfter": retry_after,
    });
    c.audit(AuditEntry::new(
        AuditKind::RateLimited,
        c.ip_text.clone(),
        detail,
    ))
    .await;
    refused(refusal::rate_limited(&rule.rule.id, retry_after))
}

/// The rule's key in this request: `None` when it carries none.
fn key_value(
    c: &Caller<'_>,
    rule: &CompiledRule,
    user: Option<&str>,
    headers: Option<&[(String, String)]>,
) -> Result<Option<String>, Refusal> {
    match &rule.source {
        KeySource::Ip => Ok(Some(c.key.clone())),
        KeySource::User => Ok(user.map(str::to_owned)),
        KeySource::Query(name) => crate::form::checked_query_value(c.req, name),
        KeySource::Cookie(name) => cookie_key(c.req.cookies(), name),
        KeySource::Header(name) => header_key(headers.unwrap_or_default(), name),
    }
}

/// A cookie's value as the most lenient origin reads it, once under
/// exactly `name`; a second copy, or a name PHP folds into it (`a.b`,
/// `a b` for `a_b`; case), is ambiguous.
pub(crate) fn cookie_key(header: Option<&str>, name: &str) -> Result<Option<String>, Refusal> {
    let folded = crate::form::fold(name);
    let mut found = None;
    for pair in header.unwrap_or_default().split(';') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = k.trim();
        if k != name {
            if crate::form::fold(k) == folded {
                return Err(refusal::ambiguous_field());
            }
            continue;
        }
        if found.is_some() {
            return Err(refusal::duplicate_field());
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        found = Some(percent_decode_component(v));
    }
    Ok(found)
}

/// A header's value, once under exactly `name` (lower case); a name that
/// reads as it with `_` for `-`, or a value with a comma (merged
/// duplicates), is ambiguous.
pub(crate) fn header_key(
    headers: &[(String, String)],
    name: &str,
) -> Result<Option<String>, Refusal> {
    let dashed = |n: &str| n.replace('_', "-").to_ascii_lowercase();
    let wanted = dashed(name);
    let mut found = None;
    for (k, v) in headers {
        if dashed(k) != wanted {
            continue;
        }
        if !k.eq_ignore_ascii_case(name) || v.contains(',') || found.is_some() {
            return Err(refusal::ambiguous_field());
        }
        found = Some(v.trim().to_owned());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_read_once_under_their_name() {
        assert_eq!(
            cookie_key(Some("a=1; k=v%41; b=2"), "k"),
            Ok(Some("vA".into()))
        );
        assert_eq!(cookie_key(Some("k=\"v\""), "k"), Ok(Some("v".into())));
        assert_eq!(cookie_key(Some("a=1"), "k"), Ok(None));
        assert_eq!(cookie_key(None, "k"), Ok(None));
        assert_eq!(
            cookie_key(Some("k=1; k=2"), "k").unwrap_err().code,
            "duplicate_field"
        );
        for folded in ["api.key=2", "api key=2", "API_KEY=2"] {
            let header = format!("api_key=1; {folded}");
            assert_eq!(
                cookie_key(Some(&header), "api_key").unwrap_err().code,
                "ambiguous_field",
                "{folded}"
            );
        }
    }

    #[test]
    fn headers_read_once_under_their_name() {
        let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert_eq!(
            header_key(&h(&[("x-api-key", "abc")]), "x-api-key"),
            Ok(Some("abc".into()))
        );
        assert_eq!(header_key(&h(&[("x-other", "abc")]), "x-api-key"), Ok(None));
        for bad in [
            h(&[("x-api-key", "abc, def")]),
            h(&[("x-api-key", "abc"), ("x_api_key", "def")]),
            h(&[("x_api_key", "def")]),
        ] {
            assert_eq!(
                header_key(&bad, "x-api-key").unwrap_err().code,
                "ambiguous_field"
            );
        }
    }
}
