//! The AccountGuard Durable Object: one instance per account key, holding
//! its lockout state. A Durable Object handles one request at a time and
//! each attempt is counted before it reaches the origin, so parallel failed
//! logins lock the account at exactly the limit. Core decides; this stores.

use portcullis_core::AccountLock;
use portcullis_core::objects::{AccountCall, Save, Stored, apply_account};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::clock;
use crate::objects::{storage, stub};

/// The AccountGuard Durable Object.
#[durable_object]
pub struct AccountGuard {
    state: State,
    env: Env,
}

impl DurableObject for AccountGuard {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let (call, name) = match stub::operation::<AccountCall>(req).await? {
            Ok(op) => op,
            Err(refusal) => return Ok(refusal),
        };
        let fresh_ok = !call.op.needs_record();
        let label = format!("account:{name}");
        let mut lock: AccountLock =
            match storage::record(&self.state, &self.env, "lock", label, fresh_ok).await? {
                Ok(lock) => lock,
                Err(unreadable) => return Ok(unreadable),
            };
        let (answer, save) = apply_account(&mut lock, &call, clock::now_seconds());
        if save == Save::Yes {
            storage::save(&self.state, "lock", &lock)?;
        }
        stub::answer(&Stored::Answer(answer))
    }
}
