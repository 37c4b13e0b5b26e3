//! Calling an account's `AccountGuard` (named by core's account key).

use portcullis_core::objects::{AccountCall, LockAnswer, Stored};
use worker::{Env, Result};

/// Sends `call` to the guard of account `key`.
pub(crate) async fn call(env: &Env, key: &str, call: &AccountCall) -> Result<Stored<LockAnswer>> {
    crate::objects::stub::call(env, "ACCOUNT", key, call).await
}
