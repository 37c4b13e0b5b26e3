//! The `BanLog` shards, which keep Control off every ban's path (the
//! `AuditLog` shards are in [`crate::audit`]):
//!
//! - `BanLog`, [`BAN_SHARDS`] instances: the bans, each stored in the shard
//!   its target's /16 (IPv4) or /32 (IPv6) names, with a version per
//!   change, so isolates replicate them incrementally (the changes since
//!   version N) and never through Control. A shard aggregates IPv6 bans of
//!   one prefix into one ban of the prefix past `bans.aggregateV6After`.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::bans::BanEntry;
use crate::net::parse_net;
use crate::policy::{BanPolicy, ManualBanScope};

/// How many `BanLog` shards there are.
pub const BAN_SHARDS: usize = 16;
/// Most changes one `Since` answer carries (the isolate asks again).
pub const MAX_CHANGES: usize = 5000;
/// Most bans one import adds (an admin request carries at most 64 KB:
/// about 4,000 IPv4 addresses).
pub const MAX_IMPORT: usize = 4_000;

pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The name of the `BanLog` shard that stores bans of `target` (an
/// address or CIDR): the shard of its /16 (IPv4) or /32 (IPv6), so that
/// every ban an aggregate may cover lives in the same shard. `None` when
/// `target` is not an address or range.
pub fn ban_shard(target: &str) -> Option<String> {
    let net = parse_net(target)?;
    let bits: u64 = match net.network() {
        IpAddr::V4(v4) => u64::from(u32::from(v4) >> 16),
        IpAddr::V6(v6) => (u128::from(v6) >> 96) as u64 | 1 << 40,
    };
    Some(ban_shard_name(
        (fnv(&bits.to_le_bytes()) % BAN_SHARDS as u64) as usize,
    ))
}

/// The name of `BanLog` shard `i`.
pub fn ban_shard_name(i: usize) -> String {
    format!("bans-{i}")
}

/// The prefix `target` would be aggregated into under `policy`: an IPv6
/// range longer than `aggregateV6PrefixLength` (a client's /64), when
/// aggregation is on.
pub fn aggregate_prefix(target: &str, policy: &BanPolicy) -> Option<String> {
    if policy.aggregate_v6_after == 0 {
        return None;
    }
    let IpNet::V6(net) = parse_net(target)? else {
        return None;
    };
    let length = policy.aggregate_v6_prefix_length;
    if net.prefix_len() <= length {
        return None;
    }
    let prefix = ipnet::Ipv6Net::new(net.network(), length).ok()?.trunc();
    Some(prefix.to_string())
}

/// The ban of `prefix` that replaces its `members` (the bans in force at
/// `now` whose [`aggregate_prefix`] it is), once they reach
/// `aggregateV6After`; it lasts as long as the longest of them. Never
/// when the prefix overlaps the never-ban list (an aggregate must not ban
/// an address the operator exempted).
pub fn aggregate(
    prefix: &str,
    members: &[BanEntry],
    policy: &BanPolicy,
    now: u64,
) -> Option<BanEntry> {
    let in_force: Vec<&BanEntry> = members.iter().filter(|b| b.until > now).collect();
    if policy.aggregate_v6_after == 0 || in_force.len() < policy.aggregate_v6_after as usize {
        return None;
    }
    let net = parse_net(prefix)?;
    let exempt = policy
        .never_ban
        .iter()
        .filter_map(|c| parse_net(c))
        .any(|n| n.contains(&net.network()) || net.contains(&n.network()));
    if exempt {
        return None;
    }
    let until = in_force.iter().map(|b| b.until).max()?;
    let scope = if in_force.iter().all(|b| b.scope == ManualBanScope::Writes) {
        ManualBanScope::Writes
    } else {
        ManualBanScope::All
    };
    Some(BanEntry {
        target: net.to_string(),
        until,
        scope,
        reason: "aggregate".to_owned(),
    })
}

/// An operation on a `BanLog` shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BanLogOp {
    /// Store a ban (replacing one of the same target), audited when
    /// `audit`, and aggregate its prefix when it completes one.
    Publish {
        /// The ban.
        ban: BanEntry,
        /// The ban settings (aggregation, the never-ban list).
        policy: Box<BanPolicy>,
        /// Whether the shard audits it (an administrator's ban is audited
        /// by Control).
        audit: bool,
    },
    /// Store many bans at once (an administrator's import; audited by
    /// Control, not aggregated).
    Import {
        /// The bans.
        bans: Vec<BanEntry>,
    },
    /// Lift the ban of `target`.
    Remove {
        /// The target as stored.
        target: String,
    },
    /// The changes after `version`.
    Since {
        /// The last version the isolate has.
        version: u64,
    },
    /// Every ban in force.
    List,
}

/// One change of a shard's bans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanChange {
    /// The target.
    pub target: String,
    /// The ban now in force (`None`: lifted).
    pub ban: Option<BanEntry>,
}

/// What a `BanLog` shard answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BanLogAnswer {
    /// Stored; `aggregate` is the prefix ban it completed.
    Published {
        /// The aggregate, if this ban completed one.
        aggregate: Option<BanEntry>,
    },
    /// Lifted (or there was none).
    Removed {
        /// Whether there was one.
        found: bool,
        /// The targets an aggregate had replaced (their clients' records
        /// are lifted with it).
        #[serde(default)]
        members: Vec<String>,
    },
    /// The changes after the asked version, oldest first.
    Changes {
        /// The version the isolate has after applying them.
        version: u64,
        /// The isolate's copy is too old: drop it and take these as all.
        reset: bool,
        /// There are more: ask again from `version`.
        more: bool,
        /// The changes.
        changes: Vec<BanChange>,
    },
    /// Every ban in force.
    Bans {
        /// Them.
        bans: Vec<BanEntry>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ban(target: &str, until: u64) -> BanEntry {
        BanEntry {
            target: target.into(),
            until,
            scope: ManualBanScope::All,
            reason: "warnings".into(),
        }
    }

    fn policy(after: u32) -> BanPolicy {
        BanPolicy {
            aggregate_v6_after: after,
            ..BanPolicy::default()
        }
    }

    #[test]
    fn a_prefix_is_aggregated_at_the_count_and_lasts_as_its_longest_member() {
        let p = policy(3);
        let prefix = aggregate_prefix("2001:db8:1:7::/64", &p).unwrap();
        assert_eq!(prefix, "2001:db8:1::/48");
        assert_eq!(aggregate_prefix("203.0.113.7", &p), None);
        assert_eq!(aggregate_prefix("2001:db8::/32", &p), None);
        let members = vec![
            ban("2001:db8:1:1::/64", 50),
            ban("2001:db8:1:2::/64", 900),
            ban("2001:db8:1:3::/64", 10),
        ];
        assert_eq!(aggregate(&prefix, &members, &p, 20), None, "one ended");
        let ag = aggregate(&prefix, &members, &p, 5).unwrap();
        assert_eq!((ag.target.as_str(), ag.until), ("2001:db8:1::/48", 900));
        assert_eq!(ag.reason, "aggregate");
        assert_eq!(aggregate(&prefix, &members, &policy(0), 5), None);
        assert_eq!(aggregate_prefix("2001:db8:1:7::/64", &policy(0)), None);
    }

    #[test]
    fn an_aggregate_never_covers_the_never_ban_list() {
        let mut p = policy(2);
        p.never_ban = vec!["2001:db8:1:99::5".into()];
        let members = vec![ban("2001:db8:1:1::/64", 50), ban("2001:db8:1:2::/64", 50)];
        assert_eq!(aggregate("2001:db8:1::/48", &members, &p, 0), None);
        p.never_ban = vec!["2001:db8::/32".into()];
        assert_eq!(aggregate("2001:db8:1::/48", &members, &p, 0), None);
        p.never_ban = vec!["2001:db8:2::/48".into()];
        assert!(aggregate("2001:db8:1::/48", &members, &p, 0).is_some());
    }

    #[test]
    fn shards_keep_a_prefix_together() {
        let a = ban_shard("2001:db8:1:1::/64").unwrap();
        assert_eq!(ban_shard("2001:db8:1::/48").unwrap(), a);
        assert_eq!(ban_shard("2001:db8:ffff:1::/64").unwrap(), a);
        assert_eq!(ban_shard("203.0.113.7"), ban_shard("203.0.1.9"));
        assert_eq!(ban_shard("nope"), None);
        let spread: std::collections::BTreeSet<String> = (0..200)
            .filter_map(|i| ban_shard(&format!("198.{i}.0.1")))
            .collect();
        assert_eq!(
            spread.len(),
            BAN_SHARDS,
            "IPv4 bans spread over every shard"
        );
    }

    proptest! {
        /// An aggregate covers every member it replaces and nothing on the
        /// never-ban list.
        #[test]
        fn aggregates_cover_their_members_and_spare_the_exempt(
            subnets in proptest::collection::btree_set(0u16..64, 1..12),
            exempt in proptest::option::of((0u16..4, 0u16..64)),
            after in 1u32..8,
        ) {
            let mut p = policy(after);
            if let Some((a, b)) = exempt {
                p.never_ban = vec![format!("2001:db8:{a}:{b}::1")];
            }
            let members: Vec<BanEntry> =
                subnets.iter().map(|s| ban(&format!("2001:db8:1:{s:x}::/64"), 100)).collect();
            if let Some(ag) = aggregate("2001:db8:1::/48", &members, &p, 0) {
                let net = parse_net(&ag.target).unwrap();
                prop_assert!(members.len() >= after as usize);
                for m in &members {
                    prop_assert!(net.contains(&parse_net(&m.target).unwrap().network()));
                }
                for e in &p.never_ban {
                    prop_assert!(!net.contains(&parse_net(e).unwrap().network()));
                }
            }
        }
    }
}
