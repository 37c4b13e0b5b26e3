//! The IpGuard Durable Object: one instance per client key (an IPv4
//! address or an IPv6 prefix), so the warnings of one client are counted
//! exactly, in one place, however many isolates see them. It stores the
//! client's [`IpRecord`] in SQLite; core decides when the record bans.

use portcullis_core::bans::{BanEntry, IpRecord, WarningKind};
use portcullis_core::{BanPolicy, ManualBanScope};
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::reply::{self, now_seconds};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WarnRequest {
    key: String,
    ip: String,
    kind: WarningKind,
    policy: BanPolicy,
}

/// What a warning led to.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WarnOutcome {
    /// The ban this warning triggered, if any.
    pub(crate) ban: Option<BanEntry>,
}

/// Records a security warning for the client `key` (seen from `ip`).
pub(crate) async fn warn(
    env: &Env,
    key: &str,
    ip: &str,
    kind: WarningKind,
    policy: &BanPolicy,
) -> Result<WarnOutcome> {
    let body = serde_json::to_string(&WarnRequest {
        key: key.to_owned(),
        ip: ip.to_owned(),
        kind,
        policy: policy.clone(),
    })
    .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut response = crate::store::post(env, "IP_GUARD", key, "/warn", &body).await?;
    let text = response.text().await?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// Lifts the ban in the client's own record (the admin's unban).
pub(crate) async fn lift(env: &Env, key: &str) -> Result<()> {
    crate::store::post(env, "IP_GUARD", key, "/lift", "")
        .await
        .map(|_| ())
}

/// The IpGuard Durable Object.
#[durable_object]
pub struct IpGuard {
    state: State,
    env: Env,
}

impl IpGuard {
    fn load(&self) -> Result<IpRecord> {
        crate::store::load(&self.state, "record")
    }

    fn save(&self, value: &IpRecord) -> Result<()> {
        crate::store::save(&self.state, "record", value)
    }
}

impl DurableObject for IpGuard {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let now = now_seconds();
        match req.path().as_str() {
            "/warn" => {
                let Ok(warning) = serde_json::from_str::<WarnRequest>(&req.text().await?) else {
                    return reply::error(400, "malformed_body", "bad warning");
                };
                // The Durable Object handles one request at a time, so the
                // read-modify-write below loses no warning.
                let mut record = self.load()?;
                let banned_until = record.record_warning(&warning.policy, now);
                let ban = banned_until.map(|until| BanEntry {
                    target: warning.key.clone(),
                    until,
                    scope: ManualBanScope::All,
                    reason: "warnings".to_owned(),
                });
                // Publish the ban before saving the record: if publishing
                // fails, the record is not saved and the next warning bans
                // again, rather than a saved ban nobody enforces.
                if let Some(ban) = &ban {
                    let body = serde_json::to_value(ban)
                        .map_err(|e| worker::Error::RustError(e.to_string()))?;
                    crate::control::call(&self.env, "POST", "/bans", Some(&body)).await?;
                }
                self.save(&record)?;
                let audit = json!({
                    "kind": "warning",
                    "ip": warning.ip,
                    "detail": { "warning": warning.kind, "client": warning.key, "inWindow": record.warnings.len() },
                });
                crate::control::call(&self.env, "POST", "/audit", Some(&audit)).await?;
                reply::json(200, &json!(WarnOutcome { ban }))
            }
            "/lift" => {
                let mut record = self.load()?;
                record.lift();
                self.save(&record)?;
                reply::json(200, &json!({ "ok": true }))
            }
            _ => reply::error(404, "not_found", "No such route."),
        }
    }
}
