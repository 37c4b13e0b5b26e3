//! Manual bans: list, add (a duration or permanent, all requests or
//! writes only), lift.

use portcullis_core::ManualBanScope;
use portcullis_core::objects::{AuditKind, GuardOp, Stored};
use portcullis_core::refusal;
use portcullis_core::{BanEntry, PERMANENT};
use portcullis_core::{MAX_SECONDS, ban_target, canonical_target};
use serde_json::{Value, json};
use worker::{Response, Result};

use super::context::Admin;
use crate::http::reply;
use crate::objects::control::bans;
use crate::objects::ip_guard::client as ip_guard;

/// `GET /bans`.
pub(crate) fn list(a: &Admin<'_>) -> Result<Response> {
    reply::json(200, &json!({ "bans": bans::active(a.store, a.now)? }))
}

/// `POST /bans` with `{"target", "seconds" | "permanent": true, "scope"}`.
pub(crate) fn add(a: &Admin<'_>, body: &str) -> Result<Response> {
    let Some(body) = serde_json::from_str::<Value>(body).ok() else {
        return reply::refusal(&refusal::invalid(
            400,
            "malformed_body",
            "Expected a JSON object such as {\"target\": \"203.0.113.7\", \"seconds\": 3600}.",
        ));
    };
    let Some(target) = body
        .get("target")
        .and_then(Value::as_str)
        .and_then(|t| ban_target(t, &a.policy.bans))
    else {
        return reply::refusal(&refusal::invalid(
            422,
            "invalid_target",
            "`target` must be an IP address or CIDR range, no wider than bans.minPrefixLengthV4 / V6 allow.",
        ));
    };
    let permanent = body.get("permanent").and_then(Value::as_bool);
    let until = match (permanent, body.get("seconds").and_then(Value::as_u64)) {
        (Some(true), _) => PERMANENT,
        (_, Some(s)) if (1..=MAX_SECONDS).contains(&s) => a.now.saturating_add(s),
        _ => {
            return reply::refusal(&refusal::invalid(
                422,
                "invalid_duration",
                "Give `seconds` (1 to 315360000, ten years) or `permanent: true`.",
            ));
        }
    };
    let scope = match body.get("scope").and_then(Value::as_str) {
        None | Some("all") => ManualBanScope::All,
        Some("writes") => ManualBanScope::Writes,
        Some(_) => {
            return reply::refusal(&refusal::invalid(
                422,
                "invalid_scope",
                "`scope` is \"all\" or \"writes\".",
            ));
        }
    };
    let ban = BanEntry {
        target,
        until,
        scope,
        reason: "manual".to_owned(),
    };
    bans::save(a.store, &ban, a.now)?;
    let shown_until = body.get("permanent").map_or(json!(until), |_| json!(null));
    let detail =
        json!({ "target": ban.target, "until": shown_until, "scope": bans::scope_name(scope) });
    a.audit(AuditKind::BanAdded, detail)?;
    reply::json(201, &json!({ "ban": ban }))
}

/// `DELETE /bans/<target>`.
pub(crate) async fn remove(a: &Admin<'_>, target: &str) -> Result<Response> {
    let key = canonical_target(target).unwrap_or_else(|| target.to_owned());
    if !bans::remove(a.store, target, &key)? {
        return reply::refusal(&refusal::invalid(404, "not_found", "No such ban."));
    }
    // The client's own record must forget the ban too, or its next warning
    // would find it still banned and never re-ban.
    if let Stored::Unreadable { .. } = ip_guard::call(a.env(), &key, &GuardOp::Lift).await? {
        return reply::refusal(&refusal::state_unavailable());
    }
    a.audit(AuditKind::BanRemoved, json!({ "target": target }))?;
    reply::json(200, &json!({ "removed": target }))
}
