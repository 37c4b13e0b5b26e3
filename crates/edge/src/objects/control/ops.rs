//! Control's typed operations from the Worker and the other objects: the
//! snapshot isolates cache, bans to publish, reset tokens, revocations,
//! lockouts to list, and audit entries.

use portcullis_core::identity::origin_host;
use portcullis_core::objects::{AuditEntry, AuditKind, ControlAnswer, ControlOp, Stored};
use portcullis_core::{
    FRAUD_FEED_RECORD, Policy, REVOCATIONS_RECORD, Revocations, Secrets, Snapshot,
    application_key_digest,
};
use serde_json::json;
use worker::Result;

use super::store::{Secret, Store};
use super::{audit, code, feed, resets, sessions};

/// Applies `op` at `now`.
pub(crate) fn apply(store: &Store, op: ControlOp, now: u64) -> Result<Stored<ControlAnswer>> {
    // Policy as code lands with the snapshot isolates build from.
    let policy = match op {
        ControlOp::Snapshot => code::sync(store, now)?.and_then(|()| store.policy()),
        _ => store.policy(),
    };
    let known = policy.as_ref().ok();
    let answer = match op {
        ControlOp::Snapshot => return snapshot(store, policy, now),
        ControlOp::ResetToken { step, token, ip } => {
            match resets::use_token(store, known, step, &token, &ip, now)? {
                Ok(answer) => answer,
                Err(record) => return unreadable(store, known, record, now),
            }
        }
        ControlOp::RevokeResets { user, except } => {
            resets::revoke_others(store, &user, &except, now)?;
            ControlAnswer::Done
        }
        ControlOp::RevokeUser { user, before } => {
            let Ok(policy) = &policy else {
                return Ok(Stored::Answer(invalid(policy)));
            };
            match sessions::revoke(store, policy, Some(&user), before)? {
                Ok(before) => ControlAnswer::Revoked { before },
                Err(_) => {
                    return unreadable(store, known, REVOCATIONS_RECORD.to_owned(), now);
                }
            }
        }
        ControlOp::AuditBatch { items } => {
            audit::record_batch(store, known, &items, now)?;
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
/// list), the active bans, the signing secrets and the revocations. A
/// damaged feed list or revocations row is named in the snapshot (the
/// requests that need it fail closed) and audited once.
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
    let mut unreadable = Vec::new();
    let feed = match feed::entries(store)? {
        Ok(feed) => feed,
        Err(damage) => {
            notice(store, &policy, FRAUD_FEED_RECORD, &damage.reason, now)?;
            unreadable.push(FRAUD_FEED_RECORD.to_owned());
            Vec::new()
        }
    };
    let revocations = match store.revocations()? {
        Ok(revocations) => revocations,
        Err(damage) => {
            notice(store, &policy, REVOCATIONS_RECORD, &damage.reason, now)?;
            unreadable.push(REVOCATIONS_RECORD.to_owned());
            Revocations::default()
        }
    };
    policy.bans.fraud.deny_list.extend(feed);
    let pepper = store.signing_secret(Secret::Pepper)?;
    let secrets = Secrets {
        jwt: store.signing_secret(Secret::Jwt)?,
        jwt_previous: store.get(Secret::JwtPrevious.key())?,
        xsrf: store.signing_secret(Secret::Xsrf)?,
        captcha: store.secret(Secret::Captcha)?,
        application_key: store
            .application_key()?
            .map(|key| application_key_digest(&pepper, &key)),
        pepper,
        origin: store.env_secret("ORIGIN_SECRET"),
        origin_host: origin_host(store.var("ORIGIN_URL").as_deref()),
    };
    // The bans are not Control's: isolates replicate them from the BanLog
    // shards.
    let mut snapshot = Snapshot::new(policy, Vec::new(), secrets, revocations);
    snapshot.unreadable = unreadable;
    // An unreadable key pair publishes none: fields for the vault are then
    // refused, never forwarded in the clear.
    snapshot.vault = super::admin::vault::stored_key(store)?
        .ok()
        .flatten()
        .map(|key| key.public());
    Ok(Stored::Answer(ControlAnswer::Snapshot {
        snapshot: Box::new(snapshot),
    }))
}

/// Audits a damaged row of Control's once (not on every snapshot read).
fn notice(store: &Store, policy: &Policy, record: &str, damage: &str, now: u64) -> Result<()> {
    let marker = noticed_key(record);
    if store.get(&marker)?.is_some() {
        return Ok(());
    }
    worker::console_error!("portcullis: {record}: unreadable record: {damage}");
    let detail = json!({ "record": record, "damage": damage });
    audit::record(
        store,
        Some(policy),
        &AuditEntry::new(AuditKind::StateUnreadable, "", detail),
        now,
    )?;
    store.put(&marker, "1")
}

/// The row that says a damaged `record` was audited.
pub(crate) fn noticed_key(record: &str) -> String {
    format!("noticed:{record}")
}
