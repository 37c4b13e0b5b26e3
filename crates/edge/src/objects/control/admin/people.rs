//! The admin routes for people rather than settings: ending sessions,
//! reading and changing a user's record, and minting single-use reset
//! links.

use portcullis_core::ResetPurpose;
use portcullis_core::objects::{AuditKind, Stored, UserAnswer, UserOp};
use portcullis_core::refusal;
use portcullis_core::{UserPatch, valid_user_id};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{Response, Result};

use super::context::Admin;
use crate::http::reply;
use crate::objects::control::{resets, sessions};
use crate::objects::user_state::client as user_state;

fn invalid_user() -> Result<Response> {
    reply::refusal(&refusal::invalid(
        422,
        "invalid_user",
        "Name the user by the id the application gives at login (1–256 characters).",
    ))
}

/// A user's answer, or the refusal for an unreadable record.
async fn ask(
    a: &Admin<'_>,
    id: &str,
    op: &UserOp,
) -> Result<std::result::Result<UserAnswer, Response>> {
    Ok(match user_state::call(a.env(), id, op).await? {
        Stored::Answer(answer) => Ok(answer),
        Stored::Unreadable { .. } => Err(reply::refusal(&refusal::state_unavailable())?),
    })
}

/// Ends the sessions of `user` (or everyone's); `false` when the
/// revocations are unreadable.
fn revoke(a: &Admin<'_>, user: Option<&str>) -> Result<bool> {
    Ok(sessions::revoke(a.store, &a.policy, user, None)?.is_ok())
}

/// `DELETE /sessions`.
pub(crate) fn end_all_sessions(a: &Admin<'_>) -> Result<Response> {
    if !revoke(a, None)? {
        return reply::refusal(&refusal::state_unavailable());
    }
    a.audit(AuditKind::SessionsEnded, json!({ "user": null }))?;
    reply::json(200, &json!({ "ended": "all" }))
}

/// `DELETE /users/<id>/sessions`.
pub(crate) async fn end_sessions(a: &Admin<'_>, id: &str) -> Result<Response> {
    if !valid_user_id(id) {
        return invalid_user();
    }
    if !revoke(a, Some(id))? {
        return reply::refusal(&refusal::state_unavailable());
    }
    if let Err(refused) = ask(a, id, &UserOp::EndSessions).await? {
        return Ok(refused);
    }
    a.audit(AuditKind::SessionsEnded, json!({ "user": id }))?;
    reply::json(200, &json!({ "ended": id }))
}

/// Another method on a user's routes.
pub(crate) fn method_not_allowed(id: &str) -> Result<Response> {
    if !valid_user_id(id) {
        return invalid_user();
    }
    reply::refusal(&refusal::invalid(
        405,
        "method_not_allowed",
        "Not for this route.",
    ))
}

fn summary(id: &str, answer: UserAnswer) -> Result<Response> {
    match answer {
        UserAnswer::Summary { summary } => {
            reply::json(200, &json!({ "user": id, "record": summary }))
        }
        _ => reply::refusal(&refusal::internal()),
    }
}

/// `GET /users/<id>`: password age, history size, last login, exceptions,
/// tracked sessions (never the fingerprints).
pub(crate) async fn read(a: &Admin<'_>, id: &str) -> Result<Response> {
    if !valid_user_id(id) {
        return invalid_user();
    }
    let op = UserOp::Summary {
        policy: Box::new(a.policy.clone()),
    };
    match ask(a, id, &op).await? {
        Ok(answer) => summary(id, answer),
        Err(refused) => Ok(refused),
    }
}

/// `PATCH /users/<id>`: an administrator's change. Requiring a password
/// change also ends the user's sessions, so it applies at once (the next
/// login carries the requirement).
pub(crate) async fn patch(a: &Admin<'_>, id: &str, body: &str) -> Result<Response> {
    if !valid_user_id(id) {
        return invalid_user();
    }
    let Ok(patch) = serde_json::from_str::<UserPatch>(body) else {
        return reply::refusal(&refusal::invalid(
            422,
            "invalid_patch",
            "Send {\"neverExpires\", \"allowMultipleSessions\", \"mustChangePassword\": true|false, \"reactivate\": true}.",
        ));
    };
    let end_sessions = patch.must_change_password == Some(true);
    let op = UserOp::Patch {
        policy: Box::new(a.policy.clone()),
        patch,
    };
    let answer = match ask(a, id, &op).await? {
        Ok(answer) => answer,
        Err(refused) => return Ok(refused),
    };
    if end_sessions {
        if !revoke(a, Some(id))? {
            return reply::refusal(&refusal::state_unavailable());
        }
        if let Err(refused) = ask(a, id, &UserOp::EndSessions).await? {
            return Ok(refused);
        }
    }
    let change = serde_json::from_str::<Value>(body).unwrap_or(Value::Null);
    a.audit(
        AuditKind::UserChanged,
        json!({ "user": id, "change": change }),
    )?;
    summary(id, answer)
}

/// `POST /reset-tokens` with `{"user", "purpose"}`: a single-use link.
pub(crate) fn mint_reset(a: &Admin<'_>, body: &str) -> Result<Response> {
    if !a.policy.signup.password_reset_enabled {
        return reply::refusal(&refusal::password_reset_disabled(409));
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Mint {
        user: String,
        purpose: ResetPurpose,
    }
    let Ok(mint) = serde_json::from_str::<Mint>(body) else {
        return reply::refusal(&refusal::invalid(
            422,
            "invalid_reset_request",
            "Send {\"user\": \"<user id>\", \"purpose\": \"selfService\" | \"sentByAdmin\" | \"invitation\"}.",
        ));
    };
    if !valid_user_id(&mint.user) {
        return invalid_user();
    }
    let minted = resets::mint(a.store, &a.policy, &mint.user, mint.purpose, a.now)?;
    let grant = &minted.grant;
    a.audit(
        AuditKind::ResetTokenIssued,
        json!({ "user": grant.user, "purpose": grant.purpose, "expiresAt": grant.expires_at }),
    )?;
    let routes = &a.policy.routes;
    let separator = if routes.reset.contains('?') { '&' } else { '?' };
    let token = &minted.token;
    reply::json(
        201,
        &json!({
            "token": token,
            "url": format!("{}{separator}{}={token}", routes.reset, routes.fields.reset_token),
            "user": grant.user,
            "purpose": grant.purpose,
            "expiresAt": grant.expires_at,
        }),
    )
}
