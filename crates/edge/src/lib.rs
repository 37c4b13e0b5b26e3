//! The Portcullis edge gateway: a Cloudflare Worker in front of the
//! application (the origin). It translates HTTP, Durable Object storage and
//! outbound fetches; every decision (bans, headers, uploads, email domains,
//! password rules, admin key, settings validation) is made by
//! `portcullis-core`.
//!
//! State lives in SQLite-backed Durable Objects: [`control::Control`] (one
//! instance: the configuration, secrets, the replica of active bans and
//! session revocations, reset tokens and the audit log), [`guard::IpGuard`]
//! (one per client IP or IPv6 /64: its warnings and ban history),
//! [`account::AccountGuard`] (one per login name: its lockout) and
//! [`user::UserState`] (one per user id: password history and age, the
//! per-user exceptions, single-session tracking). The hot path (a request from a client that is
//! not banned) reads a per-isolate snapshot of the configuration and bans,
//! refreshed in the background at most every `PORTCULLIS_CACHE_SECONDS`
//! (default 5), so it makes no Durable Object round trip.

mod account;
mod auth;
mod cache;
mod control;
mod gateway;
mod guard;
mod probation;
mod proxy;
mod reply;
mod store;
mod user;

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
