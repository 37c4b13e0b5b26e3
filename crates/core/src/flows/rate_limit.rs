//! Rate limits: every rule whose path and method match counts the request
//! in its bucket (one `RateLimiter` object per rule and key hash, exact
//! across isolates), in the policy's order, until a `deny` rule refuses
//! it: 429 `rate_limited` with `Retry-After`, audited with the rule and
//! the key's hash. A `captcha` rule over its limit lets the others count
//! first; then a form post with a solved CAPTCHA passes, anything else
//! gets the 429. Every answer to a counted request carries
//! `RateLimit-Policy` and `RateLimit`. Requests no rule matches pay
//! nothing; a bucket that does not answer fails closed (503).
//!
//! The key is read the way every origin reads it, or the request is
//! refused (400 `ambiguous_field`): a query parameter under the form
//! reader's rules (and from the body, which Rails and Laravel merge over
//! the query); a cookie once, under exactly its name; a header once,
//! under exactly its name (`X_Api_Key` reads as `X-Api-Key` in PHP and
//! CGI) and without a comma (the runtime merges duplicates with `, `,
//! and origins keep the first, the last or both). Values are compared as
//! the most lenient origin reads them (a cookie's quotes and escapes
//! removed, an `Authorization` scheme in any case, runs of spaces as
//! one, trimmed), so no spelling an origin reads as the same key starts a
//! bucket of its own. A request without the key counts in the rule's one
//! shared bucket.

use serde_json::json;

use super::caller::{Caller, Flow, failed, refused};
use super::captcha_gate;
use super::steps::{Answer, Call, Input, Step};
use crate::objects::{AuditEntry, AuditKind};
use crate::paths::percent_decode_component;
use crate::policy::{CaptchaPage, Mode};
use crate::ratelimit::{
    CompiledRule, Decision, KeySource, Limits, RateAction, RateAnswer, RateOp, bucket_name,
    key_hash, limit_item, policy_item, seconds_up,
};
use crate::refusal::{self, Refusal};

/// Counts the request under every matching rule; refuses it over a limit.
/// `user`: the verified session's user id.
pub(crate) async fn run(c: &Caller<'_>, user: Option<&str>) -> Flow<()> {
    let rules = &c.snapshot.routes.rate_limits;
    if rules.is_empty() {
        return Ok(());
    }
    let mut read = Read::default();
    let mut policies = Vec::new();
    let mut limits = Vec::new();
    // The first `captcha` rule over its limit: the request may still pass
    // it with a solved CAPTCHA, once every other rule has counted it.
    let mut captcha_over = None;
    for rule in rules.iter().filter(|r| c.req.under(&r.path)) {
        if !counts(c, rule, &mut read).await {
            continue;
        }
        let value = key_value(c, rule, user, &mut read).await?;
        let id = &rule.rule.id;
        let hash = key_hash(
            &c.snapshot.secrets.pepper,
            id,
            &rule.source,
            value.as_deref(),
        );
        let decision = take(c, bucket_name(id, &hash), rule.limits()).await?;
        policies.push(policy_item(&rule.rule));
        limits.push(limit_item(&rule.rule, &decision));
        if decision.allowed {
            continue;
        }
        if rule.rule.mode == Mode::Monitor {
            let retry_after = seconds_up(decision.next_ms).max(1);
            let refusal = refusal::rate_limited(&rule.rule.id, retry_after);
            c.enforce(Mode::Monitor, "rateLimits", refusal).await?;
            continue;
        }
        if rule.rule.action == RateAction::Captcha {
            captcha_over.get_or_insert((rule, decision, hash));
            continue;
        }
        set_headers(c, &policies, &limits);
        return refuse(c, rule, &decision, &hash).await;
    }
    set_headers(c, &policies, &limits);
    let Some((rule, decision, hash)) = captcha_over else {
        return Ok(());
    };
    if captcha_may_pass(c) {
        return captcha_gate::check(c, CaptchaPage::RateLimit, 0).await;
    }
    refuse(c, rule, &decision, &hash).await
}

/// Counts one request in the `RateLimiter` named `bucket` under `limits`;
/// its decision. A bucket that cannot be asked fails closed (503).
pub(crate) async fn take(c: &Caller<'_>, bucket: String, limits: Limits) -> Flow<Decision> {
    let call = Call::Rate {
        bucket,
        op: RateOp::Take { limits },
    };
    match c.io.perform(Step::Ask(call)).await {
        Input::Answer(Answer::Rate(RateAnswer::Taken(decision))) => Ok(decision),
        _ => refused(refusal::state_unavailable()),
    }
}

fn set_headers(c: &Caller<'_>, policies: &[String], limits: &[String]) {
    if !policies.is_empty() {
        c.headers.borrow_mut().extend([
            ("RateLimit-Policy", policies.join(", ")),
            ("RateLimit", limits.join(", ")),
        ]);
    }
}

/// What the rules read of the request, once for all of them.
#[derive(Default)]
struct Read {
    /// Every header (a rule keyed by one).
    headers: Option<Vec<(String, String)>>,
    /// The method a POST asks for with a `_method` field (Rails, Laravel,
    /// Symfony): `Some(None)` once looked for and absent.
    overridden: Option<Option<String>>,
}

/// Whether `rule` counts the request's method: its own, or the one a
/// POST names in `_method` (the override headers never reach the origin).
async fn counts(c: &Caller<'_>, rule: &CompiledRule, read: &mut Read) -> bool {
    let method = c.req.method();
    if rule.counts_method(method) {
        return true;
    }
    if !method.eq_ignore_ascii_case("POST") {
        return false;
    }
    if read.overridden.is_none() {
        let field = if c.req.has_body() && c.req.is_form() {
            c.lenient_field("_method").await
        } else {
            None
        };
        read.overridden = Some(field.or_else(|| c.req.query_param("_method")));
    }
    read.overridden
        .clone()
        .flatten()
        .is_some_and(|m| rule.counts_method(m.trim()))
}

/// Whether a request over a `captcha` rule may pass with a solved
/// CAPTCHA: a form post (a JSON or GET request cannot carry the widget's
/// token), while a CAPTCHA is configured and enforced.
fn captcha_may_pass(c: &Caller<'_>) -> bool {
    let policy = c.policy();
    // A monitored CAPTCHA passes everything: it cannot excuse a limit.
    policy.captcha.mode == Mode::Enforce
        && c.req.submits()
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

/// The rule's key in this request: `None` when it carries none (or an
/// empty one: Laravel reads an empty field as null). Values are trimmed
/// (Laravel's TrimStrings).
async fn key_value(
    c: &Caller<'_>,
    rule: &CompiledRule,
    user: Option<&str>,
    read: &mut Read,
) -> Flow<Option<String>> {
    let value = match &rule.source {
        KeySource::Ip => return Ok(Some(c.key.clone())),
        KeySource::User => return Ok(user.map(str::to_owned)),
        KeySource::Query(name) => query_key(c, name).await?,
        KeySource::Cookie(name) => match cookie_key(c.req.cookies(), name) {
            Ok(value) => value,
            Err(refusal) => return Err(c.refuse(refusal).await),
        },
        KeySource::Header(name) => {
            if read.headers.is_none() {
                read.headers = Some(match c.io.perform(Step::Headers).await {
                    Input::Headers(all) => all,
                    other => return Err(failed(other)),
                });
            }
            match header_key(read.headers.as_deref().unwrap_or_default(), name) {
                Ok(value) => value,
                Err(refusal) => return Err(c.refuse(refusal).await),
            }
        }
    };
    Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

/// A query key: also read from a form or JSON body of at most 256 KB,
/// which Rails' `params` and Laravel's `input()` merge over the query
/// (the form reader's rules: one value in both, or refused).
async fn query_key(c: &Caller<'_>, name: &str) -> Flow<Option<String>> {
    // A body the form reader does not take (too large, another type) is
    // not read: the key is the query's.
    if c.req.has_body() && crate::request::form_readable(c.req).is_ok() {
        return Ok(c.fields(&[name]).await?.pop().flatten());
    }
    match crate::form::checked_query_value(c.req, name) {
        Ok(value) => Ok(value),
        Err(refusal) => Err(c.refuse(refusal).await),
    }
}

/// A cookie's value as the most lenient origin reads it, once under
/// exactly `name`; a second copy, a name PHP decodes or folds into it
/// (`%73id`; `a.b`, `a b` for `a_b`; case), or a quoted value with a
/// backslash (Python unescapes `"\\141"` to `a`) is ambiguous.
pub(crate) fn cookie_key(header: Option<&str>, name: &str) -> Result<Option<String>, Refusal> {
    let folded = crate::form::fold(name);
    let mut found = None;
    for pair in header.unwrap_or_default().split(';') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = k.trim();
        if k != name {
            if crate::form::fold(&percent_decode_component(k)) == folded {
                return Err(refusal::ambiguous_field());
            }
            continue;
        }
        if found.is_some() {
            return Err(refusal::duplicate_field());
        }
        let v = v.trim();
        let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) if quoted.contains('\\') => return Err(refusal::ambiguous_field()),
            Some(quoted) => quoted,
            None => v,
        };
        found = Some(percent_decode_component(v));
    }
    Ok(found)
}

/// A header's value, once under exactly `name` (lower case); a name that
/// reads as it with `_` for `-`, or a value with a comma (merged
/// duplicates), is ambiguous. Runs of spaces and tabs read as one space,
/// and an `Authorization` scheme in any case as lower case (RFC 9110:
/// `Bearer  x`, `bearer x` and `BEARER x` are one credential).
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
        let words: Vec<&str> = v.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
        let mut value = words.join(" ");
        if matches!(wanted.as_str(), "authorization" | "proxy-authorization")
            && let Some((scheme, rest)) = value.split_once(' ')
        {
            value = format!("{} {rest}", scheme.to_ascii_lowercase());
        }
        found = Some(value);
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
        assert_eq!(
            cookie_key(Some("k=\"a\\bc\""), "k").unwrap_err().code,
            "ambiguous_field"
        );
        for folded in ["api.key=2", "api key=2", "API_KEY=2", "%61pi_key=2"] {
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
        for spelling in ["Bearer abc", "bearer abc", "BEARER  abc", "Bearer\tabc"] {
            assert_eq!(
                header_key(&h(&[("authorization", spelling)]), "authorization"),
                Ok(Some("bearer abc".into())),
                "{spelling}"
            );
        }
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
