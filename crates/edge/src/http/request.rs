//! Reading a request for core: its facts in one crossing into JavaScript,
//! its body from a copy (the original still streams to the origin), and
//! Cloudflare's bot score. What these mean is core's to decide.

use std::cell::OnceCell;

use portcullis_core::{FACT_HEADERS, RequestFacts};
use wasm_bindgen::JsValue;
use worker::{Request, Result};

thread_local! {
    /// The header names core reads, as a JS array built once per isolate.
    static NAMES: OnceCell<js_sys::Array> = const { OnceCell::new() };
}

/// The facts core decides a request on.
pub(crate) fn facts(req: &web_sys::Request) -> RequestFacts {
    let joined = NAMES.with(|names| {
        let names =
            names.get_or_init(|| FACT_HEADERS.iter().map(|n| JsValue::from_str(n)).collect());
        super::glue::request_facts(req, names)
    });
    let mut parts = joined.split('\0');
    let method = parts.next().unwrap_or_default().to_owned();
    let url = parts.next().unwrap_or_default().to_owned();
    let has_body = parts.next() == Some("1");
    let mut headers: [Option<String>; 11] = Default::default();
    for (slot, part) in headers.iter_mut().zip(parts) {
        *slot = part.strip_prefix('=').map(str::to_owned);
    }
    RequestFacts {
        method,
        url,
        headers,
        has_body,
    }
}

/// Every header (names lower case, as the runtime gives them).
pub(crate) fn headers(req: &web_sys::Request) -> Vec<(String, String)> {
    let joined = super::glue::request_headers(req);
    let mut parts = joined.split('\0');
    let mut out = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        out.push((name.to_owned(), value.to_owned()));
    }
    out
}

/// `CF-Connecting-IP` as sent (for log lines; core decides on it).
pub(crate) fn client_ip(req: &web_sys::Request) -> String {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The whole body, from a copy.
pub(crate) async fn body(req: &web_sys::Request) -> Result<Vec<u8>> {
    Request::from(req.clone()?).bytes().await
}

/// Cloudflare's bot score (1–99), when the request carries one.
pub(crate) fn bot_score(req: &web_sys::Request) -> Option<u8> {
    let cf = js_sys::Reflect::get(req, &JsValue::from_str("cf")).ok()?;
    let bm = js_sys::Reflect::get(&cf, &JsValue::from_str("botManagement")).ok()?;
    let score = js_sys::Reflect::get(&bm, &JsValue::from_str("score"))
        .ok()?
        .as_f64()?;
    (1.0..=99.0).contains(&score).then_some(score as u8)
}
