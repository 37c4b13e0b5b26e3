//! Policy as code (`PORTCULLIS_POLICY_SOURCE = "code"`): the policy in
//! `wrangler.toml` (`PORTCULLIS_POLICY`, or the preset) is authoritative.
//! When its digest differs from the stored policy's (a new deploy, or a
//! change made while the mode was off), it replaces the stored policy at
//! the next snapshot build or admin request, audited as `settingsChanged`
//! by `policyAsCode`. The admin API's policy writes are refused in this
//! mode (settings/admin).

use portcullis_core::objects::{AuditEntry, AuditKind};
use serde_json::json;
use worker::Result;

use super::audit;
use super::store::Store;

/// Brings the stored policy in line with the deployment's, in code mode.
/// `Err` (inside) says why the deployment's policy cannot be used: the
/// stored one is kept and the error is the answer (fail closed).
pub(crate) fn sync(store: &Store, now: u64) -> Result<std::result::Result<(), String>> {
    if !store.policy_as_code() {
        return Ok(Ok(()));
    }
    let policy = match store.deployed_policy() {
        Ok(policy) => policy,
        Err(message) => return Ok(Err(message)),
    };
    let digest = policy.digest();
    // A stored policy that does not read is replaced too.
    if store.policy().is_ok_and(|stored| stored.digest() == digest) {
        return Ok(Ok(()));
    }
    store.put("policy", &policy.to_json())?;
    let detail = json!({ "by": "policyAsCode", "digest": digest });
    let entry = AuditEntry::new(AuditKind::SettingsChanged, String::new(), detail);
    audit::record(store, Some(&policy), &entry, now)?;
    Ok(Ok(()))
}
