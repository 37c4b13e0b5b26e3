//! Manual bans: list, add (a duration or permanent, all requests or
//! writes only), lift.

use portcullis_core::ManualBanScope;
use portcullis_core::objects::{AuditKind, BanLogOp, GuardOp, MAX_IMPORT, Stored, ban_shard};
use portcullis_core::refusal;
use portcullis_core::{BanEntry, PERMANENT};
use portcullis_core::{MAX_SECONDS, ban_target, canonical_target};
use serde_json::{Value, json};
use worker::{Response, Result};

use super::context::Admin;
use crate::http::reply;
use crate::objects::ban_log::client as ban_log;
use crate::objects::control::bans;
use crate::objects::ip_guard::client as ip_guard;
use crate::objects::stub;

/// `GET /bans`.
pub(crate) async fn list(a: &Admin<'_>) -> Result<Response> {
    match bans::active(a.store).await {
        Ok(active) => reply::json(200, &json!({ "bans": active })),
        Err(e) => {
            worker::console_error!("portcullis: listing bans failed: {e}");
            reply::refusal(&refusal::state_unavailable())
        }
    }
}

/// `POST /bans` with `{"target", "seconds" | "permanent": true, "scope"}`.
pub(crate) async fn add(a: &Admin<'_>, body: &str) -> Result<Response> {
    let Some(body) = serde_json::from_str::<Value>(body).ok() else {
        return reply::refusal(&refusal::invalid(
            400,
            "malformed_body",
            "Expected a JSON object such as {\"target\": \"203.0.113.7\", \"seconds\": 3600}.",
        ));
    };
    if let Some(targets) = body.get("targets") {
        return import(a, &body, targets).await;
    }
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
    let (until, scope) = match terms(a, &body) {
        Ok(terms) => terms,
        Err(refused) => return refused,
    };
    let ban = BanEntry {
        target,
        until,
        scope,
        reason: "manual".to_owned(),
    };
    if let Err(e) = bans::save(a.store, &ban, &a.policy.bans).await {
        worker::console_error!("portcullis: adding a ban failed: {e}");
        return reply::refusal(&refusal::state_unavailable());
    }
    let shown_until = body.get("permanent").map_or(json!(until), |_| json!(null));
    let detail =
        json!({ "target": ban.target, "until": shown_until, "scope": bans::scope_name(scope) });
    a.audit(AuditKind::BanAdded, detail)?;
    reply::json(201, &json!({ "ban": ban }))
}

/// A ban's end and scope from the request (`seconds` or `permanent`,
/// `scope`), or the refusal to answer.
fn terms(
    a: &Admin<'_>,
    body: &Value,
) -> std::result::Result<(u64, ManualBanScope), Result<Response>> {
    let permanent = body.get("permanent").and_then(Value::as_bool);
    let until = match (permanent, body.get("seconds").and_then(Value::as_u64)) {
        (Some(true), _) => PERMANENT,
        (_, Some(s)) if (1..=MAX_SECONDS).contains(&s) => a.now.saturating_add(s),
        _ => {
            return Err(reply::refusal(&refusal::invalid(
                422,
                "invalid_duration",
                "Give `seconds` (1 to 315360000, ten years) or `permanent: true`.",
            )));
        }
    };
    let scope = match body.get("scope").and_then(Value::as_str) {
        None | Some("all") => ManualBanScope::All,
        Some("writes") => ManualBanScope::Writes,
        Some(_) => {
            return Err(reply::refusal(&refusal::invalid(
                422,
                "invalid_scope",
                "`scope` is \"all\" or \"writes\".",
            )));
        }
    };
    Ok((until, scope))
}

/// `POST /bans` with `{"targets": [...], "seconds" | "permanent": true,
/// "scope"}`: up to 4,000 bans at once (a block list's import). Every
/// target must be valid, or none is added.
async fn import(a: &Admin<'_>, body: &Value, targets: &Value) -> Result<Response> {
    let list = targets
        .as_array()
        .filter(|l| !l.is_empty() && l.len() <= MAX_IMPORT);
    let Some(list) = list else {
        return reply::refusal(&refusal::invalid(
            422,
            "invalid_targets",
            "`targets` is a list of 1 to 4,000 addresses or CIDR ranges (at most 64 KB).",
        ));
    };
    let (until, scope) = match terms(a, body) {
        Ok(terms) => terms,
        Err(refused) => return refused,
    };
    let mut by_shard: std::collections::BTreeMap<String, Vec<BanEntry>> = Default::default();
    for (i, value) in list.iter().enumerate() {
        let target = value.as_str().and_then(|t| ban_target(t, &a.policy.bans));
        let (Some(target), Some(shard)) = (target.clone(), target.as_deref().and_then(ban_shard))
        else {
            return reply::refusal(&refusal::Refusal::new(
                422,
                "invalid_target",
                format!("`targets[{i}]` is not an address or CIDR range the ban settings allow."),
            ));
        };
        by_shard.entry(shard).or_default().push(BanEntry {
            target,
            until,
            scope,
            reason: "manual".to_owned(),
        });
    }
    let calls = by_shard.into_iter().map(|(shard, bans)| {
        let env = a.env().clone();
        async move { ban_log::call(&env, &shard, &BanLogOp::Import { bans }).await }
    });
    for answer in stub::join_all(calls).await {
        if !matches!(answer, Ok(Stored::Answer(_))) {
            return reply::refusal(&refusal::state_unavailable());
        }
    }
    let detail = json!({ "count": list.len(), "scope": bans::scope_name(scope) });
    a.audit(AuditKind::BanAdded, detail)?;
    reply::json(201, &json!({ "added": list.len() }))
}

/// `DELETE /bans/<target>`. The client's own record is lifted first (or
/// its next warning would find it still banned and publish the ban again),
/// then the ban; lifting an aggregate lifts the records of the members it
/// had replaced too.
pub(crate) async fn remove(a: &Admin<'_>, target: &str) -> Result<Response> {
    let key = canonical_target(target).unwrap_or_else(|| target.to_owned());
    if let Stored::Unreadable { .. } = ip_guard::call(a.env(), &key, &GuardOp::Lift).await? {
        return reply::refusal(&refusal::state_unavailable());
    }
    let members = match bans::remove(a.store, target, &key).await {
        Ok(Some(members)) => members,
        Ok(None) => return reply::refusal(&refusal::invalid(404, "not_found", "No such ban.")),
        Err(e) => {
            worker::console_error!("portcullis: lifting a ban failed: {e}");
            return reply::refusal(&refusal::state_unavailable());
        }
    };
    for member in &members {
        if let Err(e) = ip_guard::call(a.env(), member, &GuardOp::Lift).await {
            worker::console_error!("portcullis: lifting {member}'s record failed: {e}");
        }
    }
    a.audit(
        AuditKind::BanRemoved,
        json!({ "target": target, "members": members.len() }),
    )?;
    reply::json(200, &json!({ "removed": target }))
}
