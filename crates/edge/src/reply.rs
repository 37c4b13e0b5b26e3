//! JSON error answers: `{ "error": "<code>", "message": "…" }` with stable
//! codes. Nothing internal goes into them.

use serde_json::json;
use worker::{Response, Result};

/// An error answer with a stable `code`.
pub(crate) fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    json(status, &json!({ "error": code, "message": message }))
}

/// Any JSON answer.
pub(crate) fn json(status: u16, value: &serde_json::Value) -> Result<Response> {
    let mut response = Response::from_json(value)?.with_status(status);
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// Seconds since the Unix epoch, from the Worker's clock.
pub(crate) fn now_seconds() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// The current time in unix milliseconds (session revocations).
pub(crate) fn now_millis() -> u64 {
    js_sys::Date::now() as u64
}
