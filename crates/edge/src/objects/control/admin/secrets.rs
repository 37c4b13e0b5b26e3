//! Replacing a secret: the JWT secret or the XSRF salt (with the given
//! value of at least 32 characters, else a random one; both end every
//! session), the CAPTCHA secret, the application key, the webhook secret.
//! The old JWT secret is kept so its tokens read as ended, not forged.

use portcullis_core::objects::AuditKind;
use portcullis_core::refusal;
use portcullis_core::{SecretKind, SecretRefusal, new_secret};
use serde_json::{Value, json};
use worker::{Response, Result};

use super::context::Admin;
use crate::http::reply;
use crate::objects::control::sessions;
use crate::objects::control::store::{Secret, random_secret};

/// Where each kind of secret is stored.
fn slot(kind: SecretKind) -> Secret {
    match kind {
        SecretKind::JwtSecret => Secret::Jwt,
        SecretKind::XsrfSalt => Secret::Xsrf,
        SecretKind::ApplicationKey => Secret::ApplicationKey,
        SecretKind::CaptchaSecret => Secret::Captcha,
        SecretKind::WebhookSecret => Secret::Webhook,
    }
}

/// `POST /secrets/<name>`, optionally with `{"value": "…"}`.
pub(crate) fn rotate(a: &Admin<'_>, name: &str, body: &str) -> Result<Response> {
    let Some(kind) = SecretKind::parse(name) else {
        return reply::refusal(&refusal::invalid(404, "not_found", "No such admin route."));
    };
    let given = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("value").and_then(Value::as_str).map(str::to_owned));
    if !body.trim().is_empty() && given.is_none() {
        return reply::refusal(&refusal::invalid(
            422,
            "invalid_secret",
            "Send {\"value\": \"…\"}.",
        ));
    }
    let value = match new_secret(kind, given.as_deref()) {
        Ok(Some(value)) => value,
        Ok(None) => random_secret()?,
        Err(SecretRefusal::ValueRequired) => {
            return reply::refusal(&refusal::invalid(
                422,
                "invalid_secret",
                "Send {\"value\": \"…\"} with at least 32 characters: others must hold this secret.",
            ));
        }
        Err(SecretRefusal::TooShort) => {
            return reply::refusal(&refusal::invalid(
                422,
                "invalid_secret",
                "A secret has at least 32 characters (send no body for a random one where allowed).",
            ));
        }
    };
    let store = a.store;
    if kind == SecretKind::JwtSecret
        && let Some(old) = store.get(Secret::Jwt.key())?
    {
        store.set_secret(Secret::JwtPrevious, &old)?;
    }
    if kind == SecretKind::ApplicationKey {
        store.retire_keys_at_rotation()?;
    }
    store.set_secret(slot(kind), &value)?;
    if kind.ends_sessions() && sessions::revoke(store, &a.policy, None, None)?.is_err() {
        return reply::refusal(&refusal::state_unavailable());
    }
    a.audit(
        AuditKind::SecretRotated,
        json!({ "secret": name, "by": "applicationKey" }),
    )?;
    reply::json(
        200,
        &json!({ "rotated": name, "sessionsEnded": kind.ends_sessions() }),
    )
}
