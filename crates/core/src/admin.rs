//! The admin API's rules: the application key check (constant time), and
//! settings changes as JSON merge patches (RFC 7396) that are validated in
//! full before anything is saved.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::policy::Policy;

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Whether `presented` equals the application key. Both are hashed first,
/// so the comparison takes the same time whatever their lengths.
pub fn application_key_matches(expected: &str, presented: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(presented.as_bytes());
    a.ct_eq(&b).into()
}

/// The application key's keyed digest that snapshots carry (hex
/// HMAC-SHA256 under the pepper), so that an isolate can refuse a wrong
/// key without asking Control and without holding the key itself.
pub fn application_key_digest(pepper: &str, key: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(key.as_bytes());
    crate::text::hex(&mac.finalize().into_bytes())
}

/// Which application key is in force, and whether the deployment's
/// `APPLICATION_KEY` just took over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyInForce<'a> {
    /// No key: the admin API is closed.
    None,
    /// This key (the stored one, or the environment's when none is stored).
    Key(&'a str),
    /// The environment's key takes over from the stored one (break-glass):
    /// store it in place of the old one, and retire both digests.
    TakeOver(&'a str),
}

/// The application key in force. `stored`: the one the admin API rotated
/// to (or a key that took over before); `env`: the deployment's
/// `APPLICATION_KEY`; `retired`: the keyed digests of every key a rotation
/// or a takeover replaced, and of the environment keys present at each
/// rotation (`None`: a rotation from before they were kept).
///
/// An environment key takes over when it is at least
/// [`MIN_SECRET_CHARS`] long, differs from the stored key, and was never
/// retired: an operator put a new one with `wrangler secret put`. A key a
/// rotation replaced never comes back, whatever the order of rotations,
/// deletions and rollbacks; a takeover is stored, so it stays in force
/// when the environment changes again.
pub fn application_key_in_force<'a>(
    stored: Option<&'a str>,
    env: Option<&'a str>,
    retired: Option<&[String]>,
    pepper: &str,
) -> KeyInForce<'a> {
    let env = env.map(str::trim).filter(|e| !e.is_empty());
    let Some(stored) = stored else {
        return env.map_or(KeyInForce::None, KeyInForce::Key);
    };
    let (Some(env), Some(retired)) = (env, retired) else {
        return KeyInForce::Key(stored);
    };
    let digest = application_key_digest(pepper, env);
    let was_retired = retired
        .iter()
        .any(|r| bool::from(r.as_bytes().ct_eq(digest.as_bytes())));
    if env == stored || was_retired || env.chars().count() < MIN_SECRET_CHARS {
        KeyInForce::Key(stored)
    } else {
        KeyInForce::TakeOver(env)
    }
}

/// Who made an admin change, for the audit log: 12 hex digits derived
/// from the application key's keyed digest, never the key (keys in
/// force one after the other get different actors).
pub fn admin_actor(pepper: &str, key: &str) -> String {
    let digest = application_key_digest(pepper, key);
    let tagged = application_key_digest(&digest, "actor");
    format!("key-{}", &tagged[..12])
}

/// Whether `authorization` (an `Authorization` header) presents the key
/// whose digest is `digest`, compared in constant time.
pub(crate) fn presents_application_key(
    digest: Option<&str>,
    pepper: &str,
    authorization: Option<&str>,
) -> bool {
    match (digest, authorization.and_then(bearer_token)) {
        (Some(digest), Some(key)) if !digest.is_empty() => {
            let presented = application_key_digest(pepper, key);
            presented.as_bytes().ct_eq(digest.as_bytes()).into()
        }
        _ => false,
    }
}

fn merge(target: &mut serde_json::Value, patch: serde_json::Value) {
    match patch {
        serde_json::Value::Object(fields) => {
            if !target.is_object() {
                *target = serde_json::Value::Object(serde_json::Map::new());
            }
            if let serde_json::Value::Object(map) = target {
                for (k, v) in fields {
                    if v.is_null() {
                        map.remove(&k);
                    } else {
                        merge(map.entry(k).or_insert(serde_json::Value::Null), v);
                    }
                }
            }
        }
        other => *target = other,
    }
}

impl Policy {
    /// Applies a JSON merge patch (RFC 7396: objects merge, `null` resets a
    /// field to its default, anything else replaces) and validates the
    /// result. On error nothing changes.
    pub fn merge_patch(&self, patch_json: &str) -> Result<Policy, Error> {
        let patch: serde_json::Value =
            serde_json::from_str(patch_json).map_err(|e| Error::PolicyJson {
                field: String::new(),
                message: crate::policy::strip_position(&e.to_string()),
            })?;
        if !patch.is_object() {
            return Err(Error::PolicyJson {
                field: String::new(),
                message: "a settings patch must be a JSON object".to_owned(),
            });
        }
        let mut current = serde_json::to_value(self).map_err(|e| Error::PolicyJson {
            field: String::new(),
            message: e.to_string(),
        })?;
        merge(&mut current, patch);
        Policy::from_json(&current.to_string())
    }
}

/// Shortest secret the admin API accepts (SPEC: at least 32 characters).
pub const MIN_SECRET_CHARS: usize = 32;

/// The write-only secrets the admin API replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// Signs session tokens.
    JwtSecret,
    /// Keys the XSRF tokens.
    XsrfSalt,
    /// Authenticates the admin API.
    ApplicationKey,
    /// The CAPTCHA provider's secret key.
    CaptchaSecret,
    /// Signs webhooks.
    WebhookSecret,
}

impl SecretKind {
    /// The kind the admin API names `name` (`jwtSecret`, `xsrfSalt`,
    /// `applicationKey`, `captchaSecret`, `webhookSecret`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "jwtSecret" => Self::JwtSecret,
            "xsrfSalt" => Self::XsrfSalt,
            "applicationKey" => Self::ApplicationKey,
            "captchaSecret" => Self::CaptchaSecret,
            "webhookSecret" => Self::WebhookSecret,
            _ => return None,
        })
    }

    /// Whether the edge may choose a random value: only for secrets nobody
    /// else has to hold (the webhook receivers, the CAPTCHA provider and the
    /// admin API's callers must know theirs).
    pub fn may_be_random(self) -> bool {
        matches!(self, Self::JwtSecret | Self::XsrfSalt)
    }

    /// Whether replacing it ends every session (the tokens it signed or
    /// keyed no longer verify).
    pub fn ends_sessions(self) -> bool {
        matches!(self, Self::JwtSecret | Self::XsrfSalt)
    }
}

/// Why a new secret value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRefusal {
    /// Shorter than [`MIN_SECRET_CHARS`].
    TooShort,
    /// No value given for a secret that may not be random.
    ValueRequired,
}

/// Checks a replacement: `Ok(Some(value))` to store it, `Ok(None)` for a
/// random one.
pub fn new_secret(kind: SecretKind, given: Option<&str>) -> Result<Option<String>, SecretRefusal> {
    match given {
        Some(value) if value.chars().count() >= MIN_SECRET_CHARS => Ok(Some(value.to_owned())),
        Some(_) => Err(SecretRefusal::TooShort),
        None if kind.may_be_random() => Ok(None),
        None => Err(SecretRefusal::ValueRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_replacement_rules() {
        let long = "x".repeat(MIN_SECRET_CHARS);
        assert_eq!(new_secret(SecretKind::JwtSecret, None), Ok(None), "random");
        assert_eq!(
            new_secret(SecretKind::WebhookSecret, None),
            Err(SecretRefusal::ValueRequired)
        );
        assert_eq!(
            new_secret(SecretKind::ApplicationKey, Some("short")),
            Err(SecretRefusal::TooShort)
        );
        assert_eq!(
            new_secret(SecretKind::CaptchaSecret, Some(&long)),
            Ok(Some(long.clone()))
        );
        assert!(
            SecretKind::XsrfSalt.ends_sessions() && !SecretKind::ApplicationKey.ends_sessions()
        );
        assert_eq!(SecretKind::parse("nope"), None);
    }

    #[test]
    fn a_new_environment_key_takes_over_and_a_rotated_one_stays_away() {
        let p = "pepper";
        let d = |k: &str| application_key_digest(p, k);
        let (k1, k2, a1) = (
            "env-key-one-0123456789-0123456789",
            "env-key-two-0123456789-0123456789",
            "api-key-one-0123456789-0123456789",
        );
        // Never rotated: the environment's.
        assert_eq!(
            application_key_in_force(None, Some(k1), None, p),
            KeyInForce::Key(k1)
        );
        assert_eq!(
            application_key_in_force(None, None, None, p),
            KeyInForce::None
        );
        // Rotated to a1 while k1 was set: k1 is retired and stays out.
        let retired = vec![d(k1)];
        assert_eq!(
            application_key_in_force(Some(a1), Some(k1), Some(&retired), p),
            KeyInForce::Key(a1)
        );
        // A new environment key takes over; a short one does not.
        assert_eq!(
            application_key_in_force(Some(a1), Some(k2), Some(&retired), p),
            KeyInForce::TakeOver(k2)
        );
        assert_eq!(
            application_key_in_force(Some(a1), Some("short"), Some(&retired), p),
            KeyInForce::Key(a1)
        );
        // After the takeover (stored k2; a1 and k2 retired), a rollback to k1
        // or a deleted secret keeps k2.
        let retired = vec![d(k1), d(a1), d(k2)];
        assert_eq!(
            application_key_in_force(Some(k2), Some(k1), Some(&retired), p),
            KeyInForce::Key(k2)
        );
        assert_eq!(
            application_key_in_force(Some(k2), None, Some(&retired), p),
            KeyInForce::Key(k2)
        );
        assert_eq!(
            application_key_in_force(Some(k2), Some(a1), Some(&retired), p),
            KeyInForce::Key(k2)
        );
        // A rotation from before digests were kept keeps the stored key.
        assert_eq!(
            application_key_in_force(Some(a1), Some(k2), None, p),
            KeyInForce::Key(a1)
        );
    }

    #[test]
    fn actors_are_short_and_never_the_key() {
        let a = admin_actor("pepper", "the-application-key-0123456789-abcdef");
        assert_eq!(a.len(), 16);
        assert!(a.starts_with("key-"));
        assert!(!a.contains("application"));
        assert_ne!(
            a,
            admin_actor("pepper", "another-application-key-0123456789")
        );
        assert_eq!(
            a,
            admin_actor("pepper", "the-application-key-0123456789-abcdef")
        );
    }

    #[test]
    fn keys_and_bearer() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert!(application_key_matches(
            "k".repeat(40).as_str(),
            &"k".repeat(40)
        ));
        assert!(!application_key_matches("secret-key", "secret-kez"));
        assert!(!application_key_matches("", ""));
    }

    #[test]
    fn merge_patch_validates_and_resets() {
        let p = Policy::default();
        let q = p
            .merge_patch(r#"{"passwords":{"minLength":12},"bans":{"neverBan":["10.0.0.0/8"]}}"#)
            .unwrap();
        assert_eq!(q.passwords.min_length, 12);
        assert_eq!(q.passwords.max_length, 128, "untouched fields stay");
        let r = q
            .merge_patch(r#"{"passwords":{"minLength":null}}"#)
            .unwrap();
        assert_eq!(r.passwords.min_length, 8);
        let e = q
            .merge_patch(r#"{"passwords":{"minLength":999999}}"#)
            .unwrap_err();
        assert_eq!(e.field(), Some("passwords.minLength"));
        assert!(q.merge_patch("[1]").is_err());
        assert!(q.merge_patch(r#"{"nope":1}"#).is_err());
    }
}
