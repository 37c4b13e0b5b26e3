//! Core's answers as responses, in one place: a refusal becomes its JSON
//! body `{ "error", "message", … }` with its status, headers and cookies;
//! redirects, the edge's own JSON and the origin's answer follow; every
//! answer gets the security headers once a configuration is loaded.
//! Nothing internal goes into a response.

use portcullis_core::flows::{Finish, Reply};
use portcullis_core::refusal::Refusal;
use worker::{Response, Result};

use super::origin;

/// Any JSON answer (never cached).
pub(crate) fn json(status: u16, value: &serde_json::Value) -> Result<Response> {
    let mut response = Response::from_json(value)?.with_status(status);
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// A refusal with its headers (for answers that are not secured here:
/// the objects' own, which the Worker secures on the way out).
pub(crate) fn refusal(refusal: &Refusal) -> Result<Response> {
    let mut response = json(refusal.status, &refusal.body())?;
    for (name, value) in &refusal.headers {
        response.headers_mut().set(name, value)?;
    }
    Ok(response)
}

/// What the Worker holds while a flow runs, for its answer.
#[derive(Default)]
pub(crate) struct Held {
    /// The security headers of the loaded configuration.
    pub(crate) security: Option<js_sys::Array>,
    /// Upstream's answer.
    pub(crate) upstream: Option<Upstream>,
}

/// An answer from upstream the Worker holds.
pub(crate) struct Upstream {
    pub(crate) response: web_sys::Response,
    /// It already has the security headers.
    pub(crate) secured: bool,
    /// It answers a request that carried a verified identity.
    pub(crate) private: bool,
}

/// The response for `reply`.
pub(crate) fn render(reply: Reply, held: Held) -> Result<web_sys::Response> {
    let (response, finish) = match reply {
        Reply::Refuse(refusal) => {
            let response: web_sys::Response = json(refusal.status, &refusal.body())?.into();
            let finish = Finish {
                headers: refusal.headers,
                cookies: refusal.cookies,
            };
            (response, finish)
        }
        Reply::Redirect {
            status,
            location,
            cookies,
        } => {
            let mut response = Response::empty()?.with_status(status);
            response.headers_mut().set("Location", &location)?;
            let finish = Finish {
                headers: Vec::new(),
                cookies,
            };
            (response.into(), finish)
        }
        Reply::Json { status, body } => (json(status, &body)?.into(), Finish::default()),
        Reply::Upstream(finish) => match held.upstream {
            Some(up) if up.secured && finish == Finish::default() => return Ok(up.response),
            Some(up) => {
                let private = up.private;
                return Ok(match (&held.security, up.secured) {
                    // Secured on its way in: only `finish` is added now (its
                    // security headers are there; a merged CSP must not be
                    // added twice).
                    (Some(_), true) => {
                        origin::secure(&up.response, &js_sys::Array::new(), &finish, private)
                    }
                    (Some(security), false) => {
                        origin::secure(&up.response, security, &finish, private)
                    }
                    (None, _) => unsecured(up.response, &finish)?,
                });
            }
            None => {
                let refusal = portcullis_core::refusal::internal();
                return render(Reply::Refuse(refusal), held);
            }
        },
    };
    Ok(match &held.security {
        Some(security) => origin::secure(&response, security, &finish, false),
        None => unsecured(response, &finish)?,
    })
}

/// Without a configuration there are no security headers to add; the
/// answer's own headers still go on it.
fn unsecured(response: web_sys::Response, finish: &Finish) -> Result<web_sys::Response> {
    for (name, value) in &finish.headers {
        response.headers().set(name, value)?;
    }
    Ok(response)
}
