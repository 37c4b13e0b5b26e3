//! The one-record store of the per-client, per-account and per-user
//! objects: one row in a one-row SQLite table, written in core's versioned
//! record format. An unreadable row is reported, never turned into a
//! default: the object answers that the record is unreadable and audits
//! which one.

use portcullis_core::objects::Stored;
use portcullis_core::records::{Unreadable, decode, encode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use worker::{Env, Response, Result, State};

use crate::objects::control::client as control;
use crate::objects::stub;

#[derive(serde::Deserialize)]
struct Row {
    value: String,
}

/// What the table holds.
pub(crate) enum Loaded<T> {
    /// A readable record.
    Found(T),
    /// No record yet.
    Missing,
    /// A row that does not read as the record.
    Unreadable(Unreadable),
}

/// Loads the record from `table` (created when missing).
pub(crate) fn load<T: DeserializeOwned>(state: &State, table: &str) -> Result<Loaded<T>> {
    let sql = state.storage().sql();
    sql.exec(
        &format!("CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL)"),
        None,
    )?;
    let rows: Vec<Row> = sql
        .exec(&format!("SELECT value FROM {table} WHERE id = 1"), None)?
        .to_array()?;
    Ok(match rows.first() {
        None => Loaded::Missing,
        Some(row) => match decode(&row.value) {
            Ok(record) => Loaded::Found(record),
            Err(e) => Loaded::Unreadable(e),
        },
    })
}

/// Saves the record to `table` (after [`load`] created it).
pub(crate) fn save<T: Serialize>(state: &State, table: &str, value: &T) -> Result<()> {
    state.storage().sql().exec(
        &format!("INSERT INTO {table} (id, value) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET value = excluded.value"),
        vec![encode(value).into()],
    )?;
    Ok(())
}

/// The record to apply an operation to: the stored one, a new one when
/// there is none, or (for operations that start afresh, `fresh_ok`) a new
/// one in place of an unreadable row. For an unreadable row the object's
/// answer instead (`record` names it; audited with the kind of damage).
pub(crate) async fn record<T: DeserializeOwned + Default>(
    state: &State,
    env: &Env,
    table: &str,
    record: String,
    fresh_ok: bool,
) -> Result<std::result::Result<T, Response>> {
    let damage = match load(state, table)? {
        Loaded::Found(found) => return Ok(Ok(found)),
        Loaded::Missing => return Ok(Ok(T::default())),
        Loaded::Unreadable(_) if fresh_ok => return Ok(Ok(T::default())),
        Loaded::Unreadable(damage) => damage,
    };
    control::unreadable(env, &record, &damage).await;
    stub::answer::<()>(&Stored::Unreadable { record }).map(Err)
}
