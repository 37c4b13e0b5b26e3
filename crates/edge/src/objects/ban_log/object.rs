//! The BanLog Durable Object, [`BAN_SHARDS`] instances: the bans, each in
//! the shard its target names (core's `ban_shard`), every change under a
//! new version so that isolates replicate them incrementally (the
//! changes since the version they have). IpGuard publishes its bans here,
//! the pipeline its fraud bans and Control the administrator's: Control is
//! on none of these paths. One row per target in SQLite, so 100,000 bans
//! stay far under any per-value limit. Core decides aggregation; this
//! stores and audits.
//!
//! [`BAN_SHARDS`]: portcullis_core::objects::BAN_SHARDS

use portcullis_core::objects::{
    AuditEntry, AuditKind, BanChange, BanLogAnswer, BanLogOp, MAX_CHANGES, Stored, aggregate,
    aggregate_prefix,
};
use portcullis_core::{BanEntry, PERMANENT};
use serde_json::json;
use worker::{DurableObject, Env, Request, Response, Result, SqlStorage, State, durable_object};

use crate::clock;
use crate::objects::audit_log::client as audit_log;
use crate::objects::stub;

/// Removed and ended rows older than this many versions are pruned; an
/// isolate further behind reads the whole shard again.
const KEEP_VERSIONS: i64 = 4096;

#[derive(serde::Deserialize)]
struct Row {
    target: String,
    entry: Option<String>,
    version: f64,
}

#[derive(serde::Deserialize)]
struct Value {
    value: f64,
}

/// What a writes-only ban's row key ends in: a target may carry a ban of
/// each scope (a permanent writes-only ban and an hour's ban of all its
/// requests), and neither may overwrite the other.
const WRITES_SUFFIX: &str = " writes";

/// The row a ban is stored under.
fn row_key(ban: &BanEntry) -> String {
    match ban.scope {
        portcullis_core::ManualBanScope::All => ban.target.clone(),
        portcullis_core::ManualBanScope::Writes => format!("{}{WRITES_SUFFIX}", ban.target),
    }
}

/// The BanLog Durable Object.
#[durable_object]
pub struct BanLog {
    state: State,
    env: Env,
}

fn sql_error(e: serde_json::Error) -> worker::Error {
    worker::Error::RustError(e.to_string())
}

impl BanLog {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn init(&self) -> Result<()> {
        let sql = self.sql();
        for statement in [
            // `entry` NULL: lifted (kept until pruned, so isolates learn of it).
            "CREATE TABLE IF NOT EXISTS bans (target TEXT PRIMARY KEY, entry TEXT, version INTEGER NOT NULL, prefix TEXT, until INTEGER)",
            "CREATE INDEX IF NOT EXISTS bans_version ON bans (version)",
            "CREATE INDEX IF NOT EXISTS bans_prefix ON bans (prefix)",
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        ] {
            sql.exec(statement, None)?;
        }
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<i64> {
        let rows: Vec<Value> = self
            .sql()
            .exec("SELECT value FROM meta WHERE key = ?", vec![key.into()])?
            .to_array()?;
        Ok(rows.first().map_or(0, |r| r.value as i64))
    }

    fn set_meta(&self, key: &str, value: i64) -> Result<()> {
        self.sql().exec(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), value.into()],
        )?;
        Ok(())
    }

    /// Writes `target`'s row (`ban` None: lifted) under the next version.
    fn write(&self, target: &str, ban: Option<&BanEntry>, prefix: Option<&str>) -> Result<i64> {
        let version = self.meta("version")? + 1;
        let entry = ban
            .map(serde_json::to_string)
            .transpose()
            .map_err(sql_error)?;
        let until: Option<i64> = ban.filter(|b| b.until != PERMANENT).map(|b| b.until as i64);
        self.sql().exec(
            "INSERT INTO bans (target, entry, version, prefix, until) VALUES (?, ?, ?, ?, ?) ON CONFLICT(target) DO UPDATE SET entry = excluded.entry, version = excluded.version, prefix = excluded.prefix, until = excluded.until",
            vec![
                target.into(),
                entry.into(),
                version.into(),
                prefix.map(str::to_owned).into(),
                until.into(),
            ],
        )?;
        self.set_meta("version", version)?;
        Ok(version)
    }

    fn live(&self, rows: Vec<Row>) -> Vec<BanEntry> {
        self.keyed(rows).into_iter().map(|(_, ban)| ban).collect()
    }

    /// The live rows' keys with their bans.
    fn keyed(&self, rows: Vec<Row>) -> Vec<(String, BanEntry)> {
        rows.into_iter()
            .filter_map(|r| {
                let ban = r.entry.and_then(|e| serde_json::from_str(&e).ok())?;
                Some((r.target, ban))
            })
            .collect()
    }

    /// The live ban stored under `key`, if any.
    fn standing(&self, key: &str) -> Result<Option<BanEntry>> {
        let rows: Vec<Row> = self
            .sql()
            .exec(
                "SELECT target, entry, version FROM bans WHERE target = ? AND entry IS NOT NULL",
                vec![key.into()],
            )?
            .to_array()?;
        Ok(self.live(rows).into_iter().next())
    }

    /// Stores `ban` under its row; unless `replace` (the administrator's
    /// own ban), a ban never shortens the standing one of its target and
    /// scope: the later end counts.
    fn put(
        &self,
        mut ban: BanEntry,
        prefix: Option<&str>,
        replace: bool,
    ) -> Result<(i64, BanEntry)> {
        let key = row_key(&ban);
        if !replace && let Some(standing) = self.standing(&key)? {
            ban.until = ban.until.max(standing.until);
        }
        Ok((self.write(&key, Some(&ban), prefix)?, ban))
    }

    /// Forgets lifted and ended rows far behind the current version.
    fn prune(&self, version: i64, now: u64) -> Result<()> {
        if version % 256 != 0 {
            return Ok(());
        }
        let below = version - KEEP_VERSIONS;
        if below <= 0 {
            return Ok(());
        }
        self.sql().exec(
            "DELETE FROM bans WHERE version <= ? AND (entry IS NULL OR (until IS NOT NULL AND until <= ?))",
            vec![below.into(), (now as i64).into()],
        )?;
        self.set_meta("floor", below)
    }

    async fn publish(
        &self,
        ban: BanEntry,
        policy: &portcullis_core::BanPolicy,
        audit: bool,
        now: u64,
    ) -> Result<BanLogAnswer> {
        let prefix = aggregate_prefix(&ban.target, policy);
        let (mut version, ban) = self.put(ban, prefix.as_deref(), !audit)?;
        let mut entries = Vec::new();
        if audit {
            let detail = json!({ "until": ban.until, "reason": ban.reason });
            entries.push(AuditEntry::new(
                AuditKind::Banned,
                ban.target.clone(),
                detail,
            ));
        }
        let mut completed = None;
        if let Some(prefix) = &prefix {
            let rows: Vec<Row> = self
                .sql()
                .exec(
                    "SELECT target, entry, version FROM bans WHERE prefix = ? AND entry IS NOT NULL",
                    vec![prefix.clone().into()],
                )?
                .to_array()?;
            let keyed = self.keyed(rows);
            let members: Vec<BanEntry> = keyed.iter().map(|(_, b)| b.clone()).collect();
            if let Some(ag) = aggregate(prefix, &members, policy, now) {
                let (v, ag) = self.put(ag, None, false)?;
                version = v;
                for (key, _) in &keyed {
                    version = self.write(key, None, Some(prefix))?;
                }
                let detail =
                    json!({ "until": ag.until, "reason": ag.reason, "members": members.len() });
                entries.push(AuditEntry::new(
                    AuditKind::Banned,
                    ag.target.clone(),
                    detail,
                ));
                completed = Some(ag);
            }
        }
        self.prune(version, now)?;
        audit_log::append(&self.env, entries).await?;
        Ok(BanLogAnswer::Published {
            aggregate: completed,
        })
    }

    /// Lifts both scopes' bans of `target`; for an aggregate, names the
    /// members it had replaced (their clients' records must be lifted too).
    fn remove(&self, target: &str) -> Result<BanLogAnswer> {
        let mut found = false;
        for key in [target.to_owned(), format!("{target}{WRITES_SUFFIX}")] {
            if self.standing(&key)?.is_some() {
                self.write(&key, None, None)?;
                found = true;
            }
        }
        #[derive(serde::Deserialize)]
        struct Member {
            target: String,
        }
        let members: Vec<Member> = if found {
            self.sql()
                .exec(
                    "SELECT target FROM bans WHERE prefix = ? AND entry IS NULL LIMIT 65536",
                    vec![target.into()],
                )?
                .to_array()?
        } else {
            Vec::new()
        };
        Ok(BanLogAnswer::Removed {
            found,
            members: members
                .into_iter()
                .map(|m| m.target.trim_end_matches(WRITES_SUFFIX).to_owned())
                .collect(),
        })
    }

    fn since(&self, asked: u64) -> Result<BanLogAnswer> {
        let current = self.meta("version")?;
        let floor = self.meta("floor")?;
        let asked = asked as i64;
        // Behind the pruned rows (or ahead of a shard that started over):
        // the whole shard, from the start.
        let reset = asked > current || asked < floor;
        // A reset is every live row at once (no paging: a page would end
        // below the floor again); otherwise the changes, a page at a time.
        let rows: Vec<Row> = if reset {
            self.sql()
                .exec(
                    "SELECT target, entry, version FROM bans WHERE entry IS NOT NULL ORDER BY version",
                    None,
                )?
                .to_array()?
        } else {
            self.sql()
                .exec(
                    "SELECT target, entry, version FROM bans WHERE version > ? ORDER BY version LIMIT ?",
                    vec![asked.into(), (MAX_CHANGES as i64).into()],
                )?
                .to_array()?
        };
        let more = !reset && rows.len() == MAX_CHANGES;
        let version = match rows.last() {
            Some(last) if more => last.version as u64,
            _ => current as u64,
        };
        let changes = rows
            .into_iter()
            .map(|r| BanChange {
                target: r.target,
                ban: r.entry.and_then(|e| serde_json::from_str(&e).ok()),
            })
            .collect();
        Ok(BanLogAnswer::Changes {
            version,
            reset,
            more,
            changes,
        })
    }
}

impl DurableObject for BanLog {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let (op, _) = match stub::operation::<BanLogOp>(req).await? {
            Ok(op) => op,
            Err(refusal) => return Ok(refusal),
        };
        self.init()?;
        let now = clock::now_seconds();
        let answer = match op {
            BanLogOp::Publish { ban, policy, audit } => {
                self.publish(ban, &policy, audit, now).await?
            }
            BanLogOp::Import { bans } => {
                for ban in bans {
                    self.put(ban, None, true)?;
                }
                BanLogAnswer::Published { aggregate: None }
            }
            BanLogOp::Remove { target } => self.remove(&target)?,
            BanLogOp::Since { version } => self.since(version)?,
            BanLogOp::List => {
                let rows: Vec<Row> = self
                    .sql()
                    .exec(
                        "SELECT target, entry, version FROM bans WHERE entry IS NOT NULL AND (until IS NULL OR until > ?) ORDER BY version",
                        vec![(now as i64).into()],
                    )?
                    .to_array()?;
                BanLogAnswer::Bans {
                    bans: self.live(rows),
                }
            }
        };
        stub::answer(&Stored::Answer(answer))
    }
}
