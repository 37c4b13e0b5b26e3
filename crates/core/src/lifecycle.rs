//! The per-user rules that need stored state: password history (no reuse of
//! the last N passwords), expiry, change on first login, a tightened policy
//! applied at the next login, inactive accounts, and single-session mode.
//! The edge keeps one [`UserRecord`] per user id (a Durable Object); core
//! decides every transition. History stores keyed hashes (HMAC-SHA-256
//! under a secret pepper), never passwords, and compares them in constant
//! time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
#[cfg(feature = "nfkc")]
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
#[cfg(feature = "nfkc")]
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::policy::{PasswordPolicy, Policy, ProbationAction, SessionPolicy, SingleSession};
use crate::probation::{ActionLog, REPLY_ACTION, on_probation};
use crate::roles::Role;

/// A keyed hash of one past password of one user.
#[derive(Clone, PartialEq, Eq)]
pub struct HistoryFingerprint([u8; 32]);

impl std::fmt::Debug for HistoryFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistoryFingerprint(..)")
    }
}

impl Serialize for HistoryFingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&B64.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for HistoryFingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = B64
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a fingerprint is 32 bytes"))?;
        Ok(Self(bytes))
    }
}

/// The fingerprint of `password` for `user_id` under the secret `pepper`.
/// The password is NFKC-normalised first, as the rules see it; the user id
/// is length-prefixed so `("ab", "c")` and `("a", "bc")` differ.
#[cfg(feature = "nfkc")]
pub(crate) fn password_fingerprint(
    pepper: &[u8],
    user_id: &str,
    password: &str,
) -> HistoryFingerprint {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper) else {
        return HistoryFingerprint([0; 32]);
    };
    mac.update(&(user_id.len() as u64).to_be_bytes());
    mac.update(user_id.as_bytes());
    let normalized = crate::text::nfkc(password);
    mac.update(normalized.as_bytes());
    HistoryFingerprint(mac.finalize().into_bytes().into())
}

/// Whether `candidate` equals one of the newest `keep` entries of
/// `history` (newest first). Every entry is compared, in constant time.
pub(crate) fn password_reused(
    candidate: &HistoryFingerprint,
    history: &[HistoryFingerprint],
    keep: u32,
) -> bool {
    let mut found = subtle::Choice::from(0);
    for old in history.iter().take(keep as usize) {
        found |= old.0.ct_eq(&candidate.0);
    }
    found.into()
}

/// Why a user must change their password before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeReason {
    /// The first login the edge has seen for this user, with "change on
    /// first login" on.
    FirstLogin,
    /// The password is older than the expiry period.
    PasswordExpired,
    /// The password fails a policy tightened since it was set ("apply to
    /// existing passwords" on).
    PolicyTightened,
    /// An administrator asked for a change.
    AdminRequired,
}

impl ChangeReason {
    /// The stable code (`first_login`, `password_expired`,
    /// `policy_tightened`, `admin_required`), as sent in the session and in
    /// redirects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstLogin => "first_login",
            Self::PasswordExpired => "password_expired",
            Self::PolicyTightened => "policy_tightened",
            Self::AdminRequired => "admin_required",
        }
    }
}

/// The most history entries kept (the largest `historyCount` allowed).
const MAX_HISTORY: usize = 100;

/// The most sessions tracked for one user in single-session mode (users
/// allowed several sessions); the oldest go first.
const MAX_SESSIONS: usize = 50;

/// A session the edge tracks in single-session mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackedSession {
    /// The session id (the token's `sid`).
    pub sid: String,
    /// Login time (unix seconds).
    pub auth: u64,
    /// When it ends unless used again (sliding, capped by the absolute lifetime).
    pub until: u64,
}

/// What the edge stores for one user id (never a password).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRecord {
    /// When the current password was set, as far as the edge knows (unix
    /// seconds): the first login it saw, or the last change through it.
    pub password_set_at: Option<u64>,
    /// Fingerprints of the newest passwords, newest first.
    history: Vec<HistoryFingerprint>,
    /// The last successful login (unix seconds).
    pub last_login: Option<u64>,
    /// Per-user exception: the password never expires.
    pub never_expires: bool,
    /// Per-user exception to single-session mode.
    pub allow_multiple_sessions: bool,
    /// A change is required before anything else.
    pub must_change: Option<ChangeReason>,
    /// Active sessions (single-session mode only).
    sessions: Vec<TrackedSession>,
    /// When the origin says the account was created (`Portcullis-Login-Created`).
    pub created: Option<u64>,
    /// Probation: recent uses of the limited actions, and the reply count.
    pub actions: ActionLog,
    /// The login name the user last signed in with (a new password must
    /// not contain it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The account's email, when the origin named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Why the edge refuses a login the origin accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LoginRefusal {
    /// Not seen for longer than the inactivity limit (an admin reactivates).
    Inactive,
    /// Single-session mode "refuse new" and another session is active.
    SessionActive,
}

impl LoginRefusal {
    /// The stable error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Inactive => "account_inactive",
            Self::SessionActive => "session_active",
        }
    }
}

/// What a granted login carries into the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginGrant {
    /// A change is required before anything else.
    pub change: Option<ChangeReason>,
    /// When the password expires (unix seconds), when expiry applies.
    pub password_expires_at: Option<u64>,
}

/// What an administrator may change on a user record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    /// Set or clear "password never expires".
    pub never_expires: Option<bool>,
    /// Set or clear "allow multiple sessions".
    pub allow_multiple_sessions: Option<bool>,
    /// Require a change at the next request (`true`) or lift the requirement.
    pub must_change_password: Option<bool>,
    /// Let an inactive account log in again (counts as seen now).
    #[serde(default)]
    pub reactivate: bool,
}

/// A user record as the admin API shows it (no fingerprints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    /// See [`UserRecord::password_set_at`].
    pub password_set_at: Option<u64>,
    /// Passwords remembered for the history rule.
    pub history_entries: usize,
    /// See [`UserRecord::last_login`].
    pub last_login: Option<u64>,
    /// See [`UserRecord::never_expires`].
    pub never_expires: bool,
    /// See [`UserRecord::allow_multiple_sessions`].
    pub allow_multiple_sessions: bool,
    /// The pending change requirement.
    pub must_change: Option<ChangeReason>,
    /// Whether the account is refused as inactive at its next login.
    pub inactive: bool,
    /// Tracked active sessions (single-session mode).
    pub sessions: Vec<TrackedSession>,
    /// Replies the edge has counted (probation).
    pub replies: u32,
}

fn session_until(auth: u64, policy: &SessionPolicy, now: u64) -> u64 {
    now.saturating_add(policy.idle_timeout_seconds)
        .min(auth.saturating_add(policy.absolute_lifetime_seconds))
}

impl UserRecord {
    fn inactive(&self, policy: &Policy, now: u64) -> bool {
        let limit = policy.login.inactive_account_seconds;
        limit > 0
            && self
                .last_login
                .is_some_and(|seen| now.saturating_sub(seen) > limit)
    }

    fn remember(&mut self, fingerprint: HistoryFingerprint) {
        self.history.retain(|old| old != &fingerprint);
        self.history.insert(0, fingerprint);
        self.history.truncate(MAX_HISTORY);
    }

    /// When the current password expires, when expiry applies.
    fn expires_at(&self, passwords: &PasswordPolicy) -> Option<u64> {
        if passwords.expiry_seconds == 0 || self.never_expires {
            return None;
        }
        self.password_set_at
            .map(|set| set.saturating_add(passwords.expiry_seconds))
    }

    /// A login the origin accepted. `fingerprint` is the login password's
    /// (when the edge could read it) and `meets_policy` whether that
    /// password passes the current policy. Refusals change nothing; a grant
    /// records the login, learns a password changed outside the edge, and
    /// in single-session mode tracks `sid` (ending the user's other
    /// sessions in "end others" mode).
    pub fn login(
        &mut self,
        policy: &Policy,
        fingerprint: Option<HistoryFingerprint>,
        meets_policy: bool,
        sid: &str,
        now: u64,
    ) -> Result<LoginGrant, LoginRefusal> {
        if self.inactive(policy, now) {
            return Err(LoginRefusal::Inactive);
        }
        let mode = policy.login.single_session;
        self.sessions.retain(|s| s.until > now);
        if mode == SingleSession::RefuseNew
            && !self.allow_multiple_sessions
            && !self.sessions.is_empty()
        {
            return Err(LoginRefusal::SessionActive);
        }
        let first = self.last_login.is_none();
        match fingerprint {
            Some(fp) => {
                let known = self
                    .history
                    .first()
                    .is_some_and(|newest| bool::from(newest.0.ct_eq(&fp.0)));
                if !known || self.password_set_at.is_none() {
                    self.password_set_at = Some(now);
                }
                self.remember(fp);
            }
            None if self.password_set_at.is_none() => self.password_set_at = Some(now),
            None => {}
        }
        self.last_login = Some(now);
        let passwords = &policy.passwords;
        if first && passwords.change_on_first_login {
            self.must_change.get_or_insert(ChangeReason::FirstLogin);
        }
        if passwords.apply_to_existing && !meets_policy {
            self.must_change
                .get_or_insert(ChangeReason::PolicyTightened);
        }
        let expires_at = self.expires_at(passwords);
        let change = self.must_change.or_else(|| {
            expires_at
                .filter(|at| now >= *at)
                .map(|_| ChangeReason::PasswordExpired)
        });
        match mode {
            SingleSession::Off => self.sessions.clear(),
            _ => {
                if mode == SingleSession::EndOthers && !self.allow_multiple_sessions {
                    self.sessions.clear();
                }
                if self.sessions.len() >= MAX_SESSIONS {
                    self.sessions.remove(0);
                }
                self.sessions.push(TrackedSession {
                    sid: sid.to_owned(),
                    auth: now,
                    until: session_until(now, &policy.sessions, now),
                });
            }
        }
        Ok(LoginGrant {
            change,
            password_expires_at: expires_at,
        })
    }

    /// Single-session mode: whether session `sid` is still one of the
    /// user's active sessions at `now`, extending it when it is.
    pub fn touch(&mut self, sid: &str, policy: &SessionPolicy, now: u64) -> bool {
        self.sessions.retain(|s| s.until > now);
        match self.sessions.iter_mut().find(|s| s.sid == sid) {
            Some(session) => {
                session.until = session_until(session.auth, policy, now);
                true
            }
            None => false,
        }
    }

    /// Ends every tracked session but `keep` (a password change keeps the
    /// session that made it; a reset keeps none).
    pub fn end_sessions_except(&mut self, keep: Option<&str>) {
        self.sessions.retain(|s| Some(s.sid.as_str()) == keep);
    }

    /// Ends one session (logout).
    pub fn end_session(&mut self, sid: &str) {
        self.sessions.retain(|s| s.sid != sid);
    }

    /// Ends every tracked session of the user.
    pub fn end_sessions(&mut self) {
        self.sessions.clear();
    }

    /// Whether `fingerprint` is one of the last `historyCount` passwords.
    pub fn reuses(&self, fingerprint: &HistoryFingerprint, passwords: &PasswordPolicy) -> bool {
        password_reused(fingerprint, &self.history, passwords.history_count)
    }

    /// The password was changed through the edge (change page or reset
    /// link): remember it, restart the expiry clock, lift a required change.
    /// Returns when the new password expires, when expiry applies.
    pub fn password_changed(
        &mut self,
        fingerprint: HistoryFingerprint,
        passwords: &PasswordPolicy,
        now: u64,
    ) -> Option<u64> {
        self.remember(fingerprint);
        self.password_set_at = Some(now);
        self.must_change = None;
        self.expires_at(passwords)
    }

    /// Remembers the login name and email a login carried (capped).
    pub fn set_identity(&mut self, username: &str, email: Option<&str>) {
        self.username = Some(username.chars().take(MAX_USER_ID_LEN).collect());
        if let Some(email) = email {
            self.email = Some(email.chars().take(MAX_USER_ID_LEN).collect());
        }
    }

    /// Records the account's creation time the origin gave at login.
    pub fn set_created(&mut self, created: Option<u64>) {
        if created.is_some() {
            self.created = created;
        }
    }

    /// Replies the origin accepted so far.
    pub fn replies(&self) -> u32 {
        self.actions.replies
    }

    /// Whether the user, in `role`, is on probation at `now`.
    pub fn on_probation(&self, policy: &Policy, role: Role, now: u64) -> bool {
        on_probation(
            &policy.probation,
            role,
            self.created,
            self.actions.replies,
            now,
        )
    }

    /// A use of a probation-limited action: `Ok(true)` counted (on
    /// probation), `Ok(false)` not limited (off probation), `Err(seconds)`
    /// over the 24-hour limit (nothing counted; retry after that long).
    pub fn use_action(
        &mut self,
        policy: &Policy,
        action: &ProbationAction,
        role: Role,
        now: u64,
    ) -> Result<bool, u64> {
        if !self.on_probation(policy, role, now) {
            return Ok(false);
        }
        self.actions.try_use(action, now).map(|()| true)
    }

    /// A counted use of `action` did not happen (CAPTCHA unsolved, origin
    /// refused): it is given back.
    pub fn action_failed(&mut self, action: &str) {
        self.actions.give_back(action);
    }

    /// The origin accepted a use of `action`: a reply counts toward leaving
    /// probation.
    pub fn action_done(&mut self, action: &str) {
        if action == REPLY_ACTION {
            self.actions.replies = self.actions.replies.saturating_add(1);
        }
    }

    /// Applies an administrator's change.
    pub fn apply(&mut self, patch: &UserPatch, now: u64) {
        if let Some(v) = patch.never_expires {
            self.never_expires = v;
        }
        if let Some(v) = patch.allow_multiple_sessions {
            self.allow_multiple_sessions = v;
        }
        match patch.must_change_password {
            Some(true) => self.must_change = Some(ChangeReason::AdminRequired),
            Some(false) => self.must_change = None,
            None => {}
        }
        if patch.reactivate && self.last_login.is_some() {
            self.last_login = Some(now);
        }
    }

    /// The record as the admin API shows it.
    pub fn summary(&self, policy: &Policy, now: u64) -> UserSummary {
        UserSummary {
            password_set_at: self.password_set_at,
            history_entries: self.history.len(),
            last_login: self.last_login,
            never_expires: self.never_expires,
            allow_multiple_sessions: self.allow_multiple_sessions,
            must_change: self.must_change,
            inactive: self.inactive(policy, now),
            sessions: self
                .sessions
                .iter()
                .filter(|s| s.until > now)
                .cloned()
                .collect(),
            replies: self.actions.replies,
        }
    }
}

/// Whether the edge keeps a [`UserRecord`] under `policy` (each login then
/// makes one Durable Object call): any of history, expiry, change on first
/// login, tightened policy, inactivity or single-session is on.
pub(crate) fn tracks_users(policy: &Policy) -> bool {
    let p = &policy.passwords;
    p.history_count > 0
        || p.expiry_seconds > 0
        || p.change_on_first_login
        || p.apply_to_existing
        || policy.login.inactive_account_seconds > 0
        || policy.login.single_session != SingleSession::Off
        || policy.probation.enabled
}

/// How the origin answered a login form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum LoginAnswer {
    /// Not a success: counts as a failed login.
    Failed,
    /// Success for this user id, with the roles the origin named.
    Succeeded {
        /// The user id (`Portcullis-Login-User`, trimmed).
        user: String,
        /// `Portcullis-Login-Roles`, split on commas.
        roles: Vec<String>,
    },
    /// A success naming no usable user id (502: the application's bug).
    Unusable,
}

/// The login answer from the origin's status and its `Portcullis-Login-User`
/// and `Portcullis-Login-Roles` headers: success is a status below 400 that
/// names a user.
pub(crate) fn login_answer(status: u16, user: Option<&str>, roles: Option<&str>) -> LoginAnswer {
    let Some(user) = user
        .map(str::trim)
        .filter(|u| !u.is_empty() && status < 400)
    else {
        return LoginAnswer::Failed;
    };
    if !valid_user_id(user) {
        return LoginAnswer::Unusable;
    }
    let roles = roles
        .unwrap_or_default()
        .split(',')
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    LoginAnswer::Succeeded {
        user: user.to_owned(),
        roles,
    }
}

/// Whether the origin took a new password (change page or reset link): its
/// `Portcullis-Password-Changed: true|false` answer when it sends one, else
/// a status below 400. An origin that re-renders a failed change with 200
/// must send `false`.
pub(crate) fn change_accepted(status: u16, header: Option<&str>) -> bool {
    match header.map(|h| h.trim().to_ascii_lowercase()) {
        Some(value) if value == "true" => true,
        Some(_) => false,
        None => status < 400,
    }
}

/// The message for a password refused by the history rule (rule id
/// `history`).
pub(crate) fn reused_message(locale: crate::messages::Locale) -> String {
    locale
        .catalog()
        .format("refusals.passwordReused", &crate::messages::Params::none())
}

/// Longest user id the edge accepts from the origin or the admin API.
pub(crate) const MAX_USER_ID_LEN: usize = 256;

/// Whether `id` is a usable user id: 1–256 bytes, no control characters.
pub fn valid_user_id(id: &str) -> bool {
    !id.trim().is_empty() && id.len() <= MAX_USER_ID_LEN && !id.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "nfkc")]
    fn history_detects_reuse_within_depth_only() {
        let pepper = b"pepper-pepper-pepper-pepper-1234";
        let history: Vec<_> = ["one", "two", "three"]
            .iter()
            .map(|p| password_fingerprint(pepper, "u1", p))
            .collect();
        let two = password_fingerprint(pepper, "u1", "two");
        assert!(password_reused(&two, &history, 3));
        assert!(password_reused(&two, &history, 2));
        let three = password_fingerprint(pepper, "u1", "three");
        assert!(!password_reused(&three, &history, 2));
        // Same password, other user or other pepper: different fingerprint.
        assert_ne!(two, password_fingerprint(pepper, "u2", "two"));
        assert_ne!(two, password_fingerprint(b"other", "u1", "two"));
        // NFKC: the ligature and its expansion are one password.
        assert_eq!(
            password_fingerprint(pepper, "u1", "ﬁ"),
            password_fingerprint(pepper, "u1", "fi")
        );
    }

    #[test]
    #[cfg(feature = "nfkc")]
    fn debug_does_not_print_the_hash() {
        let f = password_fingerprint(b"k", "u", "p");
        assert_eq!(format!("{f:?}"), "HistoryFingerprint(..)");
    }

    #[test]
    fn expiry_and_warning() {
        use crate::session::{change_reason, new_session, password_expires_in};
        let mut p = PasswordPolicy::default();
        p.expiry_seconds = 100;
        p.expiry_warning_seconds = 10;
        let mut record = UserRecord::default();
        let expires_at = record.password_changed(fp(1), &p, 1000);
        assert_eq!(expires_at, Some(1100));
        let mut claims = new_session("u", "s", vec![], &SessionPolicy::default(), 1000);
        claims.pwx = expires_at;
        assert_eq!(password_expires_in(&claims, &p, 1050), None);
        assert_eq!(password_expires_in(&claims, &p, 1095), Some(5));
        assert_eq!(change_reason(&claims, 1099), None);
        assert_eq!(change_reason(&claims, 1100), Some("password_expired"));
        record.never_expires = true;
        assert_eq!(record.password_changed(fp(2), &p, 1000), None);
        record.never_expires = false;
        p.expiry_seconds = 0;
        assert_eq!(record.password_changed(fp(3), &p, 0), None);
    }

    fn fp(n: u8) -> HistoryFingerprint {
        HistoryFingerprint([n; 32])
    }

    fn policy() -> Policy {
        let mut p = Policy::default();
        p.passwords.history_count = 2;
        p.passwords.expiry_seconds = 1000;
        p.passwords.expiry_warning_seconds = 100;
        p.login.inactive_account_seconds = 5000;
        p.sessions.idle_timeout_seconds = 50;
        p.sessions.absolute_lifetime_seconds = 200;
        p
    }

    #[test]
    fn first_login_records_the_password_and_may_require_a_change() {
        let mut p = policy();
        p.passwords.change_on_first_login = true;
        let mut r = UserRecord::default();
        let grant = r.login(&p, Some(fp(1)), true, "s1", 10).unwrap();
        assert_eq!(grant.change, Some(ChangeReason::FirstLogin));
        assert_eq!(grant.password_expires_at, Some(1010));
        assert!(
            r.reuses(&fp(1), &p.passwords),
            "the current password is history"
        );
        // Still required at the next login until the password changes.
        let again = r.login(&p, Some(fp(1)), true, "s2", 20).unwrap();
        assert_eq!(again.change, Some(ChangeReason::FirstLogin));
        assert_eq!(r.password_changed(fp(2), &p.passwords, 30), Some(1030));
        let after = r.login(&p, Some(fp(2)), true, "s3", 40).unwrap();
        assert_eq!(after.change, None);
        assert_eq!(
            r.password_set_at,
            Some(30),
            "a known password keeps its age"
        );
    }

    #[test]
    fn expiry_tightened_policy_and_never_expires() {
        let p = policy();
        let mut r = UserRecord::default();
        r.login(&p, Some(fp(1)), true, "s", 0).unwrap();
        let late = r.login(&p, Some(fp(1)), true, "s", 1000).unwrap();
        assert_eq!(late.change, Some(ChangeReason::PasswordExpired));
        r.apply(
            &UserPatch {
                never_expires: Some(true),
                ..UserPatch::default()
            },
            1000,
        );
        let exempt = r.login(&p, Some(fp(1)), true, "s", 1001).unwrap();
        assert_eq!(
            exempt,
            LoginGrant {
                change: None,
                password_expires_at: None
            }
        );

        let mut tight = policy();
        tight.passwords.apply_to_existing = true;
        let weak = r.login(&tight, Some(fp(1)), false, "s", 1002).unwrap();
        assert_eq!(weak.change, Some(ChangeReason::PolicyTightened));
        let mut loose = policy();
        loose.passwords.apply_to_existing = false;
        let mut fresh = UserRecord::default();
        assert_eq!(
            fresh.login(&loose, None, false, "s", 0).unwrap().change,
            None
        );
    }

    #[test]
    fn a_password_changed_at_the_origin_restarts_the_clock() {
        let p = policy();
        let mut r = UserRecord::default();
        r.login(&p, Some(fp(1)), true, "s", 0).unwrap();
        let grant = r.login(&p, Some(fp(9)), true, "s", 900).unwrap();
        assert_eq!(grant.password_expires_at, Some(1900));
        assert!(r.reuses(&fp(9), &p.passwords) && r.reuses(&fp(1), &p.passwords));
    }

    #[test]
    fn history_depth_follows_the_policy() {
        let p = policy();
        let mut r = UserRecord::default();
        for (i, n) in [1, 2, 3].into_iter().enumerate() {
            r.password_changed(fp(n), &p.passwords, i as u64);
        }
        assert!(r.reuses(&fp(3), &p.passwords) && r.reuses(&fp(2), &p.passwords));
        assert!(!r.reuses(&fp(1), &p.passwords), "only the last 2 count");
        // Re-using an old one moves it to the front, never duplicates it.
        r.password_changed(fp(1), &p.passwords, 9);
        assert_eq!(r.summary(&p, 9).history_entries, 3);
        for n in 0..=200u8 {
            r.password_changed(fp(n), &p.passwords, 10);
        }
        assert_eq!(r.summary(&p, 10).history_entries, MAX_HISTORY);
    }

    #[test]
    fn inactive_accounts_are_refused_until_reactivated() {
        let p = policy();
        let mut r = UserRecord::default();
        r.login(&p, None, true, "s", 0).unwrap();
        let before = r.clone();
        assert_eq!(
            r.login(&p, None, true, "s", 5001),
            Err(LoginRefusal::Inactive)
        );
        assert_eq!(r, before, "a refusal changes nothing");
        assert!(r.summary(&p, 5001).inactive);
        r.apply(
            &UserPatch {
                reactivate: true,
                ..UserPatch::default()
            },
            5001,
        );
        assert!(r.login(&p, None, true, "s", 5002).is_ok());
        let mut off = policy();
        off.login.inactive_account_seconds = 0;
        assert!(r.login(&off, None, true, "s", u64::MAX / 2).is_ok());
    }

    #[test]
    fn single_session_end_others() {
        let mut p = policy();
        p.login.single_session = SingleSession::EndOthers;
        let mut r = UserRecord::default();
        r.login(&p, None, true, "a", 0).unwrap();
        assert!(r.touch("a", &p.sessions, 10));
        r.login(&p, None, true, "b", 20).unwrap();
        assert!(
            !r.touch("a", &p.sessions, 21),
            "the new login ended the old session"
        );
        assert!(r.touch("b", &p.sessions, 21));
        // Idle timeout and absolute lifetime apply to tracked sessions too.
        assert!(!r.touch("b", &p.sessions, 21 + 51));
        r.apply(
            &UserPatch {
                allow_multiple_sessions: Some(true),
                ..UserPatch::default()
            },
            100,
        );
        r.login(&p, None, true, "c", 100).unwrap();
        r.login(&p, None, true, "d", 110).unwrap();
        assert!(r.touch("c", &p.sessions, 120) && r.touch("d", &p.sessions, 120));
        r.end_session("c");
        assert!(!r.touch("c", &p.sessions, 121));
        r.end_sessions();
        assert!(!r.touch("d", &p.sessions, 121));
    }

    #[test]
    fn single_session_refuse_new() {
        let mut p = policy();
        p.login.single_session = SingleSession::RefuseNew;
        let mut r = UserRecord::default();
        r.login(&p, None, true, "a", 0).unwrap();
        assert_eq!(
            r.login(&p, None, true, "b", 10),
            Err(LoginRefusal::SessionActive)
        );
        // Ended by logout, or idle past the timeout: a new login is allowed.
        r.end_session("a");
        assert!(r.login(&p, None, true, "b", 11).is_ok());
        assert!(r.login(&p, None, true, "c", 11 + 50).is_ok());
        let mut off = policy();
        off.login.single_session = SingleSession::Off;
        r.login(&off, None, true, "x", 200).unwrap();
        assert!(
            !r.touch("x", &off.sessions, 201),
            "nothing is tracked when off"
        );
    }

    #[test]
    fn admin_patch_and_summary() {
        let p = policy();
        let mut r = UserRecord::default();
        r.login(&p, Some(fp(1)), true, "s", 0).unwrap();
        r.apply(
            &UserPatch {
                must_change_password: Some(true),
                ..UserPatch::default()
            },
            1,
        );
        assert_eq!(
            r.login(&p, None, true, "s", 2).unwrap().change,
            Some(ChangeReason::AdminRequired)
        );
        let json = serde_json::to_string(&r.summary(&p, 2)).unwrap();
        assert!(json.contains(r#""mustChange":"admin_required""#), "{json}");
        assert!(
            !json.contains(&B64.encode([1u8; 32])),
            "no fingerprints: {json}"
        );
        r.apply(
            &UserPatch {
                must_change_password: Some(false),
                ..UserPatch::default()
            },
            3,
        );
        assert_eq!(r.must_change, None);
        // Stored records round-trip through JSON.
        let stored = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<UserRecord>(&stored).unwrap(), r);
        assert!(serde_json::from_str::<UserPatch>(r#"{"nope":1}"#).is_err());
    }

    #[test]
    fn tracking_follows_the_settings() {
        let mut p = Policy::default();
        assert!(
            tracks_users(&p),
            "inactivity and the tightened policy are on by default"
        );
        p.login.inactive_account_seconds = 0;
        p.passwords.apply_to_existing = false;
        assert!(!tracks_users(&p));
        p.login.single_session = SingleSession::RefuseNew;
        assert!(tracks_users(&p));
        assert_ne!(
            reused_message(crate::messages::Locale::Cs),
            reused_message(crate::messages::Locale::En)
        );
    }

    #[test]
    fn probation_counts_uses_and_replies() {
        let mut p = policy();
        p.probation.enabled = true;
        p.probation.account_age_seconds = 100;
        p.probation.min_replies = 2;
        let reply = p.probation.actions[1].clone();
        let mut r = UserRecord::default();
        r.set_created(Some(0));
        r.set_created(None);
        assert_eq!(
            r.created,
            Some(0),
            "an answer without the header keeps what is known"
        );
        assert_eq!(
            r.use_action(&p, &reply, Role::Staff, 10),
            Ok(false),
            "staff are exempt"
        );
        for t in 0..5 {
            assert_eq!(r.use_action(&p, &reply, Role::EndUser, 10 + t), Ok(true));
            r.action_done("reply");
        }
        assert!(
            r.use_action(&p, &reply, Role::EndUser, 20).is_err(),
            "six replies in a day"
        );
        // Old enough and with enough replies: off probation, unlimited.
        assert_eq!(r.use_action(&p, &reply, Role::EndUser, 200), Ok(false));
        r.action_done("newThread");
        assert_eq!(r.summary(&p, 200).replies, 5);
    }

    #[test]
    fn login_answers() {
        assert_eq!(
            login_answer(401, Some("u-1"), None),
            LoginAnswer::Failed,
            "a header on a failure does not count"
        );
        assert_eq!(login_answer(303, None, None), LoginAnswer::Failed);
        assert_eq!(login_answer(303, Some("  "), None), LoginAnswer::Failed);
        assert_eq!(
            login_answer(200, Some("a\u{7}b"), None),
            LoginAnswer::Unusable
        );
        assert_eq!(
            login_answer(303, Some(" u-1 "), Some("admin, staff,,")),
            LoginAnswer::Succeeded {
                user: "u-1".into(),
                roles: vec!["admin".into(), "staff".into()]
            }
        );
    }

    #[test]
    fn a_change_is_what_the_origin_says() {
        assert!(change_accepted(303, None));
        assert!(!change_accepted(400, None));
        assert!(
            !change_accepted(200, Some("false")),
            "a failed change re-rendered with 200"
        );
        assert!(change_accepted(200, Some(" TRUE ")));
        assert!(!change_accepted(200, Some("maybe")));
        let mut p = policy();
        p.login.single_session = SingleSession::EndOthers;
        p.login.inactive_account_seconds = 0;
        let mut r = UserRecord::default();
        r.apply(
            &UserPatch {
                allow_multiple_sessions: Some(true),
                ..UserPatch::default()
            },
            0,
        );
        r.login(&p, None, true, "a", 0).unwrap();
        r.login(&p, None, true, "b", 0).unwrap();
        r.end_sessions_except(Some("b"));
        assert!(!r.touch("a", &p.sessions, 1) && r.touch("b", &p.sessions, 1));
        r.end_sessions_except(None);
        assert!(!r.touch("b", &p.sessions, 1));
    }

    #[test]
    fn user_ids() {
        assert!(valid_user_id("u-42"));
        assert!(!valid_user_id(" "));
        assert!(!valid_user_id("a\nb"));
        assert!(!valid_user_id(&"x".repeat(257)));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Login { sid: u8, password: u8, meets: bool },
        Touch(u8),
        Logout(u8),
        Change(u8),
        AllowMultiple(bool),
        Wait(u16),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0u8..6, 0u8..8, any::<bool>()).prop_map(|(sid, password, meets)| Op::Login {
                sid,
                password,
                meets
            }),
            (0u8..6).prop_map(Op::Touch),
            (0u8..6).prop_map(Op::Logout),
            (0u8..8).prop_map(Op::Change),
            any::<bool>().prop_map(Op::AllowMultiple),
            (0u16..120).prop_map(Op::Wait),
        ]
    }

    proptest::proptest! {
        /// Whatever happens: a refused login changes nothing (but forget
        /// sessions past their time); the history stays bounded without
        /// duplicates and holds the newest password; without the
        /// exception at most one session is alive in either
        /// single-session mode.
        #[test]
        fn record_invariants(
            mode in proptest::sample::select(vec![SingleSession::Off, SingleSession::EndOthers, SingleSession::RefuseNew]),
            ops in proptest::collection::vec(op(), 1..60),
        ) {
            let mut p = policy();
            p.login.single_session = mode;
            p.login.inactive_account_seconds = 0;
            let mut r = UserRecord::default();
            let mut now = 1u64;
            let mut ever_multiple = false;
            for op in ops {
                match op {
                    Op::Login { sid, password, meets } => {
                        let before = r.clone();
                        match r.login(&p, Some(fp(password)), meets, &sid.to_string(), now) {
                            Ok(_) => proptest::prop_assert!(r.reuses(&fp(password), &p.passwords)),
                            Err(LoginRefusal::SessionActive) => {
                                proptest::prop_assert_eq!(mode, SingleSession::RefuseNew);
                                let mut pruned = before.clone();
                                pruned.sessions.retain(|s| s.until > now);
                                proptest::prop_assert_eq!(&r, &pruned);
                            }
                            Err(e) => proptest::prop_assert!(false, "unexpected {:?}", e),
                        }
                    }
                    Op::Touch(sid) => {
                        let alive = r.touch(&sid.to_string(), &p.sessions, now);
                        proptest::prop_assert!(!alive || mode != SingleSession::Off);
                    }
                    Op::Logout(sid) => r.end_session(&sid.to_string()),
                    Op::Change(password) => {
                        r.password_changed(fp(password), &p.passwords, now);
                        proptest::prop_assert!(r.reuses(&fp(password), &p.passwords));
                        proptest::prop_assert_eq!(r.must_change, None);
                    }
                    Op::AllowMultiple(allow) => r.apply(&UserPatch { allow_multiple_sessions: Some(allow), ..UserPatch::default() }, now),
                    Op::Wait(seconds) => now += u64::from(seconds),
                }
                let mut seen = std::collections::HashSet::new();
                proptest::prop_assert!(r.history.iter().all(|h| seen.insert(h.0)));
                proptest::prop_assert!(r.history.len() <= MAX_HISTORY);
                let live = r.sessions.iter().filter(|s| s.until > now).count();
                proptest::prop_assert!(live <= MAX_SESSIONS);
                ever_multiple |= r.allow_multiple_sessions;
                if !ever_multiple {
                    proptest::prop_assert!(live <= 1, "{} live sessions", live);
                }
            }
        }
    }
}
