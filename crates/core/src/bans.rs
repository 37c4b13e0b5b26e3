//! IP bans: who is a client (IPv4 address, IPv6 /64 by default), the sliding
//! window of security warnings that bans an IP, escalation for repeat
//! offenders, the never-ban list, manual bans (everything or writes only)
//! and fraud signals. State is plain data the edge stores in the Durable
//! Object that owns the IP; every decision is made here.
//!
//! CIDR parsing and matching use the `ipnet` crate.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use ipnet::IpNet;

use crate::net::{normalise, parse_net};
use crate::policy::{BanPolicy, ManualBanScope};
use crate::ranges::Ranges;

/// A ban that never ends (until an admin lifts it).
pub const PERMANENT: u64 = u64::MAX;

/// What counts as a security warning (SPEC: "warnings"). A missing or
/// expired session and a 404 are not warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum WarningKind {
    /// A failed login.
    FailedLogin,
    /// A CAPTCHA that did not verify.
    FailedCaptcha,
    /// A missing or wrong XSRF token on an unsafe request.
    BadXsrf,
    /// A forged or tampered session or reset token.
    ForgedToken,
    /// A malformed body on one of the edge's own routes.
    MalformedBody,
    /// An upload refused by the upload rules.
    BlockedUpload,
    /// A wrong or missing application key on the admin API.
    WrongApplicationKey,
    /// The origin answered 403 on a protected path.
    OriginForbidden,
}

/// The warnings and ban history of one client (one IPv4 address or one
/// IPv6 prefix), as the owning Durable Object stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpRecord {
    /// Times (unix seconds) of the warnings still inside the window.
    pub warnings: Vec<u64>,
    /// End of the current ban, if any ([`PERMANENT`] for no end).
    pub banned_until: Option<u64>,
    /// How many times this client has been banned (drives escalation).
    pub ban_count: u32,
    /// Digests of the forged tokens warned about within the window, with
    /// when: one token counts one warning, however many requests carry it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<(String, u64)>,
}

/// Warnings a record keeps at least, whatever `warningsBeforeBan` (the
/// largest `captcha.builtin.raiseAfterWarnings` counts on them).
const KEPT_WARNINGS: usize = 1000;

impl IpRecord {
    /// Whether the client is banned at `now`.
    pub fn is_banned(&self, now: u64) -> bool {
        self.banned_until.is_some_and(|until| now < until)
    }

    /// Records one warning at `now`. Returns the end of the new ban when
    /// this warning completes `warningsBeforeBan` within the window.
    /// Warnings from an already banned client are counted but do not extend
    /// the ban.
    pub fn record_warning(&mut self, policy: &BanPolicy, now: u64) -> Option<u64> {
        self.warnings
            .retain(|&t| now.saturating_sub(t) < policy.window_seconds);
        self.warnings.push(now);
        // Only the latest warnings can complete a ban (or raise the
        // built-in CAPTCHA's difficulty): the record stays bounded however
        // fast one client warns, with bans off too.
        let keep = (policy.warnings_before_ban as usize).max(KEPT_WARNINGS);
        if self.warnings.len() > keep {
            let excess = self.warnings.len() - keep;
            self.warnings.drain(..excess);
        }
        if !policy.enabled || self.is_banned(now) {
            return None;
        }
        if self.warnings.len() < policy.warnings_before_ban as usize {
            return None;
        }
        let until = now.saturating_add(ban_length(policy, self.ban_count));
        self.ban_count = self.ban_count.saturating_add(1);
        self.banned_until = Some(until);
        self.warnings.clear();
        Some(until)
    }

    /// Whether the token with `digest` was already warned about within the
    /// window (remembering it if not; at most 64 are kept).
    pub fn seen_token(&mut self, digest: &str, policy: &BanPolicy, now: u64) -> bool {
        self.tokens
            .retain(|(_, at)| now.saturating_sub(*at) < policy.window_seconds);
        if self.tokens.iter().any(|(d, _)| d == digest) {
            return true;
        }
        if self.tokens.len() >= 64 {
            self.tokens.remove(0);
        }
        self.tokens.push((digest.to_owned(), now));
        false
    }

    /// Lifts the ban (the admin's unban); the history of past bans stays so
    /// escalation still applies to a repeat offender.
    pub fn lift(&mut self) {
        self.banned_until = None;
        self.warnings.clear();
    }
}

/// Length of the ban after `previous` earlier bans: `banSeconds ×
/// escalationFactor^previous`, capped at `maxBanSeconds`.
pub(crate) fn ban_length(policy: &BanPolicy, previous: u32) -> u64 {
    crate::policy::escalated(
        policy.ban_seconds,
        policy.escalation_factor,
        policy.max_ban_seconds,
        previous,
    )
}

/// One active ban in the replica every isolate caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BanEntry {
    /// The banned address or range: a client key or a CIDR.
    pub target: String,
    /// End of the ban (unix seconds), [`PERMANENT`] for none (`null` in JSON).
    #[serde(with = "permanent_as_null")]
    pub until: u64,
    /// What it blocks.
    pub scope: ManualBanScope,
    /// Why: `warnings`, `manual`, `fraud`.
    pub reason: String,
}

/// JSON numbers past 2^53 do not survive JavaScript, so a permanent ban's
/// end is written as `null`.
mod permanent_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(until: &u64, s: S) -> Result<S::Ok, S::Error> {
        if *until == super::PERMANENT {
            s.serialize_none()
        } else {
            s.serialize_u64(*until)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.unwrap_or(super::PERMANENT))
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Denial {
    /// An active ban; `until` is its end.
    Banned {
        /// End of the ban (unix seconds), [`PERMANENT`] for none.
        until: u64,
    },
    /// A fraud signal matched; the client should be banned now.
    Fraud,
}

/// The edge's answer for one request before anything else runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Access {
    /// Let it through.
    Allow,
    /// Refuse it.
    Deny(Denial),
}

/// Whether a method changes state (the "writes only" ban scope).
pub(crate) fn is_write(method: &str) -> bool {
    !matches!(
        method.to_ascii_uppercase().as_str(),
        "GET" | "HEAD" | "OPTIONS" | "TRACE"
    )
}

/// The address lists a request's access is decided with, compiled once per
/// snapshot (see [`crate::ranges`]): the active bans with the manual ones,
/// the never-ban list and the fraud deny list. Bans learned after the
/// compile are kept in a short overlay until the next one.
#[derive(Debug, Clone, Default)]
pub struct AccessLists {
    // Shared: a snapshot with one more ban copies the overlay, not these.
    bans: Arc<Ranges>,
    never_ban: Arc<Ranges>,
    deny_list: Arc<Ranges>,
    overlay: Vec<(IpNet, usize, u64)>,
}

/// Bans added to a compiled list before it is compiled again.
const OVERLAY_MAX: usize = 64;

/// A ban's scope as a channel of the compiled ranges.
fn channel(scope: ManualBanScope) -> usize {
    match scope {
        ManualBanScope::All => 0,
        ManualBanScope::Writes => 1,
    }
}

fn ban_entries<'a>(
    bans: &'a [BanEntry],
    policy: &'a BanPolicy,
) -> impl Iterator<Item = crate::ranges::Entry> + 'a {
    let active = bans.iter().filter_map(|b| {
        parse_net(&b.target).map(|net| crate::ranges::Entry {
            net,
            channel: channel(b.scope),
            until: b.until,
        })
    });
    let manual = policy.manual.iter().filter_map(|m| {
        parse_net(&m.cidr).map(|net| crate::ranges::Entry {
            net,
            channel: channel(m.scope),
            until: PERMANENT,
        })
    });
    active.chain(manual)
}

impl AccessLists {
    /// Compiles the lists of `policy` with the active `bans`.
    pub fn new(policy: &BanPolicy, bans: &[BanEntry]) -> Self {
        Self {
            bans: Arc::new(Ranges::new(ban_entries(bans, policy))),
            never_ban: Arc::new(Ranges::of_cidrs(&policy.never_ban)),
            deny_list: Arc::new(Ranges::of_cidrs(&policy.fraud.deny_list)),
            overlay: Vec::new(),
        }
    }

    /// Whether a ban learned since the compile fits the overlay; when it
    /// does not, the caller compiles again with it.
    pub(crate) fn add(&mut self, ban: &BanEntry) -> bool {
        if self.overlay.len() >= OVERLAY_MAX {
            return false;
        }
        if let Some(net) = parse_net(&ban.target) {
            self.overlay.push((net, channel(ban.scope), ban.until));
        }
        true
    }

    /// How many bans are compiled (with the manual ones and the overlay).
    pub fn ban_count(&self) -> usize {
        self.bans.len() + self.overlay.len()
    }

    /// The end of the ban that blocks a request (`write` or not) from `ip`
    /// at `now`, if any.
    fn banned(&self, ip: IpAddr, write: bool, now: u64) -> Option<u64> {
        let mut ends = self.bans.ends(ip);
        for (net, channel, until) in &self.overlay {
            if net.contains(&ip) {
                ends[*channel] = ends[*channel].max(*until);
            }
        }
        let until = if write { ends[0].max(ends[1]) } else { ends[0] };
        (until > now).then_some(until)
    }
}

/// Decides whether `ip` may make a `method` request at `now`, given the
/// policy, the compiled lists and Cloudflare's bot score (when present).
/// Its cost does not grow with the number of bans (a binary search).
pub(crate) fn decide_access(
    policy: &BanPolicy,
    lists: &AccessLists,
    ip: IpAddr,
    method: &str,
    bot_score: Option<u8>,
    now: u64,
) -> Access {
    let ip = normalise(ip);
    if lists.never_ban.contains(ip) {
        return Access::Allow;
    }
    if let Some(until) = lists.banned(ip, is_write(method), now) {
        return Access::Deny(Denial::Banned { until });
    }
    let fraud = &policy.fraud;
    if fraud.enabled {
        let scored_bot = fraud.bot_score_below > 0
            && bot_score.is_some_and(|score| score < fraud.bot_score_below);
        if scored_bot || lists.deny_list.contains(ip) {
            return Access::Deny(Denial::Fraud);
        }
    }
    Access::Allow
}

/// Parses a fraud feed: one IP or CIDR per line; blank lines and `#`
/// comments are skipped, as are lines that do not parse (returned
/// separately so the admin can see them).
pub fn parse_feed(text: &str, policy: &BanPolicy) -> (Vec<String>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        // A catch-all range would ban everyone: such lines are rejected.
        match parse_net(line).filter(|net| !crate::net::too_wide(net, policy.widest())) {
            Some(net) => good.push(net.to_string()),
            None => bad.push(line.to_owned()),
        }
    }
    (good, bad)
}

/// Largest fraud feed the edge reads (bytes); a longer one is a failed poll.
pub const MAX_FEED_BYTES: usize = 1024 * 1024;

/// The canonical target of an administrator's ban, or `None` when it is
/// not an address or range, or wider than the policy allows.
pub fn ban_target(value: &str, policy: &BanPolicy) -> Option<String> {
    let net = parse_net(value)?;
    if crate::net::too_wide(&net, policy.widest()) {
        return None;
    }
    crate::net::canonical_target(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{canonical_target, client_key, parse_client_ip};
    use crate::policy::{FraudPolicy, ManualBan};
    use proptest::prelude::*;

    /// Compiles the lists and decides, as the pipeline does.
    fn decide(
        p: &BanPolicy,
        bans: &[BanEntry],
        ip: IpAddr,
        method: &str,
        score: Option<u8>,
        now: u64,
    ) -> Access {
        decide_access(p, &AccessLists::new(p, bans), ip, method, score, now)
    }

    /// The decision as a scan of every list, entry by entry: the model the
    /// compiled lists must agree with.
    fn scan(
        p: &BanPolicy,
        bans: &[BanEntry],
        ip: IpAddr,
        method: &str,
        score: Option<u8>,
        now: u64,
    ) -> Access {
        let ip = normalise(ip);
        let covers = |c: &str| parse_net(c).is_some_and(|n| n.contains(&ip));
        if p.never_ban.iter().any(|c| covers(c)) {
            return Access::Allow;
        }
        let write = is_write(method);
        let applies = |scope: ManualBanScope| scope == ManualBanScope::All || write;
        let until = bans
            .iter()
            .filter(|b| applies(b.scope) && covers(&b.target))
            .map(|b| b.until)
            .chain(
                p.manual
                    .iter()
                    .filter(|m| applies(m.scope) && covers(&m.cidr))
                    .map(|_| PERMANENT),
            )
            .max()
            .filter(|&u| u > now);
        if let Some(until) = until {
            return Access::Deny(Denial::Banned { until });
        }
        let f = &p.fraud;
        if f.enabled
            && ((f.bot_score_below > 0 && score.is_some_and(|s| s < f.bot_score_below))
                || f.deny_list.iter().any(|c| covers(c)))
        {
            return Access::Deny(Denial::Fraud);
        }
        Access::Allow
    }

    fn policy() -> BanPolicy {
        BanPolicy {
            warnings_before_ban: 3,
            window_seconds: 60,
            ban_seconds: 100,
            escalation_factor: 2,
            max_ban_seconds: 350,
            ..BanPolicy::default()
        }
    }

    #[test]
    fn one_client_warning_without_end_keeps_a_bounded_record() {
        let off = BanPolicy {
            enabled: false,
            ..policy()
        };
        let mut r = IpRecord::default();
        for i in 0..5000 {
            assert_eq!(r.record_warning(&off, 1000 + i / 100), None);
        }
        assert_eq!(r.warnings.len(), KEPT_WARNINGS);
        assert_eq!(r.warnings.last(), Some(&1049), "the latest are kept");
        let high = BanPolicy {
            warnings_before_ban: 3000,
            window_seconds: 3600,
            ..policy()
        };
        let mut r = IpRecord::default();
        let bans: Vec<_> = (0..3000)
            .filter_map(|i| r.record_warning(&high, 1000 + i / 100))
            .collect();
        assert_eq!(bans.len(), 1, "the 3000th warning still bans");
    }

    #[test]
    fn bans_at_the_nth_warning_within_the_window_and_not_before() {
        let p = policy();
        let mut r = IpRecord::default();
        assert_eq!(r.record_warning(&p, 1000), None);
        assert_eq!(r.record_warning(&p, 1010), None);
        assert!(!r.is_banned(1010));
        assert_eq!(r.record_warning(&p, 1020), Some(1120));
        assert!(r.is_banned(1119));
        assert!(!r.is_banned(1120));
    }

    #[test]
    fn old_warnings_slide_out_of_the_window() {
        let p = policy();
        let mut r = IpRecord::default();
        r.record_warning(&p, 1000);
        r.record_warning(&p, 1010);
        assert_eq!(r.record_warning(&p, 1061), None, "the first fell out");
        assert_eq!(r.warnings.len(), 2);
    }

    #[test]
    fn repeat_offenders_escalate_up_to_the_cap() {
        let p = policy();
        assert_eq!(ban_length(&p, 0), 100);
        assert_eq!(ban_length(&p, 1), 200);
        assert_eq!(ban_length(&p, 2), 350);
        assert_eq!(ban_length(&p, 40), 350);
        let mut r = IpRecord::default();
        let mut now = 0;
        let mut lengths = vec![];
        for _ in 0..3 {
            let until = (0..3).find_map(|_| r.record_warning(&p, now)).unwrap();
            lengths.push(until - now);
            now = until;
        }
        assert_eq!(lengths, vec![100, 200, 350]);
    }

    #[test]
    fn ipv6_clients_share_their_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a, 64), "2001:db8:1:2::/64");
        assert_eq!(client_key(a, 64), client_key(b, 64));
        assert_ne!(client_key(a, 64), client_key(c, 64));
        assert_eq!(
            client_key("203.0.113.7".parse().unwrap(), 64),
            "203.0.113.7"
        );
        assert_eq!(
            client_key("::ffff:203.0.113.7".parse().unwrap(), 64),
            "203.0.113.7"
        );
    }

    #[test]
    fn never_ban_wins_over_every_ban() {
        let mut p = policy();
        p.never_ban = vec!["10.0.0.0/8".into(), "2001:db8::/32".into()];
        let bans = vec![BanEntry {
            target: "0.0.0.0/0".into(),
            until: PERMANENT,
            scope: ManualBanScope::All,
            reason: "manual".into(),
        }];
        let ip = "10.1.2.3".parse().unwrap();
        assert_eq!(decide(&p, &bans, ip, "GET", None, 0), Access::Allow);
        let ip6 = "2001:db8::5".parse().unwrap();
        assert_eq!(decide(&p, &bans, ip6, "GET", None, 0), Access::Allow);
        let other = "192.0.2.1".parse().unwrap();
        assert!(matches!(
            decide(&p, &bans, other, "GET", None, 0),
            Access::Deny(_)
        ));
    }

    #[test]
    fn manual_bans_block_everything_or_writes_only() {
        let mut p = policy();
        p.manual = vec![
            ManualBan {
                cidr: "198.51.100.0/24".into(),
                scope: ManualBanScope::Writes,
            },
            ManualBan {
                cidr: "192.0.2.9".into(),
                scope: ManualBanScope::All,
            },
        ];
        let w = "198.51.100.20".parse().unwrap();
        assert_eq!(decide(&p, &[], w, "GET", None, 0), Access::Allow);
        assert!(matches!(
            decide(&p, &[], w, "POST", None, 0),
            Access::Deny(_)
        ));
        let a = "192.0.2.9".parse().unwrap();
        assert!(matches!(
            decide(&p, &[], a, "GET", None, 0),
            Access::Deny(_)
        ));
    }

    #[test]
    fn expired_bans_do_not_block() {
        let bans = vec![BanEntry {
            target: "192.0.2.1".into(),
            until: 50,
            scope: ManualBanScope::All,
            reason: "warnings".into(),
        }];
        let ip = "192.0.2.1".parse().unwrap();
        assert!(matches!(
            decide(&policy(), &bans, ip, "GET", None, 49),
            Access::Deny(_)
        ));
        assert_eq!(decide(&policy(), &bans, ip, "GET", None, 50), Access::Allow);
    }

    #[test]
    fn fraud_signals() {
        let mut p = policy();
        p.fraud = FraudPolicy {
            enabled: true,
            deny_list: vec!["203.0.113.0/24".into()],
            bot_score_below: 30,
            ..FraudPolicy::default()
        };
        let listed = "203.0.113.50".parse().unwrap();
        assert_eq!(
            decide(&p, &[], listed, "GET", None, 0),
            Access::Deny(Denial::Fraud)
        );
        let other = "192.0.2.1".parse().unwrap();
        assert_eq!(
            decide(&p, &[], other, "GET", Some(10), 0),
            Access::Deny(Denial::Fraud)
        );
        assert_eq!(decide(&p, &[], other, "GET", Some(90), 0), Access::Allow);
        assert_eq!(decide(&p, &[], other, "GET", None, 0), Access::Allow);
        p.fraud.enabled = false;
        assert_eq!(decide(&p, &[], listed, "GET", None, 0), Access::Allow);
    }

    #[test]
    fn mapped_ranges_match_mapped_clients() {
        let bans = vec![BanEntry {
            target: "::ffff:203.0.113.0/120".into(),
            until: PERMANENT,
            scope: ManualBanScope::All,
            reason: "manual".into(),
        }];
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(matches!(
            decide(&policy(), &bans, ip, "GET", None, 0),
            Access::Deny(_)
        ));
        assert_eq!(
            canonical_target("::ffff:203.0.113.0/120").as_deref(),
            Some("203.0.113.0/24")
        );
    }

    #[test]
    fn canonical_targets_match_client_keys() {
        assert_eq!(
            canonical_target("203.0.113.7/32").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            canonical_target("203.0.113.7").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            canonical_target("203.0.113.7/24").as_deref(),
            Some("203.0.113.0/24")
        );
        let ip: IpAddr = "2001:db8:1:2::9".parse().unwrap();
        assert_eq!(
            canonical_target("2001:db8:1:2::9/64"),
            Some(client_key(ip, 64))
        );
        assert_eq!(canonical_target("nope"), None);
    }

    #[test]
    fn feeds_skip_comments_and_report_bad_lines() {
        let (good, bad) = parse_feed(
            "# list\n203.0.113.0/24\n\n2001:db8::1 # one\nnot-an-ip\n0.0.0.0/0\n",
            &BanPolicy::default(),
        );
        assert_eq!(good, vec!["203.0.113.0/24", "2001:db8::1/128"]);
        assert_eq!(bad, vec!["not-an-ip", "0.0.0.0/0"]);
    }

    proptest! {
        #[test]
        fn warnings_never_ban_early(times in proptest::collection::vec(0u64..10_000, 0..40)) {
            let p = policy();
            let mut sorted = times;
            sorted.sort_unstable();
            let mut r = IpRecord::default();
            for (i, &t) in sorted.iter().enumerate() {
                if let Some(until) = r.record_warning(&p, t) {
                    // A ban needs `warningsBeforeBan` warnings inside the window.
                    let recent = sorted[..=i].iter().filter(|&&x| t - x < p.window_seconds).count();
                    prop_assert!(recent >= 3);
                    prop_assert!(until > t && until - t <= p.max_ban_seconds);
                }
            }
        }

        /// The compiled lists, with bans added through the overlay, decide
        /// as a scan of every entry does.
        #[test]
        fn compiled_lists_decide_as_a_scan(
            bans in proptest::collection::vec((0u8..4, 24u8..=32, 0u64..200, any::<bool>()), 0..30),
            overlay in proptest::collection::vec((0u8..4, 24u8..=32, 0u64..200), 0..80),
            never in proptest::collection::vec((0u8..4, 28u8..=32), 0..3),
            deny in proptest::collection::vec((0u8..4, 28u8..=32), 0..3),
            manual in proptest::collection::vec((0u8..4, 26u8..=32, any::<bool>()), 0..3),
            ip in (0u8..4, any::<u8>()),
            write in any::<bool>(),
            now in 0u64..200,
        ) {
            let net = |a: u8, p: u8| format!("10.0.{a}.0/{p}");
            let scope = |w: bool| if w { ManualBanScope::Writes } else { ManualBanScope::All };
            let entry = |a, p, until, w| BanEntry { target: net(a, p), until, scope: scope(w), reason: "warnings".into() };
            let mut p = policy();
            p.never_ban = never.iter().map(|&(a, l)| net(a, l)).collect();
            p.fraud = FraudPolicy { enabled: true, deny_list: deny.iter().map(|&(a, l)| net(a, l)).collect(), ..FraudPolicy::default() };
            p.manual = manual.iter().map(|&(a, l, w)| ManualBan { cidr: net(a, l), scope: scope(w) }).collect();
            let mut all: Vec<BanEntry> = bans.iter().map(|&(a, l, u, w)| entry(a, l, u, w)).collect();
            let mut lists = AccessLists::new(&p, &all);
            for &(a, l, u) in &overlay {
                let ban = entry(a, l, u, false);
                all.push(ban.clone());
                if !lists.add(&ban) {
                    lists = AccessLists::new(&p, &all);
                }
            }
            let ip: IpAddr = format!("10.0.{}.{}", ip.0, ip.1).parse().unwrap();
            let method = if write { "POST" } else { "GET" };
            prop_assert_eq!(
                decide_access(&p, &lists, ip, method, None, now),
                scan(&p, &all, ip, method, None, now)
            );
        }

        #[test]
        fn parsers_never_panic(s in ".{0,64}") {
            let _ = parse_net(&s);
            let _ = parse_client_ip(&s);
            let _ = parse_feed(&s, &BanPolicy::default());
        }
    }
}
