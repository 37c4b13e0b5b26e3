//! Forwarding to the origin and back. The per-request work that touches
//! every header (dropping reserved `Portcullis-` headers, copying the rest,
//! adding the security headers) runs in a few lines of JavaScript next to
//! the Worker's own fetch, so a request crosses into wasm a handful of times
//! rather than once per header; bodies stay JavaScript streams in both
//! directions. Which headers are reserved and which security headers to
//! send is decided by core (the list comes in as an argument).

use std::cell::OnceCell;

use wasm_bindgen::prelude::*;
use worker::{Env, Response, Result};

use crate::cache::Snapshot;
use crate::reply;

#[wasm_bindgen(inline_js = r#"
// Headers between the edge and the origin carry this prefix; a client
// cannot send them and the origin's never reach the client.
const RESERVED = "portcullis-";

function copyHeaders(from, dropHost) {
  const out = new Headers();
  for (const [name, value] of from) {
    if (name.startsWith(RESERVED) || (dropHost && name === "host")) continue;
    out.append(name, value);
  }
  return out;
}

export function secureResponse(response, security) {
  const headers = copyHeaders(response.headers, false);
  for (let i = 0; i + 1 < security.length; i += 2) headers.set(security[i], security[i + 1]);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export async function forwardToOrigin(request, target, body, security) {
  const init = { method: request.method, headers: copyHeaders(request.headers, true), redirect: "manual" };
  const payload = body ?? request.body;
  if (payload) init.body = payload;
  let response;
  try {
    response = await fetch(target, init);
  } catch (e) {
    console.error("portcullis: origin fetch failed: " + e);
    return null;
  }
  return secureResponse(response, security);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = secureResponse)]
    fn secure_response(response: &web_sys::Response, security: &js_sys::Array)
    -> web_sys::Response;

    #[wasm_bindgen(js_name = forwardToOrigin)]
    fn forward_to_origin(
        request: &web_sys::Request,
        target: &str,
        body: &JsValue,
        security: &js_sys::Array,
    ) -> js_sys::Promise;
}

thread_local! {
    /// `ORIGIN_URL`, read once per isolate (vars do not change while it lives).
    static ORIGIN: OnceCell<Option<String>> = const { OnceCell::new() };
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

/// Adds the security headers to one of the edge's own answers.
pub(crate) fn secure(response: Response, snapshot: &Snapshot) -> Result<Response> {
    let raw: web_sys::Response = response.into();
    Ok(secure_response(&raw, snapshot.security_headers()).into())
}

/// Sends `req` to the origin at `path_and_query` and returns the origin's
/// response with security headers.
pub(crate) async fn forward(
    req: &web_sys::Request,
    env: &Env,
    snapshot: &Snapshot,
    path_and_query: &str,
) -> Result<web_sys::Response> {
    let Some(origin) = origin(env) else {
        let answer = reply::error(502, "origin_not_configured", "ORIGIN_URL is not set.")?;
        return Ok(secure(answer, snapshot)?.into());
    };
    let target = format!("{origin}{path_and_query}");
    let promise = forward_to_origin(req, &target, &JsValue::NULL, snapshot.security_headers());
    let answer = wasm_bindgen_futures::JsFuture::from(promise).await?;
    if answer.is_null() {
        let answer = reply::error(
            502,
            "origin_unreachable",
            "The application behind the gateway did not answer.",
        )?;
        return Ok(secure(answer, snapshot)?.into());
    }
    Ok(answer.unchecked_into())
}
