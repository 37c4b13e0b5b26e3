//! Calling a client's `IpGuard` (named by the client key: an IPv4 address
//! or an IPv6 prefix).

use portcullis_core::objects::{GuardAnswer, GuardOp, Stored};
use worker::{Env, Result};

/// Sends `op` to the guard of client `key`.
pub(crate) async fn call(env: &Env, key: &str, op: &GuardOp) -> Result<Stored<GuardAnswer>> {
    crate::objects::stub::call(env, "IP_GUARD", key, op).await
}
