//! What a password check answers: the rule ids, each rule's outcome, the
//! strength estimate and the verdict as a whole. Plain data shared by the
//! checker, its messages and the estimator.

use crate::messages::{Message, Params};
use serde::Serialize;

/// Stable id of a password rule; the JSON and JS name is the camelCase form.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RuleId {
    /// At least `minLength` code points.
    MinLength,
    /// At most `maxLength` code points.
    MaxLength,
    /// Contains a lowercase letter.
    Lowercase,
    /// Contains an uppercase letter.
    Uppercase,
    /// Contains a digit.
    Digit,
    /// Contains a symbol.
    Symbol,
    /// Contains at least N of the four character classes.
    CharacterClasses,
    /// No run of identical characters longer than allowed.
    RepeatedCharacters,
    /// Does not contain the username, email local part or name.
    UserInfo,
    /// Not on the common-password blocklist.
    Blocklist,
    /// Not mostly dictionary words.
    DictionaryWords,
    /// zxcvbn score at least `minScore`.
    MinScore,
    /// Not found in known data breaches (`passwords.breached`); the edge
    /// checks it when the form is submitted.
    Breached,
}

impl RuleId {
    /// The camelCase id used in JSON, JS and the edge's 422 answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MinLength => "minLength",
            Self::MaxLength => "maxLength",
            Self::Lowercase => "lowercase",
            Self::Uppercase => "uppercase",
            Self::Digit => "digit",
            Self::Symbol => "symbol",
            Self::CharacterClasses => "characterClasses",
            Self::RepeatedCharacters => "repeatedCharacters",
            Self::UserInfo => "userInfo",
            Self::Blocklist => "blocklist",
            Self::DictionaryWords => "dictionaryWords",
            Self::MinScore => "minScore",
            Self::Breached => "breached",
        }
    }

    /// Length rules apply to everyone; the rest are strength rules that
    /// `enforceStrength: false` and the admin override switch off.
    pub(crate) fn is_length(self) -> bool {
        matches!(self, Self::MinLength | Self::MaxLength)
    }
}

/// Outcome of one rule.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RuleStatus {
    /// The password meets the rule.
    Pass,
    /// The password does not meet the rule.
    Fail,
    /// The rule needs the strength estimator, which has not loaded yet.
    Pending,
    /// An administrator's override skips this strength rule.
    Skipped,
    /// The edge checks this rule when the form is submitted (breached
    /// passwords): met as far as the page can tell.
    Deferred,
}

/// One checklist item.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    /// Which rule.
    pub id: RuleId,
    /// Its outcome.
    pub status: RuleStatus,
    /// `true` when the rule is met or skipped.
    pub ok: bool,
    /// The requirement, phrased for a checklist, in the requested language.
    pub message: String,
    /// The values in the message (`{ "n": 8 }` for a minimum length), so
    /// an application can phrase `id` itself.
    pub params: Params,
}

/// A requirement before anything is typed: the rule and its text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Requirement {
    /// Which rule.
    pub id: RuleId,
    /// The values in the message, as in [`RuleResult::params`].
    pub params: Params,
    /// The requirement, phrased for a checklist, in the requested language.
    pub message: String,
}

/// How long an offline attacker needs (slow hash, 10^4 guesses per second).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrackTime {
    /// Estimated seconds.
    pub seconds: f64,
    /// The same, for people ("3 hours", "3 hodiny").
    pub display: String,
}

/// The estimator's advice.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    /// The main problem, if any.
    pub warning: Option<Message>,
    /// What would help.
    pub suggestions: Vec<Message>,
}

/// What the strength estimator found. Produced by the estimator module of
/// core; exposed so shells can pass it around.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// zxcvbn score, 0–4.
    pub score: u8,
    /// log10 of the estimated guesses.
    pub guesses_log10: f64,
    /// Id of the zxcvbn warning (see the messages module).
    pub warning: Option<&'static str>,
    /// Ids of the zxcvbn suggestions.
    pub suggestions: Vec<&'static str>,
    /// Code points covered by dictionary words of four or more letters.
    pub dictionary_chars: usize,
    /// Whether the whole password is on the bundled common-password list.
    pub common: bool,
}

/// The person choosing the password, for the user-info rule and the
/// admin override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// Login name.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Full name.
    pub name: String,
    /// The origin marked this user as an administrator.
    pub is_admin: bool,
}

/// The verdict on one password.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "CheckResult"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Every rule passed (or was skipped by the admin override).
    pub ok: bool,
    /// Some rule is waiting for the estimator.
    pub pending: bool,
    /// Length in code points after NFKC (counting stops at `maxLength + 1`).
    pub length: usize,
    /// zxcvbn score 0–4, null (`None`) until the estimator has loaded.
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::score"))]
    pub score: Option<u8>,
    /// log10 of the estimated guesses, null (`None`) until the estimator has loaded.
    pub guesses_log10: Option<f64>,
    /// Offline slow-hash crack time, null (`None`) until the estimator has loaded.
    pub crack_time: Option<CrackTime>,
    /// One entry per active rule, in a stable order.
    pub rules: Vec<RuleResult>,
    /// zxcvbn warning and suggestions, null (`None`) until the estimator has loaded.
    pub feedback: Option<Feedback>,
}

impl Verdict {
    /// Ids of the rules that failed, for the edge's 422 answer.
    pub fn failed_rule_ids(&self) -> Vec<&'static str> {
        self.rules
            .iter()
            .filter(|r| r.status == RuleStatus::Fail)
            .map(|r| r.id.as_str())
            .collect()
    }

    /// The verdict as JSON (camelCase keys), the shape the JS package returns.
    pub fn to_json(&self) -> String {
        // Plain data with string keys and finite floats: cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
