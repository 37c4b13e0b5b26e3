//! Breached passwords through the k-anonymity range API (Have I Been
//! Pwned's `range/{prefix}`): the password's SHA-1 is split into a
//! five-hex-digit prefix, the only part that leaves the edge, and the
//! 35-digit suffix looked up in the range that comes back. Pure: the edge
//! fetches the range (with `Add-Padding: true`) and keeps a bounded cache
//! of parsed ranges per isolate ([`RangeCache`]).

use std::collections::VecDeque;
use std::rc::Rc;

use sha1::{Digest, Sha1};

use crate::policy::BreachedPolicy;

/// Hex digits of the prefix sent to the range API.
pub const PREFIX_LEN: usize = 5;
/// Hex digits of the suffix looked up in the range.
const SUFFIX_LEN: usize = 35;
/// Largest range body the edge reads (a padded range is about 40 KB).
pub const MAX_RANGE_BYTES: u32 = 512 * 1024;
/// Ranges kept per isolate (a parsed range is about 20 KB).
pub const CACHE_RANGES: usize = 128;
/// How long a cached range is used (seconds).
pub const CACHE_SECONDS: u64 = 3600;

/// The password's SHA-1 in upper-case hex, split into the prefix that is
/// sent and the suffix that is not.
pub fn split_hash(password: &str) -> (String, String) {
    let digest = Sha1::digest(password.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
    let (prefix, suffix) = hex.split_at(PREFIX_LEN);
    (prefix.to_owned(), suffix.to_owned())
}

/// The URL of a prefix's range: the policy's `rangeUrl` with the prefix
/// appended.
pub fn range_url(policy: &BreachedPolicy, prefix: &str) -> String {
    format!("{}{prefix}", policy.range_url)
}

/// One prefix's range: its suffixes with their counts, sorted. Padding
/// entries (count 0) are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Range {
    entries: Vec<([u8; 18], u64)>,
}

/// The 35 hex digits of a suffix as bytes (the first nibble zero).
fn suffix_key(suffix: &str) -> Option<[u8; 18]> {
    let suffix = suffix.trim();
    if suffix.len() != SUFFIX_LEN || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = format!("0{suffix}");
    let mut key = [0u8; 18];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

impl Range {
    /// Reads a range body: `SUFFIX:COUNT` lines (CRLF or LF). `None` when
    /// a line does not read so: an answer that is not a range is no
    /// evidence either way.
    pub fn parse(body: &str) -> Option<Self> {
        let mut entries = Vec::new();
        for line in body.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let (suffix, count) = line.split_once(':')?;
            let count: u64 = count.trim().parse().ok()?;
            if count > 0 {
                entries.push((suffix_key(suffix)?, count));
            }
        }
        entries.sort_unstable();
        Some(Self { entries })
    }

    /// How often `suffix` was seen in breaches (0: not at all).
    pub fn count(&self, suffix: &str) -> u64 {
        suffix_key(suffix)
            .and_then(|key| {
                self.entries
                    .binary_search_by(|(k, _)| k.cmp(&key))
                    .ok()
                    .map(|i| self.entries[i].1)
            })
            .unwrap_or(0)
    }
}

/// The check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not breached often enough to refuse (or the check is off).
    Pass,
    /// Seen this many times, at least `minCount`.
    Breached(u64),
    /// The range could not be had in time: refused unless `failOpen`.
    Unavailable,
}

/// The decision on a password given its range (`None`: the range server
/// was down, slow, or answered something else).
pub fn judge(policy: &BreachedPolicy, suffix: &str, range: Option<&Range>) -> Outcome {
    if !policy.enabled {
        return Outcome::Pass;
    }
    match range {
        Some(range) => match range.count(suffix) {
            n if n >= u64::from(policy.min_count.max(1)) => Outcome::Breached(n),
            _ => Outcome::Pass,
        },
        None if policy.fail_open => Outcome::Pass,
        None => Outcome::Unavailable,
    }
}

/// A bounded cache of parsed ranges, by URL (the range URL and prefix):
/// the oldest goes first when full; an entry is used for
/// [`CACHE_SECONDS`].
#[derive(Debug, Default)]
pub struct RangeCache {
    entries: VecDeque<(String, u64, Rc<Range>)>,
}

impl RangeCache {
    /// The range cached for `url`, when it is fresh at `now` (seconds).
    pub fn get(&self, url: &str, now: u64) -> Option<Rc<Range>> {
        self.entries
            .iter()
            .find(|(u, at, _)| u == url && now.saturating_sub(*at) < CACHE_SECONDS)
            .map(|(_, _, range)| range.clone())
    }

    /// Keeps `range` for `url` from `now`, dropping the oldest entries past
    /// [`CACHE_RANGES`].
    pub fn put(&mut self, url: &str, range: Rc<Range>, now: u64) {
        self.entries.retain(|(u, _, _)| u != url);
        self.entries.push_back((url.to_owned(), now, range));
        while self.entries.len() > CACHE_RANGES {
            self.entries.pop_front();
        }
    }

    /// How many ranges are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> BreachedPolicy {
        BreachedPolicy {
            enabled: true,
            ..BreachedPolicy::default()
        }
    }

    #[test]
    fn the_hash_splits_into_a_five_digit_prefix_and_the_rest() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
        let (prefix, suffix) = split_hash("password");
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
    }

    #[test]
    fn a_range_is_read_with_padding_dropped_and_looked_up_by_suffix() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD8:9659365\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD9:0\r\n";
        let range = Range::parse(body).expect("a range");
        assert_eq!(
            range.count("1E4C9B93F3F0682250B6CF8331B7EE68FD8"),
            9_659_365
        );
        assert_eq!(
            range.count("1e4c9b93f3f0682250b6cf8331b7ee68fd8"),
            9_659_365
        );
        assert_eq!(
            range.count("1E4C9B93F3F0682250B6CF8331B7EE68FD9"),
            0,
            "padding"
        );
        assert_eq!(range.count("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), 0);
        for bad in ["<html>", "ABC:1", "1E4C9B93F3F0682250B6CF8331B7EE68FD8:x"] {
            assert_eq!(Range::parse(bad), None, "{bad}");
        }
        assert_eq!(Range::parse(""), Some(Range::default()));
    }

    #[test]
    fn the_decision_follows_min_count_and_fail_open() {
        let range = Range::parse("1E4C9B93F3F0682250B6CF8331B7EE68FD8:3").unwrap();
        let suffix = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";
        assert_eq!(judge(&on(), suffix, Some(&range)), Outcome::Breached(3));
        let strict = BreachedPolicy {
            min_count: 4,
            ..on()
        };
        assert_eq!(judge(&strict, suffix, Some(&range)), Outcome::Pass);
        assert_eq!(judge(&on(), suffix, None), Outcome::Unavailable);
        let open = BreachedPolicy {
            fail_open: true,
            ..on()
        };
        assert_eq!(judge(&open, suffix, None), Outcome::Pass);
        assert_eq!(
            judge(&BreachedPolicy::default(), suffix, None),
            Outcome::Pass
        );
    }

    #[test]
    fn the_cache_is_bounded_and_entries_expire() {
        let mut cache = RangeCache::default();
        for i in 0..CACHE_RANGES + 10 {
            cache.put(&format!("u{i}"), Rc::new(Range::default()), 100);
        }
        assert_eq!(cache.len(), CACHE_RANGES);
        assert!(cache.get("u0", 100).is_none(), "the oldest went first");
        assert!(cache.get(&format!("u{}", CACHE_RANGES + 9), 100).is_some());
        assert!(cache.get("u20", 100 + CACHE_SECONDS).is_none(), "expired");
    }

    proptest::proptest! {
        #[test]
        fn only_the_prefix_is_ever_sent(password in ".{0,40}") {
            let (prefix, suffix) = split_hash(&password);
            let url = range_url(&on(), &prefix);
            proptest::prop_assert_eq!(prefix.len(), PREFIX_LEN);
            proptest::prop_assert!(prefix.bytes().all(|b| b.is_ascii_hexdigit()));
            proptest::prop_assert_eq!(url, format!("{}{prefix}", on().range_url));
            proptest::prop_assert_eq!(suffix.len(), SUFFIX_LEN);
        }
    }
}
