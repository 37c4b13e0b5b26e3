//! Calling an `AuditLog` shard, and adding audit entries through one.

use portcullis_core::objects::{
    AUDIT_SHARDS, AuditAnswer, AuditEntry, AuditItem, AuditOp, Stored, audit_id, audit_shard,
    audit_shard_name,
};
use worker::{Env, Result};

use crate::clock;

/// Sends `op` to the shard `shard`.
pub(crate) async fn call(env: &Env, shard: &str, op: &AuditOp) -> Result<Stored<AuditAnswer>> {
    crate::objects::stub::call(env, "AUDIT_LOG", shard, op).await
}

/// Adds `entries` to the audit log (each under a new id, through the
/// shard the first id names).
pub(crate) async fn append(env: &Env, entries: Vec<AuditEntry>) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let at = clock::now_seconds();
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        let random = clock::random_bytes()?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&random[..16]);
        items.push(AuditItem {
            id: audit_id(&id),
            at,
            entry,
            lock: None,
        });
    }
    let shard = audit_shard(&items[0].id);
    call(env, &shard, &AuditOp::Append { items }).await?;
    Ok(())
}

/// Has every shard hand what it holds to Control now (before the admin
/// reads the log). A shard that cannot is logged; its items come later.
pub(crate) async fn flush_all(env: &Env) {
    let calls = (0..AUDIT_SHARDS).map(|i| {
        let env = env.clone();
        async move {
            let shard = audit_shard_name(i);
            if let Err(e) = call(&env, &shard, &AuditOp::Flush).await {
                worker::console_error!("portcullis: {shard}: flush failed: {e}");
            }
        }
    });
    crate::objects::stub::join_all(calls).await;
}
