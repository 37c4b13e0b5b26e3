//! The admin API, inside Control where the application key lives (it never
//! leaves this object). Every request is authenticated first; then core's
//! route table names the route and the match below sends it to its
//! handler, one line per route.

mod accounts;
mod bans;
mod context;
mod people;
mod records;
mod secrets;
mod settings;
pub(crate) mod vault;

use portcullis_core::AdminRoute;
use portcullis_core::refusal;
use portcullis_core::{admin_actor, application_key_matches, bearer_token};
use worker::{Request, Response, Result};

use self::context::{Admin, body, query};
use super::client::CLIENT_IP_HEADER;
use super::store::{Secret, Store};
use super::{audit, webhooks};
use crate::http::reply;
use crate::objects::audit_log::client as audit_log;

/// Answers an admin request for `path` (after `/__portcullis/admin`).
pub(crate) async fn handle(
    store: &Store,
    mut req: Request,
    path: &str,
    now: u64,
) -> Result<Response> {
    let presented = req
        .headers()
        .get("Authorization")?
        .and_then(|h| bearer_token(&h).map(str::to_owned));
    let actor = match (store.application_key()?, presented) {
        (Some(expected), Some(presented)) if application_key_matches(&expected, &presented) => {
            admin_actor(&store.signing_secret(Secret::Pepper)?, &presented)
        }
        _ => return reply::refusal(&refusal::unauthorized()),
    };
    // A deployed policy that does not validate leaves the admin API on the
    // stored one (its writes are refused in code mode anyway), so the
    // operator can still read the log and manage bans and secrets.
    if let Err(message) = super::code::sync(store, now)? {
        worker::console_error!("portcullis: the deployed policy is not used: {message}");
    }
    let policy = match store.policy() {
        Ok(policy) => policy,
        Err(message) => return reply::refusal(&refusal::configuration_invalid(message)),
    };
    let Some(route) = AdminRoute::parse(req.method().as_ref(), path) else {
        return reply::refusal(&refusal::invalid(404, "not_found", "No such admin route."));
    };
    let ip = req.headers().get(CLIENT_IP_HEADER)?.unwrap_or_default();
    let a = Admin {
        store,
        policy,
        ip,
        actor,
        now,
    };
    let text = body(&mut req).await;
    // What the AuditLog shards still hold is handed over before the log,
    // its counts or the lockouts it lists are read.
    if matches!(
        route,
        AdminRoute::Audit
            | AdminRoute::AuditStats
            | AdminRoute::AuditClients
            | AdminRoute::LockedAccounts
            | AdminRoute::ReadAccount(_)
    ) {
        audit_log::flush_all(&store.env).await;
    }
    match route {
        AdminRoute::ReadSettings => settings::read(&a),
        AdminRoute::PatchSettings => settings::write(&a, &text, false).await,
        AdminRoute::ReplaceSettings => settings::write(&a, &text, true).await,
        AdminRoute::ListBans => bans::list(&a).await,
        AdminRoute::AddBan => bans::add(&a, &text).await,
        AdminRoute::RemoveBan(target) => bans::remove(&a, &target).await,
        AdminRoute::LockedAccounts => accounts::locked(&a),
        AdminRoute::Unlock(login) => accounts::unlock(&a, &login).await,
        AdminRoute::ReadAccount(login) => accounts::read(&a, &login).await,
        AdminRoute::Webhooks => reply::json(
            200,
            &serde_json::json!({ "deliveries": webhooks::deliveries(store)? }),
        ),
        AdminRoute::Audit => audit::read(store, &query(&req)?),
        AdminRoute::AuditStats => audit::stats(store, &query(&req)?, now),
        AdminRoute::AuditClients => audit::clients(store, &query(&req)?, now),
        AdminRoute::Secret(name) => secrets::rotate(&a, &name, &text),
        AdminRoute::EndAllSessions => people::end_all_sessions(&a),
        AdminRoute::MintResetToken => people::mint_reset(&a, &text),
        AdminRoute::ReadUser(id) => people::read(&a, &id).await,
        AdminRoute::PatchUser(id) => people::patch(&a, &id, &text).await,
        AdminRoute::EndUserSessions(id) => people::end_sessions(&a, &id).await,
        AdminRoute::UserMethodNotAllowed(id) => people::method_not_allowed(&id),
        AdminRoute::ClearRecord(rest) => records::clear(&a, &rest).await,
        vault_route => vault::handle(&a, &vault_route, &text),
    }
}
