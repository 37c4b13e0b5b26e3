//! Calling an `AuditLog` shard, and adding audit entries through one.

use portcullis_core::objects::{
    AUDIT_SHARDS, AuditAnswer, AuditEntry, AuditItem, AuditOp, Stored, audit_id, audit_shard,
    audit_shard_name,
};
use std::cell::{Cell, RefCell};
use std::time::Duration;

use worker::{Delay, Env, Result};

use crate::clock;

/// How long the first entry of a batch waits for company.
const BATCH_MS: u64 = 100;
/// A batch this full goes at once.
const BATCH_ITEMS: usize = 100;
/// A batch open this long lost its opener (the runtime cut its task off):
/// the next entry opens it again.
const STALE_MS: u64 = 5000;
/// How long to wait before sending a batch a second time (same ids: the
/// shard and Control keep an id once).
const RETRY_MS: u64 = 1000;

thread_local! {
    /// This isolate's entries waiting for their batch, and since when a
    /// batch is open (its opener is waiting to send it).
    static BATCH: RefCell<(Vec<AuditEntry>, Option<u64>)> = const { RefCell::new((Vec::new(), None)) };
    /// Entries taken for a batch whose `Append` has not answered yet.
    static SENDING: Cell<usize> = const { Cell::new(0) };
}

/// Adds `entry` to this isolate's next batch of audit entries (one
/// `Append` to one shard per batch, instead of one per warning). The call
/// that opens a batch waits [`BATCH_MS`] for company, then sends it; a call
/// that fills it sends it at once. Runs after the response (inside
/// `wait_until`, which keeps the isolate until the batch is sent); a batch
/// the shard does not take is sent once more, then logged.
pub(crate) async fn batched(env: &Env, entry: AuditEntry) {
    let now = clock::now_millis();
    let (opens, full) = BATCH.with(|b| {
        let mut b = b.borrow_mut();
        b.0.push(entry);
        let opens = b.1.is_none_or(|since| now.saturating_sub(since) > STALE_MS);
        if opens {
            b.1 = Some(now);
        }
        (opens, b.0.len() >= BATCH_ITEMS)
    });
    if !opens && !full {
        return;
    }
    if !full {
        Delay::from(Duration::from_millis(BATCH_MS)).await;
    }
    let entries = BATCH.with(|b| {
        let mut b = b.borrow_mut();
        b.1 = None;
        std::mem::take(&mut b.0)
    });
    send(env, entries).await;
}

/// Sends this isolate's open batch now (before the admin reads the log).
pub(crate) async fn send_batch(env: &Env) {
    let entries = BATCH.with(|b| std::mem::take(&mut b.borrow_mut().0));
    send(env, entries).await;
}

/// Sends a batch, counted in [`unsent`] until its shard answers.
async fn send(env: &Env, entries: Vec<AuditEntry>) {
    if entries.is_empty() {
        return;
    }
    let n = entries.len();
    SENDING.with(|s| s.set(s.get() + n));
    if let Err(e) = deliver(env, entries).await {
        worker::console_error!("portcullis: auditing {n} warnings failed: {e}");
    }
    SENDING.with(|s| s.set(s.get().saturating_sub(n)));
}

/// `entries` to one shard, sent once more after [`RETRY_MS`] when the
/// first try fails.
async fn deliver(env: &Env, entries: Vec<AuditEntry>) -> Result<()> {
    let (shard, op) = appending(entries)?;
    if call(env, &shard, &op).await.is_err() {
        Delay::from(Duration::from_millis(RETRY_MS)).await;
        call(env, &shard, &op).await?;
    }
    Ok(())
}

/// Audit entries of this isolate not yet in a shard.
pub(crate) fn unsent() -> usize {
    BATCH.with(|b| b.borrow().0.len()) + SENDING.with(Cell::get)
}

/// Sends `op` to the shard `shard`.
pub(crate) async fn call(env: &Env, shard: &str, op: &AuditOp) -> Result<Stored<AuditAnswer>> {
    crate::objects::stub::call(env, "AUDIT_LOG", shard, op).await
}

/// The `Append` of `entries` (each under a new id) and the shard the
/// first id names; `entries` is not empty.
fn appending(entries: Vec<AuditEntry>) -> Result<(String, AuditOp)> {
    let at = clock::now_seconds();
    let items = entries
        .into_iter()
        .map(|entry| {
            let random = clock::random_bytes()?;
            let mut id = [0u8; 16];
            id.copy_from_slice(&random[..16]);
            Ok(AuditItem {
                id: audit_id(&id),
                at,
                entry,
                lock: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let shard = audit_shard(&items[0].id);
    Ok((shard, AuditOp::Append { items }))
}

/// Adds `entries` to the audit log (each under a new id, through the
/// shard the first id names).
pub(crate) async fn append(env: &Env, entries: Vec<AuditEntry>) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (shard, op) = appending(entries)?;
    call(env, &shard, &op).await?;
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
