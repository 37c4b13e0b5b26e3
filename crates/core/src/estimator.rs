//! The zxcvbn strength estimate and the bundled common-password list, the two
//! parts of password checking that need large tables (compiled only with the
//! `estimator` feature).
//!
//! zxcvbn's matching grows quickly with length and with the number of
//! distinct l33t characters (`4 @ 8 ( { [ < 3 6 9 1 ! | 7 0 $ 5 + % 2`): the
//! crate's own 100-character cap still costs 80–900 ms natively on hostile
//! input. So the estimator sees the longest prefix of at most
//! [`ESTIMATOR_MAX_CHARS`] code points holding at most eight distinct l33t
//! characters, which bounds every check to a few milliseconds. Characters
//! past that prefix are not credited: the score is that of the prefix, so a
//! long password is never rated stronger than its beginning. The length
//! rules, the blocklist and the user-info rule still see the whole password.

use zxcvbn::feedback::{Suggestion, Warning};
use zxcvbn::matching::patterns::MatchPattern;

use crate::verdict::Estimate;

/// Most code points the strength estimator looks at.
pub const ESTIMATOR_MAX_CHARS: usize = 32;

/// Most distinct l33t-table characters in the estimated prefix.
const MAX_DISTINCT_L33T: usize = 8;

const L33T_CHARS: &str = "4@8({[<3691!|70$5+%2";

/// The 10,000 most common passwords, sorted bytewise (see `data/README.md`).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// The part of `password` the estimator scores.
pub(crate) fn estimator_prefix(password: &str) -> &str {
    let mut seen: Vec<char> = Vec::new();
    for (count, (at, c)) in password.char_indices().enumerate() {
        if count == ESTIMATOR_MAX_CHARS {
            return &password[..at];
        }
        if L33T_CHARS.contains(c) && !seen.contains(&c) {
            if seen.len() == MAX_DISTINCT_L33T {
                return &password[..at];
            }
            seen.push(c);
        }
    }
    password
}

/// Whether `folded` (NFKC, lowercased) is one of the bundled common passwords.
pub(crate) fn is_common(folded: &str) -> bool {
    // Entries are lowercase ASCII and at most 40 bytes; skip the search
    // for anything that cannot match.
    if folded.len() > 40 || !folded.is_ascii() {
        return false;
    }
    common_list().binary_search(&folded).is_ok()
}

fn common_list() -> &'static [&'static str] {
    static LIST: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| COMMON_PASSWORDS.lines().collect())
}

/// Scores `normalized` (NFKC) with zxcvbn, given the user's own words.
pub(crate) fn estimate(normalized: &str, folded: &str, user_words: &[String]) -> Estimate {
    let prefix = estimator_prefix(normalized);
    let inputs: Vec<&str> = user_words.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(prefix, &inputs);
    let dictionary_chars = entropy
        .sequence()
        .iter()
        .filter_map(|m| match &m.pattern {
            // zxcvbn's dictionary type is not nameable outside the crate;
            // its Debug name is stable and is all we need to leave out the
            // user's own words (the user-info rule covers those).
            MatchPattern::Dictionary(d) if format!("{:?}", d.dictionary_name) != "UserInputs" => {
                Some(m.token.chars().count())
            }
            _ => None,
        })
        .filter(|&n| n >= 4)
        .sum();
    let feedback = entropy.feedback();
    Estimate {
        score: u8::from(entropy.score()),
        guesses_log10: entropy.guesses_log10().max(0.0),
        warning: feedback.and_then(|f| f.warning()).map(warning_id),
        suggestions: feedback
            .map(|f| f.suggestions().iter().copied().map(suggestion_id).collect())
            .unwrap_or_default(),
        dictionary_chars,
        common: is_common(folded),
    }
}

fn warning_id(w: Warning) -> &'static str {
    match w {
        Warning::StraightRowsOfKeysAreEasyToGuess => "straightRowsOfKeys",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "shortKeyboardPatterns",
        Warning::RepeatsLikeAaaAreEasyToGuess => "repeatsLikeAaa",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => "repeatsLikeAbcAbc",
        Warning::ThisIsATop10Password => "top10Password",
        Warning::ThisIsATop100Password => "top100Password",
        Warning::ThisIsACommonPassword => "commonPassword",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "similarToCommonPassword",
        Warning::SequencesLikeAbcAreEasyToGuess => "sequences",
        Warning::RecentYearsAreEasyToGuess => "recentYears",
        Warning::AWordByItselfIsEasyToGuess => "wordByItself",
        Warning::DatesAreOftenEasyToGuess => "dates",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "namesByThemselves",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "commonNames",
    }
}

fn suggestion_id(s: Suggestion) -> &'static str {
    match s {
        Suggestion::UseAFewWordsAvoidCommonPhrases => "useAFewWords",
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => "noNeedForSymbols",
        Suggestion::AddAnotherWordOrTwo => "addAnotherWord",
        Suggestion::CapitalizationDoesntHelpVeryMuch => "capitalization",
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => "allUppercase",
        Suggestion::ReversedWordsArentMuchHarderToGuess => "reversedWords",
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch => "predictableSubstitutions",
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => "longerKeyboardPattern",
        Suggestion::AvoidRepeatedWordsAndCharacters => "avoidRepeats",
        Suggestion::AvoidSequences => "avoidSequences",
        Suggestion::AvoidRecentYears => "avoidRecentYears",
        Suggestion::AvoidYearsThatAreAssociatedWithYou => "avoidPersonalYears",
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => "avoidPersonalDates",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_list_is_sorted_and_complete() {
        let list = common_list();
        assert_eq!(list.len(), 10_000);
        assert!(list.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn common_passwords_are_looked_up_folded() {
        assert!(is_common("password"));
        assert!(!is_common("PassWord"), "callers fold first");
        assert!(is_common("123456"));
        assert!(!is_common("correct horse battery staple"));
    }

    #[test]
    fn prefix_is_capped_by_length_and_l33t_variety() {
        let long = "a".repeat(100);
        assert_eq!(estimator_prefix(&long).len(), ESTIMATOR_MAX_CHARS);
        assert_eq!(estimator_prefix("4@8({[<3x6"), "4@8({[<3x");
        assert_eq!(estimator_prefix("short"), "short");
    }

    #[test]
    fn dictionary_coverage_counts_words() {
        let e = estimate("correcthorsebattery", "correcthorsebattery", &[]);
        assert!(e.dictionary_chars >= 12, "{e:?}");
        let e = estimate("xq7#Zk!p", "xq7#zk!p", &[]);
        assert_eq!(e.dictionary_chars, 0);
    }
}
