//! The Control Durable Object (one instance, named "control"): the
//! authoritative configuration (seeded from `wrangler.toml` vars and
//! secrets on first start), secrets, revocations, reset tokens, the audit
//! log and webhooks, in SQLite; its one alarm runs webhook deliveries and
//! the fraud feed's polls. No request or warning passes through it on its
//! way: bans live in the `BanLog` shards and audit items reach it in
//! batches from the `AuditLog` shards.

use portcullis_core::objects::ControlOp;
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use super::store::Store;
use super::{admin, bans, feed, ops, webhooks};
use crate::clock;
use crate::objects::stub;

/// The Control Durable Object.
#[durable_object]
pub struct Control {
    store: Store,
}

impl Control {
    /// Sets the alarm for whatever is due first: the next feed poll or the
    /// next webhook attempt.
    async fn reschedule(&self) -> Result<()> {
        let store = &self.store;
        let Ok(policy) = store.policy() else {
            return Ok(());
        };
        let now = clock::now_seconds();
        let feed = feed::next_due(store, &policy, now)?.map(|s| s.saturating_mul(1000));
        let hook = webhooks::next_due(store, &policy)?;
        let Some(next_ms) = [feed, hook].into_iter().flatten().min() else {
            return Ok(());
        };
        let storage = store.state.storage();
        let current = storage.get_alarm().await?;
        if current.is_none_or(|at| at as u64 > next_ms) {
            let delay = next_ms.saturating_sub(clock::now_millis());
            storage
                .set_alarm(std::time::Duration::from_millis(delay))
                .await?;
        }
        Ok(())
    }
}

impl DurableObject for Control {
    fn new(state: State, env: Env) -> Self {
        Self {
            store: Store { state, env },
        }
    }

    /// Runs what is due (webhook deliveries, the fraud feed's poll) and
    /// sets the alarm for what comes next.
    async fn alarm(&self) -> Result<Response> {
        let store = &self.store;
        store.init()?;
        if let Ok(policy) = store.policy() {
            webhooks::deliver_due(store, &policy).await?;
            feed::poll(store, &policy, clock::now_seconds()).await?;
            self.reschedule().await?;
        }
        Response::ok("")
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let store = &self.store;
        store.init()?;
        let now = clock::now_seconds();
        let path = req.path();
        let (response, snapshot) = if let Some(rest) = path.strip_prefix("/admin") {
            let rest = rest.to_owned();
            (admin::handle(store, req, &rest, now).await?, false)
        } else {
            let (op, _) = match stub::operation::<ControlOp>(req).await? {
                Ok(op) => op,
                Err(refusal) => return Ok(refusal),
            };
            let snapshot = op == ControlOp::Snapshot;
            if snapshot && let Ok(policy) = store.policy() {
                bans::migrate(store, &policy.bans, now).await?;
            }
            (stub::answer(&ops::apply(store, op, now)?)?, snapshot)
        };
        // An audit entry may have queued a webhook, and a snapshot read
        // keeps a configured feed's alarm pending: make sure the alarm is set.
        let hooks = store.policy().is_ok_and(|p| p.webhooks.url.is_some());
        if hooks || snapshot {
            self.reschedule().await?;
        }
        Ok(response)
    }
}
