//! Calling a rate limit bucket's `RateLimiter` (named by core's
//! `bucket_name`: the rule id and the key's hash).

use portcullis_core::objects::Stored;
use portcullis_core::ratelimit::{RateAnswer, RateOp};
use worker::{Env, Result};

/// Sends `op` to the bucket named `bucket`.
pub(crate) async fn call(env: &Env, bucket: &str, op: &RateOp) -> Result<Stored<RateAnswer>> {
    crate::objects::stub::call(env, "RATE_LIMITER", bucket, op).await
}
