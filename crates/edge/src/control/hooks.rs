//! Control's scheduled work, on its one Durable Object alarm: signed webhook
//! deliveries (queued with each audit entry whose kind the policy wants,
//! retried with core's backoff) and the fraud feed's polls. Whatever is due
//! first sets the alarm.

use portcullis_core::Policy;
use portcullis_core::bans::parse_feed;
use portcullis_core::webhooks::{Delivery, DeliveryState, signature, wanted};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::Result;

use super::Control;

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

impl Control {
    /// The webhook signing secret, set through the admin API or the
    /// `WEBHOOK_SECRET` secret. No secret: no webhooks.
    pub(super) fn webhook_secret(&self) -> Option<String> {
        self.replaceable_secret("secret:webhook", "WEBHOOK_SECRET")
    }

    /// Queues a webhook for an audit entry when the policy wants its kind.
    pub(super) fn enqueue_webhook(&self, policy: &Policy, entry: &Value, kind: &str) -> Result<()> {
        let now_ms = crate::reply::now_millis();
        if !wanted(&policy.webhooks, kind) || self.webhook_secret().is_none() {
            return Ok(());
        }
        let sql = self.sql();
        sql.exec(
            "INSERT INTO webhooks (kind, body, delivery, state, next_at) VALUES (?, ?, ?, 'pending', ?)",
            vec![
                kind.into(),
                entry.to_string().into(),
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
    pub(super) async fn deliver_due(&self, policy: &Policy) -> Result<()> {
        let now = crate::reply::now_millis();
        let (Some(url), Some(secret)) = (policy.webhooks.url.clone(), self.webhook_secret()) else {
            return Ok(());
        };
        let rows: Vec<HookRow> = self
            .sql()
            .exec(
                "SELECT id, kind, body, delivery FROM webhooks WHERE state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?",
                vec![(now as i64).into(), i64::from(BATCH).into()],
            )?
            .to_array()?;
        for row in rows {
            let Ok(mut delivery) = serde_json::from_str::<Delivery>(&row.delivery) else {
                continue;
            };
            let body = json!({
                "id": row.id,
                "kind": row.kind,
                "event": serde_json::from_str::<Value>(&row.body).unwrap_or(Value::Null),
                "attempt": delivery.attempts + 1,
            })
            .to_string();
            let sent_at = crate::reply::now_seconds();
            let header = signature(secret.as_bytes(), sent_at, &body);
            let status =
                crate::proxy::post_signed(&url, &body, &header, DELIVERY_TIMEOUT_MS).await?;
            let result = match status {
                200..=299 => Ok(()),
                0 => Err("unreachable or timed out".to_owned()),
                code => Err(format!("HTTP {code}")),
            };
            delivery.attempted(result, &policy.webhooks, crate::reply::now_millis());
            let state = match delivery.state {
                DeliveryState::Delivered => "delivered",
                DeliveryState::Failed => "failed",
                _ => "pending",
            };
            self.sql().exec(
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

    /// The delivery log, newest first.
    pub(super) fn deliveries(&self) -> Result<Vec<Value>> {
        let rows: Vec<HookRow> = self
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

    /// Polls the fraud feed when due (one IP or CIDR per line). A failed
    /// poll keeps the last good list.
    pub(super) async fn poll_feed(&self, policy: &Policy, now: u64) -> Result<()> {
        let fraud = &policy.bans.fraud;
        let Some(url) = fraud.feed_url.clone().filter(|_| fraud.enabled) else {
            return Ok(());
        };
        let due = self
            .get("feedNextAt")?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if now < due {
            return Ok(());
        }
        let retention = policy.audit.retention_seconds;
        let fetched = match worker::Fetch::Url(url.parse()?).send().await {
            Ok(mut response) if response.status_code() == 200 => response.text().await.ok(),
            Ok(response) => {
                worker::console_error!(
                    "portcullis: fraud feed answered {}",
                    response.status_code()
                );
                None
            }
            Err(e) => {
                worker::console_error!("portcullis: fraud feed unreachable: {e}");
                None
            }
        };
        match fetched {
            Some(text) => {
                let (good, bad) = parse_feed(&text);
                self.put("fraudFeed", &json!(good).to_string())?;
                self.audit(
                    "fraudFeedLoaded",
                    "",
                    &json!({ "entries": good.len(), "rejectedLines": bad.len() }),
                    now,
                    retention,
                )?;
            }
            None => self.audit("fraudFeedFailed", "", &json!({}), now, retention)?,
        }
        self.put(
            "feedNextAt",
            &now.saturating_add(fraud.feed_poll_seconds).to_string(),
        )
    }

    /// Sets the alarm for whatever is due first: the next feed poll or the
    /// next webhook attempt (`now` in seconds).
    pub(super) async fn reschedule(&self, policy: &Policy, now: u64) -> Result<()> {
        let fraud = &policy.bans.fraud;
        let feed = if fraud.enabled && fraud.feed_url.is_some() {
            match self.get("feedNextAt")?.and_then(|v| v.parse::<u64>().ok()) {
                Some(at) => Some(at),
                None => {
                    // A newly configured feed is polled within a second.
                    let at = now + 1;
                    self.put("feedNextAt", &at.to_string())?;
                    Some(at)
                }
            }
            .map(|seconds| seconds.saturating_mul(1000))
        } else {
            None
        };
        let hooks: Vec<NextRow> = self
            .sql()
            .exec(
                "SELECT MIN(next_at) AS next FROM webhooks WHERE state = 'pending'",
                None,
            )?
            .to_array()?;
        let hook = hooks
            .first()
            .and_then(|r| r.next)
            .filter(|_| policy.webhooks.url.is_some())
            .map(|n| n as u64);
        let Some(next) = [feed, hook].into_iter().flatten().min() else {
            return Ok(());
        };
        let storage = self.state.storage();
        let next_ms = next as f64;
        let current = storage.get_alarm().await?;
        if current.is_none_or(|at| at as f64 > next_ms) {
            let delay = (next_ms - js_sys::Date::now()).max(0.0) as u64;
            storage
                .set_alarm(std::time::Duration::from_millis(delay))
                .await?;
        }
        Ok(())
    }
}
