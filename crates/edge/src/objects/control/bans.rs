//! Control's table of active bans, which every isolate replicates.

use portcullis_core::ManualBanScope;
use portcullis_core::{BanEntry, PERMANENT};
use worker::Result;

use super::store::Store;

#[derive(serde::Deserialize)]
struct BanRow {
    target: String,
    until: Option<f64>,
    scope: String,
    reason: String,
}

/// The scope as stored.
pub(crate) fn scope_name(scope: ManualBanScope) -> &'static str {
    match scope {
        ManualBanScope::Writes => "writes",
        ManualBanScope::All => "all",
    }
}

/// The bans in force at `now`.
pub(crate) fn active(store: &Store, now: u64) -> Result<Vec<BanEntry>> {
    let rows: Vec<BanRow> = store
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

/// Adds or replaces the ban of `ban.target`.
pub(crate) fn save(store: &Store, ban: &BanEntry, now: u64) -> Result<()> {
    let until: Option<i64> = (ban.until != PERMANENT).then_some(ban.until as i64);
    store.sql().exec(
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

/// Removes the ban of `target` (as given, or its canonical `key`); whether
/// there was one.
pub(crate) fn remove(store: &Store, target: &str, key: &str) -> Result<bool> {
    let removed: Vec<serde_json::Value> = store
        .sql()
        .exec(
            "DELETE FROM bans WHERE target = ? OR target = ? RETURNING target",
            vec![target.into(), key.into()],
        )?
        .to_array()?;
    Ok(!removed.is_empty())
}
