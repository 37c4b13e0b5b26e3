//! The IpGuard Durable Object: one instance per client key, so the warnings
//! of one client are counted exactly, in one place, however many isolates
//! see them. Core decides when the record bans; this object publishes the
//! ban (before saving the record: if publishing fails, the next warning
//! bans again, rather than a saved ban nobody enforces) and audits the
//! warning.

use portcullis_core::IpRecord;
use portcullis_core::objects::{
    AuditEntry, AuditKind, ControlOp, GuardAnswer, GuardOp, Stored, apply_guard,
};
use serde_json::json;
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::clock;
use crate::objects::control::client as control;
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
        if let GuardAnswer::Warned { ban: Some(ban), .. } = &answer {
            control::call(&self.env, &ControlOp::PublishBan { ban: ban.clone() }).await?;
        }
        storage::save(&self.state, "record", &record)?;
        if let (GuardOp::Warn { key, ip, kind, .. }, GuardAnswer::Warned { in_window, .. }) =
            (&op, &answer)
        {
            let detail = json!({ "warning": kind, "client": key, "inWindow": in_window });
            let entry = AuditEntry::new(AuditKind::Warning, ip.clone(), detail);
            control::call(&self.env, &ControlOp::Audit { entry }).await?;
        }
        stub::answer(&Stored::Answer(answer))
    }
}
