//! The Durable Objects, one folder per class, each with its typed client
//! (what the Worker and the other objects call) and the object itself
//! (load the record, let core apply the operation, save, answer). Objects
//! import only each other's clients.
//!
//! - `Control` (one instance): the configuration, secrets, session
//!   revocations, reset tokens, the audit log, webhooks, and the admin API
//!   behind the application key.
//! - `IpGuard` (one per client key): the client's warnings and bans.
//! - `AccountGuard` (one per account key): the account's lockout.
//! - `UserState` (one per user id): the user's lifecycle record.
//! - `BanLog` (16 shards): the bans, versioned for isolates to replicate.
//! - `AuditLog` (4 shards): audit items on their way to Control, batched.
//! - `RateLimiter` (one per rate limit rule and key hash): its exact count.

pub(crate) mod account_guard;
pub(crate) mod audit_log;
pub(crate) mod ban_log;
pub(crate) mod control;
pub(crate) mod ip_guard;
pub(crate) mod rate_limiter;
mod storage;
pub(crate) mod stub;
pub(crate) mod user_state;
