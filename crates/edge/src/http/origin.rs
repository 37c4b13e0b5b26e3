//! The origin fetch and the security headers on answers. The hot path is
//! one call into JavaScript that fetches and secures the answer together;
//! flows that read the origin's answer first get it as it came.

use std::cell::OnceCell;

use portcullis_core::flows::{Body, Failure, Finish, Forward};
use portcullis_core::{DROPPED_REQUEST_HEADERS, merge_csp};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Result};

use super::glue;

thread_local! {
    /// Whether core's list of dropped request headers and its CSP merge
    /// reached the glue.
    static GLUE_READY: OnceCell<()> = const { OnceCell::new() };
    /// `ORIGIN_URL`, read once per isolate (vars do not change while it lives).
    static ORIGIN: OnceCell<Option<String>> = const { OnceCell::new() };
    /// The same as a JavaScript string, for the hot path.
    static ORIGIN_JS: OnceCell<JsValue> = const { OnceCell::new() };
}

/// The origin's base URL (`ORIGIN_URL`), without a trailing slash.
fn origin(env: &Env) -> Option<String> {
    ORIGIN.with(|o| {
        o.get_or_init(|| {
            let url = env
                .var("ORIGIN_URL")
                .ok()
                .map(|v| v.to_string().trim_end_matches('/').to_owned())
                .filter(|v| !v.is_empty());
            // An origin that is another Worker: requests go through the
            // service binding, to ORIGIN_URL's host when it is set.
            match env.service("ORIGIN") {
                Ok(binding) => {
                    glue::set_origin_binding(binding.as_ref());
                    Some(url.unwrap_or_else(|| SERVICE_ORIGIN.to_owned()))
                }
                Err(_) => url,
            }
        })
        .clone()
    })
}

/// The URL requests to a service-binding origin carry when `ORIGIN_URL`
/// is unset (the other Worker sees this host).
const SERVICE_ORIGIN: &str = "https://origin.internal";

/// A JS array of strings.
fn js_list<S: AsRef<str>>(items: &[S]) -> js_sys::Array {
    items
        .iter()
        .map(|s| JsValue::from_str(s.as_ref()))
        .collect()
}

fn pairs(headers: &[(&'static str, String)]) -> Vec<String> {
    headers
        .iter()
        .flat_map(|(name, value)| [(*name).to_owned(), value.clone()])
        .collect()
}

/// Hands the glue, once per isolate, what it needs of core: the request
/// headers to drop and [`merge_csp`].
fn glue_ready() {
    GLUE_READY.with(|d| {
        d.get_or_init(|| {
            glue::set_dropped(&js_list(&DROPPED_REQUEST_HEADERS));
            let merge =
                Closure::<dyn Fn(String, String) -> String>::new(|edge: String, origin: String| {
                    merge_csp(&edge, &origin)
                });
            // One per isolate, alive as long as it is.
            glue::set_csp_merger(&merge.into_js_value());
        });
    });
}

/// `response` with the security headers, `finish`'s headers and cookies
/// (reserved `Portcullis-` headers of its own dropped).
/// `private`: the request carried a verified identity (no shared cache).
pub(crate) fn secure(
    response: &web_sys::Response,
    security: &js_sys::Array,
    finish: &Finish,
    private: bool,
) -> web_sys::Response {
    glue_ready();
    glue::secure_response(
        response,
        security,
        &js_list(&pairs(&finish.headers)),
        &js_list(&finish.cookies),
        private,
    )
}

/// What the origin answered: its response (secured when `forward.finish`
/// asked for it) and the values of the headers the flow reads.
pub(crate) struct Answered {
    pub(crate) response: web_sys::Response,
    pub(crate) secured: bool,
    pub(crate) headers: Vec<Option<String>>,
}

/// Starts sending `req` to the origin at its own path and query, as
/// `forward` says: the promise of its answer (null when the origin did not
/// answer). `stripped` is the form [`strip_multipart`] rebuilt, for
/// [`Body::Stripped`]. [`answered`] reads what it resolves to.
pub(crate) fn send(
    req: &web_sys::Request,
    env: &Env,
    forward: &Forward,
    security: &js_sys::Array,
    stripped: Option<&JsValue>,
) -> std::result::Result<js_sys::Promise, Failure> {
    let Some(base) = origin(env) else {
        return Err(Failure::OriginNotConfigured);
    };
    glue_ready();
    let private = forward.private;
    let to_origin = pairs(&forward.to_origin);
    let empty = Finish::default();
    let finish = forward.finish.as_ref().unwrap_or(&empty);
    let headers = pairs(&finish.headers);
    Ok(match (&forward.body, &forward.finish) {
        (Body::Own, Some(_)) => {
            let origin = ORIGIN_JS.with(|o| o.get_or_init(|| JsValue::from_str(&base)).clone());
            glue::forward_to_origin(
                req,
                &origin,
                &to_origin.join("\0"),
                security,
                &headers.join("\0"),
                &finish.cookies.join("\0"),
                private,
            )
        }
        (Body::Own, None) => {
            let target = format!("{base}{}", path_and_query(&req.url()));
            glue::fetch_origin_js(req, &target, &js_list(&to_origin), private)
        }
        (body, _) => {
            let body = match body {
                Body::Text(text) => JsValue::from_str(text),
                Body::Bytes(bytes) => js_sys::Uint8Array::from(bytes.as_slice()).into(),
                _ => stripped.cloned().unwrap_or(JsValue::NULL),
            };
            let target = format!("{base}{}", path_and_query(&req.url()));
            glue::forward_with_body_js(
                req,
                &target,
                &js_list(&to_origin),
                &body,
                security,
                &js_list(&headers),
                &js_list(&finish.cookies),
                private,
            )
        }
    })
}

/// The promise of what `parked` (a request waiting for the origin, a
/// wasm-bindgen object with a `resume(answer, failed)` method) answers
/// once `answer` settles.
pub(crate) fn then_resume(answer: &js_sys::Promise, parked: JsValue) -> js_sys::Promise {
    glue::after_origin(answer, parked)
}

/// What the origin answered to [`send`] (`answer`: what its promise
/// resolved to): its response, secured when `forward.finish` asked for
/// it, and the values of the headers the flow reads.
pub(crate) fn answered(
    answer: JsValue,
    forward: &Forward,
) -> std::result::Result<Answered, Failure> {
    if answer.is_null() || answer.is_undefined() {
        return Err(Failure::OriginUnreachable);
    }
    let response: web_sys::Response = answer.unchecked_into();
    let read = forward
        .read
        .iter()
        .map(|name| response.headers().get(name).ok().flatten())
        .collect();
    let secured = forward.finish.is_some() || !matches!(forward.body, Body::Own);
    Ok(Answered {
        response,
        secured,
        headers: read,
    })
}

/// The path and query of a serialised URL.
fn path_and_query(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = url[after_scheme..]
        .find('/')
        .map_or("/", |i| &url[after_scheme + i..]);
    rest.split('#').next().unwrap_or(rest)
}

/// The request's multipart form with `strip` applied to every text field
/// (files untouched); `None` when it cannot be read as a form.
pub(crate) async fn strip_multipart(
    req: &web_sys::Request,
    strip: fn(&str) -> String,
) -> Result<Option<JsValue>> {
    let callback = Closure::<dyn Fn(String) -> String>::new(move |text: String| strip(&text));
    let promise = glue::stripped_multipart_js(req, callback.as_ref().unchecked_ref());
    let form = JsFuture::from(promise).await?;
    Ok((!form.is_null()).then_some(form))
}
