//! Control's audit log: entries (pruned by the retention setting, each
//! also queued as a webhook when the policy wants its kind), filtered reads,
//! exports (JSON lines, CSV), counts over time for the console's chart, and
//! the list of locked accounts (recorded when a lockout starts, removed on
//! unlock).

use portcullis_core::Policy;
use portcullis_core::objects::{AuditEntry, AuditItem, decision_log_line};
use portcullis_core::refusal;
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{Response, Result, SqlStorageValue};

use super::store::Store;
use super::webhooks;
use crate::http::reply;

/// How long entries are kept when the policy cannot be read.
const DEFAULT_RETENTION_SECONDS: u64 = 90 * 86_400;

#[derive(Deserialize, serde::Serialize)]
struct AuditRow {
    id: f64,
    at: f64,
    kind: String,
    ip: String,
    detail: String,
}

/// Adds `entry` at `now` (one of Control's own: an admin action, a
/// rotation, policy as code), logged as a decision line; see [`keep`].
pub(crate) fn record(
    store: &Store,
    policy: Option<&Policy>,
    entry: &AuditEntry,
    now: u64,
) -> Result<()> {
    worker::console_log!("{}", decision_log_line(entry, now));
    keep(store, policy, entry, now)
}

/// Stores `entry` at `now`, prunes entries past the retention, and queues
/// the webhook for it.
fn keep(store: &Store, policy: Option<&Policy>, entry: &AuditEntry, now: u64) -> Result<()> {
    let retention = policy.map_or(DEFAULT_RETENTION_SECONDS, |p| p.audit.retention_seconds);
    let kind = entry.kind.as_str();
    let sql = store.sql();
    sql.exec(
        "INSERT INTO audit (at, kind, ip, detail) VALUES (?, ?, ?, ?)",
        vec![
            (now as i64).into(),
            kind.into(),
            entry.ip.clone().into(),
            entry.detail.to_string().into(),
        ],
    )?;
    sql.exec(
        "DELETE FROM audit WHERE at < ?",
        vec![(now.saturating_sub(retention) as i64).into()],
    )?;
    if let Some(policy) = policy {
        let event = json!({ "at": now, "kind": kind, "ip": entry.ip, "detail": entry.detail });
        webhooks::enqueue(store, policy, &event, kind)?;
    }
    Ok(())
}

/// Stores a batch an `AuditLog` shard collected: each item once (by its
/// id: a batch handed over twice is not counted twice), at the moment it
/// happened, with the lockout it records.
pub(crate) fn record_batch(
    store: &Store,
    policy: Option<&Policy>,
    items: &[AuditItem],
    now: u64,
) -> Result<()> {
    let sql = store.sql();
    for item in items {
        let seen: Vec<Value> = sql
            .exec(
                "SELECT id FROM audit_ids WHERE id = ?",
                vec![item.id.clone().into()],
            )?
            .to_array()?;
        if !seen.is_empty() {
            continue;
        }
        sql.exec(
            "INSERT INTO audit_ids (id, at) VALUES (?, ?)",
            vec![item.id.clone().into(), (now as i64).into()],
        )?;
        if let Some(lock) = &item.lock {
            record_lock(store, &lock.account, lock.until, item.at)?;
        }
        // Logged by the shard that took it.
        keep(store, policy, &item.entry, item.at)?;
    }
    let retention = policy.map_or(DEFAULT_RETENTION_SECONDS, |p| p.audit.retention_seconds);
    sql.exec(
        "DELETE FROM audit_ids WHERE at < ?",
        vec![(now.saturating_sub(retention) as i64).into()],
    )?;
    Ok(())
}

/// Most entries one read returns.
const MAX_LIMIT: i64 = 5000;

/// The kinds the chart counts.
const CHARTED: [&str; 4] = ["warning", "banned", "banAdded", "accountLocked"];

#[derive(Deserialize)]
struct CountRow {
    t: f64,
    kind: String,
    n: f64,
}

#[derive(Deserialize)]
struct LockRow {
    account: String,
    until: Option<f64>,
    at: f64,
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn number(query: &[(String, String)], name: &str) -> Option<i64> {
    param(query, name).and_then(|v| v.parse::<i64>().ok())
}

/// A CSV field: quoted, with quotes doubled.
fn csv(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

fn entry(r: AuditRow) -> Value {
    json!({
        "id": r.id, "at": r.at, "kind": r.kind, "ip": r.ip,
        "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
    })
}

/// `GET /audit?kind=a,b&ip=…&since=…&until=…&limit=…&format=json|jsonl|csv`,
/// newest first.
pub(crate) fn read(store: &Store, query: &[(String, String)]) -> Result<Response> {
    let mut sql = String::from("SELECT id, at, kind, ip, detail FROM audit WHERE 1 = 1");
    let mut args: Vec<SqlStorageValue> = Vec::new();
    if let Some(kinds) = param(query, "kind") {
        let kinds: Vec<&str> = kinds
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .take(20)
            .collect();
        sql.push_str(&format!(
            " AND kind IN ({})",
            vec!["?"; kinds.len()].join(", ")
        ));
        args.extend(kinds.into_iter().map(|k| k.into()));
    }
    if let Some(ip) = param(query, "ip") {
        sql.push_str(" AND ip = ?");
        args.push(ip.into());
    }
    if let Some(since) = number(query, "since") {
        sql.push_str(" AND at >= ?");
        args.push(since.into());
    }
    if let Some(until) = number(query, "until") {
        sql.push_str(" AND at < ?");
        args.push(until.into());
    }
    let limit = number(query, "limit").unwrap_or(500).clamp(1, MAX_LIMIT);
    // Newest first by when it happened: items from the AuditLog shards
    // arrive in batches, not in the order they happened.
    sql.push_str(" ORDER BY at DESC, id DESC LIMIT ?");
    args.push(limit.into());
    let rows: Vec<AuditRow> = store.sql().exec(&sql, args)?.to_array()?;
    match param(query, "format").unwrap_or("json") {
        "jsonl" => {
            let text: String = rows
                .into_iter()
                .map(|r| format!("{}\n", entry(r)))
                .collect();
            download(text, "application/x-ndjson", "portcullis-audit.jsonl")
        }
        "csv" => {
            let mut text = String::from("id,at,kind,ip,detail\n");
            for r in rows {
                text.push_str(&format!(
                    "{},{},{},{},{}\n",
                    r.id,
                    r.at,
                    csv(&r.kind),
                    csv(&r.ip),
                    csv(&r.detail)
                ));
            }
            download(text, "text/csv; charset=utf-8", "portcullis-audit.csv")
        }
        "json" => {
            let entries: Vec<Value> = rows.into_iter().map(entry).collect();
            reply::json(200, &json!({ "entries": entries }))
        }
        _ => reply::refusal(&refusal::invalid(
            422,
            "invalid_format",
            "`format` is json, jsonl or csv.",
        )),
    }
}

/// `GET /audit/stats?bucket=<seconds>&since=<unix seconds>`: counts of
/// warnings, bans and lockouts per time bucket.
pub(crate) fn stats(store: &Store, query: &[(String, String)], now: u64) -> Result<Response> {
    let bucket = number(query, "bucket")
        .unwrap_or(3600)
        .clamp(60, 86_400 * 7);
    let since = number(query, "since").unwrap_or(now as i64 - 7 * 86_400);
    let rows: Vec<CountRow> = store
            .sql()
            .exec(
                "SELECT CAST(at / ? AS INTEGER) * ? AS t, kind, COUNT(*) AS n FROM audit WHERE at >= ? AND kind IN (?, ?, ?, ?) GROUP BY t, kind ORDER BY t",
                vec![
                    bucket.into(),
                    bucket.into(),
                    since.into(),
                    CHARTED[0].into(),
                    CHARTED[1].into(),
                    CHARTED[2].into(),
                    CHARTED[3].into(),
                ],
            )?
            .to_array()?;
    let counts: Vec<Value> = rows
        .into_iter()
        .map(|r| json!({ "at": r.t, "kind": r.kind, "count": r.n }))
        .collect();
    reply::json(
        200,
        &json!({ "bucket": bucket, "since": since, "counts": counts }),
    )
}

#[derive(Deserialize)]
struct ClientRow {
    client: Option<String>,
    n: f64,
}

/// `GET /audit/clients?since=<unix seconds>&limit=<n>`: the clients (an
/// IPv4 address or an IPv6 prefix) with the most warnings since then, and
/// how many each: who is attacking.
pub(crate) fn clients(store: &Store, query: &[(String, String)], now: u64) -> Result<Response> {
    let since = number(query, "since").unwrap_or(now as i64 - 86_400);
    let limit = number(query, "limit").unwrap_or(100).clamp(1, 100_000);
    let rows: Vec<ClientRow> = store
        .sql()
        .exec(
            "SELECT json_extract(detail, '$.client') AS client, COUNT(*) AS n FROM audit WHERE kind = 'warning' AND at >= ? GROUP BY client ORDER BY n DESC LIMIT ?",
            vec![since.into(), limit.into()],
        )?
        .to_array()?;
    let clients: Vec<Value> = rows
        .into_iter()
        .filter_map(|r| Some(json!({ "client": r.client?, "warnings": r.n })))
        .collect();
    reply::json(200, &json!({ "since": since, "clients": clients }))
}

/// Records a lockout that began (`until`: `None` = until an admin unlocks).
pub(crate) fn record_lock(
    store: &Store,
    account: &str,
    until: Option<u64>,
    now: u64,
) -> Result<()> {
    store.sql().exec(
            "INSERT INTO locks (account, until, at) VALUES (?, ?, ?) ON CONFLICT(account) DO UPDATE SET until = excluded.until, at = excluded.at",
            vec![
                account.into(),
                until.map_or(SqlStorageValue::Null, |u| (u as i64).into()),
                (now as i64).into(),
            ],
        )?;
    Ok(())
}

/// Forgets a lockout (unlocked).
pub(crate) fn forget_lock(store: &Store, account: &str) -> Result<()> {
    store
        .sql()
        .exec("DELETE FROM locks WHERE account = ?", vec![account.into()])?;
    Ok(())
}

/// The accounts locked now.
pub(crate) fn locked_accounts(store: &Store, now: u64) -> Result<Vec<Value>> {
    let sql = store.sql();
    sql.exec(
        "DELETE FROM locks WHERE until IS NOT NULL AND until <= ?",
        vec![(now as i64).into()],
    )?;
    let rows: Vec<LockRow> = sql
        .exec(
            "SELECT account, until, at FROM locks ORDER BY at DESC LIMIT 1000",
            None,
        )?
        .to_array()?;
    Ok(rows
        .into_iter()
        .map(|r| json!({ "account": r.account, "until": r.until, "lockedAt": r.at }))
        .collect())
}

fn download(text: String, content_type: &str, name: &str) -> Result<Response> {
    let mut response = Response::ok(text)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", content_type)?;
    headers.set(
        "Content-Disposition",
        &format!("attachment; filename=\"{name}\""),
    )?;
    Ok(response)
}
