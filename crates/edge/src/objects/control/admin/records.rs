//! Clearing a stored record, also an unreadable one, so a damaged row
//! never locks an account (or a user, or a client) for good:
//! `DELETE /records/account/<login>`, `/records/user/<id>`,
//! `/records/client/<address>`, `/records/control/revocations`,
//! `/records/control/fraudFeed`.

use portcullis_core::account_key;
use portcullis_core::objects::{AccountCall, AccountOp, AuditKind, GuardOp, UserOp};
use portcullis_core::refusal;
use portcullis_core::{client_key, parse_client_ip};
use serde_json::json;
use worker::{Response, Result};

use super::context::Admin;
use crate::http::reply;
use crate::objects::account_guard::client as account_guard;
use crate::objects::control::{feed, ops, sessions};
use crate::objects::ip_guard::client as ip_guard;
use crate::objects::user_state::client as user_state;

/// `DELETE /records/<kind>/<name>`.
pub(crate) async fn clear(a: &Admin<'_>, rest: &str) -> Result<Response> {
    let (kind, name) = rest.split_once('/').unwrap_or((rest, ""));
    let record = match (kind, name) {
        (_, "") => None,
        ("account", login) => {
            let key = account_key(login);
            let call = AccountCall {
                op: AccountOp::Clear,
                name: String::new(),
                policy: a.policy.login.clone(),
            };
            account_guard::call(a.env(), &key, &call).await?;
            Some(format!("account:{key}"))
        }
        ("user", id) => {
            user_state::call(a.env(), id, &UserOp::Clear).await?;
            Some(format!("user:{id}"))
        }
        ("client", address) => match parse_client_ip(address) {
            Some(ip) => {
                let key = client_key(ip, a.policy.bans.ipv6_prefix_length);
                ip_guard::call(a.env(), &key, &GuardOp::Clear).await?;
                Some(format!("client:{key}"))
            }
            None => None,
        },
        ("control", row @ (sessions::ROW | feed::LIST)) => {
            let record = format!("control:{row}");
            a.store.delete(row)?;
            a.store.delete(&ops::noticed_key(&record))?;
            Some(record)
        }
        _ => None,
    };
    let Some(record) = record else {
        return reply::refusal(&refusal::invalid(
            422,
            "invalid_record",
            "Name the record: account/<login>, user/<id>, client/<address>, control/revocations or control/fraudFeed.",
        ));
    };
    a.audit(AuditKind::RecordCleared, json!({ "record": record }))?;
    reply::json(200, &json!({ "cleared": record }))
}
