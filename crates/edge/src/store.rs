//! The per-client and per-account Durable Objects: how to call one, and
//! their storage (one JSON document in a one-row SQLite table).

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{Env, Method, Request, RequestInit, Response, Result, State};

/// POSTs `body` to `path` of the Durable Object `name` in `binding` (one
/// instance per client or account key).
pub(crate) async fn post(
    env: &Env,
    binding: &str,
    name: &str,
    path: &str,
    body: &str,
) -> Result<Response> {
    let stub = env
        .durable_object(binding)?
        .id_from_name(name)?
        .get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(JsValue::from_str(body)));
    stub.fetch_with_request(Request::new_with_init(
        &format!("https://durable-object{path}"),
        &init,
    )?)
    .await
}

#[derive(serde::Deserialize)]
struct Row {
    value: String,
}

/// Loads the document from `table`, or the default when there is none yet.
pub(crate) fn load<T: DeserializeOwned + Default>(state: &State, table: &str) -> Result<T> {
    let sql = state.storage().sql();
    sql.exec(
        &format!("CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL)"),
        None,
    )?;
    let rows: Vec<Row> = sql
        .exec(&format!("SELECT value FROM {table} WHERE id = 1"), None)?
        .to_array()?;
    Ok(rows
        .first()
        .and_then(|r| serde_json::from_str(&r.value).ok())
        .unwrap_or_default())
}

/// Saves the document to `table` (after [`load`] created it).
pub(crate) fn save<T: Serialize>(state: &State, table: &str, value: &T) -> Result<()> {
    let value =
        serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))?;
    state.storage().sql().exec(
        &format!("INSERT INTO {table} (id, value) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET value = excluded.value"),
        vec![value.into()],
    )?;
    Ok(())
}
