//! The per-isolate replica of Control's snapshot (the configuration, the
//! active bans, secrets, revocations). It is read on every request without
//! a Durable Object round trip; when older than the cache lifetime it is
//! refreshed in the background (the request that notices uses the old
//! copy). The isolate that changes something updates its copy at once, so
//! a change is live there immediately and everywhere within the lifetime.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use js_sys::Promise;
use portcullis_core::BanEntry;
use portcullis_core::Snapshot;
use portcullis_core::objects::{ControlAnswer, ControlOp, Stored};
use portcullis_core::security_headers;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use worker::{Env, Result};

use crate::clock;
use crate::objects::control::client as control;

/// A cached snapshot and its security headers as a JS array (name, value,
/// …), built once per snapshot.
pub(crate) struct Replica {
    pub(crate) snapshot: Rc<Snapshot>,
    security: OnceCell<js_sys::Array>,
}

impl Replica {
    fn new(mut snapshot: Snapshot) -> Rc<Self> {
        snapshot.loaded_at_ms = clock::now_millis();
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
                for (name, value) in security_headers(&self.snapshot.policy.responses) {
                    array.push(&JsValue::from_str(name));
                    array.push(&JsValue::from_str(&value));
                }
                array
            })
            .clone()
    }
}

struct Cached {
    replica: Rc<Replica>,
    refreshing: bool,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
    /// The cache lifetime, read once per isolate (vars do not change while it lives).
    static LIFETIME_MS: OnceCell<u64> = const { OnceCell::new() };
}

/// Default cache lifetime, overridable with the `PORTCULLIS_CACHE_SECONDS` var.
const DEFAULT_CACHE_SECONDS: f64 = 5.0;

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

/// Fetches a fresh snapshot from Control.
async fn load(env: &Env) -> Result<Snapshot> {
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

fn store(snapshot: Snapshot) -> Rc<Replica> {
    let replica = Replica::new(snapshot);
    CACHE.with(|c| {
        *c.borrow_mut() = Some(Cached {
            replica: replica.clone(),
            refreshing: false,
        });
    });
    replica
}

/// Adds a ban this isolate just learned of, without waiting for a refresh.
pub(crate) fn add_ban(ban: BanEntry) {
    CACHE.with(|c| {
        if let Some(cached) = c.borrow_mut().as_mut() {
            let loaded_at = cached.replica.snapshot.loaded_at_ms;
            let mut next = cached.replica.snapshot.with_ban(ban);
            next.loaded_at_ms = loaded_at;
            cached.replica = Rc::new(Replica {
                snapshot: Rc::new(next),
                security: OnceCell::new(),
            });
        }
    });
}

thread_local! {
    /// The load in flight, which every request that needs one shares.
    static LOADING: RefCell<Option<Promise>> = const { RefCell::new(None) };
    /// Bumped by [`invalidate`]: a load begun before it is not kept.
    static GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Loads a fresh snapshot and caches it. Concurrent callers share one load
/// (N requests with forged cookies cause one reload, not N). A load that
/// an [`invalidate`] overtook is not kept, and its callers load again.
async fn load_shared(env: &Env) -> Result<Rc<Replica>> {
    for _ in 0..3 {
        if join_load(env).await?
            && let Some(replica) = cached()
        {
            return Ok(replica);
        }
    }
    Err(worker::Error::RustError(
        "the configuration kept changing while loading".into(),
    ))
}

/// Waits for the load in flight (starting one if none): whether it was kept.
async fn join_load(env: &Env) -> Result<bool> {
    let promise = LOADING.with(|l| l.borrow().clone()).unwrap_or_else(|| {
        let env = env.clone();
        let generation = GENERATION.with(|g| g.get());
        let promise = future_to_promise(async move {
            let loaded = load(&env).await;
            let current = GENERATION.with(|g| g.get()) == generation;
            if current {
                LOADING.with(|l| *l.borrow_mut() = None);
            }
            match loaded {
                Ok(snapshot) => {
                    if current {
                        store(snapshot);
                    }
                    Ok(JsValue::from_bool(current))
                }
                Err(e) => Err(JsValue::from_str(&e.to_string())),
            }
        });
        LOADING.with(|l| *l.borrow_mut() = Some(promise.clone()));
        promise
    });
    match JsFuture::from(promise).await {
        Ok(kept) => Ok(kept.as_bool().unwrap_or(false)),
        Err(e) => Err(worker::Error::RustError(
            e.as_string()
                .unwrap_or_else(|| "snapshot load failed".into()),
        )),
    }
}

fn cached() -> Option<Rc<Replica>> {
    CACHE.with(|c| c.borrow().as_ref().map(|cached| cached.replica.clone()))
}

/// Loads a fresh snapshot now and caches it. When the load fails, the last
/// snapshot stays in use (fail static) and the failure is logged; only an
/// isolate that never had one fails.
pub(crate) async fn reload(env: &Env) -> Result<Rc<Replica>> {
    match load_shared(env).await {
        Ok(replica) => Ok(replica),
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

/// Drops the cached snapshot so the next request loads a fresh one.
pub(crate) fn invalidate() {
    GENERATION.with(|g| g.set(g.get() + 1));
    LOADING.with(|l| *l.borrow_mut() = None);
    CACHE.with(|c| *c.borrow_mut() = None);
}

/// The snapshot to decide this request with; refreshes in the background
/// when stale (through `ctx.wait_until`), loads in the foreground only when
/// this isolate has none yet.
pub(crate) async fn current(env: &Env, ctx: &worker::Context) -> Result<Rc<Replica>> {
    let now = clock::now_millis();
    let lifetime = lifetime_ms(env);
    let cached = CACHE.with(|c| {
        let mut slot = c.borrow_mut();
        slot.as_mut().map(|cached| {
            let stale = now.saturating_sub(cached.replica.snapshot.loaded_at_ms) >= lifetime;
            let refresh = stale && !cached.refreshing;
            if refresh {
                cached.refreshing = true;
            }
            (cached.replica.clone(), refresh)
        })
    });
    match cached {
        Some((replica, false)) => Ok(replica),
        Some((replica, true)) => {
            let env = env.clone();
            ctx.wait_until(async move {
                match load_shared(&env).await {
                    Ok(_) => {}
                    Err(e) => {
                        worker::console_error!(
                            "portcullis: snapshot refresh failed, keeping the last one: {e}"
                        );
                        CACHE.with(|c| {
                            if let Some(cached) = c.borrow_mut().as_mut() {
                                cached.refreshing = false;
                            }
                        });
                    }
                }
            });
            Ok(replica)
        }
        None => load_shared(env).await,
    }
}
