//! Calling the one `Control` object: typed operations, and the admin API's
//! requests (forwarded with the caller's key and address).

use portcullis_core::objects::{AuditEntry, AuditKind, ControlAnswer, ControlOp, Stored};
use portcullis_core::records::Unreadable;
use wasm_bindgen::JsValue;
use worker::{Env, Method, Request, RequestInit, Response, Result};

/// Name of the one Control instance.
const INSTANCE: &str = "control";

/// The header the Worker passes the caller's address in.
pub(crate) const CLIENT_IP_HEADER: &str = "Portcullis-Client-Ip";

/// Sends `op` to Control.
pub(crate) async fn call(env: &Env, op: &ControlOp) -> Result<Stored<ControlAnswer>> {
    crate::objects::stub::call(env, "CONTROL", INSTANCE, op).await
}

/// Audits that a stored record could not be read (which record and the kind
/// of damage; never its content). A failure here is only logged.
pub(crate) async fn unreadable(env: &Env, record: &str, damage: &Unreadable) {
    worker::console_error!("portcullis: {record}: {damage}");
    let detail = serde_json::json!({ "record": record, "damage": damage.reason });
    let entry = AuditEntry::new(AuditKind::StateUnreadable, "", detail);
    if let Err(e) = call(env, &ControlOp::Audit { entry }).await {
        worker::console_error!("portcullis: audit failed: {e}");
    }
}

/// Forwards an admin API request (`rest`: the path and query after
/// `/__portcullis/admin`) with its `Authorization` and body.
pub(crate) async fn admin(
    env: &Env,
    req: &web_sys::Request,
    rest: &str,
    client_ip: &str,
) -> Result<Response> {
    let mut req = Request::from(req.clone()?);
    let method = req.method();
    let headers = worker::Headers::new();
    if let Some(auth) = req.headers().get("Authorization")? {
        headers.set("Authorization", &auth)?;
    }
    headers.set(CLIENT_IP_HEADER, client_ip)?;
    let mut init = RequestInit::new();
    init.with_method(method.clone()).with_headers(headers);
    if !matches!(method, Method::Get | Method::Head) {
        let text = req.text().await.unwrap_or_default();
        init.with_body(Some(JsValue::from_str(&text)));
    }
    crate::objects::stub::count("CONTROL", "\"admin\"");
    let stub = env
        .durable_object("CONTROL")?
        .id_from_name(INSTANCE)?
        .get_stub()?;
    stub.fetch_with_request(Request::new_with_init(
        &format!("https://control/admin{rest}"),
        &init,
    )?)
    .await
}
