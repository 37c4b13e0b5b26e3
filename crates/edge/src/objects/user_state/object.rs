//! The UserState Durable Object: one instance per user id, holding core's
//! user record: password history fingerprints, when the password was set,
//! the last login, the per-user exceptions, a required change, probation
//! counts and in single-session mode the user's sessions. One request at a
//! time per user, so a login, a session check and an admin change never
//! interleave. Core decides; this stores.
//!
//! A password change asks this object to have Control end the user's
//! older sessions everywhere. The revocation is stored first and handed
//! to Control until Control confirms it: when Control is busy or away,
//! the alarm tries again (every 2 seconds, then less often, up to a
//! minute), so a stolen session never outlives a change silently. The
//! password change waits for Control at most [`REVOKE_WAIT_MS`]: a Control
//! that hangs rather than refuses leaves the retry to the alarm, instead of
//! holding the user's change (and this object) with it.

use portcullis_core::UserRecord;
use portcullis_core::objects::{
    ControlAnswer, ControlOp, Save, Stored, UserAnswer, UserOp, apply_user,
};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::clock;
use crate::objects::control::client as control;
use crate::objects::{storage, stub};

/// The first retry's delay; each next one doubles, up to [`MAX_RETRY_MS`].
const RETRY_MS: u64 = 2000;
const MAX_RETRY_MS: u64 = 60_000;
/// How long a revocation waits for Control's answer before the alarm takes
/// over (a revocation is safe to repeat).
const REVOKE_WAIT_MS: u64 = 1500;

/// A revocation Control has not confirmed.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Pending {
    user: String,
    before: u64,
    tries: u32,
}

/// The UserState Durable Object.
#[durable_object]
pub struct UserState {
    state: State,
    env: Env,
}

impl UserState {
    fn pending(&self) -> Result<Option<Pending>> {
        Ok(match storage::load::<Pending>(&self.state, "revocation")? {
            storage::Loaded::Found(p) if !p.user.is_empty() => Some(p),
            _ => None,
        })
    }

    /// Hands the pending revocation to Control; on failure the alarm tries
    /// again later.
    async fn revoke(&self, mut pending: Pending) -> Result<()> {
        let op = ControlOp::RevokeUser {
            user: pending.user.clone(),
            before: Some(pending.before),
        };
        let env = self.env.clone();
        let answer = stub::within(
            REVOKE_WAIT_MS,
            async move { control::call(&env, &op).await },
        );
        match answer.await {
            Some(Ok(Stored::Answer(ControlAnswer::Revoked { .. }))) => {
                // A later change may have stored a later moment meanwhile
                // (the object takes requests while it waits): only what
                // Control confirmed is cleared.
                match self.pending()? {
                    Some(now) if now.before > pending.before => Ok(()),
                    _ => storage::save(&self.state, "revocation", &Pending::default()),
                }
            }
            outcome => {
                match outcome {
                    Some(Err(e)) => {
                        worker::console_error!("portcullis: session revocation not taken yet: {e}");
                    }
                    None => worker::console_error!(
                        "portcullis: session revocation not confirmed within {REVOKE_WAIT_MS} ms; retrying later"
                    ),
                    Some(Ok(_)) => {}
                }
                let delay = RETRY_MS
                    .saturating_mul(1 << pending.tries.min(5))
                    .min(MAX_RETRY_MS);
                pending.tries = pending.tries.saturating_add(1);
                storage::save(&self.state, "revocation", &pending)?;
                self.state
                    .storage()
                    .set_alarm(std::time::Duration::from_millis(delay))
                    .await
            }
        }
    }
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
        if let (UserOp::Changed { revoke_before, .. }, UserAnswer::Changed { .. }) = (&op, &answer)
        {
            let before = self
                .pending()?
                .map_or(*revoke_before, |p| p.before.max(*revoke_before));
            let pending = Pending {
                user: name,
                before,
                tries: 0,
            };
            storage::save(&self.state, "revocation", &pending)?;
            self.revoke(pending).await?;
        }
        stub::answer(&Stored::Answer(answer))
    }

    async fn alarm(&self) -> Result<Response> {
        if let Some(pending) = self.pending()? {
            self.revoke(pending).await?;
        }
        Response::ok("")
    }
}
