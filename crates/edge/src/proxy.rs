//! Forwarding to the origin and back. Bodies stay JavaScript streams in both
//! directions (they never cross into wasm), headers the origin must be able
//! to trust are dropped from the client's request, and every response gets
//! the security headers core builds.

use portcullis_core::ResponsePolicy;
use portcullis_core::headers::security_headers;
use wasm_bindgen::JsCast;
use worker::{Env, Fetch, Request, Response, Result};

use crate::reply;

/// Headers between the edge and the origin carry this prefix; a client
/// cannot send them.
const RESERVED_PREFIX: &str = "portcullis-";

/// The origin's base URL (`ORIGIN_URL`), without a trailing slash.
fn origin(env: &Env) -> Option<String> {
    env.var("ORIGIN_URL")
        .ok()
        .map(|v| v.to_string().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
}

/// Copies `from` into a new header list, leaving out reserved and
/// hop-specific names.
fn filtered(from: &web_sys::Headers, drop_host: bool) -> Result<web_sys::Headers> {
    let out = web_sys::Headers::new()?;
    let iter = js_sys::try_iter(from)?
        .ok_or_else(|| worker::Error::RustError("headers not iterable".into()))?;
    for entry in iter {
        let pair: js_sys::Array = entry?.unchecked_into();
        let name = pair.get(0).as_string().unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        if lower.starts_with(RESERVED_PREFIX) || (drop_host && lower == "host") {
            continue;
        }
        out.append(&name, &pair.get(1).as_string().unwrap_or_default())?;
    }
    Ok(out)
}

/// Adds the security headers to any response (the edge's own included).
pub(crate) fn secure(response: Response, policy: &ResponsePolicy) -> Result<Response> {
    let raw: web_sys::Response = response.into();
    let headers = filtered(&raw.headers(), false)?;
    for (name, value) in security_headers(policy) {
        headers.set(name, &value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(raw.status());
    init.set_status_text(&raw.status_text());
    init.set_headers(&headers);
    let body = raw.body();
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(body.as_ref(), &init)?.into())
}

/// Sends `req` (or `body` in place of its body, when the edge has read it)
/// to the origin and returns the origin's response with security headers.
pub(crate) async fn forward(
    req: &Request,
    env: &Env,
    policy: &ResponsePolicy,
    body: Option<&[u8]>,
) -> Result<Response> {
    let Some(origin) = origin(env) else {
        return secure(
            reply::error(502, "origin_not_configured", "ORIGIN_URL is not set.")?,
            policy,
        );
    };
    let url = req.url()?;
    let mut target = format!("{origin}{}", url.path());
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let inner = req.inner();
    let init = web_sys::RequestInit::new();
    init.set_method(&inner.method());
    init.set_headers(&filtered(&inner.headers(), true)?.into());
    init.set_redirect(web_sys::RequestRedirect::Manual);
    match body {
        Some(bytes) => init.set_body(&js_sys::Uint8Array::from(bytes)),
        None => {
            if let Some(stream) = inner.body() {
                init.set_body(&stream);
            }
        }
    }
    let outgoing = web_sys::Request::new_with_str_and_init(&target, &init)?;
    match Fetch::Request(Request::from(outgoing)).send().await {
        Ok(response) => secure(response, policy),
        Err(e) => {
            worker::console_error!("portcullis: origin fetch failed: {e}");
            secure(
                reply::error(
                    502,
                    "origin_unreachable",
                    "The application behind the gateway did not answer.",
                )?,
                policy,
            )
        }
    }
}
