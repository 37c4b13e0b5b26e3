//! The per-isolate replica: Control's snapshot (the configuration, secrets,
//! revocations) and the bans from the `BanLog` shards, compiled together
//! once per version. It is read on every request without a Durable Object
//! round trip; when older than the cache lifetime it is refreshed in the
//! background (the request that notices uses the old copy). The isolate
//! that changes something updates its copy at once, so a change is live
//! there immediately and everywhere within the lifetime.
//!
//! - Bans are replicated incrementally: each shard is asked for the
//!   changes since the version this isolate has, so no isolate re-reads
//!   the whole list, and a ban reaches every isolate without Control.
//! - Concurrent loads are merged into one (N requests with forged cookies
//!   cause one reload, not N), and at most one foreground reload is tried
//!   per second.
//! - Fail static: a failed load keeps the last snapshot (with any bans the
//!   shards could still give) and is logged; only an isolate that never
//!   had one fails.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use portcullis_core::BanEntry;
use portcullis_core::Snapshot;
use portcullis_core::objects::{
    BAN_SHARDS, BanLogAnswer, BanLogOp, ControlAnswer, ControlOp, Stored, ban_shard_name,
};
use portcullis_core::{HeaderMode, security_headers};
use std::time::Duration;

use wasm_bindgen::JsValue;
use worker::{Delay, Env, Result};

use crate::clock;
use crate::objects::ban_log::client as ban_log;
use crate::objects::control::client as control;
use crate::objects::stub;

/// A cached snapshot and its security headers as a JS array (name, value,
/// mode, …; mode `s` set, `k` keep, `m` merge), built once per snapshot.
pub(crate) struct Replica {
    pub(crate) snapshot: Rc<Snapshot>,
    security: OnceCell<js_sys::Array>,
}

impl Replica {
    fn new(snapshot: Snapshot) -> Rc<Self> {
        Rc::new(Self {
            snapshot: Rc::new(snapshot),
            security: OnceCell::new(),
        })
    }

    /// The security headers core builds for this configuration.
    pub(crate) fn security(&self) -> js_sys::Array {
        self.security
            .get_or_init(|| {
                let array = js_sys::Array::new();
                for header in security_headers(&self.snapshot.policy.responses) {
                    let mode = match header.mode {
                        HeaderMode::Keep => "k",
                        HeaderMode::Merge => "m",
                        HeaderMode::Set | HeaderMode::Off => "s",
                    };
                    array.push(&JsValue::from_str(header.name));
                    array.push(&JsValue::from_str(&header.value));
                    array.push(&JsValue::from_str(mode));
                }
                array
            })
            .clone()
    }
}

struct Cached {
    replica: Rc<Replica>,
    refreshing: bool,
    /// When a background refresh is next due (unix milliseconds).
    due_ms: u64,
    /// A change made here must be seen by the next request: it loads in
    /// the foreground (keeping this copy if that fails).
    stale: bool,
}

/// This isolate's copy of the bans: per shard the version it has, and
/// the bans by target.
#[derive(Default)]
struct Bans {
    versions: [u64; BAN_SHARDS],
    by_target: HashMap<String, BanEntry>,
}

impl Bans {
    fn list(&self) -> Vec<BanEntry> {
        self.by_target.values().cloned().collect()
    }
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
    static BANS: RefCell<Bans> = RefCell::new(Bans::default());
    /// The cache lifetime, read once per isolate (vars do not change while it lives).
    static LIFETIME_MS: OnceCell<u64> = const { OnceCell::new() };
    /// When the load in flight began (unix milliseconds; 0: none).
    static LOADING_SINCE: Cell<u64> = const { Cell::new(0) };
    /// Loads ended so far, and the last one's error.
    static LOADS: Cell<u64> = const { Cell::new(0) };
    static LAST_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Bumped by [`invalidate`]: a load begun before it is not kept.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    /// When the last foreground reload began (unix milliseconds).
    static LAST_RELOAD_MS: Cell<u64> = const { Cell::new(0) };
}

/// Default cache lifetime, overridable with the `PORTCULLIS_CACHE_SECONDS` var.
const DEFAULT_CACHE_SECONDS: f64 = 5.0;
/// At most one foreground reload per this long (a stream of forged
/// cookies must not become a stream of reloads).
const RELOAD_SPACING_MS: u64 = 1000;
/// How long a load may take before another request stops waiting for it.
const LOAD_MS: u64 = 3000;
/// How often a request waiting for another's load looks again.
const POLL_MS: u64 = 5;
/// Most pages of changes read from one shard per refresh.
const MAX_PAGES: usize = 64;

fn lifetime_ms(env: &Env) -> u64 {
    LIFETIME_MS.with(|l| {
        *l.get_or_init(|| {
            let seconds = env
                .var("PORTCULLIS_CACHE_SECONDS")
                .ok()
                .and_then(|v| v.to_string().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(DEFAULT_CACHE_SECONDS);
            (seconds * 1000.0) as u64
        })
    })
}

/// Control's snapshot.
async fn control_snapshot(env: &Env) -> Result<Snapshot> {
    match control::call(env, &ControlOp::Snapshot).await? {
        Stored::Answer(ControlAnswer::Snapshot { snapshot }) => Ok(*snapshot),
        Stored::Answer(ControlAnswer::ConfigurationInvalid { message }) => Err(
            worker::Error::RustError(format!("configuration invalid: {message}")),
        ),
        Stored::Unreadable { record } => Err(worker::Error::RustError(format!(
            "configuration unavailable: {record} is unreadable"
        ))),
        Stored::Answer(_) => Err(worker::Error::RustError("not a snapshot".into())),
    }
}

/// The changes of shard `i` since `version`, page by page: (the version
/// reached, whether the copy starts over, the changes).
async fn shard_changes(
    env: Env,
    i: usize,
    mut version: u64,
) -> Result<(u64, bool, Vec<portcullis_core::objects::BanChange>)> {
    let shard = ban_shard_name(i);
    let mut all = Vec::new();
    let mut reset = false;
    for _ in 0..MAX_PAGES {
        match ban_log::call(&env, &shard, &BanLogOp::Since { version }).await? {
            Stored::Answer(BanLogAnswer::Changes {
                version: reached,
                reset: again,
                more,
                changes,
            }) => {
                if again {
                    reset = true;
                    all.clear();
                }
                all.extend(changes);
                version = reached;
                if !more {
                    break;
                }
            }
            _ => {
                return Err(worker::Error::RustError(format!(
                    "{shard}: not a list of changes"
                )));
            }
        }
    }
    Ok((version, reset, all))
}

/// Brings this isolate's bans up to date with every shard (a shard that
/// does not answer keeps its old copy and is logged); whether any changed.
async fn refresh_bans(env: &Env) -> bool {
    let versions = BANS.with(|b| b.borrow().versions);
    let calls = (0..BAN_SHARDS).map(|i| shard_changes(env.clone(), i, versions[i]));
    let answers = stub::join_all(calls).await;
    BANS.with(|b| {
        let mut bans = b.borrow_mut();
        let mut changed = false;
        for (i, answer) in answers.into_iter().enumerate() {
            match answer {
                // Another refresh got further meanwhile: this answer is older.
                Ok(_) if bans.versions[i] != versions[i] => {}
                Ok((version, reset, changes)) => {
                    if reset {
                        let shard = ban_shard_name(i);
                        bans.by_target.retain(|_, ban| {
                            portcullis_core::objects::ban_shard(&ban.target).as_deref()
                                != Some(shard.as_str())
                        });
                        changed = true;
                    }
                    for change in changes {
                        changed = true;
                        match change.ban {
                            Some(ban) => {
                                bans.by_target.insert(change.target, ban);
                            }
                            None => {
                                bans.by_target.remove(&change.target);
                            }
                        }
                    }
                    bans.versions[i] = version;
                }
                Err(e) => {
                    worker::console_error!("portcullis: ban shard {i}: refresh failed: {e}");
                }
            }
        }
        // Bans that ended are dropped from the copy.
        let now = clock::now_seconds();
        let before = bans.by_target.len();
        bans.by_target.retain(|_, ban| ban.until > now);
        changed || bans.by_target.len() != before
    })
}

/// Loads the bans' changes and Control's snapshot. When Control fails but
/// bans changed, the cached snapshot takes the new bans (fail static).
async fn load(env: &Env) -> Result<Snapshot> {
    let bans_changed = refresh_bans(env).await;
    match control_snapshot(env).await {
        Ok(snapshot) => Ok(BANS.with(|b| snapshot.with_bans(&b.borrow().list()))),
        Err(e) => {
            if bans_changed {
                CACHE.with(|c| {
                    if let Some(cached) = c.borrow_mut().as_mut() {
                        let next =
                            BANS.with(|b| cached.replica.snapshot.with_bans(&b.borrow().list()));
                        cached.replica = Replica::new(next);
                    }
                });
            }
            Err(e)
        }
    }
}

fn store(env: &Env, mut snapshot: Snapshot) -> Rc<Replica> {
    let now = clock::now_millis();
    snapshot.loaded_at_ms = now;
    let replica = Replica::new(snapshot);
    CACHE.with(|c| {
        *c.borrow_mut() = Some(Cached {
            replica: replica.clone(),
            refreshing: false,
            due_ms: now.saturating_add(lifetime_ms(env)),
            stale: false,
        });
    });
    replica
}

/// Adds a ban this isolate just learned of, without waiting for a refresh.
pub(crate) fn add_ban(ban: BanEntry) {
    BANS.with(|b| {
        b.borrow_mut()
            .by_target
            .insert(ban.target.clone(), ban.clone());
    });
    CACHE.with(|c| {
        if let Some(cached) = c.borrow_mut().as_mut() {
            let snapshot = &cached.replica.snapshot;
            let next = snapshot
                .with_ban(&ban)
                .unwrap_or_else(|| BANS.with(|b| snapshot.with_bans(&b.borrow().list())));
            cached.replica = Replica::new(next);
        }
    });
}

/// Loads a fresh snapshot and caches it. Concurrent callers share one load:
/// while one is in flight, the others look at its outcome between timers
/// of their own (never awaiting another request's promise: the rest of
/// their handler would run in that request's context). A load that an
/// [`invalidate`] overtook is not kept, and is made again.
async fn load_shared(env: &Env) -> Result<Rc<Replica>> {
    if let Some(outcome) = wait_for_other().await {
        return outcome;
    }
    for _ in 0..3 {
        let generation = GENERATION.with(Cell::get);
        let began = clock::now_millis();
        LOADING_SINCE.with(|l| l.set(began));
        let loaded = load(env).await;
        let current = GENERATION.with(Cell::get) == generation;
        LOADING_SINCE.with(|l| {
            if l.get() == began {
                l.set(0);
            }
        });
        // A load the configuration changed under is thrown away and made
        // again; requests waiting on it keep waiting (it does not count as
        // ended, or they would take the stale copy).
        if loaded.is_ok() && !current {
            continue;
        }
        LOADS.with(|l| l.set(l.get() + 1));
        LAST_ERROR.with(|e| *e.borrow_mut() = loaded.as_ref().err().map(|e| e.to_string()));
        return loaded.map(|snapshot| store(env, snapshot));
    }
    Err(worker::Error::RustError(
        "the configuration kept changing while loading".into(),
    ))
}

/// When another request's load is in flight (begun less than [`LOAD_MS`]
/// ago), its outcome once it ends; `None`: load yourself.
async fn wait_for_other() -> Option<Result<Rc<Replica>>> {
    let start = clock::now_millis();
    let loads = LOADS.with(Cell::get);
    let in_flight = || {
        let since = LOADING_SINCE.with(Cell::get);
        since != 0 && clock::now_millis().saturating_sub(since) < LOAD_MS
    };
    if !in_flight() {
        return None;
    }
    while in_flight() && clock::now_millis().saturating_sub(start) < LOAD_MS {
        Delay::from(Duration::from_millis(POLL_MS)).await;
    }
    if LOADS.with(Cell::get) == loads {
        return None;
    }
    Some(match LAST_ERROR.with(|e| e.borrow().clone()) {
        None => cached().ok_or_else(|| worker::Error::RustError("no snapshot".into())),
        Some(e) => Err(worker::Error::RustError(e)),
    })
}

fn cached() -> Option<Rc<Replica>> {
    CACHE.with(|c| c.borrow().as_ref().map(|cached| cached.replica.clone()))
}

/// Loads a fresh snapshot now and caches it (at most once a second; a
/// call within that gets the cached one). When the load fails, the last
/// snapshot stays in use (fail static) and the failure is logged; only an
/// isolate that never had one fails.
pub(crate) async fn reload(env: &Env) -> Result<Rc<Replica>> {
    let now = clock::now_millis();
    let last = LAST_RELOAD_MS.with(|l| l.replace(now));
    if now.saturating_sub(last) < RELOAD_SPACING_MS
        && let Some(replica) = cached()
    {
        return Ok(replica);
    }
    current(env).await
}

/// Marks the cached snapshot stale so the next request loads a fresh one
/// (a change this request made must be seen by it). The copy is kept: if
/// that load fails, requests go on with it (fail static) rather than 503.
pub(crate) fn invalidate() {
    GENERATION.with(|g| g.set(g.get() + 1));
    CACHE.with(|c| {
        if let Some(cached) = c.borrow_mut().as_mut() {
            cached.stale = true;
        }
    });
}

/// The snapshot to decide this request with, when this isolate has one
/// it may use without waiting; refreshes it in the background when due
/// (through `ctx.wait_until`). `None`: there is none yet, or a change made
/// here marked it stale, and [`current`] loads one.
pub(crate) fn current_now(env: &Env, ctx: &worker::Context) -> Option<Rc<Replica>> {
    let now = clock::now_millis();
    let (replica, refresh) = CACHE.with(|c| {
        let mut slot = c.borrow_mut();
        let cached = slot.as_mut().filter(|cached| !cached.stale)?;
        let refresh = now >= cached.due_ms && !cached.refreshing;
        if refresh {
            cached.refreshing = true;
        }
        Some((cached.replica.clone(), refresh))
    })?;
    if refresh {
        let env = env.clone();
        ctx.wait_until(async move {
            if let Err(e) = load_shared(&env).await {
                worker::console_error!(
                    "portcullis: snapshot refresh failed, keeping the last one: {e}"
                );
                // Try again after another lifetime, not on every request.
                let due = clock::now_millis().saturating_add(lifetime_ms(&env));
                CACHE.with(|c| {
                    if let Some(cached) = c.borrow_mut().as_mut() {
                        cached.refreshing = false;
                        cached.due_ms = due;
                    }
                });
            }
        });
    }
    Some(replica)
}

/// Loads the snapshot [`current_now`] had none of. When this isolate has
/// a stale copy and the load fails, the copy stays in use (fail static)
/// and the failure is logged; only an isolate that never had one fails.
pub(crate) async fn current(env: &Env) -> Result<Rc<Replica>> {
    match load_shared(env).await {
        Ok(fresh) => Ok(fresh),
        Err(e) => match cached() {
            Some(last) => {
                worker::console_error!(
                    "portcullis: snapshot reload failed, keeping the last one: {e}"
                );
                Ok(last)
            }
            None => Err(e),
        },
    }
}
