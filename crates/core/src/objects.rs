//! What each Durable Object is asked and what it answers, as typed
//! operations, and how its record takes each one. The edge's objects only
//! load a record, hand it to the `apply` function here with the operation,
//! save it when told to, and send the answer back; the flows in
//! [`crate::flows`] ask for these operations by name.
//!
//! - `AccountGuard`, one per account key: [`AccountCall`] → [`LockAnswer`].
//! - `IpGuard`, one per client key: [`GuardOp`] → [`GuardAnswer`].
//! - `UserState`, one per user id: [`UserOp`] → [`UserAnswer`].
//! - `Control`, one instance: [`ControlOp`] → [`ControlAnswer`].
//! - `BanLog`, sharded: [`BanLogOp`] → [`BanLogAnswer`].
//! - `AuditLog`, sharded: [`AuditOp`] → [`AuditAnswer`].
//!
//! Every answer crosses as [`Stored`]: the answer, or the news that the
//! object's record could not be read (the request fails closed).

use serde::{Deserialize, Serialize};

pub use crate::audit::{
    AUDIT_SHARDS, AuditAnswer, AuditEntry, AuditItem, AuditKind, AuditOp, LockStart, MAX_BATCH,
    audit_id, audit_shard, audit_shard_name, decision_log_line,
};
use crate::bans::{BanEntry, IpRecord, WarningKind};
use crate::lifecycle::{
    ChangeReason, HistoryFingerprint, LoginRefusal, UserPatch, UserRecord, UserSummary,
};
use crate::lockout::{AccountLock, Failure, Gate};
use crate::policy::{
    BanPolicy, LoginPolicy, ManualBanScope, PasswordPolicy, Policy, ProbationAction, SessionPolicy,
};
use crate::roles::Role;
pub use crate::shards::{
    BAN_SHARDS, BanChange, BanLogAnswer, BanLogOp, MAX_CHANGES, MAX_IMPORT, aggregate,
    aggregate_prefix, ban_shard, ban_shard_name,
};
use crate::snapshot::Snapshot;
use crate::tokens::{ResetError, ResetPurpose};

/// An object's answer, or the news that its record is unreadable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Stored<T> {
    /// The operation's answer.
    Answer(T),
    /// The record could not be read; `record` names it (never its content).
    Unreadable {
        /// Which record, such as `account:alice`.
        record: String,
    },
}

/// What an operation did to the record: whether the object must save it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Save {
    /// The record changed: store it.
    Yes,
    /// Nothing to store.
    No,
}

// ---------------------------------------------------------------- AccountGuard

/// An operation on an account's lockout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccountOp {
    /// The gate and the failures so far, changing nothing.
    Peek,
    /// A login attempt starts (counted in advance).
    Begin,
    /// The origin refused the attempt.
    Failure,
    /// The origin accepted the attempt.
    Success,
    /// The origin failed or did not answer: the attempt is given back.
    Release,
    /// The administrator's unlock.
    Unlock,
    /// The administrator's reset of the record (also of an unreadable one).
    Clear,
}

impl AccountOp {
    /// Whether the operation must read the stored record. The unlock and
    /// the clear start from an empty record when the stored one is
    /// unreadable, so a damaged row never locks an account for good.
    pub fn needs_record(&self) -> bool {
        !matches!(self, Self::Unlock | Self::Clear)
    }
}

/// A call to an account's `AccountGuard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCall {
    /// What to do.
    pub op: AccountOp,
    /// The login name as typed (its failures are counted apart from other
    /// spellings that fold to the same account key).
    #[serde(default)]
    pub name: String,
    /// The login settings it is decided under.
    pub policy: LoginPolicy,
}

/// What the account's guard answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockAnswer {
    /// May a login be attempted (after this operation)?
    pub gate: Gate,
    /// Attempts left before lockout, after a failure (when reporting is on).
    pub attempts_left: Option<u32>,
    /// Failed attempts counted so far (for "CAPTCHA after N failures").
    pub failures: u32,
    /// Begin only: the lockout a failure of the attempt it opened starts
    /// (`None`: the account stays open, `attempts_left` left). The attempt
    /// is counted as a failure in advance, so its failure sends nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locks_on_failure: Option<Gate>,
}

/// Applies `call` to the account's lock at `now`.
pub fn apply_account(lock: &mut AccountLock, call: &AccountCall, now: u64) -> (LockAnswer, Save) {
    let policy = &call.policy;
    let answer = |gate: Gate, attempts_left: Option<u32>| LockAnswer {
        gate,
        attempts_left,
        failures: 0,
        locks_on_failure: None,
    };
    match &call.op {
        AccountOp::Peek => (
            LockAnswer {
                failures: lock.failures,
                ..answer(lock.gate(policy, now), None)
            },
            Save::No,
        ),
        AccountOp::Begin => {
            let gate = lock.begin_attempt(policy, now, &call.name);
            let result = match (gate, lock.failing(policy, now)) {
                (Gate::Open, Failure::AttemptsLeft(left)) => answer(gate, left),
                (Gate::Open, Failure::Locked(locks)) => LockAnswer {
                    locks_on_failure: Some(locks),
                    ..answer(gate, Some(0))
                },
                _ => answer(gate, None),
            };
            (result, Save::Yes)
        }
        AccountOp::Failure => {
            let result = match lock.settle_failure(policy, now) {
                Failure::AttemptsLeft(left) => answer(Gate::Open, left),
                Failure::Locked(gate) => answer(gate, Some(0)),
            };
            (result, Save::Yes)
        }
        AccountOp::Success => (
            answer(lock.settle_success(policy, now, &call.name), None),
            Save::Yes,
        ),
        AccountOp::Release => {
            lock.release(policy, &call.name);
            (answer(lock.gate(policy, now), None), Save::Yes)
        }
        AccountOp::Unlock => {
            lock.unlock();
            (answer(Gate::Open, None), Save::Yes)
        }
        AccountOp::Clear => {
            *lock = AccountLock::default();
            (answer(Gate::Open, None), Save::Yes)
        }
    }
}

// -------------------------------------------------------------------- IpGuard

/// An operation on a client's warnings and bans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GuardOp {
    /// One security warning from the client.
    Warn {
        /// The client key (the object's name, and the ban's target).
        key: String,
        /// The address it came from (for the audit log).
        ip: String,
        /// What it did.
        kind: WarningKind,
        /// The ban settings it is decided under.
        policy: Box<BanPolicy>,
        /// The digest of the forged token it is about, if any: one token
        /// counts once.
        token: Option<String>,
        /// The caller sends the warning's audit entry itself, in its
        /// isolate's batch. An isolate of an earlier version does not (the
        /// field is absent): the object audits its warnings, as it did.
        #[serde(default)]
        caller_audits: bool,
    },
    /// How many warnings the client has inside the ban window (the
    /// built-in CAPTCHA's raised difficulty).
    Count {
        /// The ban window (seconds).
        window_seconds: u64,
    },
    /// The administrator lifted the client's ban.
    Lift,
    /// The administrator's reset of the record (also of an unreadable one).
    Clear,
}

impl GuardOp {
    /// Whether the operation must read the stored record (see [`AccountOp::needs_record`]).
    pub fn needs_record(&self) -> bool {
        !matches!(self, Self::Clear)
    }
}

/// What a client's guard answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GuardAnswer {
    /// The warning was counted; `ban` is the ban it triggered.
    Warned {
        /// The ban to publish: a new one, or the record's own when the
        /// client should already have been refused (see `announced_again`).
        ban: Option<BanEntry>,
        /// `ban` is the record's standing ban, published again (not a new
        /// ban: not audited again).
        #[serde(default)]
        announced_again: bool,
        /// Warnings now inside the window.
        in_window: usize,
    },
    /// The same token was warned about already within the window: not counted.
    Repeated,
    /// Warnings inside the window ([`GuardOp::Count`]).
    Counted {
        /// How many.
        in_window: usize,
    },
    /// Done.
    Done,
}

/// The audit entry of a warning its client's `IpGuard` recorded (`op`
/// and the object's `answer`); `None` for any other operation or answer
/// (a repeated forged token is not a new warning). The isolate that sent
/// the warning adds it to its next batch of audit items.
pub fn warning_audit(op: &GuardOp, answer: &GuardAnswer) -> Option<AuditEntry> {
    match (op, answer) {
        (GuardOp::Warn { key, ip, kind, .. }, GuardAnswer::Warned { in_window, .. }) => {
            let detail =
                serde_json::json!({ "warning": kind, "client": key, "inWindow": in_window });
            Some(AuditEntry::new(AuditKind::Warning, ip.clone(), detail))
        }
        _ => None,
    }
}

/// Applies `op` to the client's record at `now`.
pub fn apply_guard(record: &mut IpRecord, op: &GuardOp, now: u64) -> GuardAnswer {
    match op {
        GuardOp::Warn {
            key, policy, token, ..
        } => {
            if let Some(digest) = token
                && record.seen_token(digest, policy, now)
            {
                return GuardAnswer::Repeated;
            }
            let was_banned = record.is_banned(now);
            let fresh = record.record_warning(policy, now);
            // A warning from a client its record already bans means the ban
            // never reached the isolate that saw it (its publication failed
            // after the record was saved): it is announced again.
            let until = fresh.or_else(|| record.banned_until.filter(|_| was_banned));
            let ban = until.map(|until| BanEntry {
                target: key.clone(),
                until,
                scope: ManualBanScope::All,
                reason: "warnings".to_owned(),
            });
            GuardAnswer::Warned {
                ban,
                announced_again: fresh.is_none() && was_banned,
                in_window: record.warnings.len(),
            }
        }
        GuardOp::Count { window_seconds } => GuardAnswer::Counted {
            in_window: record
                .warnings
                .iter()
                .filter(|at| now.saturating_sub(**at) < *window_seconds)
                .count(),
        },
        GuardOp::Lift => {
            record.lift();
            GuardAnswer::Done
        }
        GuardOp::Clear => {
            *record = IpRecord::default();
            GuardAnswer::Done
        }
    }
}

// ------------------------------------------------------------------ UserState

/// What a user's record is told of a login the origin accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// The policy it is decided under.
    pub policy: Box<Policy>,
    /// The keyed hash of the password the login carried.
    pub fingerprint: Option<HistoryFingerprint>,
    /// Whether that password passes the current policy.
    pub meets_policy: bool,
    /// The new session's id.
    pub sid: String,
    /// When the origin says the account was created.
    pub created: Option<u64>,
    /// The roles the origin named.
    pub roles: Vec<String>,
    /// The login name the user signed in with.
    pub username: String,
    /// The account's email, when known.
    pub email: Option<String>,
}

/// An operation on a user's lifecycle record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UserOp {
    /// The origin accepted a login: may the session begin, and with what.
    Login(LoginRequest),
    /// Single-session mode: is this session still the user's?
    Touch {
        /// The session id.
        sid: String,
        /// The session settings.
        sessions: SessionPolicy,
    },
    /// The user signed out of this session.
    Logout {
        /// The session id.
        sid: String,
    },
    /// Every tracked session ends.
    EndSessions,
    /// A new password is about to be checked: was it among the user's
    /// recent ones, and what login name and email does the account have?
    Vet {
        /// The password settings (history depth).
        passwords: PasswordPolicy,
        /// The new password's keyed hash.
        fingerprint: HistoryFingerprint,
    },
    /// The origin took a new password; sessions other than `keep` end.
    Changed {
        /// The password settings (history depth, expiry).
        passwords: PasswordPolicy,
        /// The new password's keyed hash.
        fingerprint: HistoryFingerprint,
        /// The session that goes on (none after a reset).
        keep: Option<String>,
        /// The user's sessions that began before this moment (unix
        /// milliseconds) end everywhere: the object has Control revoke them,
        /// and retries until that lands.
        revoke_before: u64,
    },
    /// One use of a probation-limited action.
    UseAction {
        /// The policy it is decided under.
        policy: Box<Policy>,
        /// The session's roles (staff and admins are exempt).
        roles: Vec<String>,
        /// The action.
        action: ProbationAction,
    },
    /// How a counted use ended: the origin accepted it, or it is given back.
    SettleAction {
        /// The action's name.
        action: String,
        /// Whether the origin accepted it.
        accepted: bool,
    },
    /// An administrator's change.
    Patch {
        /// The policy (for the summary).
        policy: Box<Policy>,
        /// The change.
        patch: UserPatch,
    },
    /// The record as the admin API shows it.
    Summary {
        /// The policy (for "inactive").
        policy: Box<Policy>,
    },
    /// The administrator's reset of the record (also of an unreadable one).
    Clear,
}

impl UserOp {
    /// Whether the operation must read the stored record (see [`AccountOp::needs_record`]).
    pub fn needs_record(&self) -> bool {
        !matches!(self, Self::Clear)
    }
}

/// What a user's record answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UserAnswer {
    /// The session may begin.
    LoggedIn {
        /// A password change it must make first.
        change: Option<ChangeReason>,
        /// When the password expires (unix seconds).
        expires_at: Option<u64>,
        /// Whether the account is on probation.
        probation: bool,
        /// The account's creation time, as far as the record knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created: Option<u64>,
        /// The replies it has made so far.
        #[serde(default)]
        replies: u32,
    },
    /// The login is refused.
    LoginRefused {
        /// Why.
        refusal: LoginRefusal,
    },
    /// Whether the session is still the user's.
    Touched {
        /// Still active.
        active: bool,
    },
    /// What a new password is checked against.
    Vetted {
        /// Among the last `historyCount`.
        reused: bool,
        /// The login name the user last signed in with.
        username: Option<String>,
        /// The account's email, when known.
        email: Option<String>,
    },
    /// The new password is recorded.
    Changed {
        /// When it expires.
        expires_at: Option<u64>,
    },
    /// The use is counted (or the user is not on probation).
    ActionCounted {
        /// Whether the user is on probation.
        probation: bool,
    },
    /// A use is settled; the user's replies now.
    Settled {
        /// Replies so far.
        replies: u32,
    },
    /// The 24-hour limit is reached.
    ActionLimited {
        /// Seconds until a use frees up.
        retry_after: u64,
    },
    /// The record for the admin API.
    Summary {
        /// What it shows.
        summary: UserSummary,
    },
    /// Done.
    Done,
}

/// Applies `op` to the user's record at `now`.
pub fn apply_user(record: &mut UserRecord, op: &UserOp, now: u64) -> (UserAnswer, Save) {
    match op {
        UserOp::Login(login_request) => login(record, login_request, now),
        UserOp::Touch { sid, sessions } => {
            let active = record.touch(sid, sessions, now);
            (UserAnswer::Touched { active }, Save::Yes)
        }
        UserOp::Logout { sid } => {
            record.end_session(sid);
            (UserAnswer::Done, Save::Yes)
        }
        UserOp::EndSessions => {
            record.end_sessions();
            (UserAnswer::Done, Save::Yes)
        }
        UserOp::Vet {
            passwords,
            fingerprint,
        } => {
            let answer = UserAnswer::Vetted {
                reused: record.reuses(fingerprint, passwords),
                username: record.username.clone(),
                email: record.email.clone(),
            };
            (answer, Save::No)
        }
        UserOp::Changed {
            passwords,
            fingerprint,
            keep,
            ..
        } => {
            let expires_at = record.password_changed(fingerprint.clone(), passwords, now);
            // The password changed: every other session ends.
            record.end_sessions_except(keep.as_deref());
            (UserAnswer::Changed { expires_at }, Save::Yes)
        }
        UserOp::UseAction {
            policy,
            roles,
            action,
        } => {
            let role = Role::from_session_roles(roles);
            let answer = match record.use_action(policy, action, role, now) {
                Ok(probation) => UserAnswer::ActionCounted { probation },
                Err(retry_after) => UserAnswer::ActionLimited { retry_after },
            };
            (answer, Save::Yes)
        }
        UserOp::SettleAction { action, accepted } => {
            if *accepted {
                record.action_done(action);
            } else {
                record.action_failed(action);
            }
            let replies = record.replies();
            (UserAnswer::Settled { replies }, Save::Yes)
        }
        UserOp::Patch { policy, patch } => {
            record.apply(patch, now);
            let summary = record.summary(policy, now);
            (UserAnswer::Summary { summary }, Save::Yes)
        }
        UserOp::Summary { policy } => (
            UserAnswer::Summary {
                summary: record.summary(policy, now),
            },
            Save::No,
        ),
        UserOp::Clear => {
            *record = UserRecord::default();
            (UserAnswer::Done, Save::Yes)
        }
    }
}

/// [`UserOp::Login`]: may the session begin, and with what.
fn login(record: &mut UserRecord, request: &LoginRequest, now: u64) -> (UserAnswer, Save) {
    let policy = &request.policy;
    record.set_created(request.created);
    record.set_identity(&request.username, request.email.as_deref());
    let probation = record.on_probation(policy, Role::from_session_roles(&request.roles), now);
    let fingerprint = request.fingerprint.clone();
    match record.login(policy, fingerprint, request.meets_policy, &request.sid, now) {
        Ok(grant) => (
            UserAnswer::LoggedIn {
                change: grant.change,
                expires_at: grant.password_expires_at,
                probation,
                created: record.created,
                replies: record.replies(),
            },
            Save::Yes,
        ),
        Err(refusal) => (UserAnswer::LoginRefused { refusal }, Save::No),
    }
}

// -------------------------------------------------------------------- Control

/// A step of a reset token's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResetStep {
    /// Is the token good? (The page is shown.)
    Check,
    /// Use it (the new password is sent): succeeds once.
    Redeem,
    /// The origin failed: the use is given back.
    Release,
}

/// A call to the `Control` object from the Worker or another object (the
/// admin API reaches it as HTTP, with its key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ControlOp {
    /// The configuration, bans, secrets and revocations isolates cache.
    Snapshot,
    /// A reset token's check, use or release.
    ResetToken {
        /// Which.
        step: ResetStep,
        /// The token as the client sent it (Control keeps only its digest).
        token: String,
        /// The client address (for the audit log).
        ip: String,
    },
    /// A reset succeeded: the user's other outstanding reset links end.
    RevokeResets {
        /// The user id.
        user: String,
        /// The link just used.
        except: String,
    },
    /// A password changed or was reset: the user's older sessions end.
    RevokeUser {
        /// The user id.
        user: String,
        /// Sessions that began before this (unix milliseconds) end; none:
        /// before Control's now. A later moment already stored stands, so
        /// a retry changes nothing.
        #[serde(default)]
        before: Option<u64>,
    },
    /// Audit items an `AuditLog` shard collected (each id stored once).
    AuditBatch {
        /// The items, oldest first.
        items: Vec<AuditItem>,
    },
    /// An audit entry.
    Audit {
        /// The entry.
        entry: AuditEntry,
    },
}

/// Who a good reset token is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetHolder {
    /// The user id.
    pub user: String,
    /// Who the link is for.
    pub purpose: ResetPurpose,
}

/// What Control answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ControlAnswer {
    /// The snapshot.
    Snapshot {
        /// It.
        snapshot: Box<Snapshot>,
    },
    /// The token is good (and used or released, as asked).
    Reset {
        /// For whom.
        holder: ResetHolder,
    },
    /// The token is refused.
    ResetRefused {
        /// Why.
        error: ResetError,
    },
    /// Sessions that began before this moment (unix milliseconds) ended.
    Revoked {
        /// The moment.
        before: u64,
    },
    /// The configuration does not validate.
    ConfigurationInvalid {
        /// What is wrong (names the field; no secret).
        message: String,
    },
    /// Done.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login_policy() -> LoginPolicy {
        LoginPolicy {
            max_failed_attempts: 2,
            ..LoginPolicy::default()
        }
    }

    #[test]
    fn an_account_locks_at_the_limit_and_unlocks() {
        let mut lock = AccountLock::default();
        let call = |op| AccountCall {
            op,
            name: "alice".into(),
            policy: login_policy(),
        };
        // Begin answers what a failure leads to: nothing else is sent for it.
        let (first, _) = apply_account(&mut lock, &call(AccountOp::Begin), 10);
        assert_eq!(
            (first.gate, first.attempts_left, first.locks_on_failure),
            (Gate::Open, Some(1), None)
        );
        let (second, _) = apply_account(&mut lock, &call(AccountOp::Begin), 10);
        let lockout = Gate::Locked {
            retry_after: LoginPolicy::default().lockout_seconds,
        };
        assert_eq!(
            (second.gate, second.attempts_left, second.locks_on_failure),
            (Gate::Open, Some(0), Some(lockout))
        );
        let (peek, save) = apply_account(&mut lock, &call(AccountOp::Peek), 11);
        assert!(matches!(peek.gate, Gate::Locked { .. }));
        assert_eq!(save, Save::No);
        let (unlocked, _) = apply_account(&mut lock, &call(AccountOp::Unlock), 12);
        assert_eq!(unlocked.gate, Gate::Open);
        assert_eq!(
            apply_account(&mut lock, &call(AccountOp::Peek), 12).0.gate,
            Gate::Open
        );
    }

    #[test]
    fn operations_cross_as_json_and_back() {
        let op = UserOp::Touch {
            sid: "s1".into(),
            sessions: SessionPolicy::default(),
        };
        let text = serde_json::to_string(&op).unwrap();
        assert!(text.starts_with(r#"{"touch":"#), "{text}");
        assert_eq!(serde_json::from_str::<UserOp>(&text).unwrap(), op);
        let answer: Stored<LockAnswer> = Stored::Unreadable {
            record: "account:alice".into(),
        };
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            serde_json::from_str::<Stored<LockAnswer>>(&text).unwrap(),
            answer
        );
    }

    #[test]
    fn only_the_clear_and_the_unlock_start_from_an_empty_record() {
        assert!(AccountOp::Begin.needs_record());
        assert!(!AccountOp::Unlock.needs_record());
        assert!(!AccountOp::Clear.needs_record());
        assert!(!UserOp::Clear.needs_record());
        assert!(UserOp::EndSessions.needs_record());
        assert!(!GuardOp::Clear.needs_record());
        assert!(GuardOp::Lift.needs_record());
    }

    #[test]
    fn a_warning_from_a_client_its_record_bans_announces_the_ban_again() {
        let policy = BanPolicy {
            warnings_before_ban: 2,
            ..BanPolicy::default()
        };
        let warn = GuardOp::Warn {
            key: "203.0.113.9".into(),
            ip: "203.0.113.9".into(),
            kind: WarningKind::FailedLogin,
            policy: Box::new(policy),
            token: None,
            caller_audits: true,
        };
        let mut record = IpRecord::default();
        let answer = |r: &mut IpRecord| match apply_guard(r, &warn, 1000) {
            GuardAnswer::Warned {
                ban,
                announced_again,
                ..
            } => (ban.map(|b| b.until), announced_again),
            other => panic!("{other:?}"),
        };
        assert_eq!(answer(&mut record), (None, false));
        let (until, again) = answer(&mut record);
        assert!(until.is_some() && !again, "the second warning bans");
        assert_eq!(answer(&mut record), (until, true), "the same ban, again");
    }

    #[test]
    fn a_warning_from_an_earlier_isolate_leaves_its_audit_to_the_object() {
        let warn = GuardOp::Warn {
            key: "203.0.113.9".into(),
            ip: "203.0.113.9".into(),
            kind: WarningKind::FailedLogin,
            policy: Box::default(),
            token: None,
            caller_audits: true,
        };
        let mut json = serde_json::to_value(&warn).unwrap();
        let fields = json.as_object_mut().unwrap().values_mut().next().unwrap();
        let removed = fields.as_object_mut().unwrap().remove("caller_audits");
        assert_eq!(removed, Some(serde_json::Value::Bool(true)));
        let earlier: GuardOp = serde_json::from_value(json).unwrap();
        assert!(matches!(
            earlier,
            GuardOp::Warn {
                caller_audits: false,
                ..
            }
        ));
    }

    #[test]
    fn a_recorded_warning_is_audited_once_and_a_repeated_token_not_at_all() {
        let warn = GuardOp::Warn {
            key: "2001:db8:1:2::/64".into(),
            ip: "2001:db8:1:2::7".into(),
            kind: WarningKind::ForgedToken,
            policy: Box::default(),
            token: Some("digest".into()),
            caller_audits: true,
        };
        let mut record = IpRecord::default();
        let first = apply_guard(&mut record, &warn, 1000);
        let entry = warning_audit(&warn, &first).expect("a new warning is audited");
        assert_eq!(entry.kind, AuditKind::Warning);
        assert_eq!(entry.ip, "2001:db8:1:2::7");
        assert_eq!(
            entry.detail,
            serde_json::json!({ "warning": "forgedToken", "client": "2001:db8:1:2::/64", "inWindow": 1 })
        );
        let again = apply_guard(&mut record, &warn, 1001);
        assert_eq!(again, GuardAnswer::Repeated);
        assert_eq!(
            warning_audit(&warn, &again),
            None,
            "the same token counts once"
        );
        assert_eq!(warning_audit(&GuardOp::Lift, &GuardAnswer::Done), None);
    }
}
