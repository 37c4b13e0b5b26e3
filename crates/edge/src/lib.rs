//! The Portcullis edge gateway: a Cloudflare Worker in front of the
//! application (the origin). It translates HTTP, Durable Object storage and
//! outbound fetches; every decision (bans, headers, uploads, email domains,
//! password rules, admin key, settings validation) is made by
//! `portcullis-core`.
//!
//! State lives in two SQLite-backed Durable Objects: [`control::Control`]
//! (one instance: the configuration, the replica of active bans and the
//! audit log) and [`guard::IpGuard`] (one per client IP or IPv6 /64: its
//! warnings and ban history). The hot path (a request from a client that is
//! not banned) reads a per-isolate snapshot of the configuration and bans,
//! refreshed in the background at most every `PORTCULLIS_CACHE_SECONDS`
//! (default 5), so it makes no Durable Object round trip.

mod account;
mod cache;
mod control;
mod gateway;
mod guard;
mod proxy;
mod reply;
mod store;

use worker::{Context, Env, Result, event};

/// The Worker's fetch handler. It takes and returns the runtime's own
/// request and response objects: wrapping them (and parsing `request.cf`)
/// on every request measurably slowed the hot path. Never lets an error's
/// text reach the client.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    match gateway::handle(req, env, ctx).await {
        Ok(response) => Ok(response),
        Err(e) => {
            worker::console_error!("portcullis: internal error: {e}");
            reply::error(
                500,
                "internal",
                "The gateway could not handle this request.",
            )
            .map(Into::into)
        }
    }
}
