//! The built-in CAPTCHA (SmarterTrack's "built-in" option, no third
//! party): a proof-of-work challenge the edge issues and signs at
//! `GET /__portcullis/challenge?route=…`, solved by the browser and sent in
//! the form field `portcullis-captcha`.
//!
//! A challenge is `pc1.<bits>.<expires>.<nonce>.<mac>`: the difficulty in
//! leading zero bits, the expiry (unix seconds), 16 random bytes in hex,
//! and an HMAC-SHA-256 (base64url) over those four and, after NUL bytes,
//! the route key and the client key it was issued for. Every member is
//! delimited and of fixed form, so no value can be read as another (the
//! flaw of ALTCHA's CVE-2025-68113). A solution is `<challenge>.<counter>`
//! whose SHA-256 starts with `bits` zero bits; the edge checks the MAC in
//! constant time, the expiry, the binding and the work, then spends the
//! nonce once in a sharded object (see [`spend_bucket`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use sha2::{Digest, Sha256};

use crate::policy::BuiltinCaptcha;
use crate::tokens::{HmacSha256, mac as keyed};

/// The version tag every challenge starts with.
const TAG: &str = "pc1";
/// Hex digits of the nonce (16 bytes).
const NONCE_HEX: usize = 32;
/// The longest field value read (a challenge is about 100 characters).
const MAX_SOLUTION_LEN: usize = 200;
/// The form field the solution is sent in.
pub const FIELD: &str = "portcullis-captcha";
/// The bucket prefix of the spent nonces (no rate limit rule id has `:`).
const SPENT_PREFIX: &str = ":challenge:";

/// The signing key: HMAC-SHA-256 of a label under the secret pepper, so
/// the pepper itself never signs anything a client sees.
pub(crate) fn signing_key(pepper: &str) -> [u8; 32] {
    let mut mac = keyed(pepper.as_bytes());
    mac.update(b"portcullis-challenge-v1");
    mac.finalize().into_bytes().into()
}

fn mac_of(key: &[u8; 32], head: &str, route: &str, client: &str) -> HmacSha256 {
    let mut mac = keyed(key);
    mac.update(head.as_bytes());
    mac.update(b"\0");
    mac.update(route.as_bytes());
    mac.update(b"\0");
    mac.update(client.as_bytes());
    mac
}

/// The difficulty a client gets: the policy's, or its raised one when the
/// client has at least `raiseAfterWarnings` warnings in the ban window
/// (`warnings`: `None` when they could not be counted, which raises it).
pub(crate) fn difficulty_for(policy: &BuiltinCaptcha, warnings: Option<usize>) -> u32 {
    let raise = policy.raise_after_warnings > 0
        && warnings.is_none_or(|n| n >= policy.raise_after_warnings as usize);
    if raise {
        policy.raised_difficulty.max(policy.difficulty)
    } else {
        policy.difficulty
    }
}

/// A new challenge for `route` (a route key) and `client` (a client key).
pub(crate) fn issue(
    key: &[u8; 32],
    route: &str,
    client: &str,
    bits: u32,
    expires: u64,
    nonce: &[u8; 16],
) -> String {
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let head = format!("{TAG}.{bits}.{expires}.{nonce}");
    let mac = mac_of(key, &head, route, client).finalize().into_bytes();
    format!("{head}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// A solution that passed every check: its nonce, to spend once, and
/// until when it must stay spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Solved {
    /// The challenge's nonce (hex).
    pub(crate) nonce: String,
    /// Its expiry (unix seconds).
    pub(crate) expires: u64,
}

/// Checks a solution for `route` and `client` at `now`; the reason code of
/// a refusal otherwise (`missing`, `malformed`, `badSignature` (tampered,
/// another route or another client), `expired`, `tooEasy`, `unsolved`).
pub(crate) fn verify(
    key: &[u8; 32],
    solution: &str,
    route: &str,
    client: &str,
    min_bits: u32,
    now: u64,
) -> Result<Solved, &'static str> {
    if solution.is_empty() {
        return Err("missing");
    }
    if solution.len() > MAX_SOLUTION_LEN {
        return Err("malformed");
    }
    let parts: Vec<&str> = solution.split('.').collect();
    let [tag, bits, expires, nonce, mac, counter] = parts[..] else {
        return Err("malformed");
    };
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    let nonce_ok = nonce.len() == NONCE_HEX
        && nonce
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if tag != TAG || !digits(bits, 2) || !digits(expires, 12) || !nonce_ok || !digits(counter, 20) {
        return Err("malformed");
    }
    let (Ok(bits), Ok(expires), Ok(_)) = (
        bits.parse::<u32>(),
        expires.parse::<u64>(),
        counter.parse::<u64>(),
    ) else {
        return Err("malformed");
    };
    let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
        return Err("malformed");
    };
    let head = format!("{TAG}.{bits}.{expires}.{nonce}");
    // Constant time (`verify_slice`); a canonical spelling of the numbers
    // is part of what is signed.
    if !solution.starts_with(&head)
        || mac_of(key, &head, route, client)
            .verify_slice(&mac)
            .is_err()
    {
        return Err("badSignature");
    }
    if now >= expires {
        return Err("expired");
    }
    if bits < min_bits {
        return Err("tooEasy");
    }
    if leading_zero_bits(&Sha256::digest(solution.as_bytes())) < bits {
        return Err("unsolved");
    }
    Ok(Solved {
        nonce: nonce.to_owned(),
        expires,
    })
}

/// Leading zero bits of a digest.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in digest {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// The first counter from `start`, trying at most `count`, for which
/// `SHA-256(prefix ‖ counter)` starts with `bits` zero bits (`prefix` is
/// the challenge and a dot). The browser package's solver (in wasm) and
/// the tests use it; the hash of the prefix is computed once.
pub fn solve(prefix: &str, bits: u32, start: u64, count: u64) -> Option<u64> {
    let mut base = Sha256::new();
    base.update(prefix.as_bytes());
    let mut buffer = [0; 20];
    (start..start.saturating_add(count)).find(|counter| {
        let digits = itoa(&mut buffer, *counter);
        let digest = base.clone().chain_update(digits).finalize();
        leading_zero_bits(&digest) >= bits
    })
}

/// `n` in decimal, written at the end of `buffer`.
fn itoa(buffer: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buffer[at..];
        }
    }
}

/// The `RateLimiter` shard that remembers a spent nonce: one of 256, by
/// the nonce's first two hex digits.
pub(crate) fn spend_bucket(nonce: &str) -> String {
    format!("{SPENT_PREFIX}{}", nonce.get(..2).unwrap_or("00"))
}

/// A challenge at the default difficulty for [`bench_verify`] (the
/// benchmark's; fixed key, route and client).
#[doc(hidden)]
pub fn bench_challenge() -> (String, u32) {
    let bits = BuiltinCaptcha::default().difficulty;
    let challenge = issue(
        &BENCH_KEY,
        "/signup",
        "203.0.113.7",
        bits,
        4_000_000_000,
        &[7; 16],
    );
    (challenge, bits)
}

/// [`verify`] of a [`bench_challenge`] solution, as the edge runs it.
#[doc(hidden)]
pub fn bench_verify(solution: &str) -> bool {
    let bits = BuiltinCaptcha::default().difficulty;
    verify(
        &BENCH_KEY,
        solution,
        "/signup",
        "203.0.113.7",
        bits,
        1_800_000_000,
    )
    .is_ok()
}

const BENCH_KEY: [u8; 32] = [9; 32];

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const NOW: u64 = 1_800_000_000;

    fn solved(route: &str, client: &str, bits: u32, expires: u64) -> String {
        let challenge = issue(&KEY, route, client, bits, expires, &[0xab; 16]);
        let prefix = format!("{challenge}.");
        let counter = solve(&prefix, bits, 0, 1 << 24).expect("solvable");
        format!("{prefix}{counter}")
    }

    #[test]
    fn a_solution_passes_once_for_its_route_and_client_only() {
        let s = solved("/signup", "203.0.113.7", 8, NOW + 60);
        let ok = verify(&KEY, &s, "/signup", "203.0.113.7", 8, NOW).expect("valid");
        assert_eq!(ok.nonce, "ab".repeat(16));
        assert_eq!(spend_bucket(&ok.nonce), ":challenge:ab");
        let v = |s: &str, route: &str, client: &str, min: u32, now: u64| {
            verify(&KEY, s, route, client, min, now).err()
        };
        assert_eq!(v(&s, "/login", "203.0.113.7", 8, NOW), Some("badSignature"));
        assert_eq!(
            v(&s, "/signup", "203.0.113.8", 8, NOW),
            Some("badSignature")
        );
        assert_eq!(
            v(&s, "/signup", "203.0.113.7", 8, NOW + 60),
            Some("expired")
        );
        assert_eq!(v(&s, "/signup", "203.0.113.7", 9, NOW), Some("tooEasy"));
        let other_key = verify(&[8; 32], &s, "/signup", "203.0.113.7", 8, NOW);
        assert_eq!(other_key.err(), Some("badSignature"));
    }

    #[test]
    fn tampered_malformed_and_unsolved_solutions_are_refused() {
        let s = solved("/signup", "c", 8, NOW + 60);
        let v = |s: &str| verify(&KEY, s, "/signup", "c", 8, NOW).err();
        // A lower difficulty or a later expiry breaks the signature.
        assert_eq!(v(&s.replacen("pc1.8.", "pc1.7.", 1)), Some("badSignature"));
        let later = s.replacen(&format!(".{}.", NOW + 60), &format!(".{}.", NOW + 999), 1);
        assert_eq!(v(&later), Some("badSignature"));
        // The same numbers spelled otherwise are not the signed text.
        assert_eq!(v(&s.replacen("pc1.8.", "pc1.08.", 1)), Some("badSignature"));
        for bad in [
            "",
            "pc1",
            "x.8.1.ab.mac.1",
            &format!("{s}.1"),
            &format!("{s}x"),
            &"9".repeat(300),
        ] {
            assert!(v(bad).is_some(), "{bad}");
        }
        // Unsolved: a counter whose hash does not start with 8 zero bits.
        let (prefix, _) = s.rsplit_once('.').unwrap();
        let wrong = (0..10_000u64)
            .map(|n| format!("{prefix}.{n}"))
            .find(|c| leading_zero_bits(&Sha256::digest(c.as_bytes())) < 8)
            .unwrap();
        assert_eq!(v(&wrong), Some("unsolved"));
    }

    #[test]
    fn the_difficulty_is_raised_for_warned_clients() {
        let policy = BuiltinCaptcha::default();
        assert_eq!(difficulty_for(&policy, Some(0)), policy.difficulty);
        let raised = difficulty_for(&policy, Some(policy.raise_after_warnings as usize));
        assert_eq!(raised, policy.raised_difficulty);
        assert_eq!(difficulty_for(&policy, None), policy.raised_difficulty);
        let never = BuiltinCaptcha {
            raise_after_warnings: 0,
            ..policy.clone()
        };
        assert_eq!(difficulty_for(&never, None), policy.difficulty);
    }

    proptest::proptest! {
        #[test]
        fn leading_zero_bits_agree_with_a_bit_walk(bytes in proptest::collection::vec(0u8..=255, 0..6)) {
            let walked = bytes
                .iter()
                .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
                .take_while(|bit| *bit == 0)
                .count() as u32;
            proptest::prop_assert_eq!(leading_zero_bits(&bytes), walked);
        }

        #[test]
        fn itoa_writes_decimal(n in 0u64..=u64::MAX) {
            let mut buffer = [0; 20];
            let decimal = n.to_string();
            proptest::prop_assert_eq!(itoa(&mut buffer, n), decimal.as_bytes());
        }
    }
}
