//! The per-isolate replica of the configuration and the active bans. It is
//! read on every request without a Durable Object round trip; when older
//! than the cache lifetime it is refreshed in the background (the request
//! that notices uses the old copy). The isolate that changes something
//! updates its copy at once, so a change is live there immediately and
//! everywhere within the cache lifetime.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use portcullis_core::Policy;
use portcullis_core::bans::BanEntry;
use portcullis_core::headers::security_headers;
use portcullis_core::session::{Revocations, SessionKeys};
use portcullis_core::uploads::{PathPatterns, canonical_path};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{Env, Result};

/// What Control's `/snapshot` answers.
#[derive(Deserialize)]
pub(crate) struct Snapshot {
    pub(crate) policy: Policy,
    pub(crate) bans: Vec<BanEntry>,
    /// The session signing secret and the XSRF salt (never sent to a client).
    pub(crate) secrets: Secrets,
    /// Sessions ended before their time (rotation, admin).
    #[serde(default)]
    pub(crate) revocations: Revocations,
    /// The security headers of `policy.responses` as a flat JS array
    /// (name, value, name, value…), built once per snapshot.
    #[serde(skip)]
    security: OnceCell<js_sys::Array>,
    /// The configured routes in canonical form, built once per snapshot.
    #[serde(skip)]
    routes: OnceCell<Routes>,
}

/// The routes the edge watches, canonical, for comparison with a request's
/// canonical path.
pub(crate) struct Routes {
    pub(crate) login: String,
    pub(crate) logout: String,
    pub(crate) signup: String,
    pub(crate) reset: String,
    pub(crate) change_password: String,
    pub(crate) protected: PathPatterns,
    pub(crate) uploads: PathPatterns,
}

/// The signing secrets an isolate needs to check sessions.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Secrets {
    pub(crate) jwt: String,
    /// The JWT secret before the last rotation.
    #[serde(default)]
    pub(crate) jwt_previous: Option<String>,
    pub(crate) xsrf: String,
    #[serde(default)]
    pub(crate) captcha: Option<String>,
    /// The key of password-history fingerprints.
    pub(crate) pepper: String,
}

impl Secrets {
    /// The keys a session token is checked with.
    pub(crate) fn session_keys(&self) -> SessionKeys<'_> {
        SessionKeys {
            secret: self.jwt.as_bytes(),
            previous: self.jwt_previous.as_deref().map(str::as_bytes),
        }
    }
}

impl Snapshot {
    /// The routes in canonical form.
    pub(crate) fn routes(&self) -> &Routes {
        self.routes.get_or_init(|| {
            let r = &self.policy.routes;
            Routes {
                login: canonical_path(&r.login),
                logout: canonical_path(&r.logout),
                signup: canonical_path(&r.signup),
                reset: canonical_path(&r.reset),
                change_password: canonical_path(&r.change_password),
                protected: PathPatterns::new(&r.protected),
                uploads: PathPatterns::new(&self.policy.uploads.paths),
            }
        })
    }

    /// The security headers core builds for this configuration.
    pub(crate) fn security_headers(&self) -> &js_sys::Array {
        self.security.get_or_init(|| {
            let array = js_sys::Array::new();
            for (name, value) in security_headers(&self.policy.responses) {
                array.push(&JsValue::from_str(name));
                array.push(&JsValue::from_str(&value));
            }
            array
        })
    }
}

pub(crate) struct Cached {
    pub(crate) snapshot: Rc<Snapshot>,
    loaded_at_ms: f64,
    refreshing: bool,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

/// Default cache lifetime, overridable with the `PORTCULLIS_CACHE_SECONDS` var.
const DEFAULT_CACHE_SECONDS: f64 = 5.0;

thread_local! {
    /// The cache lifetime, read once per isolate (vars do not change while it lives).
    static LIFETIME_MS: OnceCell<f64> = const { OnceCell::new() };
}

fn lifetime_ms(env: &Env) -> f64 {
    LIFETIME_MS.with(|l| {
        *l.get_or_init(|| {
            env.var("PORTCULLIS_CACHE_SECONDS")
                .ok()
                .and_then(|v| v.to_string().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(DEFAULT_CACHE_SECONDS)
                * 1000.0
        })
    })
}

/// Fetches a fresh snapshot from Control.
async fn load(env: &Env) -> Result<Snapshot> {
    let mut response = crate::control::call(env, "GET", "/snapshot", None).await?;
    if response.status_code() != 200 {
        let body = response.text().await.unwrap_or_default();
        return Err(worker::Error::RustError(format!(
            "configuration unavailable: {body}"
        )));
    }
    let text = response.text().await?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(format!("snapshot: {e}")))
}

/// Replaces the cached snapshot (after a change made by this isolate).
pub(crate) fn store(snapshot: Snapshot) -> Rc<Snapshot> {
    let snapshot = Rc::new(snapshot);
    CACHE.with(|c| {
        *c.borrow_mut() = Some(Cached {
            snapshot: snapshot.clone(),
            loaded_at_ms: js_sys::Date::now(),
            refreshing: false,
        });
    });
    snapshot
}

/// Adds a ban this isolate just learned of, without waiting for a refresh.
pub(crate) fn add_ban(entry: BanEntry) {
    CACHE.with(|c| {
        if let Some(cached) = c.borrow_mut().as_mut() {
            let mut bans = cached.snapshot.bans.clone();
            bans.retain(|b| b.target != entry.target);
            bans.push(entry);
            cached.snapshot = Rc::new(Snapshot {
                policy: cached.snapshot.policy.clone(),
                bans,
                secrets: cached.snapshot.secrets.clone(),
                revocations: cached.snapshot.revocations.clone(),
                security: OnceCell::new(),
                routes: OnceCell::new(),
            });
        }
    });
}

/// Loads a fresh snapshot now and caches it.
pub(crate) async fn reload(env: &Env) -> Result<Rc<Snapshot>> {
    Ok(store(load(env).await?))
}

/// How old the cached snapshot is (milliseconds); `None` without one.
pub(crate) fn age_ms() -> Option<f64> {
    CACHE.with(|c| {
        c.borrow()
            .as_ref()
            .map(|cached| js_sys::Date::now() - cached.loaded_at_ms)
    })
}

/// Drops the cached snapshot so the next request loads a fresh one.
pub(crate) fn invalidate() {
    CACHE.with(|c| *c.borrow_mut() = None);
}

/// The snapshot to decide this request with; refreshes in the background
/// when stale (through `ctx.wait_until`), loads in the foreground only when
/// this isolate has none yet.
pub(crate) async fn current(env: &Env, ctx: &worker::Context) -> Result<Rc<Snapshot>> {
    let now = js_sys::Date::now();
    let lifetime = lifetime_ms(env);
    let cached = CACHE.with(|c| {
        let mut slot = c.borrow_mut();
        slot.as_mut().map(|cached| {
            let stale = now - cached.loaded_at_ms >= lifetime;
            let refresh = stale && !cached.refreshing;
            if refresh {
                cached.refreshing = true;
            }
            (cached.snapshot.clone(), refresh)
        })
    });
    match cached {
        Some((snapshot, false)) => Ok(snapshot),
        Some((snapshot, true)) => {
            let env = env.clone();
            ctx.wait_until(async move {
                match load(&env).await {
                    Ok(fresh) => {
                        store(fresh);
                    }
                    Err(e) => {
                        worker::console_error!("portcullis: snapshot refresh failed: {e}");
                        CACHE.with(|c| {
                            if let Some(cached) = c.borrow_mut().as_mut() {
                                cached.refreshing = false;
                            }
                        });
                    }
                }
            });
            Ok(snapshot)
        }
        None => Ok(store(load(env).await?)),
    }
}
