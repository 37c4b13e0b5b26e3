//! The audit log's entries and their way to Control: what an entry
//! records, and the `AuditLog` shards ([`AUDIT_SHARDS`] instances) that
//! buffer items by their id and hand them to Control in batches; Control
//! stores each id once, so a batch handed over twice is not counted twice.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::shards::fnv;

/// How many `AuditLog` shards there are.
pub const AUDIT_SHARDS: usize = 4;
/// Most items one batch hands Control.
pub const MAX_BATCH: usize = 500;

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuditKind {
    /// A security warning.
    Warning,
    /// A ban from warnings or a fraud signal.
    Banned,
    /// A CAPTCHA result (when logging is on).
    Captcha,
    /// A lockout began.
    AccountLocked,
    /// An administrator unlocked an account.
    AccountUnlocked,
    /// The settings changed.
    SettingsChanged,
    /// An administrator banned a target.
    BanAdded,
    /// An administrator lifted a ban.
    BanRemoved,
    /// Sessions were ended.
    SessionsEnded,
    /// An administrator changed a user record.
    UserChanged,
    /// A secret was replaced.
    SecretRotated,
    /// A reset link was minted.
    ResetTokenIssued,
    /// A reset link was used.
    ResetTokenUsed,
    /// A reset link's use was given back.
    ResetTokenReleased,
    /// The fraud feed was loaded.
    FraudFeedLoaded,
    /// The fraud feed could not be loaded.
    FraudFeedFailed,
    /// A stored record could not be read (the request needing it got 503).
    StateUnreadable,
    /// An administrator cleared a stored record.
    RecordCleared,
    /// A rate limit refused a request (its rule and the key's hash).
    RateLimited,
    /// A feature in monitor mode would have refused a request (its code).
    WouldRefuse,
    /// A browser reported a CSP violation (report-only mode); not a warning.
    CspReport,
    /// A vault operation: the passphrase created, reset or deleted, a batch
    /// encrypted or decrypted (how many items; never a value), or refused.
    Vault,
}

impl AuditKind {
    /// The kind as the audit log, its filters and webhooks spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Banned => "banned",
            Self::Captcha => "captcha",
            Self::AccountLocked => "accountLocked",
            Self::AccountUnlocked => "accountUnlocked",
            Self::SettingsChanged => "settingsChanged",
            Self::BanAdded => "banAdded",
            Self::BanRemoved => "banRemoved",
            Self::SessionsEnded => "sessionsEnded",
            Self::UserChanged => "userChanged",
            Self::SecretRotated => "secretRotated",
            Self::ResetTokenIssued => "resetTokenIssued",
            Self::ResetTokenUsed => "resetTokenUsed",
            Self::ResetTokenReleased => "resetTokenReleased",
            Self::FraudFeedLoaded => "fraudFeedLoaded",
            Self::FraudFeedFailed => "fraudFeedFailed",
            Self::StateUnreadable => "stateUnreadable",
            Self::RecordCleared => "recordCleared",
            Self::RateLimited => "rateLimited",
            Self::WouldRefuse => "wouldRefuse",
            Self::CspReport => "cspReport",
            Self::Vault => "vault",
        }
    }
}

/// One audit log entry as an object sends it to Control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// What happened.
    pub kind: AuditKind,
    /// The client address it concerns (empty when none).
    pub ip: String,
    /// The details (never a secret, a password or a token).
    pub detail: Value,
}

impl AuditEntry {
    /// An entry of `kind` about `ip`.
    pub fn new(kind: AuditKind, ip: impl Into<String>, detail: Value) -> Self {
        Self {
            kind,
            ip: ip.into(),
            detail,
        }
    }
}

/// The name of the `AuditLog` shard that buffers the item with `id`.
pub fn audit_shard(id: &str) -> String {
    audit_shard_name((fnv(id.as_bytes()) % AUDIT_SHARDS as u64) as usize)
}

/// The name of `AuditLog` shard `i`.
pub fn audit_shard_name(i: usize) -> String {
    format!("audit-{i}")
}

/// One audit item as an `AuditLog` shard holds it until Control takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditItem {
    /// Unique: Control stores each id once.
    pub id: String,
    /// When it happened (unix seconds).
    pub at: u64,
    /// The entry.
    pub entry: AuditEntry,
    /// A lockout that began, for the admin's list of locked accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockStart>,
}

/// A lockout that began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockStart {
    /// The account key.
    pub account: String,
    /// When it ends (`None`: until unlocked).
    pub until: Option<u64>,
}

/// An operation on an `AuditLog` shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuditOp {
    /// Buffer these items (an id already buffered is kept once).
    Append {
        /// The items.
        items: Vec<AuditItem>,
    },
    /// Hand everything buffered to Control now (the admin reads the log).
    Flush,
}

/// What an `AuditLog` shard answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuditAnswer {
    /// Done; how many items it still holds.
    Done {
        /// Items not yet taken by Control.
        pending: usize,
    },
}

/// The structured log line of a decision the audit log records (a
/// warning, a ban, a lockout, a CAPTCHA result, a rate-limit refusal, a
/// rotation, a monitor-mode `wouldRefuse`…): one JSON object,
/// `{"portcullis":"decision","kind":…,"at":…,"ip":…,"detail":…}`, holding
/// what the audit entry holds (never a secret, a password or a token).
pub fn decision_log_line(entry: &AuditEntry, at: u64) -> String {
    serde_json::json!({
        "portcullis": "decision",
        "kind": entry.kind.as_str(),
        "at": at,
        "ip": entry.ip,
        "detail": entry.detail,
    })
    .to_string()
}

/// A new audit item id from 16 random bytes.
pub fn audit_id(random: &[u8; 16]) -> String {
    crate::text::hex(random)
}
