//! The AccountGuard Durable Object: one instance per account key (core's
//! `account_key`), holding its lockout state ([`AccountLock`]). A Durable
//! Object handles one request at a time and each attempt is counted before
//! it reaches the origin, so parallel failed logins lock the account at
//! exactly the limit. Core decides; this stores.

use portcullis_core::LoginPolicy;
use portcullis_core::lockout::{AccountLock, Failure, Gate};
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::reply::{self, now_seconds};

/// A gate or failure outcome as it crosses from the Durable Object.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Outcome {
    /// `open`, `locked` or `permanent`.
    pub(crate) state: String,
    /// Seconds until a temporary lockout ends.
    pub(crate) retry_after: Option<u64>,
    /// Attempts left before lockout (when reporting is on).
    pub(crate) attempts_left: Option<u32>,
    /// Failed attempts counted so far (for "CAPTCHA after N failures").
    #[serde(default)]
    pub(crate) failures: u32,
}

fn outcome(gate: Gate, attempts_left: Option<u32>) -> Outcome {
    let (state, retry_after) = match gate {
        Gate::Open => ("open", None),
        Gate::Locked { retry_after } => ("locked", Some(retry_after)),
        _ => ("permanent", None),
    };
    Outcome {
        state: state.to_owned(),
        retry_after,
        attempts_left,
        failures: 0,
    }
}

pub(crate) use portcullis_core::lockout::account_key;

/// Asks the account's Durable Object: `peek`, `begin`, `failure`, `success` or `unlock`.
pub(crate) async fn call(
    env: &Env,
    login: &str,
    op: &str,
    policy: &LoginPolicy,
) -> Result<Outcome> {
    let body =
        serde_json::to_string(policy).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut response = crate::store::post(
        env,
        "ACCOUNT",
        &account_key(login),
        &format!("/{op}"),
        &body,
    )
    .await?;
    let text = response.text().await?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// The AccountGuard Durable Object.
#[durable_object]
pub struct AccountGuard {
    state: State,
}

impl AccountGuard {
    fn load(&self) -> Result<AccountLock> {
        crate::store::load(&self.state, "lock")
    }

    fn save(&self, value: &AccountLock) -> Result<()> {
        crate::store::save(&self.state, "lock", value)
    }
}

impl DurableObject for AccountGuard {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let now = now_seconds();
        let Ok(policy) = serde_json::from_str::<LoginPolicy>(&req.text().await?) else {
            return reply::error(400, "malformed_body", "bad account request");
        };
        let mut lock = self.load()?;
        let result = match req.path().as_str() {
            "/peek" => Outcome {
                failures: lock.failures,
                ..outcome(lock.gate(&policy, now), None)
            },
            "/begin" => {
                let gate = lock.begin_attempt(&policy, now);
                self.save(&lock)?;
                outcome(gate, None)
            }
            "/failure" => {
                let result = match lock.settle_failure(&policy, now) {
                    Failure::AttemptsLeft(left) => outcome(Gate::Open, left),
                    Failure::Locked(gate) => outcome(gate, Some(0)),
                    _ => outcome(lock.gate(&policy, now), None),
                };
                self.save(&lock)?;
                result
            }
            "/success" => {
                let gate = lock.settle_success(&policy, now);
                self.save(&lock)?;
                outcome(gate, None)
            }
            "/unlock" => {
                lock.unlock();
                self.save(&lock)?;
                outcome(Gate::Open, None)
            }
            _ => return reply::error(404, "not_found", "No such route."),
        };
        reply::json(200, &json!(result))
    }
}
