//! The UserState Durable Object: one instance per user id, holding core's
//! user record: password history fingerprints, when the password was set,
//! the last login, the per-user exceptions, a required change, probation
//! counts and in single-session mode the user's sessions. One request at a
//! time per user, so a login, a session check and an admin change never
//! interleave. Core decides; this stores.

use portcullis_core::UserRecord;
use portcullis_core::objects::{Save, Stored, UserOp, apply_user};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::clock;
use crate::objects::{storage, stub};

/// The UserState Durable Object.
#[durable_object]
pub struct UserState {
    state: State,
    env: Env,
}

impl DurableObject for UserState {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let (op, name) = match stub::operation::<UserOp>(req).await? {
            Ok(op) => op,
            Err(refusal) => return Ok(refusal),
        };
        let fresh_ok = !op.needs_record();
        let label = format!("user:{name}");
        let mut record: UserRecord =
            match storage::record(&self.state, &self.env, "user", label, fresh_ok).await? {
                Ok(record) => record,
                Err(unreadable) => return Ok(unreadable),
            };
        let (answer, save) = apply_user(&mut record, &op, clock::now_seconds());
        if save == Save::Yes {
            storage::save(&self.state, "user", &record)?;
        }
        stub::answer(&Stored::Answer(answer))
    }
}
