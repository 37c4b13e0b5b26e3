//! Calling a user's `UserState` (named by the user id the origin gave).

use portcullis_core::objects::{Stored, UserAnswer, UserOp};
use worker::{Env, Result};

/// Sends `op` to the record of `user`.
pub(crate) async fn call(env: &Env, user: &str, op: &UserOp) -> Result<Stored<UserAnswer>> {
    crate::objects::stub::call(env, "USER", user, op).await
}
