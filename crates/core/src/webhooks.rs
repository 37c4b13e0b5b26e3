//! Signed webhooks for security events. Each event is POSTed as JSON with
//! `Portcullis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256>`, the HMAC
//! of `"<t>.<body>"` under the webhook secret, a secret of its own (a
//! receiver that verifies signatures must not hold the application key). A
//! receiver recomputes the HMAC, compares in constant time and rejects old
//! timestamps, so a captured delivery cannot be replayed. Failed deliveries
//! are retried with exponential backoff up to `webhooks.maxAttempts`. Pure:
//! the edge sends, stores and schedules.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::policy::WebhookPolicy;

/// Longest backoff between two attempts (6 hours, in milliseconds).
const MAX_DELAY_MS: u64 = 6 * 60 * 60 * 1000;

fn hmac_hex(secret: &[u8], timestamp: u64, body: &str) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    crate::text::hex(&mac.finalize().into_bytes())
}

/// The `Portcullis-Signature` value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: u64, body: &str) -> String {
    format!("t={timestamp},v1={}", hmac_hex(secret, timestamp, body))
}

/// What a receiver does: whether `header` signs `body` under `secret`, sent
/// no more than `tolerance` seconds from `now` (either way).
pub fn verify(secret: &[u8], header: &str, body: &str, now: u64, tolerance: u64) -> bool {
    let Some((timestamp, given)) = crate::text::timestamped_signature(header) else {
        return false;
    };
    if timestamp.abs_diff(now) > tolerance {
        return false;
    }
    let expected = hmac_hex(secret, timestamp, body);
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Whether events of `kind` are sent.
pub fn wanted(policy: &WebhookPolicy, kind: &str) -> bool {
    policy.url.is_some() && (policy.events.is_empty() || policy.events.iter().any(|e| e == kind))
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One event's delivery. Times are unix milliseconds (an alarm fires to
/// the millisecond, so a 1-second backoff is one second).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, while pending.
    pub next_at: u64,
    /// Where it stands.
    pub state: DeliveryState,
    /// The last failure: the receiver's status or why it could not be reached.
    pub last_error: Option<String>,
    /// When the receiver accepted it.
    pub delivered_at: Option<u64>,
}

impl Delivery {
    /// A delivery due at once.
    pub fn new(now: u64) -> Self {
        Self {
            attempts: 0,
            next_at: now,
            state: DeliveryState::Pending,
            last_error: None,
            delivered_at: None,
        }
    }

    /// Records an attempt at `now` (milliseconds): `Ok(())` for a 2xx answer, else the
    /// error. A failure is retried after `retryBaseSeconds × 2^(attempts−1)`
    /// (at most 6 hours) until `maxAttempts`.
    pub fn attempted(&mut self, result: Result<(), String>, policy: &WebhookPolicy, now: u64) {
        self.attempts += 1;
        match result {
            Ok(()) => {
                self.state = DeliveryState::Delivered;
                self.delivered_at = Some(now);
            }
            Err(error) => {
                self.last_error = Some(error);
                if self.attempts >= policy.max_attempts {
                    self.state = DeliveryState::Failed;
                } else {
                    let factor = 1u64 << (self.attempts - 1).min(20);
                    let delay = policy
                        .retry_base_seconds
                        .saturating_mul(1000)
                        .saturating_mul(factor)
                        .min(MAX_DELAY_MS);
                    self.next_at = now.saturating_add(delay);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_expire() {
        let s = signature(b"whsec", 1000, r#"{"kind":"banned"}"#);
        assert!(s.starts_with("t=1000,v1="));
        assert_eq!(s.len(), "t=1000,v1=".len() + 64);
        assert!(verify(b"whsec", &s, r#"{"kind":"banned"}"#, 1100, 300));
        assert!(
            !verify(b"whsec", &s, r#"{"kind":"banned"}"#, 1400, 300),
            "too old: a replay"
        );
        assert!(!verify(b"other", &s, r#"{"kind":"banned"}"#, 1000, 300));
        assert!(!verify(b"whsec", &s, r#"{"kind":"unbanned"}"#, 1000, 300));
        assert!(!verify(b"whsec", "t=1000", "", 1000, 300));
        let moved = s.replace("t=1000", "t=1001");
        assert!(
            !verify(b"whsec", &moved, r#"{"kind":"banned"}"#, 1001, 300),
            "the time is signed"
        );
    }

    #[test]
    fn retries_back_off_then_give_up() {
        let policy = WebhookPolicy {
            url: Some("https://hooks.example/x".into()),
            max_attempts: 3,
            retry_base_seconds: 10,
            ..WebhookPolicy::default()
        };
        let mut d = Delivery::new(100);
        d.attempted(Err("HTTP 500".into()), &policy, 100);
        assert_eq!((d.state, d.next_at), (DeliveryState::Pending, 10_100));
        d.attempted(Err("HTTP 500".into()), &policy, 10_100);
        assert_eq!(d.next_at, 30_100);
        d.attempted(Err("timeout".into()), &policy, 30_100);
        assert_eq!(d.state, DeliveryState::Failed);
        assert_eq!(d.last_error.as_deref(), Some("timeout"));
        let mut ok = Delivery::new(0);
        ok.attempted(Ok(()), &policy, 5);
        assert_eq!(
            (ok.state, ok.delivered_at),
            (DeliveryState::Delivered, Some(5))
        );
        assert!(wanted(&policy, "banned"));
        assert!(!wanted(
            &WebhookPolicy {
                events: vec!["banned".into()],
                ..policy.clone()
            },
            "captcha"
        ));
        assert!(
            !wanted(&WebhookPolicy::default(), "banned"),
            "no URL, no webhooks"
        );
    }
}
