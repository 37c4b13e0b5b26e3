//! The password lifecycle rules that need stored state: history (no reuse
//! of the last N passwords) and expiry. The edge keeps the state; core only
//! computes. History stores keyed hashes (HMAC-SHA-256 under a secret
//! pepper), never passwords, and compares them in constant time.

#[cfg(feature = "nfkc")]
use hmac::{Hmac, Mac};
#[cfg(feature = "nfkc")]
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::policy::PasswordPolicy;

/// A keyed hash of one past password of one user.
#[derive(Clone, PartialEq, Eq)]
pub struct HistoryFingerprint([u8; 32]);

impl std::fmt::Debug for HistoryFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistoryFingerprint(..)")
    }
}

impl HistoryFingerprint {
    /// The raw 32 bytes, for storage.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Restores a stored fingerprint.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// The fingerprint of `password` for `user_id` under the secret `pepper`.
/// The password is NFKC-normalised first, as the rules see it; the user id
/// is length-prefixed so `("ab", "c")` and `("a", "bc")` differ.
#[cfg(feature = "nfkc")]
pub fn password_fingerprint(pepper: &[u8], user_id: &str, password: &str) -> HistoryFingerprint {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper) else {
        return HistoryFingerprint([0; 32]);
    };
    mac.update(&(user_id.len() as u64).to_be_bytes());
    mac.update(user_id.as_bytes());
    let normalized = crate::password::nfkc(password);
    mac.update(normalized.as_bytes());
    HistoryFingerprint(mac.finalize().into_bytes().into())
}

/// Whether `candidate` equals one of the newest `keep` entries of
/// `history` (newest first). Every entry is compared, in constant time.
pub fn password_reused(
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

/// Where a password stands against the expiry rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordAge {
    /// No expiry applies (policy `0` or the user's "never expires").
    NeverExpires,
    /// Valid, and not yet in the warning period.
    Valid,
    /// Valid, but expires in this many seconds: show the warning.
    ExpiresSoon(u64),
    /// Expired: a change is required before anything else.
    Expired,
}

/// The age verdict for a password set at `set_at` (unix seconds), at `now`.
pub fn password_age(
    policy: &PasswordPolicy,
    set_at: u64,
    now: u64,
    user_never_expires: bool,
) -> PasswordAge {
    if policy.expiry_seconds == 0 || user_never_expires {
        return PasswordAge::NeverExpires;
    }
    let expires_at = set_at.saturating_add(policy.expiry_seconds);
    if now >= expires_at {
        return PasswordAge::Expired;
    }
    let left = expires_at - now;
    if left <= policy.expiry_warning_seconds {
        PasswordAge::ExpiresSoon(left)
    } else {
        PasswordAge::Valid
    }
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
        let mut p = PasswordPolicy::default();
        p.expiry_seconds = 100;
        p.expiry_warning_seconds = 10;
        assert_eq!(password_age(&p, 1000, 1050, false), PasswordAge::Valid);
        assert_eq!(
            password_age(&p, 1000, 1095, false),
            PasswordAge::ExpiresSoon(5)
        );
        assert_eq!(password_age(&p, 1000, 1100, false), PasswordAge::Expired);
        assert_eq!(
            password_age(&p, 1000, 1100, true),
            PasswordAge::NeverExpires
        );
        p.expiry_seconds = 0;
        assert_eq!(
            password_age(&p, 0, u64::MAX, false),
            PasswordAge::NeverExpires
        );
    }
}
