//! The RateLimiter Durable Object: one instance per rate limit bucket (one
//! rule, one key hash). It handles one request at a time and decides each
//! from its own clock and its stored count, with no await between reading
//! and writing it, so the count is exact however many isolates ask. Core
//! decides (`BucketState::take`); this stores.
//!
//! Storage: the bucket's limits and token bucket in one record (`bucket`);
//! a sliding log's times one row each (`log`), so an allowed request
//! writes one row and expired times go in one `DELETE`. The state is kept
//! in memory between requests and re-read after any failed write. An
//! alarm forgets the bucket once it is idle (an empty log, a full bucket).
//!
//! A shard of the built-in CAPTCHA's spent challenges (`:challenge:<xx>`)
//! keeps their nonces in a `spent` table until they expire instead.

use std::cell::RefCell;

use portcullis_core::objects::Stored;
use portcullis_core::ratelimit::{BucketState, Counter, Limits, RateAnswer, RateOp, SlidingLog};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::clock;
use crate::objects::{storage, stub};

#[derive(serde::Deserialize)]
struct Time {
    ts: f64,
}

/// The RateLimiter Durable Object.
#[durable_object]
pub struct RateLimiter {
    state: State,
    env: Env,
    /// The bucket as stored (`None` until read, or after a failed write).
    bucket: RefCell<Option<BucketState>>,
    /// An alarm is set (this instance's memory).
    alarm_set: std::cell::Cell<bool>,
}

impl RateLimiter {
    fn init(&self) -> Result<()> {
        self.state
            .storage()
            .sql()
            .exec("CREATE TABLE IF NOT EXISTS log (ts INTEGER NOT NULL)", None)?;
        Ok(())
    }

    /// The stored bucket with its log's times, or the object's answer for
    /// an unreadable record; `None` when there is none yet.
    async fn load(&self, name: &str) -> Result<std::result::Result<Option<BucketState>, Response>> {
        self.init()?;
        let label = format!("rateLimit:{name}");
        let stored: Option<BucketState> =
            match storage::record(&self.state, &self.env, "bucket", label, false).await? {
                Ok(stored) => stored,
                Err(unreadable) => return Ok(Err(unreadable)),
            };
        let Some(mut bucket) = stored else {
            return Ok(Ok(None));
        };
        if let Counter::Log(log) = &mut bucket.counter {
            let rows: Vec<Time> = self
                .state
                .storage()
                .sql()
                .exec("SELECT ts FROM log ORDER BY ts", None)?
                .to_array()?;
            *log = SlidingLog {
                times: rows.into_iter().map(|r| r.ts as u64).collect(),
            };
        }
        Ok(Ok(Some(bucket)))
    }

    /// Counts one request; the stored state follows the decision before
    /// it is answered.
    /// `fresh`: the bucket has no stored record yet.
    fn take(
        &self,
        bucket: &mut BucketState,
        limits: Limits,
        now: u64,
        fresh: bool,
    ) -> Result<RateAnswer> {
        let before = bucket.limits;
        let was_log = matches!(bucket.counter, Counter::Log(_));
        let (decision, change) = bucket.take(now, limits);
        let sql = self.state.storage().sql();
        match &bucket.counter {
            Counter::Log(_) => {
                if !was_log {
                    sql.exec("DELETE FROM log", None)?;
                }
                if let Some(through) = change.expired_through {
                    sql.exec(
                        "DELETE FROM log WHERE ts <= ?",
                        vec![(through as f64).into()],
                    )?;
                }
                if let Some(at) = change.added {
                    sql.exec("INSERT INTO log (ts) VALUES (?)", vec![(at as f64).into()])?;
                }
                if fresh || !was_log || before != bucket.limits {
                    storage::save(&self.state, "bucket", &Self::record(bucket))?;
                }
            }
            Counter::Bucket(_) => {
                if was_log {
                    sql.exec("DELETE FROM log", None)?;
                }
                storage::save(&self.state, "bucket", &Self::record(bucket))?;
            }
        }
        Ok(RateAnswer::Taken(decision))
    }

    /// The record without the log's times (they are rows of their own).
    fn record(bucket: &BucketState) -> BucketState {
        match &bucket.counter {
            Counter::Log(_) => BucketState {
                limits: bucket.limits,
                counter: Counter::Log(SlidingLog::default()),
            },
            Counter::Bucket(_) => bucket.clone(),
        }
    }

    /// Records `id` as spent until `until_ms`; whether this was its first
    /// spend. Read and written with no await between: exact however many
    /// isolates ask at once. A challenge already expired by this object's
    /// clock is never a first spend: its row may be gone (a request that
    /// began before the expiry and read its body slowly must not reuse it).
    fn spend(&self, id: &str, until_ms: u64) -> Result<bool> {
        let now_ms = clock::now_millis();
        if until_ms <= now_ms {
            return Ok(false);
        }
        let sql = self.state.storage().sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS spent (id TEXT PRIMARY KEY, until INTEGER NOT NULL)",
            None,
        )?;
        let now = now_ms as f64;
        sql.exec("DELETE FROM spent WHERE until <= ?", vec![now.into()])?;
        let seen: Vec<Time> = sql
            .exec(
                "SELECT until AS ts FROM spent WHERE id = ?",
                vec![id.into()],
            )?
            .to_array()?;
        if !seen.is_empty() {
            return Ok(false);
        }
        sql.exec(
            "INSERT INTO spent (id, until) VALUES (?, ?)",
            vec![id.into(), (until_ms as f64).into()],
        )?;
        Ok(true)
    }

    /// Forgets expired spent challenges; the latest expiry of those left
    /// (`None`: this shard keeps none, or is a rate limit bucket).
    fn forget_spent(&self) -> Result<Option<u64>> {
        let sql = self.state.storage().sql();
        let tables: Vec<Time> = sql
            .exec(
                "SELECT COUNT(*) AS ts FROM sqlite_master WHERE type = 'table' AND name = 'spent'",
                None,
            )?
            .to_array()?;
        if tables.first().is_none_or(|t| t.ts < 1.0) {
            return Ok(None);
        }
        let now = clock::now_millis() as f64;
        sql.exec("DELETE FROM spent WHERE until <= ?", vec![now.into()])?;
        // No aggregate: with no rows left it would read as NULL.
        let left: Vec<Time> = sql
            .exec(
                "SELECT until AS ts FROM spent ORDER BY until DESC LIMIT 1",
                None,
            )?
            .to_array()?;
        match left.first() {
            Some(Time { ts }) if *ts > now => Ok(Some(*ts as u64)),
            _ => {
                sql.exec("DROP TABLE spent", None)?;
                Ok(None)
            }
        }
    }

    /// An alarm at `at_ms` (unix milliseconds) unless one is set.
    async fn wake_at(&self, at_ms: u64) -> Result<()> {
        let wait = at_ms.saturating_sub(clock::now_millis());
        self.wake_later(wait).await
    }

    async fn wake_later(&self, window_ms: u64) -> Result<()> {
        if !self.alarm_set.get() {
            self.state
                .storage()
                .set_alarm(std::time::Duration::from_millis(
                    window_ms.saturating_add(1000),
                ))
                .await?;
            self.alarm_set.set(true);
        }
        Ok(())
    }
}

impl DurableObject for RateLimiter {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            bucket: RefCell::new(None),
            alarm_set: std::cell::Cell::new(false),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let (op, name) = match stub::operation::<RateOp>(req).await? {
            Ok(op) => op,
            Err(refusal) => return Ok(refusal),
        };
        let limits = match op {
            RateOp::Take { limits } => limits,
            RateOp::Spend { id, until_ms } => {
                let first = self.spend(&id, until_ms)?;
                self.wake_at(until_ms).await?;
                return stub::answer(&Stored::Answer(RateAnswer::Spent { first }));
            }
        };
        let cached = self.bucket.borrow_mut().take();
        let loaded = match cached {
            Some(bucket) => Some(bucket),
            None => match self.load(&name).await? {
                Ok(loaded) => loaded,
                Err(unreadable) => return Ok(unreadable),
            },
        };
        // Read, decided and written with no await in between: requests
        // from every isolate are counted one after the other.
        let now = clock::now_millis();
        let fresh = loaded.is_none();
        let mut bucket = loaded.unwrap_or_else(|| BucketState::fresh(now, limits));
        let answer = self.take(&mut bucket, limits, now, fresh)?;
        *self.bucket.borrow_mut() = Some(bucket);
        self.wake_later(limits.window_ms).await?;
        stub::answer(&Stored::Answer(answer))
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_set.set(false);
        // A shard of spent challenges keeps them until they expire.
        if let Some(next) = self.forget_spent()? {
            self.wake_at(next).await?;
            return Response::ok("");
        }
        let cached = self.bucket.borrow_mut().take();
        let bucket = match cached {
            Some(bucket) => bucket,
            None => match self.load("alarm").await? {
                Ok(Some(bucket)) => bucket,
                // No record: nothing to keep (a log's stray rows go too).
                Ok(None) => {
                    self.state.storage().delete_all().await?;
                    return Response::ok("");
                }
                // An unreadable record is kept for the operator to see.
                Err(_) => return Response::ok(""),
            },
        };
        let now = clock::now_millis();
        if bucket.idle_at(now) {
            self.state.storage().delete_all().await?;
            return Response::ok("");
        }
        let window = bucket.limits.window_ms;
        *self.bucket.borrow_mut() = Some(bucket);
        self.wake_later(window).await?;
        Response::ok("")
    }
}
