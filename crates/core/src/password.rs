//! Password evaluation: every password rule of the policy, each with a stable
//! id and a localised requirement text, plus the zxcvbn estimate when the
//! estimator is compiled in. The browser and the edge call the same code, so
//! the live checklist and the server's 422 always agree.
//!
//! Lengths count Unicode code points after NFKC. Only the first
//! `8 × (maxLength + 1)` code points are normalised (NFKC composition shrinks
//! text by at most four code points to one), so a megabyte of input costs no
//! more than a long password: it is reported as too long and the other rules
//! look at that bounded prefix.

use crate::messages::{self, Catalog, Message, Params};
use crate::policy::PasswordPolicy;
use crate::text::TextOps;
use crate::verdict::{
    CrackTime, Estimate, Feedback, Requirement, RuleId, RuleResult, RuleStatus, Subject, Verdict,
};

/// How many raw code points are normalised per allowed code point.
const RAW_PER_NORMALIZED: usize = 8;

/// Checks passwords against one password policy.
#[derive(Debug, Clone)]
pub struct PasswordChecker {
    policy: PasswordPolicy,
    blocklist_extra: Vec<String>,
    text: TextOps,
}

impl PasswordChecker {
    /// A checker for `policy` (assumed validated, as [`crate::Policy`]
    /// parsing does), normalising with core's own NFKC.
    #[cfg(feature = "nfkc")]
    pub fn new(policy: PasswordPolicy) -> Self {
        Self::with_text_ops(policy, TextOps::NATIVE)
    }

    /// A checker that uses `text` for NFKC and lowercasing (the browser
    /// package passes `String.prototype.normalize` and `toLowerCase`).
    pub fn with_text_ops(policy: PasswordPolicy, text: TextOps) -> Self {
        let blocklist_extra = policy
            .blocklist_extra
            .iter()
            .map(|w| fold(text, w.trim()))
            .collect();
        Self {
            policy,
            blocklist_extra,
            text,
        }
    }

    /// The policy this checker enforces.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// The active rules with their requirement texts, for showing the
    /// checklist before anything is typed.
    pub fn requirements(&self, catalog: &Catalog) -> Vec<Requirement> {
        self.active_rules()
            .into_iter()
            .map(|id| {
                let Message {
                    params, message, ..
                } = rule_message(id, &self.policy, catalog);
                Requirement {
                    id,
                    params,
                    message,
                }
            })
            .collect()
    }

    /// Evaluates `password` with every rule, using the strength estimator
    /// when it is compiled in.
    /// Texts come from `catalog` (`Locale::catalog` for the built-in ones).
    pub fn check(&self, password: &str, subject: &Subject, catalog: &Catalog) -> Verdict {
        #[cfg(feature = "estimator")]
        {
            self.evaluate(password, subject, catalog, true)
        }
        #[cfg(not(feature = "estimator"))]
        {
            self.evaluate(password, subject, catalog, false)
        }
    }

    /// Evaluates `password` without the estimator: the rules that need it
    /// are `Pending` (the browser's answer before the estimator loads).
    pub fn check_without_estimator(
        &self,
        password: &str,
        subject: &Subject,
        catalog: &Catalog,
    ) -> Verdict {
        self.evaluate(password, subject, catalog, false)
    }

    fn active_rules(&self) -> Vec<RuleId> {
        let p = &self.policy;
        let mut rules = vec![RuleId::MinLength, RuleId::MaxLength];
        if !p.enforce_strength {
            rules.extend(p.breached.enabled.then_some(RuleId::Breached));
            return rules;
        }
        let optional = [
            (p.require_lowercase, RuleId::Lowercase),
            (p.require_uppercase, RuleId::Uppercase),
            (p.require_digit, RuleId::Digit),
            (p.require_symbol, RuleId::Symbol),
            (p.min_character_classes > 0, RuleId::CharacterClasses),
            (p.max_repeated_characters > 0, RuleId::RepeatedCharacters),
            (p.forbid_user_info, RuleId::UserInfo),
            (p.blocklist, RuleId::Blocklist),
            (p.forbid_dictionary_words, RuleId::DictionaryWords),
            (p.min_score > 0, RuleId::MinScore),
        ];
        rules.extend(optional.iter().filter(|(on, _)| *on).map(|(_, id)| *id));
        rules.extend(p.breached.enabled.then_some(RuleId::Breached));
        rules
    }

    fn evaluate(
        &self,
        password: &str,
        subject: &Subject,
        catalog: &Catalog,
        use_estimator: bool,
    ) -> Verdict {
        let p = &self.policy;
        let limit = p.max_length as usize + 1;
        let raw = match password.char_indices().nth(limit * RAW_PER_NORMALIZED) {
            Some((at, _)) => &password[..at],
            None => password,
        };
        let mut normalized = (self.text.nfkc)(raw);
        if let Some((at, _)) = normalized.char_indices().nth(limit) {
            normalized.truncate(at);
        }
        let length = normalized.chars().count();
        let folded = (self.text.lowercase)(&normalized);
        let classes = Classes::of(&normalized, p.symbols.as_deref());
        let user_words = user_words(self.text, subject);

        let estimate = if use_estimator {
            estimate(&normalized, &folded, &user_words)
        } else {
            None
        };
        let override_strength = p.admins_may_override && subject.is_admin;

        let rules = self
            .active_rules()
            .into_iter()
            .map(|id| {
                let status = if override_strength && !id.is_length() && id != RuleId::Breached {
                    RuleStatus::Skipped
                } else {
                    self.rule_status(
                        id,
                        length,
                        &classes,
                        &normalized,
                        &folded,
                        &user_words,
                        estimate.as_ref(),
                    )
                };
                let Message {
                    params, message, ..
                } = rule_message(id, p, catalog);
                RuleResult {
                    id,
                    status,
                    ok: matches!(
                        status,
                        RuleStatus::Pass | RuleStatus::Skipped | RuleStatus::Deferred
                    ),
                    message,
                    params,
                }
            })
            .collect::<Vec<_>>();

        verdict(rules, length, estimate.as_ref(), catalog)
    }

    #[allow(clippy::too_many_arguments)]
    fn rule_status(
        &self,
        id: RuleId,
        length: usize,
        classes: &Classes,
        normalized: &str,
        folded: &str,
        user_words: &[String],
        estimate: Option<&Estimate>,
    ) -> RuleStatus {
        let p = &self.policy;
        let pass = |b: bool| {
            if b {
                RuleStatus::Pass
            } else {
                RuleStatus::Fail
            }
        };
        match id {
            RuleId::MinLength => pass(length >= p.min_length as usize),
            RuleId::MaxLength => pass(length <= p.max_length as usize),
            RuleId::Lowercase => pass(classes.lower),
            RuleId::Uppercase => pass(classes.upper),
            RuleId::Digit => pass(classes.digit),
            RuleId::Symbol => pass(classes.symbol),
            RuleId::CharacterClasses => pass(classes.count() >= p.min_character_classes),
            RuleId::RepeatedCharacters => {
                pass(longest_run(normalized) <= p.max_repeated_characters as usize)
            }
            RuleId::UserInfo => pass(!user_words.iter().any(|w| folded.contains(w.as_str()))),
            RuleId::Blocklist => {
                let extra = self.blocklist_extra.iter().any(|w| w == folded);
                match estimate {
                    _ if extra => RuleStatus::Fail,
                    Some(e) => pass(!e.common),
                    None => RuleStatus::Pending,
                }
            }
            RuleId::DictionaryWords => match estimate {
                // Fails when words cover at least half of the password.
                Some(e) => pass(e.dictionary_chars * 2 < length.max(1)),
                None => RuleStatus::Pending,
            },
            RuleId::MinScore => match estimate {
                Some(e) => pass(e.score >= p.min_score),
                None => RuleStatus::Pending,
            },
            RuleId::Breached => RuleStatus::Deferred,
        }
    }
}

/// The requirement message of one rule under `policy`: the rule id with
/// its parameters (`symbol` with a set says `symbolFrom`).
pub(crate) fn rule_message(id: RuleId, policy: &PasswordPolicy, catalog: &Catalog) -> Message {
    let (key, params) = match id {
        RuleId::MinLength => (id.as_str(), Params::count(policy.min_length.into())),
        RuleId::MaxLength => (id.as_str(), Params::count(policy.max_length.into())),
        RuleId::CharacterClasses => (
            id.as_str(),
            Params::count(policy.min_character_classes.into()),
        ),
        RuleId::RepeatedCharacters => (
            id.as_str(),
            Params::count(policy.max_repeated_characters.into()),
        ),
        RuleId::MinScore => (id.as_str(), Params::count(policy.min_score.into())),
        RuleId::Symbol => match policy.symbols.as_deref() {
            Some(set) => {
                let spaced: Vec<String> = set.chars().map(String::from).collect();
                ("symbolFrom", Params::text("symbols", spaced.join(" ")))
            }
            None => (id.as_str(), Params::none()),
        },
        _ => (id.as_str(), Params::none()),
    };
    Message {
        id: id.as_str(),
        message: catalog.format(&format!("rules.{key}"), &params),
        params,
    }
}

/// The verdict of the rules' results and the estimate, in `catalog`'s language.
fn verdict(
    rules: Vec<RuleResult>,
    length: usize,
    estimate: Option<&Estimate>,
    catalog: &Catalog,
) -> Verdict {
    let ok = rules.iter().all(|r| r.ok);
    let pending = rules.iter().any(|r| r.status == RuleStatus::Pending);
    // Without the estimator there is never an estimate: saying so drops
    // the crack time's float code from the browser's first module.
    #[cfg(not(feature = "estimator"))]
    let estimate: Option<&Estimate> = estimate.and(None);
    let (score, guesses_log10, crack_time, feedback) = match estimate {
        Some(e) => {
            // Offline attack on a slow hash: 10^4 guesses per second.
            let seconds = 10f64.powf(e.guesses_log10) / 1e4;
            (
                Some(e.score),
                Some(e.guesses_log10),
                Some(CrackTime {
                    seconds,
                    display: messages::duration_text(seconds, catalog),
                }),
                Some(Feedback {
                    warning: e
                        .warning
                        .map(|w| catalog.message("warnings", w, Params::none())),
                    suggestions: e
                        .suggestions
                        .iter()
                        .map(|s| catalog.message("suggestions", s, Params::none()))
                        .collect(),
                }),
            )
        }
        None => (None, None, None, None),
    };
    Verdict {
        ok,
        pending,
        length,
        score,
        guesses_log10,
        crack_time,
        rules,
        feedback,
    }
}

#[cfg(feature = "estimator")]
fn estimate(normalized: &str, folded: &str, user_words: &[String]) -> Option<Estimate> {
    Some(crate::estimator::estimate(normalized, folded, user_words))
}

#[cfg(not(feature = "estimator"))]
fn estimate(_normalized: &str, _folded: &str, _user_words: &[String]) -> Option<Estimate> {
    None
}

/// Case folding for comparisons: lowercase after NFKC.
fn fold(text: TextOps, s: &str) -> String {
    (text.lowercase)(&(text.nfkc)(s))
}

/// The user's own words a password must not contain: the username, the
/// whole email and its local part, the name and each part of it, folded.
/// Words shorter than three code points are ignored (a one-letter name
/// would forbid half the alphabet).
fn user_words(text: TextOps, subject: &Subject) -> Vec<String> {
    // Bounded: a client could send a huge name; each word is also a zxcvbn
    // user input.
    const MAX_FIELD: usize = 256;
    const MAX_WORDS: usize = 16;
    let capped = |s: &str| -> String { s.chars().take(MAX_FIELD).collect() };
    let subject = Subject {
        username: capped(&subject.username),
        email: capped(&subject.email),
        name: capped(&subject.name),
        is_admin: subject.is_admin,
    };
    let mut words = Vec::new();
    let mut add = |w: &str| {
        if words.len() >= MAX_WORDS {
            return;
        }
        let w = fold(text, w.trim());
        if w.chars().count() >= 3 && !words.contains(&w) {
            words.push(w);
        }
    };
    add(&subject.username);
    add(&subject.email);
    if let Some((local, _)) = subject.email.rsplit_once('@') {
        add(local);
    }
    add(&subject.name);
    for part in subject.name.split(|c: char| c.is_whitespace() || c == '-') {
        add(part);
    }
    words
}

/// Which character classes a password contains.
struct Classes {
    lower: bool,
    upper: bool,
    digit: bool,
    symbol: bool,
}

impl Classes {
    fn of(password: &str, symbols: Option<&str>) -> Self {
        let mut c = Self {
            lower: false,
            upper: false,
            digit: false,
            symbol: false,
        };
        for ch in password.chars() {
            c.lower |= ch.is_lowercase();
            c.upper |= ch.is_uppercase();
            c.digit |= ch.is_numeric();
            c.symbol |= match symbols {
                Some(set) => set.contains(ch),
                None => !ch.is_alphanumeric(),
            };
        }
        c
    }

    fn count(&self) -> u8 {
        u8::from(self.lower) + u8::from(self.upper) + u8::from(self.digit) + u8::from(self.symbol)
    }
}

fn longest_run(s: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    let mut last = None;
    for c in s.chars() {
        run = if Some(c) == last { run + 1 } else { 1 };
        last = Some(c);
        longest = longest.max(run);
    }
    longest
}

#[cfg(all(test, feature = "nfkc"))]
mod tests {
    use super::*;
    use crate::messages::Locale;
    use crate::text::nfkc;

    fn checker(edit: impl FnOnce(&mut PasswordPolicy)) -> PasswordChecker {
        let mut p = PasswordPolicy::default();
        p.min_score = 0;
        edit(&mut p);
        PasswordChecker::new(p)
    }

    #[test]
    fn a_megabyte_is_normalised_only_up_to_the_bound() {
        fn counting(s: &str) -> String {
            assert!(
                s.chars().count() <= 8 * 129,
                "normalised {} code points",
                s.chars().count()
            );
            nfkc(s)
        }
        let ops = TextOps {
            nfkc: counting,
            lowercase: str::to_lowercase,
        };
        let c = PasswordChecker::with_text_ops(PasswordPolicy::default(), ops);
        let v = c.check_without_estimator(
            &"é".repeat(1 << 20),
            &Subject::default(),
            Locale::En.catalog(),
        );
        assert_eq!(v.length, 129);
        assert_eq!(v.failed_rule_ids(), vec!["maxLength"]);
    }

    fn status(v: &Verdict, id: RuleId) -> RuleStatus {
        v.rules
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.status)
            .unwrap()
    }

    fn anyone() -> Subject {
        Subject::default()
    }

    #[test]
    fn length_counts_code_points_after_nfkc() {
        let c = checker(|p| {
            p.min_length = 4;
            p.max_length = 4;
        });
        // "ﬁ" (one code point) becomes "fi" (two) under NFKC.
        let v = c.check_without_estimator("ﬁﬁ", &anyone(), Locale::En.catalog());
        assert_eq!(v.length, 4);
        assert_eq!(status(&v, RuleId::MinLength), RuleStatus::Pass);
        // "e" + combining acute composes to one code point.
        let v = c.check_without_estimator("e\u{301}abc", &anyone(), Locale::En.catalog());
        assert_eq!(v.length, 4);
        // Emoji count as one each, not as UTF-16 units.
        let v = c.check_without_estimator("😀😀😀😀", &anyone(), Locale::En.catalog());
        assert_eq!(v.length, 4);
    }

    #[test]
    fn too_long_is_refused_not_truncated() {
        let c = checker(|p| p.max_length = 10);
        let v = c.check_without_estimator(&"x".repeat(1_000_000), &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::MaxLength), RuleStatus::Fail);
        assert_eq!(v.length, 11);
        assert!(!v.ok);
    }

    #[test]
    fn character_classes_each_on_its_own() {
        let c = checker(|p| {
            p.require_lowercase = true;
            p.require_uppercase = true;
            p.require_digit = true;
            p.require_symbol = true;
        });
        let v = c.check_without_estimator("abcdefgh", &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::Lowercase), RuleStatus::Pass);
        assert_eq!(status(&v, RuleId::Uppercase), RuleStatus::Fail);
        assert_eq!(status(&v, RuleId::Digit), RuleStatus::Fail);
        assert_eq!(status(&v, RuleId::Symbol), RuleStatus::Fail);
        let v = c.check_without_estimator("Ab1 efgh", &anyone(), Locale::En.catalog());
        assert_eq!(
            status(&v, RuleId::Symbol),
            RuleStatus::Pass,
            "space is not alphanumeric"
        );
    }

    #[test]
    fn symbol_set_restricts_symbols() {
        let c = checker(|p| {
            p.require_symbol = true;
            p.symbols = Some("!@#$%^&*".into());
        });
        let v = c.check_without_estimator("abcdefg~", &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::Symbol), RuleStatus::Fail);
        let v = c.check_without_estimator("abcdefg@", &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::Symbol), RuleStatus::Pass);
    }

    #[test]
    fn n_of_four_classes() {
        let c = checker(|p| p.min_character_classes = 3);
        let v = c.check_without_estimator("abcdEFGH", &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::CharacterClasses), RuleStatus::Fail);
        let v = c.check_without_estimator("abcdEFG1", &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::CharacterClasses), RuleStatus::Pass);
    }

    #[test]
    fn repeated_characters() {
        let c = checker(|p| p.max_repeated_characters = 2);
        let v = c.check_without_estimator("aabbaacc", &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::RepeatedCharacters), RuleStatus::Pass);
        let v = c.check_without_estimator("abcaaade", &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::RepeatedCharacters), RuleStatus::Fail);
    }

    #[test]
    fn user_info_in_any_case() {
        let c = checker(|_| {});
        let who = Subject {
            username: "jnovak".into(),
            email: "jan.novak@example.cz".into(),
            name: "Jan Novák".into(),
            is_admin: false,
        };
        for pw in [
            "xxJNOVAKxx",
            "jan.novak!!",
            "MyNovák2024",
            "jan.novak@example.cz",
        ] {
            let v = c.check_without_estimator(pw, &who, Locale::En.catalog());
            assert_eq!(status(&v, RuleId::UserInfo), RuleStatus::Fail, "{pw}");
        }
        let v = c.check_without_estimator("tiger-lily-42", &who, Locale::En.catalog());
        assert_eq!(status(&v, RuleId::UserInfo), RuleStatus::Pass);
    }

    #[test]
    fn estimator_rules_are_pending_without_it() {
        let c = checker(|p| {
            p.min_score = 3;
            p.forbid_dictionary_words = true;
        });
        let v = c.check_without_estimator("password", &anyone(), Locale::En.catalog());
        assert!(v.pending);
        assert!(!v.ok);
        assert_eq!(v.score, None);
        assert_eq!(status(&v, RuleId::MinScore), RuleStatus::Pending);
        assert_eq!(status(&v, RuleId::Blocklist), RuleStatus::Pending);
        assert_eq!(status(&v, RuleId::DictionaryWords), RuleStatus::Pending);
        assert_eq!(status(&v, RuleId::MinLength), RuleStatus::Pass);
    }

    #[test]
    fn admin_words_fail_the_blocklist_at_once() {
        let c = checker(|p| p.blocklist_extra = vec!["Portcullis2026".into()]);
        let v = c.check_without_estimator("PORTCULLIS2026", &anyone(), Locale::En.catalog());
        assert_eq!(status(&v, RuleId::Blocklist), RuleStatus::Fail);
    }

    #[test]
    fn enforce_strength_off_leaves_only_length() {
        let c = checker(|p| {
            p.enforce_strength = false;
            p.require_digit = true;
        });
        let ids: Vec<_> = c
            .requirements(Locale::En.catalog())
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, vec![RuleId::MinLength, RuleId::MaxLength]);
    }

    #[test]
    fn admin_override_skips_strength_never_length() {
        let c = checker(|p| {
            p.admins_may_override = true;
            p.require_digit = true;
        });
        let admin = Subject {
            is_admin: true,
            ..Subject::default()
        };
        let v = c.check_without_estimator("abc", &admin, Locale::En.catalog());
        assert_eq!(status(&v, RuleId::Digit), RuleStatus::Skipped);
        assert_eq!(status(&v, RuleId::MinLength), RuleStatus::Fail);
        let v = c.check_without_estimator("abcdefgh", &admin, Locale::En.catalog());
        assert!(v.ok);
        let v = c.check_without_estimator("abcdefgh", &anyone(), Locale::En.catalog());
        assert!(!v.ok);
    }

    #[test]
    fn messages_follow_locale() {
        let c = checker(|p| p.min_length = 12);
        let v = c.check_without_estimator("", &anyone(), Locale::Cs.catalog());
        assert_eq!(v.rules[0].message, "Alespoň 12 znaků");
    }
}
