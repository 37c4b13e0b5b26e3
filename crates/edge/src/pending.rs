//! Warnings recorded off the response path. A warning goes to its IpGuard
//! inside `ctx.wait_until`, so the request it was earned on is answered
//! without waiting; until it is recorded, this isolate counts it by client
//! key, and the client's next request waits for it (core's `Step::Settle`)
//! so that a ban it triggers applies at once, as it did when warnings were
//! recorded in line.
//!
//! A request never awaits another request's promise: in a Worker the rest
//! of its handler would then run in the other request's context (and fail
//! with "Cannot perform I/O on behalf of a different request"). It looks
//! at the count instead, between timers of its own.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use worker::{Context, Delay};

/// How long a request waits for another's warning at most; a warning
/// still pending then is not waited for (it is logged where it runs).
const SETTLE_MS: u64 = 2000;
/// How often a waiting request looks again.
const POLL_MS: u64 = 2;

/// A count older than this is a warning whose task never ended (the
/// runtime cut it off): it is forgotten.
const STALE_MS: u64 = 30_000;

thread_local! {
    /// Client key → (warnings still being recorded, when the count last rose).
    static PENDING: RefCell<HashMap<String, (u32, u64)>> = RefCell::new(HashMap::new());
}

fn change(key: &str, by: i64) {
    let now = crate::clock::now_millis();
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.retain(|_, (_, since)| now.saturating_sub(*since) < STALE_MS);
        let (n, since) = p.get(key).copied().unwrap_or((0, now));
        let n = i64::from(n) + by;
        if n <= 0 {
            p.remove(key);
        } else {
            let since = if by > 0 { now } else { since };
            p.insert(key.to_owned(), (n as u32, since));
        }
    });
}

/// What runs after a warning is recorded, no longer counted against its
/// client (its audit entry's batch).
pub(crate) type Then = Option<Pin<Box<dyn Future<Output = ()>>>>;

/// Runs `work` (recording a warning against `key`) after the response,
/// counting it until it is done; then what it hands back.
pub(crate) fn spawn(ctx: &Context, key: String, work: impl Future<Output = Then> + 'static) {
    change(&key, 1);
    ctx.wait_until(async move {
        let then = work.await;
        change(&key, -1);
        if let Some(then) = then {
            then.await;
        }
    });
}

/// Whether warnings are still being recorded against `key` (every key:
/// `None`); a request with none pending settles at once.
pub(crate) fn waiting(key: Option<&str>) -> bool {
    PENDING.with(|p| {
        let p = p.borrow();
        // Every request asks: the clock is read only when something is pending.
        if p.is_empty() {
            return false;
        }
        let now = crate::clock::now_millis();
        let live = |since: &u64| now.saturating_sub(*since) < STALE_MS;
        match key {
            Some(key) => p.get(key).is_some_and(|(_, since)| live(since)),
            None => p.values().any(|(_, since)| live(since)),
        }
    })
}

/// Waits (at most [`SETTLE_MS`]) for the warnings still being recorded
/// against `key` (every key: `None`); whether there were any.
pub(crate) async fn settle(key: Option<&str>) -> bool {
    if !waiting(key) {
        return false;
    }
    let mut waited = 0;
    while waiting(key) && waited < SETTLE_MS {
        Delay::from(Duration::from_millis(POLL_MS)).await;
        waited += POLL_MS;
    }
    if waiting(key) {
        worker::console_error!(
            "portcullis: warnings still pending after {SETTLE_MS} ms; not waiting"
        );
    }
    true
}

/// How many clients have warnings still being recorded.
pub(crate) fn count() -> usize {
    PENDING.with(|p| p.borrow().len())
}
