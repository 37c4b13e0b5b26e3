//! The Durable Objects, one folder per class, each with its typed client
//! (what the Worker and the other objects call) and the object itself
//! (load the record, let core apply the operation, save, answer). Objects
//! import only each other's clients.
//!
//! - `Control` (one instance): the configuration, secrets, active bans,
//!   session revocations, reset tokens, the audit log, webhooks, and the
//!   admin API behind the application key.
//! - `IpGuard` (one per client key): the client's warnings and bans.
//! - `AccountGuard` (one per account key): the account's lockout.
//! - `UserState` (one per user id): the user's lifecycle record.

pub(crate) mod account_guard;
pub(crate) mod control;
pub(crate) mod ip_guard;
mod storage;
mod stub;
pub(crate) mod user_state;
