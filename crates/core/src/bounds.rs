//! The smallest and largest value of every number in the policy document,
//! in one table: checked on every document and patch (an out-of-range
//! value is refused naming its field), and listed in the README. A test
//! walks the document and fails on a number this table does not bound.

use serde_json::Value;

use crate::error::Error;

/// Ten years in seconds: the longest duration any setting takes.
pub const MAX_SECONDS: u64 = 10 * 365 * 86_400;

/// One bounded number: its dotted path (`[]` for every element of an
/// array), its smallest and its largest value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The field, such as `login.maxFailedAttempts`.
    pub field: &'static str,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

const fn bound(field: &'static str, min: u64, max: u64) -> Bound {
    Bound {
        field,
        min: min as f64,
        max: max as f64,
    }
}

/// Every number of the policy document.
pub const BOUNDS: [Bound; 53] = [
    bound("passwords.minLength", 1, 4096),
    bound("passwords.maxLength", 1, 4096),
    bound("passwords.minCharacterClasses", 0, 4),
    bound("passwords.minScore", 0, 4),
    bound("passwords.maxRepeatedCharacters", 0, 4096),
    bound("passwords.historyCount", 0, 100),
    bound("passwords.breached.minCount", 1, 1_000_000_000),
    bound("passwords.breached.timeoutSeconds", 1, 30),
    bound("passwords.expirySeconds", 0, MAX_SECONDS),
    bound("passwords.expiryWarningSeconds", 0, MAX_SECONDS),
    bound("login.maxFailedAttempts", 1, 1000),
    bound("login.lockoutSeconds", 1, MAX_SECONDS),
    bound("login.lockoutEscalationFactor", 1, 100),
    bound("login.maxLockoutSeconds", 1, MAX_SECONDS),
    bound("login.permanentAfterLockouts", 0, 1000),
    bound("login.inactiveAccountSeconds", 0, MAX_SECONDS),
    bound("bans.warningsBeforeBan", 1, 10_000),
    bound("bans.windowSeconds", 1, 30 * 86_400),
    bound("bans.banSeconds", 1, MAX_SECONDS),
    bound("bans.escalationFactor", 1, 100),
    bound("bans.maxBanSeconds", 1, MAX_SECONDS),
    bound("bans.ipv6PrefixLength", 1, 128),
    bound("bans.minPrefixLengthV4", 0, 32),
    bound("bans.minPrefixLengthV6", 0, 128),
    bound("bans.aggregateV6After", 0, 65_536),
    bound("bans.aggregateV6PrefixLength", 32, 127),
    bound("bans.fraud.feedPollSeconds", 10, 30 * 86_400),
    bound("bans.fraud.botScoreBelow", 0, 99),
    bound("sessions.idleTimeoutSeconds", 1, 365 * 86_400),
    bound("sessions.absoluteLifetimeSeconds", 1, MAX_SECONDS),
    bound("sessions.leewaySeconds", 0, 300),
    bound("sessions.resetLinks.selfServiceSeconds", 1, 90 * 86_400),
    bound("sessions.resetLinks.sentByAdminSeconds", 1, 90 * 86_400),
    bound("sessions.resetLinks.invitationSeconds", 1, 90 * 86_400),
    Bound {
        field: "captcha.scoreThreshold",
        min: 0.0,
        max: 1.0,
    },
    bound("captcha.afterFailedLogins", 0, 1000),
    bound("captcha.builtin.difficulty", 1, 32),
    bound("captcha.builtin.raisedDifficulty", 1, 32),
    bound("captcha.builtin.raiseAfterWarnings", 0, 1000),
    bound("captcha.builtin.expirySeconds", 1, 3600),
    bound("captcha.verifyTimeoutSeconds", 1, 60),
    bound("responses.hstsMaxAgeSeconds", 0, 2 * 365 * 86_400),
    bound("uploads.maxBytes", 1, 100 * 1024 * 1024),
    bound("probation.accountAgeSeconds", 0, MAX_SECONDS),
    bound("probation.minReplies", 0, 1_000_000),
    bound("probation.actions[].limitPerDay", 0, 1_000_000),
    bound("probation.maxSearchPages", 1, 1_000_000),
    bound("audit.retentionSeconds", 1, MAX_SECONDS),
    bound("webhooks.maxAttempts", 1, 50),
    bound("webhooks.retryBaseSeconds", 1, 3600),
    bound("rateLimits[].limit", 1, 1_000_000),
    bound("rateLimits[].windowSeconds", 1, 30 * 86_400),
    bound("version", 1, 1),
];

/// Every number in `document` (a policy as JSON) is inside its bound.
pub(crate) fn check(document: &Value) -> Result<(), Error> {
    for b in &BOUNDS {
        let mut found = Vec::new();
        numbers(document, b.field, String::new(), &mut found);
        for (path, n) in found {
            if !(b.min..=b.max).contains(&n) {
                return Err(Error::invalid(
                    &path,
                    format!("must be between {} and {}, got {n}", b.min, b.max),
                ));
            }
        }
    }
    Ok(())
}

/// The numbers at `pattern` under `value` (`[]` matching every element),
/// with their concrete paths.
fn numbers(value: &Value, pattern: &str, at: String, out: &mut Vec<(String, f64)>) {
    if pattern.is_empty() {
        if let Some(n) = value.as_f64() {
            out.push((at, n));
        }
        return;
    }
    let (head, rest) = pattern.split_once('.').unwrap_or((pattern, ""));
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match head.strip_suffix("[]") {
        Some(key) => {
            if let Some(items) = value.get(key).and_then(Value::as_array) {
                for (i, item) in items.iter().enumerate() {
                    numbers(item, rest, format!("{}[{i}]", join(key)), out);
                }
            }
        }
        None => {
            if let Some(next) = value.get(head) {
                numbers(next, rest, join(head), out);
            }
        }
    }
}

/// Every number's pattern in `document` (`[]` for array elements), for the
/// test that the table leaves none out.
#[cfg(test)]
pub(crate) fn number_patterns(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Number(_) => out.push(at.to_owned()),
        Value::Object(map) => {
            for (k, v) in map {
                let next = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                number_patterns(v, &next, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                number_patterns(item, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn every_number_of_the_document_is_bounded() {
        let mut found = Vec::new();
        let document = serde_json::to_value(Policy::default()).unwrap();
        number_patterns(&document, "", &mut found);
        for pattern in found {
            assert!(
                BOUNDS.iter().any(|b| b.field == pattern),
                "{pattern} has no bound"
            );
        }
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let mut document = serde_json::to_value(Policy::default()).unwrap();
        document["probation"]["actions"][1]["limitPerDay"] = serde_json::json!(5_000_000);
        let error = check(&document).unwrap_err();
        assert_eq!(error.field(), Some("probation.actions[1].limitPerDay"));
        document["probation"]["actions"][1]["limitPerDay"] = serde_json::json!(5);
        document["bans"]["banSeconds"] = serde_json::json!(u64::MAX);
        assert_eq!(
            check(&document).unwrap_err().field(),
            Some("bans.banSeconds")
        );
    }
}
