//! The Portcullis edge gateway: a Cloudflare Worker in front of the
//! application (the origin). Core decides every request (its flows say
//! what to do next); this crate only performs the steps: it reads the
//! request, calls the Durable Objects, fetches the origin, and turns core's
//! answer into a response.
//!
//! - `driver`: the one loop between core's step machine and the I/O below.
//! - `http/`: reading requests and forms, answers, the origin fetch, the
//!   other outbound fetches.
//! - `objects/`: the Durable Objects (`Control`, `IpGuard`,
//!   `AccountGuard`, `UserState`), each a typed client and the object.
//! - `replica`: the per-isolate copy of Control's snapshot, so the hot path
//!   (a request from a client that is not banned) makes no Durable Object
//!   round trip; refreshed in the background at most every
//!   `PORTCULLIS_CACHE_SECONDS` (default 5).
//! - `clock`: time and randomness from the runtime.

mod clock;
mod driver;
mod http;
mod objects;
mod pending;
mod replica;

use wasm_bindgen::prelude::*;
use worker::Env;

/// The Worker's fetch handler. It takes and returns the runtime's own
/// request and response objects: wrapping them (and parsing `request.cf`)
/// on every request measurably slowed the hot path. It answers at once
/// when it can, else with a promise (see [`driver::handle`]: the hot path
/// runs no Rust future). Never lets an error's text reach the client.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: worker::worker_sys::Context) -> JsValue {
    driver::handle(req, env, worker::Context::new(ctx))
}
