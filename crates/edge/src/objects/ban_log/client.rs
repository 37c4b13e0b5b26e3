//! Calling a `BanLog` shard.

use portcullis_core::objects::{BanLogAnswer, BanLogOp, Stored};
use worker::{Env, Result};

/// Sends `op` to the shard `shard`.
pub(crate) async fn call(env: &Env, shard: &str, op: &BanLogOp) -> Result<Stored<BanLogAnswer>> {
    crate::objects::stub::call(env, "BAN_LOG", shard, op).await
}
