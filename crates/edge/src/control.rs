//! The Control Durable Object (one instance, named "control"): the
//! authoritative configuration (seeded from `wrangler.toml` vars and
//! secrets on first start), the list of active bans that isolates replicate,
//! and the audit log. SQLite-backed, so every change is strongly consistent
//! and survives restarts. Admin API requests are authenticated here, where
//! the application key lives; it never leaves this object.

use portcullis_core::ManualBanScope;
use portcullis_core::Policy;
use portcullis_core::admin::{application_key_matches, bearer_token};
use portcullis_core::bans::{BanEntry, PERMANENT};
use portcullis_core::net::canonical_target;
use serde::Deserialize;
use serde_json::{Value, json};
use wasm_bindgen::JsValue;
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorage, State,
    durable_object,
};

use crate::reply::{self, now_seconds};

mod audit;
mod hooks;
mod users;

/// Name of the one Control instance.
const INSTANCE: &str = "control";

/// Sends `init` to Control's `path`.
async fn send(env: &Env, path: &str, init: &RequestInit) -> Result<Response> {
    let stub = env
        .durable_object("CONTROL")?
        .id_from_name(INSTANCE)?
        .get_stub()?;
    stub.fetch_with_request(Request::new_with_init(
        &format!("https://control{path}"),
        init,
    )?)
    .await
}

/// Calls Control from the Worker or another Durable Object.
pub(crate) async fn call(
    env: &Env,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(Method::from(method.to_owned()));
    if let Some(body) = body {
        init.with_body(Some(JsValue::from_str(&body.to_string())));
    }
    send(env, path, &init).await
}

/// Forwards an admin API request (path after `/__portcullis/admin`) to Control.
pub(crate) async fn admin(
    env: &Env,
    req: Request,
    rest: &str,
    client_ip: &str,
) -> Result<Response> {
    let mut init = RequestInit::new();
    let method = req.method();
    init.with_method(method.clone());
    let headers = worker::Headers::new();
    if let Some(auth) = req.headers().get("Authorization")? {
        headers.set("Authorization", &auth)?;
    }
    headers.set("Portcullis-Client-Ip", client_ip)?;
    init.with_headers(headers);
    if !matches!(method, Method::Get | Method::Head) {
        // Bounded before the key is checked: settings are small.
        let length = req
            .headers()
            .get("Content-Length")?
            .and_then(|v| v.trim().parse::<u64>().ok());
        if req.inner().body().is_some() && length.is_none_or(|n| n > 64 * 1024) {
            return reply::error(
                413,
                "body_too_large",
                "Admin requests carry at most 64 KB, with a Content-Length.",
            );
        }
        let mut req = req;
        let text = req.text().await.unwrap_or_default();
        init.with_body(Some(JsValue::from_str(&text)));
    }
    send(env, &format!("/admin{rest}"), &init).await
}

/// The Control Durable Object.
#[durable_object]
pub struct Control {
    state: State,
    env: Env,
}

#[derive(Deserialize)]
struct ValueRow {
    value: String,
}

#[derive(Deserialize)]
struct BanRow {
    target: String,
    until: Option<f64>,
    scope: String,
    reason: String,
}

#[derive(Deserialize, serde::Serialize)]
struct AuditRow {
    id: f64,
    at: f64,
    kind: String,
    ip: String,
    detail: String,
}

fn scope_name(scope: ManualBanScope) -> &'static str {
    match scope {
        ManualBanScope::Writes => "writes",
        _ => "all",
    }
}

impl Control {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn init_tables(&self) -> Result<()> {
        let sql = self.sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            None,
        )?;
        sql.exec(
            "CREATE TABLE IF NOT EXISTS bans (target TEXT PRIMARY KEY, until INTEGER, scope TEXT NOT NULL, reason TEXT NOT NULL, created INTEGER NOT NULL)",
            None,
        )?;
        sql.exec(
            "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, ip TEXT NOT NULL, detail TEXT NOT NULL)",
            None,
        )?;
        // Pruning by age runs on every insert: keep it an index range scan.
        sql.exec("CREATE INDEX IF NOT EXISTS audit_at ON audit (at)", None)?;
        // Accounts whose lockout is running (`until` NULL: until unlocked).
        sql.exec(
            "CREATE TABLE IF NOT EXISTS locks (account TEXT PRIMARY KEY, until INTEGER, at INTEGER NOT NULL)",
            None,
        )?;
        // Webhook deliveries: the event, core's Delivery, and the columns the
        // scheduler reads.
        sql.exec(
            "CREATE TABLE IF NOT EXISTS webhooks (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL, delivery TEXT NOT NULL, state TEXT NOT NULL, next_at INTEGER NOT NULL)",
            None,
        )?;
        sql.exec(
            "CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks (state, next_at)",
            None,
        )?;
        // Single-use reset tokens, by the SHA-256 of the token (never the token).
        sql.exec(
            "CREATE TABLE IF NOT EXISTS reset_tokens (digest TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER NOT NULL)",
            None,
        )?;
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        let rows: Vec<ValueRow> = self
            .sql()
            .exec("SELECT value FROM kv WHERE key = ?", vec![key.into()])?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| r.value))
    }

    fn put(&self, key: &str, value: &str) -> Result<()> {
        self.sql().exec(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), value.into()],
        )?;
        Ok(())
    }

    /// The policy; seeded from the `PORTCULLIS_POLICY` (JSON) or
    /// `PORTCULLIS_PRESET` var on first start.
    fn policy(&self) -> std::result::Result<Policy, String> {
        if let Ok(Some(json)) = self.get("policy") {
            return Policy::from_json(&json).map_err(|e| e.to_string());
        }
        let var = |name: &str| {
            self.env
                .var(name)
                .map(|v| v.to_string())
                .ok()
                .filter(|v| !v.trim().is_empty())
        };
        let policy = match (var("PORTCULLIS_POLICY"), var("PORTCULLIS_PRESET")) {
            (Some(json), _) => {
                Policy::from_json(&json).map_err(|e| format!("PORTCULLIS_POLICY: {e}"))?
            }
            (None, Some(name)) => {
                Policy::preset(&name).map_err(|e| format!("PORTCULLIS_PRESET: {e}"))?
            }
            (None, None) => Policy::default(),
        };
        self.put("policy", &policy.to_json())
            .map_err(|e| e.to_string())?;
        Ok(policy)
    }

    /// A `wrangler secret` (or var, for local development), when set.
    fn env_secret(&self, name: &str) -> Option<String> {
        self.env
            .secret(name)
            .map(|s| s.to_string())
            .or_else(|_| self.env.var(name).map(|v| v.to_string()))
            .ok()
            .filter(|v| !v.is_empty())
    }

    /// A secret the admin API may replace: the stored one, else the
    /// `env_name` secret.
    fn replaceable_secret(&self, stored: &str, env_name: &str) -> Option<String> {
        match self.get(stored) {
            Ok(Some(value)) => Some(value),
            _ => self.env_secret(env_name),
        }
    }

    /// The application key: set through the admin API, else the
    /// `APPLICATION_KEY` secret.
    fn application_key(&self) -> Option<String> {
        self.replaceable_secret("secret:applicationKey", "APPLICATION_KEY")
    }

    /// A signing secret: stored in SQLite; seeded from the `env_name`
    /// secret when it has at least 32 characters, else 32 random bytes.
    /// Never leaves the Worker.
    fn signing_secret(&self, name: &str, env_name: &str) -> Result<String> {
        let key = format!("secret:{name}");
        if let Some(value) = self.get(&key)? {
            return Ok(value);
        }
        let from_env = self
            .env_secret(env_name)
            .filter(|v| v.chars().count() >= portcullis_core::admin::MIN_SECRET_CHARS);
        let value = match from_env {
            Some(v) => v,
            None => users::random_secret()?,
        };
        self.put(&key, &value)?;
        Ok(value)
    }

    /// The CAPTCHA provider's secret key: set through the admin API, else
    /// the `CAPTCHA_SECRET` secret (no secret means CAPTCHA is off).
    fn captcha_secret(&self) -> Option<String> {
        self.replaceable_secret("secret:captcha", "CAPTCHA_SECRET")
    }

    fn active_bans(&self, now: u64) -> Result<Vec<BanEntry>> {
        let rows: Vec<BanRow> = self
            .sql()
            .exec(
                "SELECT target, until, scope, reason FROM bans WHERE until IS NULL OR until > ?",
                vec![(now as i64).into()],
            )?
            .to_array()?;
        Ok(rows
            .into_iter()
            .map(|r| BanEntry {
                target: r.target,
                until: r.until.map_or(PERMANENT, |u| u as u64),
                scope: if r.scope == "writes" {
                    ManualBanScope::Writes
                } else {
                    ManualBanScope::All
                },
                reason: r.reason,
            })
            .collect())
    }

    fn save_ban(&self, ban: &BanEntry, now: u64) -> Result<()> {
        let until: Option<i64> = (ban.until != PERMANENT).then_some(ban.until as i64);
        self.sql().exec(
            "INSERT INTO bans (target, until, scope, reason, created) VALUES (?, ?, ?, ?, ?) ON CONFLICT(target) DO UPDATE SET until = excluded.until, scope = excluded.scope, reason = excluded.reason",
            vec![
                ban.target.clone().into(),
                until.into(),
                scope_name(ban.scope).into(),
                ban.reason.clone().into(),
                (now as i64).into(),
            ],
        )?;
        Ok(())
    }

    fn audit(&self, kind: &str, ip: &str, detail: &Value, now: u64, retention: u64) -> Result<()> {
        let sql = self.sql();
        sql.exec(
            "INSERT INTO audit (at, kind, ip, detail) VALUES (?, ?, ?, ?)",
            vec![
                (now as i64).into(),
                kind.into(),
                ip.into(),
                detail.to_string().into(),
            ],
        )?;
        sql.exec(
            "DELETE FROM audit WHERE at < ?",
            vec![(now.saturating_sub(retention) as i64).into()],
        )?;
        if let Ok(policy) = self.policy() {
            let entry = json!({ "at": now, "kind": kind, "ip": ip, "detail": detail });
            self.enqueue_webhook(&policy, &entry, kind)?;
        }
        Ok(())
    }

    /// The fraud feed's last good list, merged into the deny list the
    /// isolates see.
    fn feed_entries(&self) -> Vec<String> {
        self.get("fraudFeed")
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    /// Keeps an alarm pending while a fraud feed is configured.
    fn snapshot(&self, now: u64, policy: std::result::Result<Policy, String>) -> Result<Response> {
        match policy {
            Ok(mut policy) => {
                policy.bans.fraud.deny_list.extend(self.feed_entries());
                reply::json(
                    200,
                    &json!({
                        "policy": policy,
                        "bans": self.active_bans(now)?,
                        "secrets": {
                            "jwt": self.signing_secret("jwt", "JWT_SECRET")?,
                            "jwtPrevious": self.get("secret:jwtPrevious")?,
                            "xsrf": self.signing_secret("xsrf", "XSRF_SALT")?,
                            "captcha": self.captcha_secret(),
                            "pepper": self.signing_secret("pepper", "PASSWORD_PEPPER")?,
                        },
                        "revocations": self.revocations()?,
                    }),
                )
            }
            Err(message) => reply::error(503, "configuration_invalid", &message),
        }
    }

    async fn handle_admin(&self, mut req: Request, path: &str, now: u64) -> Result<Response> {
        let ip = req
            .headers()
            .get("Portcullis-Client-Ip")?
            .unwrap_or_default();
        let presented = req
            .headers()
            .get("Authorization")?
            .and_then(|h| bearer_token(&h).map(str::to_owned));
        let authorised = match (self.application_key(), presented) {
            (Some(expected), Some(presented)) => application_key_matches(&expected, &presented),
            _ => false,
        };
        if !authorised {
            return reply::error(
                401,
                "unauthorized",
                "A valid application key is required (Authorization: Bearer <key>).",
            );
        }
        let policy = match self.policy() {
            Ok(p) => p,
            Err(message) => return reply::error(503, "configuration_invalid", &message),
        };
        let retention = policy.audit.retention_seconds;
        if let Some(answer) = self.handle_people(&mut req, path, &policy, &ip, now).await {
            return answer;
        }
        let query: Vec<(String, String)> = req
            .url()?
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let method = req.method();
        match (method, path) {
            (Method::Get, "/settings") => reply::json(
                200,
                &json!({
                    "policy": policy,
                    "defaults": Policy::default(),
                    "secrets": {
                    "applicationKey": if self.application_key().is_some() { "set" } else { "unset" },
                    "jwtSecret": if self.get("secret:jwt")?.is_some() { "set" } else { "unset" },
                    "xsrfSalt": if self.get("secret:xsrf")?.is_some() { "set" } else { "unset" },
                    "captchaSecret": if self.captcha_secret().is_some() { "set" } else { "unset" },
                    "passwordPepper": if self.get("secret:pepper")?.is_some() { "set" } else { "unset" },
                    "webhookSecret": if self.webhook_secret().is_some() { "set" } else { "unset" },
                },
                }),
            ),
            (Method::Patch | Method::Put, "/settings") => {
                let body = req.text().await.unwrap_or_default();
                let result = if req.method() == Method::Put {
                    Policy::from_json(&body)
                } else {
                    policy.merge_patch(&body)
                };
                match result {
                    Ok(updated) => {
                        self.put("policy", &updated.to_json())?;
                        // A newly configured feed is polled within a second.
                        self.sql()
                            .exec("DELETE FROM kv WHERE key = 'feedNextAt'", None)?;
                        self.state.storage().delete_alarm().await?;
                        self.audit(
                            "settingsChanged",
                            &ip,
                            &json!({ "by": "applicationKey" }),
                            now,
                            retention,
                        )?;
                        reply::json(200, &json!({ "policy": updated }))
                    }
                    Err(e) => reply::json(
                        422,
                        &json!({
                            "error": "invalid_setting",
                            "field": e.field(),
                            "message": e.to_string(),
                        }),
                    ),
                }
            }
            (Method::Get, "/bans") => reply::json(200, &json!({ "bans": self.active_bans(now)? })),
            (Method::Post, "/bans") => {
                let body: Value = match req
                    .text()
                    .await
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                {
                    Some(v) => v,
                    None => {
                        return reply::error(
                            400,
                            "malformed_body",
                            "Expected a JSON object such as {\"target\": \"203.0.113.7\", \"seconds\": 3600}.",
                        );
                    }
                };
                let Some(target) = body
                    .get("target")
                    .and_then(Value::as_str)
                    .and_then(canonical_target)
                else {
                    return reply::error(
                        422,
                        "invalid_target",
                        "`target` must be an IP address or CIDR range.",
                    );
                };
                let until = match (
                    body.get("permanent").and_then(Value::as_bool),
                    body.get("seconds").and_then(Value::as_u64),
                ) {
                    (Some(true), _) => PERMANENT,
                    (_, Some(s)) if s > 0 => now.saturating_add(s),
                    _ => {
                        return reply::error(
                            422,
                            "invalid_duration",
                            "Give `seconds` (> 0) or `permanent: true`.",
                        );
                    }
                };
                let scope = match body.get("scope").and_then(Value::as_str) {
                    None | Some("all") => ManualBanScope::All,
                    Some("writes") => ManualBanScope::Writes,
                    Some(_) => {
                        return reply::error(
                            422,
                            "invalid_scope",
                            "`scope` is \"all\" or \"writes\".",
                        );
                    }
                };
                let ban = BanEntry {
                    target,
                    until,
                    scope,
                    reason: "manual".to_owned(),
                };
                self.save_ban(&ban, now)?;
                self.audit("banAdded", &ip, &json!({ "target": ban.target, "until": body.get("permanent").map_or(json!(until), |_| json!(null)), "scope": scope_name(scope) }), now, retention)?;
                reply::json(201, &json!({ "ban": ban }))
            }
            (Method::Delete, p) if p.starts_with("/bans/") => {
                let raw = &p["/bans/".len()..];
                let target = users::decoded(raw);
                let key = canonical_target(&target).unwrap_or_else(|| target.clone());
                let removed: Vec<serde_json::Value> = self
                    .sql()
                    .exec(
                        "DELETE FROM bans WHERE target = ? OR target = ? RETURNING target",
                        vec![target.clone().into(), key.clone().into()],
                    )?
                    .to_array()?;
                if removed.is_empty() {
                    return reply::error(404, "not_found", "No such ban.");
                }
                // The client's own record must forget the ban too, or its next
                // warning would find it still banned and never re-ban.
                crate::guard::lift(&self.env, &key).await?;
                self.audit(
                    "banRemoved",
                    &ip,
                    &json!({ "target": target }),
                    now,
                    retention,
                )?;
                reply::json(200, &json!({ "removed": target }))
            }
            (Method::Post, p)
                if p.strip_prefix("/accounts/")
                    .and_then(|r| r.strip_suffix("/unlock"))
                    .is_some() =>
            {
                let raw = p
                    .strip_prefix("/accounts/")
                    .and_then(|r| r.strip_suffix("/unlock"))
                    .unwrap_or_default();
                let login = users::decoded(raw);
                if login.trim().is_empty() {
                    return reply::error(
                        422,
                        "invalid_account",
                        "Name the account: /accounts/<login>/unlock.",
                    );
                }
                crate::account::call(&self.env, &login, "unlock", &policy.login).await?;
                self.forget_lock(&crate::account::account_key(&login))?;
                self.audit(
                    "accountUnlocked",
                    &ip,
                    &json!({ "account": crate::account::account_key(&login) }),
                    now,
                    retention,
                )?;
                reply::json(
                    200,
                    &json!({ "unlocked": crate::account::account_key(&login) }),
                )
            }
            (Method::Get, "/webhooks") => {
                reply::json(200, &json!({ "deliveries": self.deliveries()? }))
            }
            (Method::Get, "/audit") => self.audit_read(&query),
            (Method::Get, "/audit/stats") => self.audit_stats(&query, now),
            (Method::Get, "/accounts/locked") => {
                reply::json(200, &json!({ "accounts": self.locked_accounts(now)? }))
            }
            _ => reply::error(404, "not_found", "No such admin route."),
        }
    }
}

impl DurableObject for Control {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    /// Runs what is due (webhook deliveries, the fraud feed's poll) and
    /// sets the alarm for what comes next.
    async fn alarm(&self) -> Result<Response> {
        self.init_tables()?;
        let now = now_seconds();
        let Ok(policy) = self.policy() else {
            return reply::json(200, &json!({ "ok": false }));
        };
        self.deliver_due(&policy).await?;
        self.poll_feed(&policy, now).await?;
        self.reschedule(&policy, now_seconds()).await?;
        reply::json(200, &json!({ "ok": true }))
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        self.init_tables()?;
        let response = self.route(req).await?;
        // An audit entry may have queued a webhook: make sure the alarm is set.
        if let Ok(policy) = self.policy()
            && policy.webhooks.url.is_some()
        {
            self.reschedule(&policy, now_seconds()).await?;
        }
        Ok(response)
    }
}

impl Control {
    async fn route(&self, mut req: Request) -> Result<Response> {
        self.init_tables()?;
        let now = now_seconds();
        let path = req.path();
        if let Some(rest) = path.strip_prefix("/admin") {
            let rest = rest.to_owned();
            return self.handle_admin(req, &rest, now).await;
        }
        let policy = self.policy();
        let retention = policy
            .as_ref()
            .map_or(90 * 86_400, |p| p.audit.retention_seconds);
        match (req.method(), path.as_str()) {
            (Method::Get, "/snapshot") => {
                if let Ok(policy) = &policy {
                    self.reschedule(policy, now).await?;
                }
                self.snapshot(now, policy)
            }
            (Method::Post, "/bans") => {
                let ban: BanEntry = serde_json::from_str(&req.text().await?)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                self.save_ban(&ban, now)?;
                self.audit(
                    "banned",
                    &ban.target,
                    &json!({ "until": ban.until, "reason": ban.reason }),
                    now,
                    retention,
                )?;
                reply::json(200, &json!({ "ok": true }))
            }
            (Method::Post, op @ ("/reset/check" | "/reset/redeem" | "/reset/release")) => {
                let op = &op["/reset/".len()..];
                self.reset_token(&mut req, op, now, retention).await
            }
            (Method::Post, "/revoke-user") => {
                // A password changed or was reset: the user's older sessions end.
                let body: Value = serde_json::from_str(&req.text().await?)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                let user = body.get("user").and_then(Value::as_str).unwrap_or_default();
                let Ok(policy) = &policy else {
                    return reply::error(503, "configuration_invalid", "no valid policy");
                };
                let before = self.revoke(policy, Some(user))?;
                reply::json(200, &json!({ "before": before }))
            }
            (Method::Post, "/locks") => {
                let lock: Value = serde_json::from_str(&req.text().await?)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                let account = lock
                    .get("account")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let until = lock.get("until").and_then(Value::as_u64);
                let ip = lock.get("ip").and_then(Value::as_str).unwrap_or_default();
                self.record_lock(account, until, now)?;
                self.audit(
                    "accountLocked",
                    ip,
                    &json!({ "account": account, "until": until }),
                    now,
                    retention,
                )?;
                reply::json(200, &json!({ "ok": true }))
            }
            (Method::Post, "/audit") => {
                let entry: Value = serde_json::from_str(&req.text().await?)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                let kind = entry
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("event")
                    .to_owned();
                let ip = entry
                    .get("ip")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                self.audit(
                    &kind,
                    &ip,
                    entry.get("detail").unwrap_or(&Value::Null),
                    now,
                    retention,
                )?;
                reply::json(200, &json!({ "ok": true }))
            }
            _ => reply::error(404, "not_found", "No such route."),
        }
    }
}
