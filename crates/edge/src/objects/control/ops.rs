//! Control's typed operations from the Worker and the other objects: the
//! snapshot isolates cache, bans to publish, reset tokens, revocations,
//! lockouts to list, and audit entries.

use portcullis_core::objects::{AuditEntry, AuditKind, ControlAnswer, ControlOp, Stored};
use portcullis_core::{Secrets, Snapshot};
use serde_json::json;
use worker::Result;

use super::store::{Secret, Store};
use super::{audit, bans, feed, resets, sessions};

/// Applies `op` at `now`.
pub(crate) fn apply(store: &Store, op: ControlOp, now: u64) -> Result<Stored<ControlAnswer>> {
    let policy = store.policy();
    let known = policy.as_ref().ok();
    let answer = match op {
        ControlOp::Snapshot => return snapshot(store, policy, now),
        ControlOp::PublishBan { ban } => {
            bans::save(store, &ban, now)?;
            let detail = json!({ "until": ban.until, "reason": ban.reason });
            let entry = AuditEntry::new(AuditKind::Banned, ban.target.clone(), detail);
            audit::record(store, known, &entry, now)?;
            ControlAnswer::Done
        }
        ControlOp::ResetToken { step, token, ip } => {
            match resets::use_token(store, known, step, &token, &ip, now)? {
                Ok(answer) => answer,
                Err(record) => return unreadable(store, known, record, now),
            }
        }
        ControlOp::RevokeUser { user } => {
            let Ok(policy) = &policy else {
                return Ok(Stored::Answer(invalid(policy)));
            };
            match sessions::revoke(store, policy, Some(&user))? {
                Ok(before) => ControlAnswer::Revoked { before },
                Err(_) => {
                    return unreadable(store, known, format!("control:{}", sessions::ROW), now);
                }
            }
        }
        ControlOp::RecordLock { account, until, ip } => {
            audit::record_lock(store, &account, until, now)?;
            let detail = json!({ "account": account, "until": until });
            audit::record(
                store,
                known,
                &AuditEntry::new(AuditKind::AccountLocked, ip, detail),
                now,
            )?;
            ControlAnswer::Done
        }
        ControlOp::Audit { entry } => {
            audit::record(store, known, &entry, now)?;
            ControlAnswer::Done
        }
    };
    Ok(Stored::Answer(answer))
}

fn invalid(policy: std::result::Result<portcullis_core::Policy, String>) -> ControlAnswer {
    ControlAnswer::ConfigurationInvalid {
        message: policy.err().unwrap_or_default(),
    }
}

/// Audits an unreadable record of Control's and says so.
fn unreadable(
    store: &Store,
    policy: Option<&portcullis_core::Policy>,
    record: String,
    now: u64,
) -> Result<Stored<ControlAnswer>> {
    let entry = AuditEntry::new(AuditKind::StateUnreadable, "", json!({ "record": record }));
    audit::record(store, policy, &entry, now)?;
    Ok(Stored::Unreadable { record })
}

/// The snapshot: the policy (the fraud feed's list merged into its deny
/// list), the active bans, the signing secrets and the revocations.
fn snapshot(
    store: &Store,
    policy: std::result::Result<portcullis_core::Policy, String>,
    now: u64,
) -> Result<Stored<ControlAnswer>> {
    let mut policy = match policy {
        Ok(policy) => policy,
        Err(message) => {
            return Ok(Stored::Answer(ControlAnswer::ConfigurationInvalid {
                message,
            }));
        }
    };
    let Ok(feed) = feed::entries(store)? else {
        return unreadable(store, Some(&policy), format!("control:{}", feed::LIST), now);
    };
    let Ok(revocations) = store.revocations()? else {
        return unreadable(
            store,
            Some(&policy),
            format!("control:{}", sessions::ROW),
            now,
        );
    };
    policy.bans.fraud.deny_list.extend(feed);
    let secrets = Secrets {
        jwt: store.signing_secret(Secret::Jwt)?,
        jwt_previous: store.get(Secret::JwtPrevious.key())?,
        xsrf: store.signing_secret(Secret::Xsrf)?,
        captcha: store.secret(Secret::Captcha)?,
        pepper: store.signing_secret(Secret::Pepper)?,
    };
    let snapshot = Snapshot::new(policy, bans::active(store, now)?, secrets, revocations);
    Ok(Stored::Answer(ControlAnswer::Snapshot {
        snapshot: Box::new(snapshot),
    }))
}
