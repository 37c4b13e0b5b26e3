//! The `BanLog` Durable Objects: their typed client and the object.

pub(crate) mod client;
mod object;
