//! The settings: read (secrets only as "set" / "unset"), patch, replace.

use portcullis_core::Policy;
use portcullis_core::objects::AuditKind;
use portcullis_core::refusal;
use serde_json::json;
use worker::{Response, Result};

use super::context::Admin;
use crate::http::reply;
use crate::objects::control::store::Secret;
use crate::objects::control::{audit, feed, webhooks};

/// `GET /settings`.
pub(crate) fn read(a: &Admin<'_>) -> Result<Response> {
    let store = a.store;
    let set = |yes: bool| if yes { "set" } else { "unset" };
    reply::json(
        200,
        &json!({
            "policy": a.policy,
            "policySource": if store.policy_as_code() { "code" } else { "seed" },
            "defaults": Policy::default(),
            "secrets": {
                "applicationKey": set(store.application_key()?.is_some()),
                "jwtSecret": set(store.is_stored(Secret::Jwt)?),
                "xsrfSalt": set(store.is_stored(Secret::Xsrf)?),
                "captchaSecret": set(store.secret(Secret::Captcha)?.is_some()),
                "passwordPepper": set(store.is_stored(Secret::Pepper)?),
                "webhookSecret": set(webhooks::secret(store)?.is_some()),
            },
        }),
    )
}

/// `PATCH /settings` (a JSON merge patch) or `PUT /settings` (a whole
/// document): validated first; an invalid value names its field and
/// nothing is saved.
pub(crate) async fn write(a: &Admin<'_>, body: &str, replace: bool) -> Result<Response> {
    if a.store.policy_as_code() {
        return reply::refusal(&refusal::policy_as_code());
    }
    let result = if replace {
        Policy::from_json(body)
    } else {
        a.policy.merge_patch(body)
    };
    let updated = match result {
        Ok(updated) => updated,
        Err(e) => return reply::refusal(&refusal::invalid_setting(&e)),
    };
    a.store.put("policy", &updated.to_json())?;
    // A newly configured feed is polled within a second.
    feed::reset(a.store)?;
    a.store.state.storage().delete_alarm().await?;
    // Audited (and sent as a webhook) under the policy just saved.
    let detail = json!({ "by": "applicationKey" });
    let entry = a.entry(AuditKind::SettingsChanged, detail);
    audit::record(a.store, Some(&updated), &entry, a.now)?;
    reply::json(200, &json!({ "policy": updated }))
}
