//! The UserState Durable Object: one instance per user id (the id the origin
//! names at login), holding core's [`UserRecord`]: password history
//! fingerprints, when the password was set, the last login, the per-user
//! exceptions, a required change, and in single-session mode the user's
//! active sessions. One request at a time per user, so a login, a session
//! check and an admin change never interleave. Core decides; this stores.

use portcullis_core::lifecycle::{HistoryFingerprint, UserPatch, UserRecord};
use portcullis_core::uploads::Role;
use portcullis_core::{Policy, SessionPolicy};
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::reply::{self, now_seconds};

/// A call to a user's Durable Object; each operation reads the fields it needs.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Call {
    /// The whole policy (login, password change, summary).
    pub(crate) policy: Option<Policy>,
    /// The session settings alone (the per-request session check).
    pub(crate) sessions: Option<SessionPolicy>,
    /// The keyed hash of the password the request carries.
    pub(crate) fingerprint: Option<HistoryFingerprint>,
    /// Whether the login password passes the current policy.
    pub(crate) meets_policy: bool,
    /// The session id.
    pub(crate) sid: Option<String>,
    /// An administrator's change.
    pub(crate) patch: Option<UserPatch>,
    /// Login: when the origin says the account was created.
    pub(crate) created: Option<u64>,
    /// The session's roles (probation exempts staff and admins).
    pub(crate) roles: Vec<String>,
    /// A probation-limited action's name.
    pub(crate) action: Option<String>,
}

/// What the Durable Object answers.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Answer {
    /// A refused login's error code (`account_inactive`, `session_active`).
    pub(crate) refused: Option<String>,
    /// The change reason a login or session carries, as its code.
    pub(crate) change: Option<String>,
    /// When the password expires (unix seconds).
    pub(crate) expires_at: Option<u64>,
    /// Session check: whether the session is still active. History check:
    /// whether the password was used before.
    pub(crate) yes: bool,
    /// The record as the admin API shows it.
    pub(crate) summary: Option<serde_json::Value>,
    /// Login and actions: whether the user is on probation.
    pub(crate) probation: bool,
    /// An action over its 24-hour limit: seconds until a use frees up.
    pub(crate) retry_after: Option<u64>,
}

/// Calls `op` on the Durable Object of `user`.
pub(crate) async fn call(env: &Env, user: &str, op: &str, body: &Call) -> Result<Answer> {
    let body = serde_json::to_string(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut response = crate::store::post(env, "USER", user, &format!("/{op}"), &body).await?;
    if response.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "user state answered {}",
            response.status_code()
        )));
    }
    let text = response.text().await?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// The UserState Durable Object.
#[durable_object]
pub struct UserState {
    state: State,
}

impl DurableObject for UserState {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let now = now_seconds();
        let Ok(call) = serde_json::from_str::<Call>(&req.text().await?) else {
            return reply::error(400, "malformed_body", "bad user request");
        };
        let mut record: UserRecord = crate::store::load(&self.state, "user")?;
        let policy = call.policy.unwrap_or_default();
        let role = Role::from_session_roles(&call.roles);
        let mut answer = Answer::default();
        let path = req.path();
        let changed = match path.as_str() {
            "/login" => {
                record.set_created(call.created);
                answer.probation = record.on_probation(&policy, role, now);
                let sid = call.sid.unwrap_or_default();
                match record.login(&policy, call.fingerprint, call.meets_policy, &sid, now) {
                    Ok(grant) => {
                        answer.change = grant.change.map(|c| c.as_str().to_owned());
                        answer.expires_at = grant.password_expires_at;
                        true
                    }
                    Err(refusal) => {
                        answer.refused = Some(refusal.code().to_owned());
                        false
                    }
                }
            }
            "/touch" => {
                let sessions = call.sessions.unwrap_or_default();
                answer.yes = record.touch(&call.sid.unwrap_or_default(), &sessions, now);
                true
            }
            "/logout" => {
                record.end_session(&call.sid.unwrap_or_default());
                true
            }
            "/end-sessions" => {
                record.end_sessions();
                true
            }
            "/reuses" => {
                answer.yes = call
                    .fingerprint
                    .is_some_and(|fp| record.reuses(&fp, &policy.passwords));
                false
            }
            "/changed" => {
                let Some(fp) = call.fingerprint else {
                    return reply::error(400, "malformed_body", "no fingerprint");
                };
                answer.expires_at = record.password_changed(fp, &policy.passwords, now);
                // The password changed: every other session ends.
                record.end_sessions_except(call.sid.as_deref());
                true
            }
            "/action" => {
                let action = policy
                    .probation
                    .actions
                    .iter()
                    .find(|a| Some(&a.name) == call.action.as_ref());
                match action.map(|a| record.use_action(&policy, a, role, now)) {
                    Some(Ok(counted)) => answer.probation = counted,
                    Some(Err(retry)) => answer.retry_after = Some(retry),
                    None => {}
                }
                true
            }
            "/action-failed" => {
                record.action_failed(call.action.as_deref().unwrap_or_default());
                true
            }
            "/action-done" => {
                record.action_done(call.action.as_deref().unwrap_or_default());
                true
            }
            "/patch" => {
                record.apply(&call.patch.unwrap_or_default(), now);
                true
            }
            "/get" => false,
            _ => return reply::error(404, "not_found", "No such route."),
        };
        if changed {
            crate::store::save(&self.state, "user", &record)?;
        }
        if path == "/get" || path == "/patch" {
            answer.summary = Some(json!(record.summary(&policy, now)));
        }
        reply::json(200, &json!(answer))
    }
}
