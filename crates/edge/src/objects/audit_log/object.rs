//! The AuditLog Durable Object, [`AUDIT_SHARDS`] instances: audit items
//! from the objects and the Worker are buffered in the shard their id
//! names and handed to Control in batches, so Control sees one request
//! per batch instead of one per warning. A batch stays until Control took
//! it; Control stores each id once, so a batch handed over twice (its
//! answer lost) is not counted twice. The alarm hands over what is due
//! and retries while Control is away.
//!
//! [`AUDIT_SHARDS`]: portcullis_core::objects::AUDIT_SHARDS

use portcullis_core::objects::{
    AuditAnswer, AuditItem, AuditOp, ControlAnswer, ControlOp, MAX_BATCH, Stored, decision_log_line,
};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::objects::control::client as control;
use crate::objects::stub;

/// How long items wait for company before they are handed over, unless
/// `PORTCULLIS_AUDIT_FLUSH_SECONDS` says otherwise (the admin's reads of
/// the log hand everything over first).
const DEFAULT_FLUSH_SECONDS: f64 = 20.0;
/// How long to wait before trying again when Control did not take a
/// batch; doubled after each failure in a row, up to [`MAX_RETRY_MS`] (a
/// busy Control is not made busier).
const RETRY_MS: u64 = 2000;
const MAX_RETRY_MS: u64 = 60_000;

#[derive(serde::Deserialize)]
struct Row {
    id: String,
    item: String,
}

#[derive(serde::Deserialize)]
struct Count {
    n: f64,
}

/// The AuditLog Durable Object.
#[durable_object]
pub struct AuditLog {
    state: State,
    env: Env,
    /// Hand-overs that failed in a row (this instance's memory).
    failures: std::cell::Cell<u32>,
}

impl AuditLog {
    fn init(&self) -> Result<()> {
        self.state.storage().sql().exec(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, item TEXT NOT NULL)",
            None,
        )?;
        Ok(())
    }

    fn pending(&self) -> Result<usize> {
        let rows: Vec<Count> = self
            .state
            .storage()
            .sql()
            .exec("SELECT COUNT(*) AS n FROM outbox", None)?
            .to_array()?;
        Ok(rows.first().map_or(0, |r| r.n as usize))
    }

    fn flush_ms(&self) -> u64 {
        let seconds = self
            .env
            .var("PORTCULLIS_AUDIT_FLUSH_SECONDS")
            .ok()
            .and_then(|v| v.to_string().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(DEFAULT_FLUSH_SECONDS);
        (seconds * 1000.0) as u64
    }

    async fn wake_in(&self, ms: u64) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage
                .set_alarm(std::time::Duration::from_millis(ms))
                .await?;
        }
        Ok(())
    }

    async fn wake_now(&self) -> Result<()> {
        self.state
            .storage()
            .set_alarm(std::time::Duration::from_millis(0))
            .await
    }

    fn append(&self, items: &[AuditItem]) -> Result<()> {
        let sql = self.state.storage().sql();
        for item in items {
            // Every decision the objects and the request path audit, as one
            // structured line in the Workers logs.
            worker::console_log!("{}", decision_log_line(&item.entry, item.at));
            let text =
                serde_json::to_string(item).map_err(|e| worker::Error::RustError(e.to_string()))?;
            sql.exec(
                "INSERT OR IGNORE INTO outbox (id, item) VALUES (?, ?)",
                vec![item.id.clone().into(), text.into()],
            )?;
        }
        Ok(())
    }

    /// Hands everything over; when Control did not take it, the alarm
    /// tries again later, backing off.
    async fn deliver_or_retry(&self) -> Result<()> {
        if self.deliver().await? {
            self.failures.set(0);
            return Ok(());
        }
        let failures = self.failures.get();
        self.failures.set(failures.saturating_add(1));
        let delay = RETRY_MS
            .saturating_mul(1 << failures.min(5))
            .min(MAX_RETRY_MS);
        self.state
            .storage()
            .set_alarm(std::time::Duration::from_millis(delay))
            .await
    }

    /// Hands batches to Control until none is left; whether all went.
    async fn deliver(&self) -> Result<bool> {
        let sql = self.state.storage().sql();
        loop {
            let rows: Vec<Row> = sql
                .exec(
                    "SELECT id, item FROM outbox ORDER BY seq LIMIT ?",
                    vec![(MAX_BATCH as i64).into()],
                )?
                .to_array()?;
            if rows.is_empty() {
                return Ok(true);
            }
            let items: Vec<AuditItem> = rows
                .iter()
                .filter_map(|r| serde_json::from_str(&r.item).ok())
                .collect();
            match control::call(&self.env, &ControlOp::AuditBatch { items }).await {
                Ok(Stored::Answer(ControlAnswer::Done)) => {}
                Ok(_) => return Ok(false),
                Err(e) => {
                    worker::console_error!("portcullis: audit batch not taken: {e}");
                    return Ok(false);
                }
            }
            for row in &rows {
                sql.exec(
                    "DELETE FROM outbox WHERE id = ?",
                    vec![row.id.clone().into()],
                )?;
            }
            if rows.len() < MAX_BATCH {
                return Ok(true);
            }
        }
    }
}

impl DurableObject for AuditLog {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            failures: std::cell::Cell::new(0),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let (op, _) = match stub::operation::<AuditOp>(req).await? {
            Ok(op) => op,
            Err(refusal) => return Ok(refusal),
        };
        self.init()?;
        let pending = match op {
            AuditOp::Append { items } => {
                self.append(&items)?;
                let pending = self.pending()?;
                // A full batch goes at once (unless Control is being given
                // time: backing off); a smaller one waits for company.
                if pending >= MAX_BATCH && self.failures.get() == 0 {
                    self.wake_now().await?;
                } else {
                    self.wake_in(self.flush_ms()).await?;
                }
                pending
            }
            AuditOp::Flush => {
                self.deliver_or_retry().await?;
                self.pending()?
            }
        };
        stub::answer(&Stored::Answer(AuditAnswer::Done { pending }))
    }

    async fn alarm(&self) -> Result<Response> {
        self.init()?;
        self.deliver_or_retry().await?;
        Response::ok("")
    }
}
