//! The bans as the admin API sees them. They live in the `BanLog` shards
//! (which isolates replicate); Control only reads, adds and lifts them
//! there for the administrator. Bans an older version kept in Control's
//! own `bans` table are moved to the shards the first time Control starts.

use portcullis_core::objects::{
    BAN_SHARDS, BanLogAnswer, BanLogOp, Stored, ban_shard, ban_shard_name,
};
use portcullis_core::{BanEntry, BanPolicy, ManualBanScope, PERMANENT};
use worker::Result;

use super::store::Store;
use crate::objects::ban_log::client as ban_log;
use crate::objects::stub;

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

fn unavailable(shard: &str) -> worker::Error {
    worker::Error::RustError(format!("{shard}: its record is unreadable"))
}

/// Every ban in force, from every shard.
pub(crate) async fn active(store: &Store) -> Result<Vec<BanEntry>> {
    let calls = (0..BAN_SHARDS).map(|i| {
        let env = store.env.clone();
        async move { ban_log::call(&env, &ban_shard_name(i), &BanLogOp::List).await }
    });
    let mut bans = Vec::new();
    for answer in stub::join_all(calls).await {
        match answer? {
            Stored::Answer(BanLogAnswer::Bans { bans: some }) => bans.extend(some),
            _ => return Err(unavailable("bans")),
        }
    }
    Ok(bans)
}

/// Adds or replaces the ban of `ban.target` (audited by the caller).
pub(crate) async fn save(store: &Store, ban: &BanEntry, policy: &BanPolicy) -> Result<()> {
    let Some(shard) = ban_shard(&ban.target) else {
        return Ok(());
    };
    let op = BanLogOp::Publish {
        ban: ban.clone(),
        policy: Box::new(policy.clone()),
        audit: false,
    };
    match ban_log::call(&store.env, &shard, &op).await? {
        Stored::Answer(_) => Ok(()),
        Stored::Unreadable { .. } => Err(unavailable(&shard)),
    }
}

/// Lifts the ban of `target` (as given, or its canonical `key`): whether
/// there was one, and the members an aggregate had replaced.
pub(crate) async fn remove(store: &Store, target: &str, key: &str) -> Result<Option<Vec<String>>> {
    let mut found = None;
    let spellings: &[&str] = if target == key {
        &[key]
    } else {
        &[target, key]
    };
    for &t in spellings {
        let Some(shard) = ban_shard(t) else {
            continue;
        };
        let op = BanLogOp::Remove {
            target: t.to_owned(),
        };
        if let Stored::Answer(BanLogAnswer::Removed {
            found: true,
            members,
        }) = ban_log::call(&store.env, &shard, &op).await?
        {
            found.get_or_insert_with(Vec::new).extend(members);
        }
    }
    Ok(found)
}

/// Moves the bans an older version kept in Control's table to the
/// shards (once: the table is empty afterwards).
pub(crate) async fn migrate(store: &Store, policy: &BanPolicy, now: u64) -> Result<()> {
    let rows: Vec<BanRow> = store
        .sql()
        .exec(
            "SELECT target, until, scope, reason FROM bans WHERE until IS NULL OR until > ?",
            vec![(now as i64).into()],
        )?
        .to_array()?;
    for r in rows {
        let ban = BanEntry {
            until: r.until.map_or(PERMANENT, |u| u as u64),
            scope: if r.scope == "writes" {
                ManualBanScope::Writes
            } else {
                ManualBanScope::All
            },
            target: r.target,
            reason: r.reason,
        };
        save(store, &ban, policy).await?;
        store
            .sql()
            .exec("DELETE FROM bans WHERE target = ?", vec![ban.target.into()])?;
    }
    store.sql().exec("DELETE FROM bans", None)?;
    Ok(())
}
