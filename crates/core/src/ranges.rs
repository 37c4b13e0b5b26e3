//! Address ranges compiled for lookup: a list of IP/CIDR entries (bans, the
//! never-ban list, the deny list) turned once into sorted, disjoint ranges
//! of the IPv4 and the IPv6 address space, each carrying the latest end of
//! the entries that cover it, one per channel (a ban's scope). A lookup is
//! a binary search, O(log n), whatever the number of entries; building is
//! O(n log n), once per replica version.
//!
//! Entries may overlap and nest (a /48 over its /64s, the same address
//! twice): the sweep keeps, for every point, the maximum end over all the
//! entries that cover it, which is what "is any of them in force at `now`"
//! needs.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::net::{normalise, parse_net};

/// How many independent ends a range carries (a ban's two scopes).
pub(crate) const CHANNELS: usize = 2;

/// One entry to compile: a network, the channel it counts in and its end
/// (any value greater than `now` means "in force"; [`u64::MAX`] never ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) net: IpNet,
    pub(crate) channel: usize,
    pub(crate) until: u64,
}

/// A maximal run of addresses covered by the same ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    start: u128,
    /// Inclusive.
    end: u128,
    until: [u64; CHANNELS],
}

/// Sorted, disjoint segments of one address family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Family {
    segments: Vec<Segment>,
}

/// Compiled address ranges of both families.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ranges {
    v4: Family,
    v6: Family,
    len: usize,
}

fn bounds(net: &IpNet) -> (bool, u128, u128) {
    match net {
        IpNet::V4(n) => (
            true,
            u32::from(n.network()).into(),
            u32::from(n.broadcast()).into(),
        ),
        IpNet::V6(n) => (false, n.network().into(), n.broadcast().into()),
    }
}

impl Ranges {
    /// Compiles `entries` (O(n log n)).
    pub(crate) fn new(entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut len = 0;
        for entry in entries {
            if entry.channel >= CHANNELS || entry.until == 0 {
                continue;
            }
            len += 1;
            let (is_v4, start, end) = bounds(&entry.net);
            let list = if is_v4 { &mut v4 } else { &mut v6 };
            list.push((start, end, entry.channel, entry.until));
        }
        Self {
            v4: Family::sweep(v4),
            v6: Family::sweep(v6),
            len,
        }
    }

    /// Compiles a list of IP/CIDR strings into channel 0 (entries that do not
    /// parse match nothing, as they always did).
    pub(crate) fn of_cidrs(cidrs: &[String]) -> Self {
        Self::new(cidrs.iter().filter_map(|c| parse_net(c)).map(|net| Entry {
            net,
            channel: 0,
            until: u64::MAX,
        }))
    }

    /// The latest end per channel over the entries covering `ip` (0: none).
    pub(crate) fn ends(&self, ip: IpAddr) -> [u64; CHANNELS] {
        match normalise(ip) {
            IpAddr::V4(v4) => self.v4.ends(u32::from(v4).into()),
            IpAddr::V6(v6) => self.v6.ends(v6.into()),
        }
    }

    /// Whether any entry covers `ip` (in any channel).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        self.ends(ip).iter().any(|&u| u > 0)
    }

    /// How many entries were compiled.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Family {
    /// Flattens possibly overlapping `(start, end, channel, until)` ranges
    /// into disjoint segments: a sweep over the range boundaries keeping a
    /// multiset of the ends in force per channel.
    fn sweep(ranges: Vec<(u128, u128, usize, u64)>) -> Self {
        // (position, opens?, channel, until); a range closes after its end.
        let mut events: Vec<(u128, bool, usize, u64)> = Vec::with_capacity(ranges.len() * 2);
        for (start, end, channel, until) in ranges {
            events.push((start, true, channel, until));
            if let Some(after) = end.checked_add(1) {
                events.push((after, false, channel, until));
            }
        }
        events.sort_unstable_by_key(|e| e.0);
        let mut open: [BTreeMap<u64, u32>; CHANNELS] = Default::default();
        let mut segments: Vec<Segment> = Vec::new();
        let mut i = 0;
        while i < events.len() {
            let at = events[i].0;
            while i < events.len() && events[i].0 == at {
                let (_, opens, channel, until) = events[i];
                let counts = &mut open[channel];
                if opens {
                    *counts.entry(until).or_insert(0) += 1;
                } else if let Some(n) = counts.get_mut(&until) {
                    *n -= 1;
                    if *n == 0 {
                        counts.remove(&until);
                    }
                }
                i += 1;
            }
            let until: [u64; CHANNELS] =
                std::array::from_fn(|c| open[c].keys().next_back().copied().unwrap_or(0));
            let end = events.get(i).map_or(u128::MAX, |next| next.0 - 1);
            if until.iter().all(|&u| u == 0) {
                continue;
            }
            match segments.last_mut() {
                Some(last) if last.until == until && last.end.checked_add(1) == Some(at) => {
                    last.end = end;
                }
                _ => segments.push(Segment {
                    start: at,
                    end,
                    until,
                }),
            }
        }
        Self { segments }
    }

    fn ends(&self, x: u128) -> [u64; CHANNELS] {
        let i = self.segments.partition_point(|s| s.start <= x);
        match i.checked_sub(1).map(|i| &self.segments[i]) {
            Some(s) if x <= s.end => s.until,
            _ => [0; CHANNELS],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(cidr: &str, channel: usize, until: u64) -> Entry {
        Entry {
            net: parse_net(cidr).unwrap(),
            channel,
            until,
        }
    }

    #[test]
    fn nested_ranges_keep_the_latest_end() {
        let r = Ranges::new([
            entry("2001:db8:1::/48", 0, 100),
            entry("2001:db8:1:2::/64", 0, 500),
            entry("2001:db8:1:2::/64", 1, 50),
            entry("203.0.113.0/24", 1, 7),
            entry("203.0.113.9", 0, 9),
        ]);
        let at = |s: &str| r.ends(s.parse().unwrap());
        assert_eq!(at("2001:db8:1:2::1"), [500, 50]);
        assert_eq!(at("2001:db8:1:3::1"), [100, 0]);
        assert_eq!(at("2001:db8:2::1"), [0, 0]);
        assert_eq!(at("203.0.113.9"), [9, 7]);
        assert_eq!(at("203.0.113.10"), [0, 7]);
        assert_eq!(at("::ffff:203.0.113.10"), [0, 7], "mapped clients are IPv4");
        assert_eq!(at("203.0.114.0"), [0, 0]);
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn the_ends_of_the_address_space() {
        let r = Ranges::new([
            entry("255.255.255.255", 0, 1),
            entry("0.0.0.0", 0, 2),
            entry("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 3),
        ]);
        assert_eq!(r.ends("255.255.255.255".parse().unwrap()), [1, 0]);
        assert_eq!(r.ends("0.0.0.0".parse().unwrap()), [2, 0]);
        assert_eq!(r.ends("0.0.0.1".parse().unwrap()), [0, 0]);
        let last: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        assert_eq!(r.ends(last), [3, 0]);
        assert!(!Ranges::default().contains(last));
    }

    fn arb_entry() -> impl Strategy<Value = (String, usize, u64)> {
        let v4 = (0u8..4, 0u8..4, 24u8..=32).prop_map(|(a, b, p)| format!("10.{a}.{b}.0/{p}"));
        let v6 =
            (0u16..4, 0u16..4, 44u8..=128).prop_map(|(a, b, p)| format!("2001:db8:{a}:{b}::/{p}"));
        (prop_oneof![v4, v6], 0usize..CHANNELS, 1u64..1000)
    }

    fn arb_ip() -> impl Strategy<Value = IpAddr> {
        let v4 = (0u8..4, 0u8..4, any::<u8>())
            .prop_map(|(a, b, c)| format!("10.{a}.{b}.{c}").parse().unwrap());
        let v6 = (0u16..4, 0u16..4, 0u16..3, any::<u16>())
            .prop_map(|(a, b, c, d)| format!("2001:db8:{a}:{b}::{c}:{d:x}").parse().unwrap());
        prop_oneof![v4, v6]
    }

    proptest! {
        /// The compiled ranges answer what a scan of every entry answers.
        #[test]
        fn lookups_match_a_scan_of_every_entry(
            entries in proptest::collection::vec(arb_entry(), 0..40),
            ips in proptest::collection::vec(arb_ip(), 1..20),
        ) {
            let parsed: Vec<Entry> = entries.iter().map(|(c, ch, u)| entry(c, *ch, *u)).collect();
            let r = Ranges::new(parsed.iter().copied());
            for ip in ips {
                let mut expected = [0u64; CHANNELS];
                for e in &parsed {
                    if e.net.contains(&ip) {
                        expected[e.channel] = expected[e.channel].max(e.until);
                    }
                }
                prop_assert_eq!(r.ends(ip), expected, "{}", ip);
            }
        }
    }
}
