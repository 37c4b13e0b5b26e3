//! Rate limits by any key: the policy's `rateLimits` rules, the two
//! algorithms that decide them, the bucket a request is counted in, and
//! the `RateLimit-Policy` / `RateLimit` header fields
//! (draft-ietf-httpapi-ratelimit-headers-11).
//!
//! Each bucket (one rule, one key) is one `RateLimiter` Durable Object:
//! it handles one request at a time, so its count is exact across
//! isolates and colos, never approximated. The algorithms:
//!
//! - `sliding-window` is a **sliding log**: the bucket keeps the time of
//!   every request it allowed in the last `windowSeconds`, and allows one
//!   more only while fewer than `limit` are in it. Exact: no interval of
//!   `windowSeconds` ever holds more than `limit` allowed requests, and a
//!   request is refused only when it would. It costs one stored time per
//!   allowed request, so `limit` is at most [`MAX_SLIDING_LIMIT`].
//! - `token-bucket` holds up to `limit` tokens and gains `limit` per
//!   `windowSeconds`, continuously; a request takes one. Exact in integer
//!   arithmetic (a token is `windowSeconds × 1000` units, and every
//!   millisecond adds `limit` units): no rounding drift.

use std::collections::VecDeque;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::Error;
use crate::paths::PathPatterns;

/// Most rules in a policy.
pub const MAX_RULES: usize = 32;
/// The largest `limit` of a `sliding-window` rule (its log's length).
pub const MAX_SLIDING_LIMIT: u32 = 10_000;
/// The methods a rule may name.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// One rate limit rule of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitRule {
    /// Names the rule in headers, refusals and the audit log: 1 to 64 of
    /// `A–Z a–z 0–9 _ . -`, unique in the policy.
    pub id: String,
    /// Which requests it counts.
    #[serde(rename = "match")]
    pub matches: RateMatch,
    /// What it counts by: `"ip"` (the client key: the address, or its
    /// IPv6 prefix), `"user"` (the verified session's user), or
    /// `"header:NAME"`, `"cookie:NAME"`, `"query:NAME"`.
    pub key: String,
    /// How it counts.
    pub algorithm: RateAlgorithm,
    /// Requests per window (the bucket's size for `token-bucket`).
    pub limit: u32,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// What a request over the limit gets. Defaults to `"deny"`.
    #[serde(default)]
    pub action: RateAction,
    /// `"monitor"`: a request over the limit passes, and the audit log
    /// says it would have been refused. Defaults to `"enforce"`.
    #[serde(default)]
    pub mode: crate::mode::Mode,
}

/// The requests a rule counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateMatch {
    /// A path pattern like the policy's others (exact, or a prefix before
    /// a trailing `*`), matched on every reading of the request's path.
    pub path: String,
    /// Methods (upper case); empty: every method. `GET` also counts `HEAD`,
    /// which origins answer with their GET handler.
    #[serde(default)]
    pub methods: Vec<String>,
}

/// How a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum RateAlgorithm {
    /// A sliding log: exact over any window.
    #[serde(rename = "sliding-window")]
    SlidingWindow,
    /// A token bucket: bursts up to `limit`, refilled continuously.
    #[serde(rename = "token-bucket")]
    TokenBucket,
}

impl RateAlgorithm {
    /// As the policy spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SlidingWindow => "sliding-window",
            Self::TokenBucket => "token-bucket",
        }
    }
}

/// What a request over the limit gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum RateAction {
    /// 429 `rate_limited`.
    #[default]
    Deny,
    /// A form post must carry a solved CAPTCHA (the configured one) to go
    /// on; any other request, or any request while no CAPTCHA is
    /// configured, is denied.
    Captcha,
}

/// Where a rule's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The client key.
    Ip,
    /// The verified session's user id.
    User,
    /// A request header (lower case).
    Header(String),
    /// A cookie.
    Cookie(String),
    /// A query parameter.
    Query(String),
}

impl KeySource {
    /// Reads a rule's `key`; `None` when it is not one.
    pub fn parse(key: &str) -> Option<Self> {
        let token = |name: &str| {
            !name.is_empty()
                && name.len() <= 128
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        match key.split_once(':') {
            None if key == "ip" => Some(Self::Ip),
            None if key == "user" => Some(Self::User),
            Some(("header", name)) if token(name) => Some(Self::Header(name.to_ascii_lowercase())),
            Some(("cookie", name)) if token(name) => Some(Self::Cookie(name.to_owned())),
            Some(("query", name))
                if !name.is_empty()
                    && name.len() <= 128
                    && !name.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                Some(Self::Query(name.to_owned()))
            }
            _ => None,
        }
    }

    /// The kind, as the key's hash is salted with it.
    fn kind(&self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::User => "user",
            Self::Header(_) => "header",
            Self::Cookie(_) => "cookie",
            Self::Query(_) => "query",
        }
    }
}

/// Checks the rules; an error names the field (`rateLimits[2].key`).
pub(crate) fn validate(rules: &[RateLimitRule]) -> Result<(), Error> {
    if rules.len() > MAX_RULES {
        return Err(Error::invalid(
            "rateLimits",
            format!("at most {MAX_RULES} rules"),
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        let f = format!("rateLimits[{i}]");
        let id_ok = (1..=64).contains(&rule.id.len())
            && rule
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !id_ok {
            return Err(Error::invalid(
                &format!("{f}.id"),
                "must be 1 to 64 letters, digits, '_', '.' or '-'",
            ));
        }
        if rules[..i].iter().any(|r| r.id == rule.id) {
            return Err(Error::invalid(
                &format!("{f}.id"),
                format!("{:?} names another rule too", rule.id),
            ));
        }
        crate::paths::check_path(&format!("{f}.match.path"), &rule.matches.path)?;
        for (j, method) in rule.matches.methods.iter().enumerate() {
            let field = format!("{f}.match.methods[{j}]");
            if !METHODS.contains(&method.as_str()) {
                return Err(Error::invalid(
                    &field,
                    format!("must be one of {}", METHODS.join(", ")),
                ));
            }
            if rule.matches.methods[..j].contains(method) {
                return Err(Error::invalid(&field, "is listed twice"));
            }
        }
        if KeySource::parse(&rule.key).is_none() {
            return Err(Error::invalid(
                &format!("{f}.key"),
                "must be \"ip\", \"user\", \"header:NAME\", \"cookie:NAME\" or \"query:NAME\"",
            ));
        }
        if rule.algorithm == RateAlgorithm::SlidingWindow && rule.limit > MAX_SLIDING_LIMIT {
            return Err(Error::invalid(
                &format!("{f}.limit"),
                format!(
                    "a sliding-window rule allows at most {MAX_SLIDING_LIMIT} requests per window; use token-bucket for more"
                ),
            ));
        }
    }
    Ok(())
}

/// A rule prepared for matching (in the snapshot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledRule {
    /// The rule.
    pub rule: RateLimitRule,
    /// Its path, canonical.
    pub path: PathPatterns,
    /// Its key.
    pub source: KeySource,
}

/// The policy's rules prepared; a rule whose key does not parse (never in
/// a validated policy) is left out.
pub fn compile(rules: &[RateLimitRule]) -> Vec<CompiledRule> {
    rules
        .iter()
        .filter_map(|rule| {
            Some(CompiledRule {
                path: PathPatterns::new(std::slice::from_ref(&rule.matches.path)),
                source: KeySource::parse(&rule.key)?,
                rule: rule.clone(),
            })
        })
        .collect()
}

impl CompiledRule {
    /// Whether the rule counts a request with `method` (case folded: some
    /// servers take `patch` as `PATCH`).
    pub fn counts_method(&self, method: &str) -> bool {
        let methods = &self.rule.matches.methods;
        methods.is_empty()
            || methods.iter().any(|m| {
                m.eq_ignore_ascii_case(method)
                    || (m == "GET" && method.eq_ignore_ascii_case("HEAD"))
            })
    }

    /// The limits the bucket object applies.
    pub fn limits(&self) -> Limits {
        Limits {
            algorithm: self.rule.algorithm,
            limit: self.rule.limit.max(1),
            window_ms: self.rule.window_seconds.max(1).saturating_mul(1000),
        }
    }
}

/// The hash a key is known by (bucket names, the audit log): keyed with
/// the pepper, so neither a raw API key or cookie value nor a guessable
/// digest of one is stored. `None`: the request carries no key (the
/// rule's one shared bucket, `"absent"`).
pub fn key_hash(pepper: &str, rule: &str, source: &KeySource, value: Option<&str>) -> String {
    let Some(value) = value else {
        return "absent".to_owned();
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    for part in [
        b"ratelimit".as_slice(),
        rule.as_bytes(),
        source.kind().as_bytes(),
    ] {
        mac.update(part);
        mac.update(b"\0");
    }
    mac.update(value.as_bytes());
    crate::text::hex(&mac.finalize().into_bytes()[..16])
}

/// The name of the `RateLimiter` object of rule `rule`'s bucket `hash`.
pub fn bucket_name(rule: &str, hash: &str) -> String {
    format!("{rule}:{hash}")
}

/// What a bucket applies: the rule's algorithm, limit and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// How it counts.
    pub algorithm: RateAlgorithm,
    /// Requests per window (at least 1).
    pub limit: u32,
    /// The window in milliseconds (at least 1).
    pub window_ms: u64,
}

/// A bucket's decision on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Whether the request was allowed (and counted).
    pub allowed: bool,
    /// Requests still allowed now.
    pub remaining: u32,
    /// Milliseconds until one more request's worth is back in the quota
    /// (0 when it is full); for a refusal, when to retry.
    pub next_ms: u64,
}

/// A sliding log: the times (unix milliseconds, oldest first) of the
/// requests allowed in the last window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlidingLog {
    /// Allowed requests' times, oldest first.
    pub times: VecDeque<u64>,
}

/// What a sliding log's decision changed, for the object to store: every
/// time up to `expired_through` left the log, `added` joined it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogChange {
    /// Times up to this one (inclusive) left.
    pub expired_through: Option<u64>,
    /// This time was added.
    pub added: Option<u64>,
}

impl SlidingLog {
    /// Decides a request at `now`: a time `t` stays in the log while
    /// `t + window > now`.
    pub fn take(&mut self, now: u64, limits: Limits) -> (Decision, LogChange) {
        let mut change = LogChange::default();
        while let Some(&oldest) = self.times.front() {
            if oldest.saturating_add(limits.window_ms) > now {
                break;
            }
            change.expired_through = Some(oldest);
            self.times.pop_front();
        }
        // A clock that stepped back never reorders the log.
        let now = now.max(self.times.back().copied().unwrap_or(0));
        let limit = limits.limit as usize;
        let allowed = self.times.len() < limit;
        if allowed {
            self.times.push_back(now);
            change.added = Some(now);
        }
        let remaining = limit.saturating_sub(self.times.len());
        let next_ms = match self.times.front() {
            Some(&oldest) if remaining < limit => oldest
                .saturating_add(limits.window_ms)
                .saturating_sub(now)
                .max(1),
            _ => 0,
        };
        let decision = Decision {
            allowed,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            next_ms,
        };
        (decision, change)
    }

    /// Whether the log will be empty at `now` (the object may forget it).
    pub fn idle_at(&self, now: u64, limits: Limits) -> bool {
        self.times
            .back()
            .is_none_or(|&newest| newest.saturating_add(limits.window_ms) <= now)
    }
}

/// A token bucket in integer units: one token is `window_ms` units, and
/// every millisecond adds `limit` units, up to `limit` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBucket {
    /// Units held.
    pub level: u64,
    /// When `level` was last brought up to date (unix milliseconds).
    pub at: u64,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn full(now: u64, limits: Limits) -> Self {
        Self {
            level: capacity(limits),
            at: now,
        }
    }

    /// Decides a request at `now`.
    pub fn take(&mut self, now: u64, limits: Limits) -> Decision {
        let cost = limits.window_ms;
        let rate = u64::from(limits.limit);
        let elapsed = now.saturating_sub(self.at);
        self.level = self
            .level
            .saturating_add(elapsed.saturating_mul(rate))
            .min(capacity(limits));
        self.at = self.at.max(now);
        let allowed = self.level >= cost;
        if allowed {
            self.level -= cost;
        }
        let remaining = self.level / cost;
        let next_ms = if self.level >= capacity(limits) {
            0
        } else {
            ((remaining + 1) * cost - self.level).div_ceil(rate)
        };
        Decision {
            allowed,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            next_ms,
        }
    }

    /// The same bucket under new limits: the same share of a token per
    /// unit, at most full.
    pub fn rescaled(self, from: Limits, to: Limits) -> Self {
        let level = u128::from(self.level) * u128::from(to.window_ms) / u128::from(from.window_ms);
        Self {
            level: u64::try_from(level).unwrap_or(u64::MAX).min(capacity(to)),
            at: self.at,
        }
    }

    /// Whether the bucket is full at `now` (the object may forget it).
    pub fn idle_at(&self, now: u64, limits: Limits) -> bool {
        let elapsed = now.saturating_sub(self.at);
        self.level
            .saturating_add(elapsed.saturating_mul(u64::from(limits.limit)))
            >= capacity(limits)
    }
}

fn capacity(limits: Limits) -> u64 {
    u64::from(limits.limit).saturating_mul(limits.window_ms)
}

/// A bucket's whole state, as its object stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Counter {
    /// A sliding log.
    Log(SlidingLog),
    /// A token bucket.
    Bucket(TokenBucket),
}

/// A bucket's state with the limits it was counted under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketState {
    /// The limits of its last request.
    pub limits: Limits,
    /// The count.
    pub counter: Counter,
}

impl BucketState {
    /// A fresh bucket under `limits` at `now`.
    pub fn fresh(now: u64, limits: Limits) -> Self {
        let counter = match limits.algorithm {
            RateAlgorithm::SlidingWindow => Counter::Log(SlidingLog::default()),
            RateAlgorithm::TokenBucket => Counter::Bucket(TokenBucket::full(now, limits)),
        };
        Self { limits, counter }
    }

    /// Decides one request at `now` under `limits` (the rule's, which may
    /// have changed since the last request: a new algorithm starts the
    /// bucket afresh; a new limit or window keeps what was counted).
    pub fn take(&mut self, now: u64, limits: Limits) -> (Decision, LogChange) {
        if self.limits.algorithm != limits.algorithm {
            *self = Self::fresh(now, limits);
        }
        let before = self.limits;
        self.limits = limits;
        match &mut self.counter {
            Counter::Log(log) => log.take(now, limits),
            Counter::Bucket(bucket) => {
                if before != limits {
                    *bucket = bucket.rescaled(before, limits);
                }
                (bucket.take(now, limits), LogChange::default())
            }
        }
    }

    /// Whether the bucket holds nothing worth keeping at `now`.
    pub fn idle_at(&self, now: u64) -> bool {
        match &self.counter {
            Counter::Log(log) => log.idle_at(now, self.limits),
            Counter::Bucket(bucket) => bucket.idle_at(now, self.limits),
        }
    }
}

/// An operation on a `RateLimiter` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RateOp {
    /// Count one request under these limits.
    Take {
        /// The rule's limits.
        limits: Limits,
    },
    /// Spend a built-in CAPTCHA challenge's nonce: the first spend of an
    /// id is allowed, every later one (until it expires) is not.
    Spend {
        /// The nonce.
        id: String,
        /// Until when it stays spent (unix milliseconds).
        until_ms: u64,
    },
}

/// A `RateLimiter`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RateAnswer {
    /// The decision.
    Taken(Decision),
    /// Whether this was the id's first spend.
    Spent {
        /// `true` the first time.
        first: bool,
    },
}

/// Whole seconds, rounded up (a header never says 0 for "not yet").
pub fn seconds_up(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// One rule's item of `RateLimit-Policy`: `"id";q=limit;w=window`.
pub fn policy_item(rule: &RateLimitRule) -> String {
    format!("\"{}\";q={};w={}", rule.id, rule.limit, rule.window_seconds)
}

/// One rule's item of `RateLimit`: `"id";r=remaining;t=seconds`.
pub fn limit_item(rule: &RateLimitRule, decision: &Decision) -> String {
    format!(
        "\"{}\";r={};t={}",
        rule.id,
        decision.remaining,
        seconds_up(decision.next_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits(algorithm: RateAlgorithm, limit: u32, window_ms: u64) -> Limits {
        Limits {
            algorithm,
            limit,
            window_ms,
        }
    }

    #[test]
    fn keys_parse_or_are_refused() {
        assert_eq!(KeySource::parse("ip"), Some(KeySource::Ip));
        assert_eq!(KeySource::parse("user"), Some(KeySource::User));
        assert_eq!(
            KeySource::parse("header:X-API-Key"),
            Some(KeySource::Header("x-api-key".into()))
        );
        assert_eq!(
            KeySource::parse("cookie:sid"),
            Some(KeySource::Cookie("sid".into()))
        );
        assert_eq!(
            KeySource::parse("query:api_key"),
            Some(KeySource::Query("api_key".into()))
        );
        for bad in [
            "",
            "IP",
            "header:",
            "header:a b",
            "cookie:a;b",
            "query:",
            "path:x",
            "ip:1",
        ] {
            assert_eq!(KeySource::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_sliding_log_allows_limit_per_window() {
        let l = limits(RateAlgorithm::SlidingWindow, 3, 1000);
        let mut log = SlidingLog::default();
        let taken: Vec<bool> = [0, 10, 20, 30, 999, 1000, 1001, 1010]
            .iter()
            .map(|&t| log.take(t, l).0.allowed)
            .collect();
        // 0, 10, 20 fill it; 30 and 999 wait; at 1000 the 0 left; at
        // 1001 nothing more left (10 leaves at 1010).
        assert_eq!(taken, [true, true, true, false, false, true, false, true]);
        let (d, _) = log.take(1011, l);
        assert_eq!(
            d,
            Decision {
                allowed: false,
                remaining: 0,
                next_ms: 9
            }
        );
    }

    #[test]
    fn a_token_bucket_refills_continuously() {
        let l = limits(RateAlgorithm::TokenBucket, 2, 1000);
        let mut b = TokenBucket::full(0, l);
        assert_eq!(
            b.take(0, l),
            Decision {
                allowed: true,
                remaining: 1,
                next_ms: 500
            }
        );
        assert_eq!(
            b.take(0, l),
            Decision {
                allowed: true,
                remaining: 0,
                next_ms: 500
            }
        );
        assert_eq!(
            b.take(100, l),
            Decision {
                allowed: false,
                remaining: 0,
                next_ms: 400
            }
        );
        assert!(b.take(500, l).allowed);
        assert!(!b.take(999, l).allowed);
        assert!(b.idle_at(10_000, l));
    }

    #[test]
    fn headers_follow_the_draft() {
        let rule = RateLimitRule {
            id: "api".into(),
            matches: RateMatch {
                path: "/api/*".into(),
                methods: vec![],
            },
            key: "header:x-api-key".into(),
            algorithm: RateAlgorithm::SlidingWindow,
            limit: 100,
            window_seconds: 60,
            action: RateAction::Deny,
            mode: crate::mode::Mode::Enforce,
        };
        assert_eq!(policy_item(&rule), "\"api\";q=100;w=60");
        let d = Decision {
            allowed: true,
            remaining: 7,
            next_ms: 1001,
        };
        assert_eq!(limit_item(&rule, &d), "\"api\";r=7;t=2");
    }

    #[test]
    fn key_hashes_differ_by_rule_kind_and_pepper_and_hide_the_value() {
        let h = key_hash(
            "p",
            "r",
            &KeySource::Header("k".into()),
            Some("secret-api-key"),
        );
        assert_eq!(h.len(), 32);
        assert!(!h.contains("secret"));
        assert_ne!(
            h,
            key_hash(
                "q",
                "r",
                &KeySource::Header("k".into()),
                Some("secret-api-key")
            )
        );
        assert_ne!(
            h,
            key_hash(
                "p",
                "s",
                &KeySource::Header("k".into()),
                Some("secret-api-key")
            )
        );
        assert_ne!(
            h,
            key_hash(
                "p",
                "r",
                &KeySource::Cookie("k".into()),
                Some("secret-api-key")
            )
        );
        assert_eq!(key_hash("p", "r", &KeySource::Ip, None), "absent");
    }

    #[test]
    fn a_changed_rule_keeps_or_restarts_the_count() {
        let a = limits(RateAlgorithm::TokenBucket, 4, 1000);
        let mut s = BucketState::fresh(0, a);
        for _ in 0..4 {
            assert!(s.take(0, a).0.allowed);
        }
        // Twice the window: the empty bucket stays empty.
        let b = limits(RateAlgorithm::TokenBucket, 4, 2000);
        assert!(!s.take(0, b).0.allowed);
        // Another algorithm starts afresh.
        let c = limits(RateAlgorithm::SlidingWindow, 1, 1000);
        assert!(s.take(0, c).0.allowed);
        assert!(!s.take(1, c).0.allowed);
    }

    proptest! {
        /// Exact: no window ever holds more than `limit` allowed requests,
        /// and a request is refused only when the window before it holds
        /// `limit` already.
        #[test]
        fn the_sliding_log_is_exact(
            limit in 1u32..6,
            window in 1u64..50,
            gaps in proptest::collection::vec(0u64..20, 1..80),
        ) {
            let l = limits(RateAlgorithm::SlidingWindow, limit, window);
            let mut log = SlidingLog::default();
            let mut allowed: Vec<u64> = Vec::new();
            let mut now = 0;
            for gap in gaps {
                now += gap;
                let in_window = allowed.iter().filter(|&&t| t + window > now).count();
                let (d, _) = log.take(now, l);
                prop_assert_eq!(d.allowed, in_window < limit as usize);
                if d.allowed {
                    allowed.push(now);
                }
                let after = allowed.iter().filter(|&&t| t + window > now).count();
                prop_assert_eq!(d.remaining as usize, limit as usize - after);
                if !d.allowed {
                    // Retrying at `next_ms` finds room; a moment before, none.
                    let oldest = allowed.iter().copied().find(|&t| t + window > now).unwrap();
                    prop_assert_eq!(now + d.next_ms, oldest + window);
                }
            }
        }

        /// Over any interval of `d` ms a bucket allows at most
        /// `limit + d × limit / window` requests (its size plus its refill),
        /// and refuses only when a reference in exact rationals has less
        /// than one token.
        #[test]
        fn the_token_bucket_is_exact(
            limit in 1u32..6,
            window in 1u64..50,
            gaps in proptest::collection::vec(0u64..20, 1..80),
        ) {
            let l = limits(RateAlgorithm::TokenBucket, limit, window);
            let mut bucket = TokenBucket::full(0, l);
            // Reference: tokens as a fraction num / window.
            let mut num = u128::from(limit) * u128::from(window);
            let cap = num;
            let mut last = 0u64;
            let mut allowed: Vec<u64> = Vec::new();
            let mut now = 0;
            for gap in gaps {
                now += gap;
                num = (num + u128::from(now - last) * u128::from(limit)).min(cap);
                last = now;
                let d = bucket.take(now, l);
                let expect = num >= u128::from(window);
                prop_assert_eq!(d.allowed, expect);
                if expect {
                    num -= u128::from(window);
                    allowed.push(now);
                }
                prop_assert_eq!(u128::from(d.remaining), num / u128::from(window));
            }
            for (i, &start) in allowed.iter().enumerate() {
                for (j, &end) in allowed.iter().enumerate().skip(i) {
                    let n = (j - i + 1) as u128;
                    let bound = u128::from(limit) + u128::from(end - start) * u128::from(limit) / u128::from(window);
                    prop_assert!(n <= bound, "{n} allowed in {start}..={end}");
                }
            }
        }
    }
}
