//! The `Control` Durable Object (one instance): its typed client, the
//! object, its storage, and the admin API it serves.

mod admin;
mod audit;
mod bans;
pub(crate) mod client;
mod code;
mod feed;
mod object;
mod ops;
mod resets;
mod sessions;
mod store;
mod webhooks;
