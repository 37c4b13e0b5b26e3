//! The `RateLimiter` Durable Object: its typed client and the object.

pub(crate) mod client;
mod object;
