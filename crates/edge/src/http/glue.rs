//! The few lines of JavaScript beside the Worker's own `fetch`: the work
//! that touches every header (dropping reserved `Portcullis-` headers,
//! copying the rest, adding the security headers) runs here, so a request
//! crosses into wasm a handful of times rather than once per header; bodies
//! stay JavaScript streams in both directions. The reserved prefix is
//! SPEC's fixed `Portcullis-`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
// Headers between the edge and the origin carry this prefix; a client
// cannot send them and the origin's never reach the client. Spellings with
// underscores count too (CGI-style servers read "Portcullis_User" as
// "Portcullis-User").
const RESERVED = "portcullis-";

// Request headers a client may not send the origin: core's
// DROPPED_REQUEST_HEADERS, handed over once per isolate.
let dropped = new Set();

export function setDropped(names) {
  dropped = new Set(names);
}

// Whether a header passes: not reserved, and for a request not the host
// nor a dropped one. Underscore spellings are read as dashes.
function passes(name, request) {
  if (name.includes("_")) name = name.replaceAll("_", "-");
  if (name.startsWith(RESERVED)) return false;
  return !(request && (name === "host" || dropped.has(name)));
}

// A request's headers for the origin, or a response's for the client,
// without those that do not pass: copied by the runtime in one call, then
// the few that must go deleted by name (every value of it).
function copyHeaders(from, request) {
  const out = new Headers(from);
  for (const name of from.keys()) {
    if (!passes(name, request)) out.delete(name);
  }
  return out;
}

function setPairs(headers, pairs) {
  for (let i = 0; i + 1 < pairs.length; i += 2) headers.set(pairs[i], pairs[i + 1]);
}

// What an answer to a request with a verified identity may be cached as:
// privately, never by a shared cache.
function privately(value) {
  if (value === null) return "private";
  const kept = value
    .split(",")
    .map((d) => d.trim())
    .filter((d) => d && !/^(public|private|s-maxage\s*=.*)$/i.test(d));
  return ["private", ...kept].join(", ");
}

// The origin when it is another Worker (the ORIGIN service binding), else
// null: the network.
let originBinding = null;

export function setOriginBinding(binding) {
  originBinding = binding;
}

function originFetch(target, init) {
  return originBinding ? originBinding.fetch(target, init) : fetch(target, init);
}

// The origin's answer, or null when it did not answer (logged). A plain
// promise chain: the hot path runs no async function frames.
export function fetchOrigin(request, target, toOrigin, priv) {
  try {
    const headers = copyHeaders(request.headers, true);
    setPairs(headers, toOrigin);
    const init = { method: request.method, headers, redirect: "manual" };
    if (priv) init.cache = "no-store";
    if (request.body) init.body = request.body;
    return originFetch(target, init).catch(unanswered);
  } catch (e) {
    return Promise.resolve(unanswered(e));
  }
}

function unanswered(e) {
  console.error("portcullis: origin fetch failed: " + e);
  return null;
}

// Core's merge_csp (the edge's CSP beside the origin's), handed over once
// per isolate.
let mergeCsp = null;

export function setCspMerger(merger) {
  mergeCsp = merger;
}

// The security headers as core's (name, value, mode) triples say: "s" sets
// the edge's value, "k" keeps the origin's when it sent one, "m" (the CSP)
// adds the edge's policy beside the origin's, merged with it by core.
function setSecurity(headers, security) {
  const theirs = headers.get("content-security-policy");
  for (let i = 0; i + 2 < security.length; i += 3) {
    const name = security[i], value = security[i + 1], mode = security[i + 2];
    if (mode === "k") {
      if (!headers.has(name)) headers.set(name, value);
    } else if (mode === "m") {
      headers.append(name, theirs === null ? value : mergeCsp(value, theirs));
    } else {
      headers.set(name, value);
    }
  }
}

export function secureResponse(response, security, extra, cookies, priv) {
  const headers = copyHeaders(response.headers, false);
  setSecurity(headers, security);
  setPairs(headers, extra);
  for (const cookie of cookies) headers.append("Set-Cookie", cookie);
  // A response that sets a session cookie must not be stored by a shared cache.
  if (cookies.length > 0) headers.set("Cache-Control", "private, no-store");
  else if (priv) headers.set("Cache-Control", privately(headers.get("Cache-Control")));
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

// The provider's status (0: no answer in time) and body, NUL between.
export async function verifyCaptcha(url, body, timeoutMs) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.status + "\0" + (await response.text());
  } catch (e) {
    return "0\0";
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

// The text at `url` when it answers 200 within `timeoutMs` and `cap`
// bytes; null otherwise (read as a stream, never past the cap). `what`
// names it in the log (never the URL); `padding` asks a range API to pad
// its answer (`Add-Padding: true`), so its size says nothing of the prefix.
export async function fetchText(url, cap, timeoutMs, what, padding) {
  try {
    const headers = padding ? { "Add-Padding": "true" } : {};
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200 || !response.body) {
      console.error("portcullis: " + what + " answered " + response.status);
      return null;
    }
    const reader = response.body.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > cap) {
        await reader.cancel();
        console.error("portcullis: " + what + " is over " + cap + " bytes");
        return null;
      }
      chunks.push(value);
    }
    return new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
  } catch (e) {
    console.error("portcullis: " + what + " unreachable: " + e);
    return null;
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

export async function forwardWithBody(request, target, toOrigin, body, security, extra, cookies, priv) {
  const headers = copyHeaders(request.headers, true);
  headers.delete("content-length");
  // A rebuilt multipart form gets its own boundary from fetch.
  if (body instanceof FormData) headers.delete("content-type");
  setPairs(headers, toOrigin);
  const init = { method: request.method, headers, body, redirect: "manual" };
  if (priv) init.cache = "no-store";
  try {
    const response = await originFetch(target, init);
    return secureResponse(response, security, extra, cookies, priv);
  } catch (e) {
    console.error("portcullis: origin fetch failed: " + e);
    return null;
  }
}

// What core reads off a request, in one crossing: the method, the URL,
// whether there is a body, then each named header as "=value", or "" when
// absent (a header value never holds NUL).
export function requestFacts(request, names) {
  const out = [request.method, request.url, request.body ? "1" : "0"];
  for (const name of names) {
    const value = request.headers.get(name);
    out.push(value === null ? "" : "=" + value);
  }
  return out.join("\0");
}

// Every header of a request as name, value, name, value… joined with NUL
// (a rate limit keyed by a header: core compares the spellings).
export function requestHeaders(request) {
  const out = [];
  for (const [name, value] of request.headers) out.push(name, value);
  return out.join("\0");
}

// The hot path's strings come joined with NUL (never part of a header name,
// value or cookie): one crossing from wasm instead of one per string.
function splitJoined(joined) {
  return joined === "" ? [] : joined.split("\0");
}

export function forwardToOrigin(request, origin, toOrigin, security, extra, cookies, priv) {
  // The request's own path and query, sliced here rather than sent back from wasm.
  const url = request.url;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const target = origin + (start < 0 ? "/" : url.slice(start));
  return fetchOrigin(request, target, splitJoined(toOrigin), priv).then((response) =>
    response === null ? null : secureResponse(response, security, splitJoined(extra), splitJoined(cookies), priv),
  );
}

// The request parked while the origin answers goes on with its answer
// (a JavaScript `then`, no Rust task in between). A throw on the way (an
// unreachable origin is null, not a throw) is logged; the parked request
// still goes on, to its refusal.
export function afterOrigin(answer, parked) {
  return answer.then(
    (response) => parked.resume(response, false),
    (e) => {
      console.error("portcullis: the origin's answer could not be read: " + e);
      return parked.resume(null, true);
    },
  );
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = requestFacts)]
    pub(super) fn request_facts(request: &web_sys::Request, names: &js_sys::Array) -> String;
    #[wasm_bindgen(js_name = requestHeaders)]
    pub(super) fn request_headers(request: &web_sys::Request) -> String;

    #[wasm_bindgen(js_name = setOriginBinding)]
    pub(super) fn set_origin_binding(binding: &JsValue);

    #[wasm_bindgen(js_name = setDropped)]
    pub(super) fn set_dropped(names: &js_sys::Array);

    #[wasm_bindgen(js_name = setCspMerger)]
    pub(super) fn set_csp_merger(merger: &JsValue);

    #[wasm_bindgen(js_name = secureResponse)]
    pub(super) fn secure_response(
        response: &web_sys::Response,
        security: &js_sys::Array,
        extra: &js_sys::Array,
        cookies: &js_sys::Array,
        private: bool,
    ) -> web_sys::Response;

    #[wasm_bindgen(js_name = fetchText)]
    pub(super) fn fetch_text_js(
        url: &str,
        cap: u32,
        timeout_ms: u32,
        what: &str,
        padding: bool,
    ) -> js_sys::Promise;

    #[wasm_bindgen(js_name = fetchOrigin)]
    pub(super) fn fetch_origin_js(
        request: &web_sys::Request,
        target: &str,
        to_origin: &js_sys::Array,
        private: bool,
    ) -> js_sys::Promise;

    #[wasm_bindgen(js_name = verifyCaptcha)]
    pub(super) fn verify_captcha_js(url: &str, body: &str, timeout_ms: u32) -> js_sys::Promise;

    #[wasm_bindgen(js_name = strippedMultipart)]
    pub(super) fn stripped_multipart_js(
        request: &web_sys::Request,
        strip: &js_sys::Function,
    ) -> js_sys::Promise;

    #[wasm_bindgen(js_name = forwardWithBody)]
    pub(super) fn forward_with_body_js(
        request: &web_sys::Request,
        target: &str,
        to_origin: &js_sys::Array,
        body: &JsValue,
        security: &js_sys::Array,
        extra: &js_sys::Array,
        cookies: &js_sys::Array,
        private: bool,
    ) -> js_sys::Promise;

    #[wasm_bindgen(js_name = postSigned)]
    pub(super) fn post_signed_js(
        url: &str,
        body: &str,
        signature: &str,
        timeout_ms: u32,
    ) -> js_sys::Promise;

    #[wasm_bindgen(js_name = afterOrigin)]
    pub(super) fn after_origin(answer: &js_sys::Promise, parked: JsValue) -> js_sys::Promise;

    #[wasm_bindgen(js_name = forwardToOrigin)]
    pub(super) fn forward_to_origin(
        request: &web_sys::Request,
        origin: &JsValue,
        to_origin: &str,
        security: &js_sys::Array,
        extra: &str,
        cookies: &str,
        private: bool,
    ) -> js_sys::Promise;
}
