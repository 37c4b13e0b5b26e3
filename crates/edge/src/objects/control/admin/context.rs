//! What every admin route works with: Control's storage, the policy in
//! force, who is calling (for the audit log) and the moment.

use portcullis_core::Policy;
use portcullis_core::objects::{AuditEntry, AuditKind};
use serde_json::Value;
use worker::{Env, Request, Result};

use crate::objects::control::audit;
use crate::objects::control::store::Store;

/// An admin request's context.
pub(crate) struct Admin<'a> {
    pub(crate) store: &'a Store,
    pub(crate) policy: Policy,
    /// The caller's address.
    pub(crate) ip: String,
    /// Who is calling: core's `admin_actor` of the key presented.
    pub(crate) actor: String,
    pub(crate) now: u64,
}

impl Admin<'_> {
    /// The deployment's bindings (to call the other objects).
    pub(crate) fn env(&self) -> &Env {
        &self.store.env
    }

    /// Adds an audit entry about this request, with its actor.
    pub(crate) fn audit(&self, kind: AuditKind, detail: Value) -> Result<()> {
        audit::record(
            self.store,
            Some(&self.policy),
            &self.entry(kind, detail),
            self.now,
        )
    }

    /// An audit entry about this request: `detail` with the `actor`.
    pub(crate) fn entry(&self, kind: AuditKind, mut detail: Value) -> AuditEntry {
        if let Value::Object(fields) = &mut detail {
            fields.insert("actor".to_owned(), Value::String(self.actor.clone()));
        }
        AuditEntry::new(kind, self.ip.clone(), detail)
    }
}

/// The request body as text (empty when unreadable).
pub(crate) async fn body(req: &mut Request) -> String {
    req.text().await.unwrap_or_default()
}

/// The query's pairs.
pub(crate) fn query(req: &Request) -> Result<Vec<(String, String)>> {
    Ok(req
        .url()?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}
