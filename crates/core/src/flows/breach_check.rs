//! The breached-password check of a new password (signup, change, reset),
//! after the policy's own rules: only the first five hex digits of its
//! SHA-1 leave the edge. Found at least `minCount` times: 422 with rule id
//! `breached`; the range API down or slow: 503 `breach_check_unavailable`
//! unless `failOpen`.

use super::caller::{Caller, Flow, failed};
use super::steps::{Input, Step, timeout_ms};
use crate::breach::{Outcome, judge, range_url, split_hash};
use crate::refusal;

/// Passes, or answers with the refusal (in monitor mode, an audit entry).
pub(crate) async fn check(c: &Caller<'_>, password: &str) -> Flow<()> {
    let policy = &c.policy().passwords;
    if !policy.breached.enabled {
        return Ok(());
    }
    let (prefix, suffix) = split_hash(password);
    let step = Step::BreachRange {
        url: range_url(&policy.breached, &prefix),
        timeout_ms: timeout_ms(policy.breached.timeout_seconds),
    };
    let range = match c.io.perform(step).await {
        Input::Range(range) => range,
        other => return Err(failed(other)),
    };
    let refusal = match judge(&policy.breached, &suffix, range.as_deref()) {
        Outcome::Pass => return Ok(()),
        Outcome::Breached(count) => refusal::password_breached(c.req.locale(), count),
        Outcome::Unavailable => refusal::breach_check_unavailable(),
    };
    c.enforce(policy.mode, "passwords", refusal).await
}
