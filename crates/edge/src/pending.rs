//! Warnings recorded off the response path. A warning goes to its IpGuard
//! inside `ctx.wait_until`, so the request it was earned on is answered
//! without waiting; until it is recorded, this isolate remembers it by
//! client key, and the client's next request waits for it (core's
//! `Step::Settle`) so that a ban it triggers applies at once, as it did
//! when warnings were recorded in line.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use worker::Context;

thread_local! {
    /// Client key → (id, the warning's promise), newest per key.
    static PENDING: RefCell<HashMap<String, (u64, Promise)>> = RefCell::new(HashMap::new());
    static NEXT: Cell<u64> = const { Cell::new(0) };
}

/// Runs `work` (recording a warning against `key`) after the response,
/// remembering it until it is done.
pub(crate) fn spawn(ctx: &Context, key: String, work: impl Future<Output = ()> + 'static) {
    let id = NEXT.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    // A newer warning of the same key waits for the older one first, so
    // the newest promise stands for all of them.
    let before = PENDING.with(|p| p.borrow().get(&key).map(|(_, promise)| promise.clone()));
    let done_key = key.clone();
    let promise = future_to_promise(async move {
        if let Some(before) = before {
            let _ = JsFuture::from(before).await;
        }
        work.await;
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if p.get(&done_key).is_some_and(|(newest, _)| *newest == id) {
                p.remove(&done_key);
            }
        });
        Ok(JsValue::UNDEFINED)
    });
    PENDING.with(|p| p.borrow_mut().insert(key, (id, promise.clone())));
    ctx.wait_until(async move {
        let _ = JsFuture::from(promise).await;
    });
}

/// Waits for the warnings still being recorded against `key` (every key:
/// `None`); whether there were any.
pub(crate) async fn settle(key: Option<&str>) -> bool {
    let waiting: Vec<Promise> = PENDING.with(|p| {
        let p = p.borrow();
        match key {
            Some(key) => p
                .get(key)
                .map(|(_, promise)| promise.clone())
                .into_iter()
                .collect(),
            None => p.values().map(|(_, promise)| promise.clone()).collect(),
        }
    });
    let waited = !waiting.is_empty();
    for promise in waiting {
        let _ = JsFuture::from(promise).await;
    }
    waited
}

/// How many clients have warnings still being recorded.
pub(crate) fn count() -> usize {
    PENDING.with(|p| p.borrow().len())
}
