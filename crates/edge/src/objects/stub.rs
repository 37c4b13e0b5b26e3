//! How one object is called and answers: a typed operation serialised as
//! JSON and POSTed to the object named `name`, which answers core's
//! `Stored<T>` (the answer, or that its record is unreadable).

use portcullis_core::objects::Stored;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{Env, Method, Request, RequestInit, Response, Result};

use crate::http::reply;

/// Calls `op` on the object `name` of `binding`. The generic part only
/// encodes and decodes; the fetch is one function for every object (each
/// async function is a state machine: one instead of one per object).
pub(crate) async fn call<Op: Serialize, A: DeserializeOwned>(
    env: &Env,
    binding: &str,
    name: &str,
    op: &Op,
) -> Result<Stored<A>> {
    let body = serde_json::to_string(op).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let text = post(env, binding, name, body).await?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(format!("{binding}: {e}")))
}

/// POSTs `body` to the object `name` of `binding`; its answer's text.
async fn post(env: &Env, binding: &str, name: &str, body: String) -> Result<String> {
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
