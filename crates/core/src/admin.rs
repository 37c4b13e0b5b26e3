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

#[cfg(test)]
mod tests {
    use super::*;

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
