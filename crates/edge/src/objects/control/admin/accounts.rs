//! Locked accounts: the list, and the administrator's unlock (which also
//! replaces an unreadable lockout record).

use portcullis_core::account_key;
use portcullis_core::objects::{AccountCall, AccountOp, AuditKind, LockAnswer, Stored};
use portcullis_core::refusal;
use serde_json::json;
use worker::{Response, Result};

use super::context::Admin;
use crate::http::reply;
use crate::objects::account_guard::client as account_guard;
use crate::objects::control::audit;

/// `GET /accounts/locked`.
pub(crate) fn locked(a: &Admin<'_>) -> Result<Response> {
    reply::json(
        200,
        &json!({ "accounts": audit::locked_accounts(a.store, a.now)? }),
    )
}

/// The refusal of an empty account name.
fn unnamed() -> Result<Response> {
    reply::refusal(&refusal::invalid(
        422,
        "invalid_account",
        "Name the account: /accounts/<login>.",
    ))
}

/// Applies the administrator's `op` to the account `login` folds to: its
/// key and the guard's answer.
async fn apply(a: &Admin<'_>, login: &str, op: AccountOp) -> Result<(String, Stored<LockAnswer>)> {
    let key = account_key(login);
    let call = AccountCall {
        op,
        name: String::new(),
        policy: a.policy.login.clone(),
    };
    let answer = account_guard::call(a.env(), &key, &call).await?;
    Ok((key, answer))
}

/// `GET /accounts/<login>`: the account key the login folds to, the
/// failures counted against it and whether it is locked (changing nothing).
pub(crate) async fn read(a: &Admin<'_>, login: &str) -> Result<Response> {
    if login.trim().is_empty() {
        return unnamed();
    }
    match apply(a, login, AccountOp::Peek).await? {
        (key, Stored::Answer(answer)) => reply::json(
            200,
            &json!({ "account": key, "failures": answer.failures, "gate": answer.gate }),
        ),
        (_, Stored::Unreadable { .. }) => reply::refusal(&refusal::state_unavailable()),
    }
}

/// `POST /accounts/<login>/unlock`.
pub(crate) async fn unlock(a: &Admin<'_>, login: &str) -> Result<Response> {
    if login.trim().is_empty() {
        return unnamed();
    }
    let (key, _) = apply(a, login, AccountOp::Unlock).await?;
    audit::forget_lock(a.store, &key)?;
    a.audit(AuditKind::AccountUnlocked, json!({ "account": key }))?;
    reply::json(200, &json!({ "unlocked": key }))
}
