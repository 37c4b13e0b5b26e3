//! The IpGuard Durable Object: one instance per client key, so the warnings
//! of one client are counted exactly, in one place, however many isolates
//! see them. Core decides when the record bans; this object saves the
//! record first (no other request can read it between the read and the
//! write: an object runs other requests while it waits for I/O), then
//! publishes the ban to its `BanLog` shard. The warning's audit entry is
//! the isolate's to send (core's `warning_audit`, in batches: see
//! `audit_log::client::batched`), unless the warning comes from an isolate
//! of an earlier version (during a deployment), which left it to this
//! object. A ban whose publication failed is announced again by the
//! client's next warning (core answers the standing ban). Control is not
//! on this path.

use portcullis_core::IpRecord;
use portcullis_core::objects::{
    BanLogOp, GuardAnswer, GuardOp, Stored, apply_guard, ban_shard, warning_audit,
};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::clock;
use crate::objects::audit_log::client as audit_log;
use crate::objects::ban_log::client as ban_log;
use crate::objects::{storage, stub};

/// The IpGuard Durable Object.
#[durable_object]
pub struct IpGuard {
    state: State,
    env: Env,
}

impl DurableObject for IpGuard {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let (op, name) = match stub::operation::<GuardOp>(req).await? {
            Ok(op) => op,
            Err(refusal) => return Ok(refusal),
        };
        // One request at a time: the read-modify-write loses no warning.
        let fresh_ok = !op.needs_record();
        let label = format!("client:{name}");
        let mut record: IpRecord =
            match storage::record(&self.state, &self.env, "record", label, fresh_ok).await? {
                Ok(record) => record,
                Err(unreadable) => return Ok(unreadable),
            };
        let answer = apply_guard(&mut record, &op, clock::now_seconds());
        // A count only reads: a client without a record gets none.
        if !matches!(op, GuardOp::Count { .. }) {
            storage::save(&self.state, "record", &record)?;
        }
        if let (
            GuardOp::Warn { policy, .. },
            GuardAnswer::Warned {
                ban: Some(ban),
                announced_again,
                ..
            },
        ) = (&op, &answer)
            && let Some(shard) = ban_shard(&ban.target)
        {
            let publish = BanLogOp::Publish {
                ban: ban.clone(),
                policy: policy.clone(),
                audit: !announced_again,
            };
            // The isolate that sent the warning enforces the ban either way;
            // a failed publication is announced again by the next warning.
            if let Err(e) = ban_log::call(&self.env, &shard, &publish).await {
                worker::console_error!("portcullis: publishing the ban of {shard} failed: {e}");
            }
        }
        // An isolate of an earlier version leaves the audit entry to the object.
        if let (
            GuardOp::Warn {
                caller_audits: false,
                ..
            },
            Some(entry),
        ) = (&op, warning_audit(&op, &answer))
            && let Err(e) = audit_log::append(&self.env, vec![entry]).await
        {
            worker::console_error!("portcullis: auditing a warning failed: {e}");
        }
        stub::answer(&Stored::Answer(answer))
    }
}
