//! Signed webhooks: queued with each audit entry whose kind the policy
//! wants, delivered from Control's alarm, retried with core's backoff, and
//! listed in a delivery log.

use portcullis_core::Policy;
use portcullis_core::records::decode;
use portcullis_core::webhooks::{Delivery, DeliveryState, signature, wanted};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::Result;

use super::store::{Secret, Store};
use crate::clock;
use crate::http::outbound;

/// How long a receiver may take to answer (milliseconds).
const DELIVERY_TIMEOUT_MS: u32 = 10_000;

/// Deliveries attempted per alarm (the rest wait for the next one).
const BATCH: u32 = 20;

/// Deliveries kept in the log (the oldest finished ones go first).
const KEEP: u32 = 1000;

/// Most deliveries waiting at once: beyond this (a receiver down during an
/// attack) the oldest are marked `dropped`, so storage stays bounded.
const MAX_PENDING: u32 = 10_000;

#[derive(Deserialize)]
struct HookRow {
    id: f64,
    kind: String,
    body: String,
    delivery: String,
}

#[derive(Deserialize)]
struct NextRow {
    next: Option<f64>,
}

/// The webhook signing secret, set through the admin API or the
/// `WEBHOOK_SECRET` secret. No secret: no webhooks.
pub(crate) fn secret(store: &Store) -> Result<Option<String>> {
    store.secret(Secret::Webhook)
}

/// Queues a webhook for an audit entry when the policy wants its kind.
pub(crate) fn enqueue(store: &Store, policy: &Policy, event: &Value, kind: &str) -> Result<()> {
    if !wanted(&policy.webhooks, kind) || secret(store)?.is_none() {
        return Ok(());
    }
    let now_ms = clock::now_millis();
    let sql = store.sql();
    sql.exec(
        "INSERT INTO webhooks (kind, body, delivery, state, next_at) VALUES (?, ?, ?, 'pending', ?)",
        vec![
            kind.into(),
            event.to_string().into(),
            json!(Delivery::new(now_ms)).to_string().into(),
            (now_ms as i64).into(),
        ],
    )?;
    sql.exec(
        "UPDATE webhooks SET state = 'dropped' WHERE state = 'pending' AND id <= (SELECT MAX(id) FROM webhooks) - ?",
        vec![i64::from(MAX_PENDING).into()],
    )?;
    sql.exec(
        "DELETE FROM webhooks WHERE state != 'pending' AND id <= (SELECT MAX(id) FROM webhooks) - ?",
        vec![i64::from(KEEP).into()],
    )?;
    Ok(())
}

/// Attempts the deliveries that are due.
pub(crate) async fn deliver_due(store: &Store, policy: &Policy) -> Result<()> {
    let (Some(url), Some(secret)) = (policy.webhooks.url.clone(), secret(store)?) else {
        return Ok(());
    };
    let rows: Vec<HookRow> = store
        .sql()
        .exec(
            "SELECT id, kind, body, delivery FROM webhooks WHERE state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?",
            vec![(clock::now_millis() as i64).into(), i64::from(BATCH).into()],
        )?
        .to_array()?;
    for row in rows {
        // An unreadable delivery is marked failed, never retried as new.
        let Ok(mut delivery) = decode::<Delivery>(&row.delivery) else {
            set_state(store, row.id, "failed")?;
            continue;
        };
        let body = json!({
            "id": row.id,
            "kind": row.kind,
            "event": serde_json::from_str::<Value>(&row.body).unwrap_or(Value::Null),
            "attempt": delivery.attempts + 1,
        })
        .to_string();
        let header = signature(secret.as_bytes(), clock::now_seconds(), &body);
        let status = outbound::post_signed(&url, &body, &header, DELIVERY_TIMEOUT_MS).await?;
        let result = match status {
            200..=299 => Ok(()),
            0 => Err("unreachable or timed out".to_owned()),
            code => Err(format!("HTTP {code}")),
        };
        delivery.attempted(result, &policy.webhooks, clock::now_millis());
        let state = match delivery.state {
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Pending => "pending",
        };
        store.sql().exec(
            "UPDATE webhooks SET delivery = ?, state = ?, next_at = ? WHERE id = ?",
            vec![
                json!(delivery).to_string().into(),
                state.into(),
                (delivery.next_at as i64).into(),
                (row.id as i64).into(),
            ],
        )?;
    }
    Ok(())
}

fn set_state(store: &Store, id: f64, state: &str) -> Result<()> {
    store.sql().exec(
        "UPDATE webhooks SET state = ? WHERE id = ?",
        vec![state.into(), (id as i64).into()],
    )?;
    Ok(())
}

/// The delivery log, newest first.
pub(crate) fn deliveries(store: &Store) -> Result<Vec<Value>> {
    let rows: Vec<HookRow> = store
        .sql()
        .exec(
            "SELECT id, kind, body, delivery FROM webhooks ORDER BY id DESC LIMIT 200",
            None,
        )?
        .to_array()?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let delivery = serde_json::from_str::<Value>(&r.delivery).unwrap_or(Value::Null);
            json!({ "id": r.id, "kind": r.kind, "delivery": delivery })
        })
        .collect())
}

/// When the next pending delivery is due (unix milliseconds).
pub(crate) fn next_due(store: &Store, policy: &Policy) -> Result<Option<u64>> {
    let rows: Vec<NextRow> = store
        .sql()
        .exec(
            "SELECT MIN(next_at) AS next FROM webhooks WHERE state = 'pending'",
            None,
        )?
        .to_array()?;
    Ok(rows
        .first()
        .and_then(|r| r.next)
        .filter(|_| policy.webhooks.url.is_some())
        .map(|n| n as u64))
}
