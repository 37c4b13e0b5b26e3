//! Login lockout: failed attempts per account, lockout for a while after
//! the limit, longer lockouts for accounts locked again (escalation with a
//! cap), permanent lockout after repeated lockouts, and the administrator's
//! unlock. Plain state the edge keeps in the account's Durable Object, so
//! concurrent failures are counted exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::policy::LoginPolicy;

/// The lockout state of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLock {
    /// Failed attempts since the last success or lockout.
    pub failures: u32,
    /// End of the current lockout (unix seconds).
    pub locked_until: Option<u64>,
    /// Lockouts so far (drives escalation and permanent lockout).
    pub lockouts: u32,
    /// Locked until an administrator unlocks.
    pub permanent: bool,
    /// The failures by the login name as typed (accounts whose names fold
    /// to this key share the count, but a good login clears only its own
    /// spelling's: one good login as `Victim` must not clear the failures
    /// counted against `victim`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_name: BTreeMap<String, u32>,
    /// When the attempt that brought `failures` to the limit began. Its
    /// failure locks the account ([`Self::settle_failure`]); until that
    /// arrives, or if it never does, the lock counts from then (see
    /// [`Self::gate`]), and the next attempt makes it the record's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached_at: Option<u64>,
}

/// Spellings kept apart per account key; beyond, they share one count.
const MAX_SPELLINGS: usize = 32;

/// May a login be attempted now?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Gate {
    /// Yes: forward it to the origin.
    Open,
    /// No: locked for this many more seconds (answer 423 with `Retry-After`).
    Locked {
        /// Seconds until the lockout ends.
        #[serde(rename = "retryAfter")]
        retry_after: u64,
    },
    /// No: locked until an administrator unlocks.
    LockedPermanently,
}

/// A per-isolate copy of the lockouts it has seen answered, so that a
/// stream of attempts on one locked account (credential stuffing) is
/// refused without asking the account's object each time. It lives in a
/// snapshot, so it ends with it: an administrator's unlock reaches the
/// isolate that made it at once and the others within the cache lifetime,
/// as every setting does. Bounded; emptied when full.
#[derive(Debug, Default)]
pub(crate) struct LockCache(std::cell::RefCell<std::collections::HashMap<String, Option<u64>>>);

/// Most accounts [`LockCache`] holds.
const MAX_CACHED_LOCKS: usize = 4096;

impl LockCache {
    /// The gate of `account` at `now`, if this isolate saw it locked and
    /// the lockout still runs.
    pub(crate) fn gate(&self, account: &str, now: u64) -> Option<Gate> {
        match self.0.borrow().get(account)? {
            None => Some(Gate::LockedPermanently),
            Some(until) if *until > now => Some(Gate::Locked {
                retry_after: until - now,
            }),
            Some(_) => None,
        }
    }

    /// Remembers `gate` for `account` as answered at `now` (an open gate
    /// is forgotten).
    pub(crate) fn remember(&self, account: &str, gate: Gate, now: u64) {
        let mut map = self.0.borrow_mut();
        let until = match gate {
            Gate::Open => {
                map.remove(account);
                return;
            }
            Gate::Locked { retry_after } => Some(now.saturating_add(retry_after)),
            Gate::LockedPermanently => None,
        };
        if map.len() >= MAX_CACHED_LOCKS {
            map.clear();
        }
        map.insert(account.to_owned(), until);
    }
}

/// What one failed attempt led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Still open; this many attempts are left (when reporting is on).
    AttemptsLeft(Option<u32>),
    /// This failure locked the account.
    Locked(Gate),
}

impl AccountLock {
    /// The gate at `now`: the record's lockout, or the one the attempts
    /// counted up to the limit start (from the last one's start) while it
    /// runs.
    pub fn gate(&self, policy: &LoginPolicy, now: u64) -> Gate {
        match self.held(policy, now) {
            Gate::Open => self.pending_lock(policy, now).unwrap_or(Gate::Open),
            gate => gate,
        }
    }

    /// The record's own lockout at `now`.
    fn held(&self, policy: &LoginPolicy, now: u64) -> Gate {
        if !policy.lockout_enabled {
            return Gate::Open;
        }
        if self.permanent {
            return Gate::LockedPermanently;
        }
        match self.locked_until {
            Some(until) if now < until => Gate::Locked {
                retry_after: until - now,
            },
            _ => Gate::Open,
        }
    }

    /// The lockout the attempts counted up to the limit start, from
    /// `reached_at`, while it runs at `now`.
    fn pending_lock(&self, policy: &LoginPolicy, now: u64) -> Option<Gate> {
        let at = self
            .reached_at
            .filter(|_| self.failures >= policy.max_failed_attempts)?;
        let mut locked = self.clone();
        locked.lock(policy, at);
        match locked.held(policy, now) {
            Gate::Open => None,
            gate => Some(gate),
        }
    }

    /// Starts a login attempt: refuses it while locked, and otherwise counts
    /// it as a failure in advance (its success is settled by
    /// [`Self::settle_success`]; its failure needs nothing more unless it
    /// is the one that reaches the limit, see [`Self::failing`]). Counting
    /// before the origin answers means parallel guesses cannot exceed the
    /// limit: once the reserved attempts reach it, the next attempt locks
    /// the account (from the start of the one that reached it) and
    /// in-flight successes open no session.
    pub fn begin_attempt(&mut self, policy: &LoginPolicy, now: u64, name: &str) -> Gate {
        let gate = self.held(policy, now);
        if gate != Gate::Open || !policy.lockout_enabled {
            return gate;
        }
        if self.locked_until.is_some_and(|until| now >= until) {
            self.locked_until = None;
        }
        if self.failures >= policy.max_failed_attempts {
            // A record from before `reached_at` was kept locks from now.
            self.lock(policy, self.reached_at.unwrap_or(now));
            let gate = self.held(policy, now);
            if gate != Gate::Open {
                return gate;
            }
            // That lockout has run out: this attempt starts a fresh count.
            self.locked_until = None;
        }
        self.failures += 1;
        let spelling = self.spelling(name);
        *self.by_name.entry(spelling).or_default() += 1;
        if self.failures >= policy.max_failed_attempts {
            self.reached_at = Some(now);
        }
        Gate::Open
    }

    /// What a failure of the attempt [`Self::begin_attempt`] just opened at
    /// `now` leads to, read off the state it left: the lockout it starts
    /// (confirmed by [`Self::settle_failure`] when it happens), or the
    /// attempts left (as of the attempt's start: parallel attempts of the
    /// same account may have used some since). The attempt is already
    /// counted, so a failure that does not lock needs no second request.
    pub fn failing(&self, policy: &LoginPolicy, now: u64) -> Failure {
        if !policy.lockout_enabled {
            return Failure::AttemptsLeft(None);
        }
        if let Some(gate) = self.pending_lock(policy, now) {
            return Failure::Locked(gate);
        }
        let left = policy.max_failed_attempts.saturating_sub(self.failures);
        Failure::AttemptsLeft(policy.report_attempts_left.then_some(left))
    }

    /// The key `name`'s failures are counted under.
    fn spelling(&self, name: &str) -> String {
        let name: String = name.trim().chars().take(256).collect();
        if self.by_name.contains_key(&name) || self.by_name.len() < MAX_SPELLINGS {
            name
        } else {
            String::new()
        }
    }

    /// The origin refused an attempt started with [`Self::begin_attempt`]
    /// whose failure [`Self::failing`] said would lock the account: it
    /// locks now if the count is still at the limit (a parallel success or
    /// release may have taken it below). Other failures need no call.
    pub fn settle_failure(&mut self, policy: &LoginPolicy, now: u64) -> Failure {
        let gate = self.held(policy, now);
        if !policy.lockout_enabled {
            return Failure::AttemptsLeft(None);
        }
        if gate != Gate::Open {
            return Failure::Locked(gate);
        }
        if self.failures >= policy.max_failed_attempts {
            return Failure::Locked(self.lock(policy, now));
        }
        let left = policy.max_failed_attempts - self.failures;
        Failure::AttemptsLeft(policy.report_attempts_left.then_some(left))
    }

    /// The origin accepted an attempt started with [`Self::begin_attempt`]
    /// as `name`. Returns the gate: if a parallel attempt locked the
    /// account meanwhile, the success must not open a session. Only the
    /// failures counted against this spelling are cleared (and those from
    /// before spellings were counted).
    pub fn settle_success(&mut self, policy: &LoginPolicy, now: u64, name: &str) -> Gate {
        let gate = self.held(policy, now);
        if gate == Gate::Open {
            let spelling = self.spelling(name);
            self.by_name.remove(&spelling);
            self.failures = self.by_name.values().sum();
            self.below_limit(policy);
        }
        gate
    }

    /// Gives back an attempt started with [`Self::begin_attempt`] as
    /// `name` that the origin never judged (it failed, or did not answer).
    pub fn release(&mut self, policy: &LoginPolicy, name: &str) {
        self.failures = self.failures.saturating_sub(1);
        let spelling = self.spelling(name);
        if let Some(count) = self.by_name.get_mut(&spelling) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.by_name.remove(&spelling);
            }
        }
        self.below_limit(policy);
    }

    /// Below the limit again, no lockout is pending.
    fn below_limit(&mut self, policy: &LoginPolicy) {
        if self.failures < policy.max_failed_attempts {
            self.reached_at = None;
        }
    }

    fn lock(&mut self, policy: &LoginPolicy, now: u64) -> Gate {
        self.failures = 0;
        self.by_name.clear();
        self.reached_at = None;
        self.lockouts = self.lockouts.saturating_add(1);
        if policy.permanent_after_lockouts > 0 && self.lockouts >= policy.permanent_after_lockouts {
            self.permanent = true;
            return Gate::LockedPermanently;
        }
        let length = lockout_length(policy, self.lockouts - 1);
        self.locked_until = Some(now.saturating_add(length));
        Gate::Locked {
            retry_after: length,
        }
    }

    /// Records a failed login at `now` in one step (begin and settle):
    /// the tests' model of a lockout, which the two-step flow must match.
    #[cfg(test)]
    fn record_failure(&mut self, policy: &LoginPolicy, now: u64) -> Failure {
        if !policy.lockout_enabled {
            return Failure::AttemptsLeft(None);
        }
        let gate = self.gate(policy, now);
        if gate != Gate::Open {
            // Attempts that were already in flight when the account locked
            // neither extend the lockout nor count toward the next one.
            return Failure::Locked(gate);
        }
        if self.locked_until.is_some_and(|until| now >= until) {
            // A lockout that has run out starts a fresh count.
            self.locked_until = None;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures < policy.max_failed_attempts {
            let left = policy.max_failed_attempts - self.failures;
            return Failure::AttemptsLeft(policy.report_attempts_left.then_some(left));
        }
        self.failures = 0;
        self.lockouts = self.lockouts.saturating_add(1);
        if policy.permanent_after_lockouts > 0 && self.lockouts >= policy.permanent_after_lockouts {
            self.permanent = true;
            return Failure::Locked(Gate::LockedPermanently);
        }
        let length = lockout_length(policy, self.lockouts - 1);
        self.locked_until = Some(now.saturating_add(length));
        Failure::Locked(Gate::Locked {
            retry_after: length,
        })
    }

    /// Records a successful login: the failure count starts again.
    #[cfg(test)]
    fn record_success(&mut self) {
        self.failures = 0;
    }

    /// The administrator's unlock (also lifts a permanent lockout).
    pub fn unlock(&mut self) {
        self.failures = 0;
        self.by_name.clear();
        self.reached_at = None;
        self.locked_until = None;
        self.permanent = false;
    }
}

/// The key an account's lockout is kept under: the login name after NFKC,
/// trimmed and lowercased, at most 256 code points (so `ａlice` and `Alice`
/// share `alice`'s counter).
#[cfg(feature = "nfkc")]
pub fn account_key(login: &str) -> String {
    crate::text::nfkc(login.trim())
        .to_lowercase()
        .chars()
        .take(256)
        .collect()
}

/// Length of the lockout after `previous` earlier lockouts.
pub(crate) fn lockout_length(policy: &LoginPolicy, previous: u32) -> u64 {
    crate::policy::escalated(
        policy.lockout_seconds,
        policy.lockout_escalation_factor,
        policy.max_lockout_seconds,
        previous,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            max_failed_attempts: 3,
            lockout_seconds: 60,
            lockout_escalation_factor: 2,
            max_lockout_seconds: 200,
            ..LoginPolicy::default()
        }
    }

    /// An account whose three attempts (`policy`'s limit) began at 0, 1, 2.
    fn at_the_limit(p: &LoginPolicy, name: &str) -> AccountLock {
        let mut a = AccountLock::default();
        for t in 0..3 {
            assert_eq!(a.begin_attempt(p, t, name), Gate::Open);
        }
        a
    }

    #[test]
    fn a_good_login_clears_only_its_own_spelling() {
        let p = LoginPolicy::default();
        let mut a = AccountLock::default();
        for _ in 0..4 {
            assert_eq!(a.begin_attempt(&p, 0, "victim"), Gate::Open);
            a.settle_failure(&p, 0);
        }
        assert_eq!(a.begin_attempt(&p, 0, "Victim"), Gate::Open);
        assert_eq!(a.settle_success(&p, 0, "Victim"), Gate::Open);
        assert_eq!(a.failures, 4, "Victim's success leaves victim's failures");
        assert_eq!(a.begin_attempt(&p, 0, "victim"), Gate::Open);
        assert!(matches!(a.settle_failure(&p, 0), Failure::Locked(_)));
        let mut b = AccountLock::default();
        b.begin_attempt(&p, 0, "bob");
        b.settle_failure(&p, 0);
        b.begin_attempt(&p, 0, "bob");
        b.release(&p, "bob");
        assert_eq!(b.failures, 1, "a released attempt is given back");
        b.begin_attempt(&p, 0, "bob");
        b.settle_success(&p, 0, "bob");
        assert_eq!(b.failures, 0);
    }

    #[test]
    fn locks_at_exactly_the_limit_and_reports_attempts_left() {
        let p = policy();
        let mut a = AccountLock::default();
        assert_eq!(a.record_failure(&p, 0), Failure::AttemptsLeft(Some(2)));
        assert_eq!(a.record_failure(&p, 1), Failure::AttemptsLeft(Some(1)));
        assert_eq!(a.gate(&p, 1), Gate::Open);
        assert_eq!(
            a.record_failure(&p, 2),
            Failure::Locked(Gate::Locked { retry_after: 60 })
        );
        assert_eq!(a.gate(&p, 30), Gate::Locked { retry_after: 32 });
        assert_eq!(
            a.record_failure(&p, 30),
            Failure::Locked(Gate::Locked { retry_after: 32 })
        );
        assert_eq!(a.failures, 0, "failures during a lockout do not count");
        assert_eq!(a.gate(&p, 62), Gate::Open);
    }

    #[test]
    #[cfg(feature = "nfkc")]
    fn account_keys_fold_width_and_case() {
        assert_eq!(account_key(" ＡLice "), "alice");
        assert_eq!(account_key(&"x".repeat(1000)).len(), 256);
    }

    #[test]
    fn escalation_cap_and_permanent() {
        let mut p = policy();
        p.permanent_after_lockouts = 4;
        let mut a = AccountLock::default();
        let mut now = 0;
        let mut lengths = vec![];
        for _ in 0..3 {
            let mut outcome = Failure::AttemptsLeft(None);
            for _ in 0..3 {
                outcome = a.record_failure(&p, now);
            }
            let Failure::Locked(Gate::Locked { retry_after }) = outcome else {
                panic!("{outcome:?}")
            };
            lengths.push(retry_after);
            now += retry_after;
        }
        assert_eq!(lengths, vec![60, 120, 200]);
        for _ in 0..3 {
            a.record_failure(&p, now);
        }
        assert_eq!(a.gate(&p, now + 10_000), Gate::LockedPermanently);
        a.unlock();
        assert_eq!(a.gate(&p, now), Gate::Open);
    }

    #[test]
    fn success_resets_and_switch_off_opens() {
        let mut p = policy();
        let mut a = AccountLock::default();
        a.record_failure(&p, 0);
        a.record_failure(&p, 0);
        a.record_success();
        assert_eq!(a.record_failure(&p, 0), Failure::AttemptsLeft(Some(2)));
        p.report_attempts_left = false;
        assert_eq!(a.record_failure(&p, 0), Failure::AttemptsLeft(None));
        p.lockout_enabled = false;
        a.locked_until = Some(100);
        assert_eq!(a.gate(&p, 0), Gate::Open);
    }

    #[test]
    fn parallel_attempts_cannot_exceed_the_limit() {
        let p = policy();
        let mut a = AccountLock::default();
        // Twelve attempts start before any answer arrives.
        let opened = (0..12)
            .filter(|_| a.begin_attempt(&p, 0, "alice") == Gate::Open)
            .count();
        assert_eq!(opened, 3, "only max_failed_attempts reach the origin");
        assert_ne!(a.gate(&p, 0), Gate::Open, "the fourth locked the account");
        // A correct guess among the three does not open a session now.
        assert_ne!(a.settle_success(&p, 0, "alice"), Gate::Open);
        assert!(matches!(a.settle_failure(&p, 0), Failure::Locked(_)));
    }

    #[test]
    fn one_request_per_failure_locks_at_the_limit_from_the_attempt_that_reached_it() {
        let p = policy();
        let mut a = AccountLock::default();
        for (t, left) in [(0, 2), (1, 1)] {
            assert_eq!(a.begin_attempt(&p, t, "alice"), Gate::Open);
            assert_eq!(a.failing(&p, t), Failure::AttemptsLeft(Some(left)));
        }
        assert_eq!(a.begin_attempt(&p, 2, "alice"), Gate::Open);
        let locked = Gate::Locked { retry_after: 60 };
        assert_eq!(a.failing(&p, 2), Failure::Locked(locked));
        // Nothing more is sent for that failure; the account reads locked.
        assert_eq!(a.gate(&p, 12), Gate::Locked { retry_after: 50 });
        assert_eq!(
            a.begin_attempt(&p, 12, "alice"),
            Gate::Locked { retry_after: 50 }
        );
        assert_eq!(
            (a.lockouts, a.failures),
            (1, 0),
            "the lockout is the record's own"
        );
        // After it ran out, a fresh count (the next lockout escalates).
        assert_eq!(a.begin_attempt(&p, 62, "alice"), Gate::Open);
        assert_eq!(a.failing(&p, 62), Failure::AttemptsLeft(Some(2)));
    }

    #[test]
    fn a_lockout_nobody_tried_to_pass_has_still_run_out_when_they_come_back() {
        let p = policy();
        let mut a = at_the_limit(&p, "alice");
        assert_eq!(a.gate(&p, 1000), Gate::Open, "locked from t=2 for 60 s");
        assert_eq!(a.begin_attempt(&p, 1000, "alice"), Gate::Open);
        assert_eq!((a.lockouts, a.failures), (1, 1));
        assert_eq!(a.failing(&p, 1000), Failure::AttemptsLeft(Some(2)));
    }

    #[test]
    fn the_attempt_that_reached_the_limit_may_still_succeed() {
        let p = policy();
        let mut a = at_the_limit(&p, "alice");
        assert_eq!(a.settle_success(&p, 3, "alice"), Gate::Open);
        assert_eq!((a.failures, a.reached_at), (0, None));
        assert_eq!(a.gate(&p, 3), Gate::Open);
        let mut b = at_the_limit(&p, "bob");
        b.release(&p, "bob");
        assert_eq!(
            (b.failures, b.reached_at),
            (2, None),
            "a released attempt locks nothing"
        );
        assert_eq!(b.gate(&p, 3), Gate::Open);
    }

    #[test]
    fn a_lock_announced_at_begin_is_only_held_if_the_count_still_reaches_the_limit() {
        let p = policy();
        // Three attempts in flight; the first is given back (origin error)
        // before the third fails: that failure does not lock.
        let mut a = at_the_limit(&p, "alice");
        assert!(matches!(a.failing(&p, 2), Failure::Locked(_)));
        a.release(&p, "alice");
        assert_eq!(a.settle_failure(&p, 4), Failure::AttemptsLeft(Some(1)));
        assert_eq!(a.gate(&p, 4), Gate::Open);
        // The same with the first one the right password.
        let mut b = at_the_limit(&p, "alice");
        assert_eq!(b.settle_success(&p, 3, "alice"), Gate::Open);
        assert_eq!(b.settle_failure(&p, 4), Failure::AttemptsLeft(Some(3)));
        assert_eq!(b.gate(&p, 4), Gate::Open);
        // Nobody settled meanwhile: it locks from the failure.
        let mut c = at_the_limit(&p, "alice");
        assert_eq!(
            c.settle_failure(&p, 4),
            Failure::Locked(Gate::Locked { retry_after: 60 })
        );
        assert_eq!((c.lockouts, c.failures), (1, 0));
        assert_eq!(c.gate(&p, 30), Gate::Locked { retry_after: 34 });
    }

    #[test]
    fn a_record_from_before_reached_at_locks_from_the_next_attempt() {
        let p = policy();
        let mut a = AccountLock {
            failures: 3,
            ..AccountLock::default()
        };
        assert_eq!(a.gate(&p, 5), Gate::Open);
        assert_eq!(
            a.begin_attempt(&p, 5, "alice"),
            Gate::Locked { retry_after: 60 }
        );
    }

    #[test]
    fn begin_and_settle_still_match_record_failure() {
        let p = policy();
        let mut a = AccountLock::default();
        assert_eq!(a.begin_attempt(&p, 0, "alice"), Gate::Open);
        assert_eq!(a.settle_failure(&p, 0), Failure::AttemptsLeft(Some(2)));
        assert_eq!(a.begin_attempt(&p, 0, "alice"), Gate::Open);
        assert_eq!(a.settle_failure(&p, 0), Failure::AttemptsLeft(Some(1)));
        assert_eq!(a.begin_attempt(&p, 0, "alice"), Gate::Open);
        assert_eq!(
            a.settle_failure(&p, 0),
            Failure::Locked(Gate::Locked { retry_after: 60 })
        );
        assert_eq!(
            a.begin_attempt(&p, 1, "alice"),
            Gate::Locked { retry_after: 59 }
        );
        assert_eq!(a.lockouts, 1);
    }

    proptest! {
        /// One request per failed login (Begin, then nothing) and one more
        /// per success decide as the one-step model does, over any run of
        /// failures and successes at any pace, escalation and permanent
        /// lockout included.
        #[test]
        fn one_request_per_failure_matches_the_model(
            attempts in proptest::collection::vec((any::<bool>(), 0u64..150), 0..60)
        ) {
            let p = LoginPolicy { permanent_after_lockouts: 4, ..policy() };
            let (mut model, mut real) = (AccountLock::default(), AccountLock::default());
            let mut now = 0;
            for (fails, wait) in attempts {
                now += wait;
                let gate = real.begin_attempt(&p, now, "alice");
                if fails {
                    let expected = model.record_failure(&p, now);
                    let got = match gate {
                        Gate::Open => real.failing(&p, now),
                        locked => Failure::Locked(locked),
                    };
                    prop_assert_eq!(got, expected);
                } else {
                    let expected = model.gate(&p, now);
                    if expected == Gate::Open {
                        model.record_success();
                    }
                    let got = match gate {
                        Gate::Open => real.settle_success(&p, now, "alice"),
                        locked => locked,
                    };
                    prop_assert_eq!(got, expected);
                }
                prop_assert_eq!(real.gate(&p, now), model.gate(&p, now));
            }
        }

        #[test]
        fn never_locks_before_the_limit(n in 0u32..10) {
            let p = policy();
            let mut a = AccountLock::default();
            for i in 0..n {
                let out = a.record_failure(&p, 0);
                let locked = matches!(out, Failure::Locked(_));
                prop_assert_eq!(locked, i + 1 == p.max_failed_attempts);
                if locked { break; }
            }
        }
    }
}
