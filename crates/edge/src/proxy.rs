//! Forwarding to the origin and back. The per-request work that touches
//! every header (dropping reserved `Portcullis-` headers, copying the rest,
//! adding the security headers) runs in a few lines of JavaScript next to
//! the Worker's own fetch, so a request crosses into wasm a handful of times
//! rather than once per header; bodies stay JavaScript streams in both
//! directions. The security headers come from core as an argument; the
//! reserved prefix is SPEC's fixed `Portcullis-`.

use std::cell::OnceCell;

use wasm_bindgen::prelude::*;
use worker::{Env, Response, Result};

use crate::cache::Snapshot;
use crate::reply;

#[wasm_bindgen(inline_js = r#"
// Headers between the edge and the origin carry this prefix; a client
// cannot send them and the origin's never reach the client. Spellings with
// underscores count too (CGI-style servers read "Portcullis_User" as
// "Portcullis-User").
const RESERVED = "portcullis-";

function reserved(name) {
  return name.replaceAll("_", "-").startsWith(RESERVED);
}

function copyHeaders(from, dropHost) {
  const out = new Headers();
  for (const [name, value] of from) {
    if (reserved(name) || (dropHost && name === "host")) continue;
    out.append(name, value);
  }
  return out;
}

function setPairs(headers, pairs) {
  for (let i = 0; i + 1 < pairs.length; i += 2) headers.set(pairs[i], pairs[i + 1]);
}

export async function fetchOrigin(request, target, toOrigin) {
  const headers = copyHeaders(request.headers, true);
  setPairs(headers, toOrigin);
  const init = { method: request.method, headers, redirect: "manual" };
  if (request.body) init.body = request.body;
  try {
    return await fetch(target, init);
  } catch (e) {
    console.error("portcullis: origin fetch failed: " + e);
    return null;
  }
}

export function secureResponse(response, security, extra, cookies) {
  const headers = copyHeaders(response.headers, false);
  setPairs(headers, security);
  setPairs(headers, extra);
  for (const cookie of cookies) headers.append("Set-Cookie", cookie);
  // A response that sets a session cookie must not be stored by a shared cache.
  if (cookies.length > 0) headers.set("Cache-Control", "private, no-store");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export async function verifyCaptcha(url, body, timeoutMs) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok ? await response.text() : null;
  } catch (e) {
    return null;
  }
}

export async function postSigned(url, body, signature, timeoutMs) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "portcullis-signature": signature },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.status;
  } catch (e) {
    return 0;
  }
}

// A multipart form with `strip` applied to its text fields (files pass as
// they are); null when the body is not a readable form.
export async function strippedMultipart(request, strip) {
  try {
    const form = await request.clone().formData();
    const out = new FormData();
    for (const [name, value] of form) out.append(name, typeof value === "string" ? strip(value) : value);
    return out;
  } catch (e) {
    return null;
  }
}

export async function forwardWithBody(request, target, toOrigin, body, security, extra, cookies) {
  const headers = copyHeaders(request.headers, true);
  headers.delete("content-length");
  // A rebuilt multipart form gets its own boundary from fetch.
  if (body instanceof FormData) headers.delete("content-type");
  setPairs(headers, toOrigin);
  try {
    const response = await fetch(target, { method: request.method, headers, body, redirect: "manual" });
    return secureResponse(response, security, extra, cookies);
  } catch (e) {
    console.error("portcullis: origin fetch failed: " + e);
    return null;
  }
}

// The hot path's strings come joined with NUL (never part of a header name,
// value or cookie): one crossing from wasm instead of one per string.
function splitJoined(joined) {
  return joined === "" ? [] : joined.split("\0");
}

export async function forwardToOrigin(request, origin, toOrigin, security, extra, cookies) {
  // The request's own path and query, sliced here rather than sent back from wasm.
  const url = request.url;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const target = origin + (start < 0 ? "/" : url.slice(start));
  const response = await fetchOrigin(request, target, splitJoined(toOrigin));
  return response === null ? null : secureResponse(response, security, splitJoined(extra), splitJoined(cookies));
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = secureResponse)]
    fn secure_response(
        response: &web_sys::Response,
        security: &js_sys::Array,
        extra: &js_sys::Array,
        cookies: &js_sys::Array,
    ) -> web_sys::Response;

    #[wasm_bindgen(js_name = fetchOrigin)]
    fn fetch_origin_js(
        request: &web_sys::Request,
        target: &str,
        to_origin: &js_sys::Array,
    ) -> js_sys::Promise;

    #[wasm_bindgen(js_name = verifyCaptcha)]
    fn verify_captcha_js(url: &str, body: &str, timeout_ms: u32) -> js_sys::Promise;

    #[wasm_bindgen(js_name = strippedMultipart)]
    fn stripped_multipart_js(
        request: &web_sys::Request,
        strip: &js_sys::Function,
    ) -> js_sys::Promise;

    #[wasm_bindgen(js_name = forwardWithBody)]
    fn forward_with_body_js(
        request: &web_sys::Request,
        target: &str,
        to_origin: &js_sys::Array,
        body: &JsValue,
        security: &js_sys::Array,
        extra: &js_sys::Array,
        cookies: &js_sys::Array,
    ) -> js_sys::Promise;

    #[wasm_bindgen(js_name = postSigned)]
    fn post_signed_js(url: &str, body: &str, signature: &str, timeout_ms: u32) -> js_sys::Promise;

    #[wasm_bindgen(js_name = forwardToOrigin)]
    fn forward_to_origin(
        request: &web_sys::Request,
        origin: &JsValue,
        to_origin: &str,
        security: &js_sys::Array,
        extra: &str,
        cookies: &str,
    ) -> js_sys::Promise;
}

/// A JS array of strings.
pub(crate) fn js_list<S: AsRef<str>>(items: &[S]) -> js_sys::Array {
    items
        .iter()
        .map(|s| JsValue::from_str(s.as_ref()))
        .collect()
}

thread_local! {
    /// `ORIGIN_URL`, read once per isolate (vars do not change while it lives).
    static ORIGIN: OnceCell<Option<String>> = const { OnceCell::new() };
    /// The same as a JavaScript string, for the hot path.
    static ORIGIN_JS: OnceCell<JsValue> = const { OnceCell::new() };
}

/// Posts a CAPTCHA verification; `None` when the provider did not answer
/// 200 within `timeout_ms`.
pub(crate) async fn verify_captcha(
    url: &str,
    body: &str,
    timeout_ms: u32,
) -> Result<Option<String>> {
    let answer =
        wasm_bindgen_futures::JsFuture::from(verify_captcha_js(url, body, timeout_ms)).await?;
    Ok(answer.as_string())
}

/// POSTs a signed webhook; the receiver's status, or 0 when it could not
/// be reached within `timeout_ms`.
pub(crate) async fn post_signed(
    url: &str,
    body: &str,
    signature: &str,
    timeout_ms: u32,
) -> Result<u16> {
    let answer =
        wasm_bindgen_futures::JsFuture::from(post_signed_js(url, body, signature, timeout_ms))
            .await?;
    Ok(answer.as_f64().map_or(0, |n| n as u16))
}

/// The origin's base URL (`ORIGIN_URL`), without a trailing slash.
fn origin(env: &Env) -> Option<String> {
    ORIGIN.with(|o| {
        o.get_or_init(|| {
            env.var("ORIGIN_URL")
                .ok()
                .map(|v| v.to_string().trim_end_matches('/').to_owned())
                .filter(|v| !v.is_empty())
        })
        .clone()
    })
}

/// Adds the security headers (and `cookies`) to one of the edge's own answers.
pub(crate) fn secure_with(
    response: Response,
    snapshot: &Snapshot,
    cookies: &[String],
) -> Result<Response> {
    let raw: web_sys::Response = response.into();
    Ok(secure_raw(&raw, snapshot, &[], cookies).into())
}

/// Adds the security headers to one of the edge's own answers.
pub(crate) fn secure(response: Response, snapshot: &Snapshot) -> Result<Response> {
    secure_with(response, snapshot, &[])
}

/// Adds the security headers, `extra` headers (name, value, …) and `cookies`
/// to a response from the origin.
pub(crate) fn secure_raw(
    raw: &web_sys::Response,
    snapshot: &Snapshot,
    extra: &[String],
    cookies: &[String],
) -> web_sys::Response {
    secure_response(
        raw,
        snapshot.security_headers(),
        &js_list(extra),
        &js_list(cookies),
    )
}

fn unreachable_origin(snapshot: &Snapshot, configured: bool) -> Result<web_sys::Response> {
    let answer = if configured {
        reply::error(
            502,
            "origin_unreachable",
            "The application behind the gateway did not answer.",
        )?
    } else {
        reply::error(502, "origin_not_configured", "ORIGIN_URL is not set.")?
    };
    Ok(secure(answer, snapshot)?.into())
}

/// Sends `req` to the origin at `path_and_query` with `to_origin` headers
/// (name, value, …) and returns the origin's response as it came, or
/// `None` when the origin cannot be reached.
pub(crate) async fn fetch_origin(
    req: &web_sys::Request,
    env: &Env,
    path_and_query: &str,
    to_origin: &[String],
) -> Result<Option<web_sys::Response>> {
    let Some(origin) = origin(env) else {
        return Ok(None);
    };
    let promise = fetch_origin_js(
        req,
        &format!("{origin}{path_and_query}"),
        &js_list(to_origin),
    );
    let answer = wasm_bindgen_futures::JsFuture::from(promise).await?;
    Ok((!answer.is_null()).then(|| answer.unchecked_into()))
}

/// The request's multipart form with `strip` applied to every text field
/// (files untouched); `None` when it cannot be read as a form.
pub(crate) async fn stripped_multipart(
    req: &web_sys::Request,
    strip: fn(&str) -> String,
) -> Result<Option<JsValue>> {
    let callback = Closure::<dyn Fn(String) -> String>::new(move |text: String| strip(&text));
    let promise = stripped_multipart_js(req, callback.as_ref().unchecked_ref());
    let form = wasm_bindgen_futures::JsFuture::from(promise).await?;
    Ok((!form.is_null()).then_some(form))
}

/// [`forward`] with `body` (a string or a rebuilt form) in place of the
/// request's own (its other headers kept, the length recomputed).
pub(crate) async fn forward_with_body(
    req: &web_sys::Request,
    env: &Env,
    snapshot: &Snapshot,
    path_and_query: &str,
    headers: (&[String], &[String], &[String]),
    body: &JsValue,
) -> Result<web_sys::Response> {
    let Some(origin) = origin(env) else {
        return unreachable_origin(snapshot, false);
    };
    let (to_origin, extra, cookies) = headers;
    let promise = forward_with_body_js(
        req,
        &format!("{origin}{path_and_query}"),
        &js_list(to_origin),
        body,
        snapshot.security_headers(),
        &js_list(extra),
        &js_list(cookies),
    );
    forwarded(promise, snapshot).await
}

/// The secured origin response a forwarding promise resolves to, or the
/// 502 when the origin could not be reached.
async fn forwarded(promise: js_sys::Promise, snapshot: &Snapshot) -> Result<web_sys::Response> {
    let answer = wasm_bindgen_futures::JsFuture::from(promise).await?;
    if answer.is_null() {
        return unreachable_origin(snapshot, true);
    }
    Ok(answer.unchecked_into())
}

/// The answer when the origin could not be reached.
pub(crate) fn origin_failed(env: &Env, snapshot: &Snapshot) -> Result<web_sys::Response> {
    unreachable_origin(snapshot, origin(env).is_some())
}

/// Sends `req` to the origin at its own path and query (with `to_origin`
/// headers) and returns its response with the security headers, `extra`
/// headers and `cookies`: the hot path, one call into JavaScript.
pub(crate) async fn forward(
    req: &web_sys::Request,
    env: &Env,
    snapshot: &Snapshot,
    to_origin: &[String],
    extra: &[String],
    cookies: &[String],
) -> Result<web_sys::Response> {
    let origin = ORIGIN_JS.with(|o| {
        o.get_or_init(|| origin(env).map_or(JsValue::NULL, |url| JsValue::from_str(&url)))
            .clone()
    });
    if origin.is_null() {
        return unreachable_origin(snapshot, false);
    }
    let promise = forward_to_origin(
        req,
        &origin,
        &to_origin.join("\0"),
        snapshot.security_headers(),
        &extra.join("\0"),
        &cookies.join("\0"),
    );
    forwarded(promise, snapshot).await
}
