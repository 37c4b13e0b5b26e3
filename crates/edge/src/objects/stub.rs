//! How one object is called and answers: a typed operation serialised as
//! JSON and POSTed to the object named `name`, which answers core's
//! `Stored<T>` (the answer, or that its record is unreadable).

use portcullis_core::objects::Stored;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{Env, Method, Request, RequestInit, Response, Result};

use crate::http::reply;

thread_local! {
    /// Durable Object requests this isolate sent, per binding and per
    /// binding and operation (`CONTROL`, `CONTROL.snapshot`).
    static SENT: std::cell::RefCell<std::collections::BTreeMap<String, u64>> =
        const { std::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

/// Counts one request to `binding` with the operation `body` encodes
/// (its serde tag: `"snapshot"` or `{"warn":…}`).
pub(crate) fn count(binding: &str, body: &str) {
    let tag = body
        .trim_start_matches(['{', '"'])
        .split('"')
        .next()
        .unwrap_or_default();
    SENT.with(|s| {
        let mut sent = s.borrow_mut();
        *sent.entry(binding.to_owned()).or_insert(0) += 1;
        *sent.entry(format!("{binding}.{tag}")).or_insert(0) += 1;
    });
}

/// Counts one event of this isolate's (`warnings.recorded`…).
pub(crate) fn note(event: &str) {
    SENT.with(|s| *s.borrow_mut().entry(event.to_owned()).or_insert(0) += 1);
}

/// The Durable Object requests this isolate sent since it started, per
/// binding (the attack benchmark's per-class counts).
pub(crate) fn sent() -> serde_json::Value {
    SENT.with(|s| serde_json::json!(*s.borrow()))
}

/// Runs `futures` concurrently (all of this request's); their outputs in
/// order.
pub(crate) async fn join_all<T: 'static, F: std::future::Future<Output = T> + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<T> {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut slots: Vec<Rc<RefCell<Option<T>>>> = Vec::new();
    let promises = js_sys::Array::new();
    for future in futures {
        let slot = Rc::new(RefCell::new(None));
        slots.push(slot.clone());
        promises.push(&wasm_bindgen_futures::future_to_promise(async move {
            *slot.borrow_mut() = Some(future.await);
            Ok(JsValue::UNDEFINED)
        }));
    }
    let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::all(&promises)).await;
    slots
        .into_iter()
        .filter_map(|slot| slot.borrow_mut().take())
        .collect()
}

/// `future`'s output, or `None` when `ms` milliseconds pass first. The
/// future is not cancelled (a request it sent may still land): use it
/// for calls that are safe to repeat.
pub(crate) async fn within<T: 'static>(
    ms: u64,
    future: impl std::future::Future<Output = T> + 'static,
) -> Option<T> {
    use std::cell::RefCell;
    use std::rc::Rc;
    let slot = Rc::new(RefCell::new(None));
    let filled = slot.clone();
    let work = wasm_bindgen_futures::future_to_promise(async move {
        *filled.borrow_mut() = Some(future.await);
        Ok(JsValue::UNDEFINED)
    });
    let timer = wasm_bindgen_futures::future_to_promise(async move {
        worker::Delay::from(std::time::Duration::from_millis(ms)).await;
        Ok(JsValue::UNDEFINED)
    });
    let race = js_sys::Promise::race(&js_sys::Array::of2(&work, &timer));
    let _ = wasm_bindgen_futures::JsFuture::from(race).await;
    slot.borrow_mut().take()
}

/// Calls `op` on the object `name` of `binding`. The generic part only
/// encodes and decodes; the fetch is one function for every object (each
/// async function is a state machine: one instead of one per object).
pub(crate) async fn call<Op: Serialize, A: DeserializeOwned>(
    env: &Env,
    binding: &'static str,
    name: &str,
    op: &Op,
) -> Result<Stored<A>> {
    let body = serde_json::to_string(op).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let text = post(env, binding, name, body).await?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(format!("{binding}: {e}")))
}

/// POSTs `body` to the object `name` of `binding`; its answer's text.
async fn post(env: &Env, binding: &'static str, name: &str, body: String) -> Result<String> {
    count(binding, &body);
    let stub = env
        .durable_object(binding)?
        .id_from_name(name)?
        .get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(JsValue::from_str(&body)));
    let name = js_sys::encode_uri_component(name);
    let url = format!("https://durable-object/op?name={name}");
    let mut response = stub
        .fetch_with_request(Request::new_with_init(&url, &init)?)
        .await?;
    if response.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "{binding} answered {}",
            response.status_code()
        )));
    }
    response.text().await
}

/// The operation an object was sent, and the name it was called by; the
/// 400 to answer when it is not one.
pub(crate) async fn operation<Op: DeserializeOwned>(
    req: Request,
) -> Result<std::result::Result<(Op, String), Response>> {
    let (text, name) = read(req).await?;
    match serde_json::from_str::<Op>(&text) {
        Ok(op) => Ok(Ok((op, name))),
        Err(_) => Ok(Err(reply::refusal(
            &portcullis_core::refusal::Refusal::new(
                400,
                "malformed_body",
                "Not an operation of this object.",
            ),
        )?)),
    }
}

/// The body and the `name` parameter of an object's request.
async fn read(mut req: Request) -> Result<(String, String)> {
    let name = req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    Ok((req.text().await?, name))
}

/// An object's answer.
pub(crate) fn answer<A: Serialize>(stored: &Stored<A>) -> Result<Response> {
    reply::json(200, &serde_json::json!(stored))
}
