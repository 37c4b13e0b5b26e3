//! Every user-facing text of the password rules and the estimator's
//! feedback, in English and Czech. Texts are phrased as requirements ("At
//! least 8 characters") so one text serves a checklist item whether it is
//! met or not. Czech needs three plural forms (1, 2–4, 5+).

use serde::{Deserialize, Serialize};

use crate::policy::PasswordPolicy;
use crate::verdict::RuleId;

/// Language of the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Locale {
    /// English. The default.
    #[default]
    En,
    /// Czech.
    Cs,
}

impl Locale {
    /// Reads a BCP 47 tag by its language: `en`, `en-GB`, `cs`, `cs-CZ`.
    pub fn parse(tag: &str) -> Option<Self> {
        let lang = tag.split(['-', '_']).next().unwrap_or_default();
        match lang.to_ascii_lowercase().as_str() {
            "en" => Some(Self::En),
            "cs" => Some(Self::Cs),
            _ => None,
        }
    }

    /// The locale for any tag, as BCP 47 lookup falls back (RFC 4647
    /// 3.4): `de-AT`, then `de`, then English. Never fails: an unknown,
    /// empty or malformed tag is English.
    pub fn negotiate(tag: &str) -> Self {
        // Every locale here is a bare language, so lookup's truncation
        // ends at the language subtag.
        Self::parse(tag.trim()).unwrap_or_default()
    }

    /// The locale's language subtag: `en`, `cs`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Cs => "cs",
        }
    }
}

/// Czech plural form for `n`: one, few (2–4) or many.
fn cs_plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    match n {
        1 => one,
        2..=4 => few,
        _ => many,
    }
}

fn en_plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The requirement text of one rule under `policy`.
pub(crate) fn rule_message(id: RuleId, policy: &PasswordPolicy, locale: Locale) -> String {
    let en = locale == Locale::En;
    match id {
        RuleId::MinLength => {
            let n = u64::from(policy.min_length);
            if en {
                format!("At least {n} {}", en_plural(n, "character", "characters"))
            } else {
                format!("Alespoň {n} {}", cs_plural(n, "znak", "znaky", "znaků"))
            }
        }
        RuleId::MaxLength => {
            let n = u64::from(policy.max_length);
            if en {
                format!("At most {n} {}", en_plural(n, "character", "characters"))
            } else {
                format!("Nejvýše {n} {}", cs_plural(n, "znak", "znaky", "znaků"))
            }
        }
        RuleId::Lowercase => pick(en, "A lowercase letter", "Malé písmeno"),
        RuleId::Uppercase => pick(en, "An uppercase letter", "Velké písmeno"),
        RuleId::Digit => pick(en, "A digit", "Číslice"),
        RuleId::Symbol => symbol_message(policy.symbols.as_deref(), en),
        RuleId::CharacterClasses => {
            let n = policy.min_character_classes;
            if en {
                format!("At least {n} of: lowercase, uppercase, digit, symbol")
            } else {
                format!("Alespoň {n} ze skupin: malá písmena, velká písmena, číslice, symboly")
            }
        }
        RuleId::RepeatedCharacters => repeats_message(policy.max_repeated_characters, en),
        RuleId::UserInfo => pick(
            en,
            "Does not contain your username, email or name",
            "Neobsahuje vaše uživatelské jméno, e-mail ani jméno",
        ),
        RuleId::Blocklist => pick(
            en,
            "Not a commonly used password",
            "Není to běžně používané heslo",
        ),
        RuleId::DictionaryWords => pick(
            en,
            "Not mostly dictionary words",
            "Netvoří ho převážně slova ze slovníku",
        ),
        RuleId::MinScore => {
            let n = policy.min_score;
            if en {
                format!("Strength at least {n} of 4")
            } else {
                format!("Síla alespoň {n} ze 4")
            }
        }
    }
}

fn symbol_message(symbols: Option<&str>, en: bool) -> String {
    match symbols {
        Some(set) => {
            let spaced: Vec<String> = set.chars().map(String::from).collect();
            let spaced = spaced.join(" ");
            if en {
                format!("A symbol: {spaced}")
            } else {
                format!("Symbol: {spaced}")
            }
        }
        None => pick(
            en,
            "A symbol (anything but a letter or digit)",
            "Symbol (cokoli kromě písmen a číslic)",
        ),
    }
}

fn repeats_message(max: u32, en: bool) -> String {
    let n = u64::from(max);
    if en {
        format!(
            "No more than {n} identical {} in a row",
            en_plural(n, "character", "characters")
        )
    } else {
        format!(
            "Nejvýše {n} {} za sebou",
            cs_plural(n, "stejný znak", "stejné znaky", "stejných znaků")
        )
    }
}

fn pick(en: bool, english: &str, czech: &str) -> String {
    if en { english } else { czech }.to_owned()
}

/// A human reading of a duration in seconds, as zxcvbn shows crack times.
pub(crate) fn duration_text(seconds: f64, locale: Locale) -> String {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = MINUTE * 60.0;
    const DAY: f64 = HOUR * 24.0;
    const MONTH: f64 = DAY * 31.0;
    const YEAR: f64 = MONTH * 12.0;
    const CENTURY: f64 = YEAR * 100.0;
    let en = locale == Locale::En;
    if seconds < 1.0 {
        return pick(en, "less than a second", "méně než sekunda");
    }
    if seconds >= CENTURY {
        return pick(en, "centuries", "staletí");
    }
    let units: [(f64, &str, &str, [&str; 3]); 6] = [
        (YEAR, "year", "years", ["rok", "roky", "let"]),
        (MONTH, "month", "months", ["měsíc", "měsíce", "měsíců"]),
        (DAY, "day", "days", ["den", "dny", "dní"]),
        (HOUR, "hour", "hours", ["hodina", "hodiny", "hodin"]),
        (MINUTE, "minute", "minutes", ["minuta", "minuty", "minut"]),
        (1.0, "second", "seconds", ["sekunda", "sekundy", "sekund"]),
    ];
    for (size, one, many, cs) in units {
        if seconds >= size {
            // Truncation is intended: "3 hours" for 3.9 hours, as zxcvbn does.
            let n = (seconds / size) as u64;
            return if en {
                format!("{n} {}", en_plural(n, one, many))
            } else {
                format!("{n} {}", cs_plural(n, cs[0], cs[1], cs[2]))
            };
        }
    }
    pick(en, "less than a second", "méně než sekunda")
}

/// Texts of the estimator's warnings, by id.
pub(crate) fn warning_text(id: &str, locale: Locale) -> String {
    let en = locale == Locale::En;
    let (e, c) = match id {
        "straightRowsOfKeys" => (
            "Straight rows of keys are easy to guess.",
            "Řady kláves vedle sebe se snadno uhodnou.",
        ),
        "shortKeyboardPatterns" => (
            "Short keyboard patterns are easy to guess.",
            "Krátké vzory na klávesnici se snadno uhodnou.",
        ),
        "repeatsLikeAaa" => (
            "Repeats like \"aaa\" are easy to guess.",
            "Opakování jako „aaa“ se snadno uhodne.",
        ),
        "repeatsLikeAbcAbc" => (
            "Repeats like \"abcabcabc\" are only slightly harder to guess than \"abc\".",
            "Opakování jako „abcabcabc“ se uhodne jen o málo hůř než „abc“.",
        ),
        "top10Password" => (
            "This is a top-10 common password.",
            "Toto je jedno z 10 nejběžnějších hesel.",
        ),
        "top100Password" => (
            "This is a top-100 common password.",
            "Toto je jedno ze 100 nejběžnějších hesel.",
        ),
        "commonPassword" => (
            "This is a very common password.",
            "Toto je velmi běžné heslo.",
        ),
        "similarToCommonPassword" => (
            "This is similar to a commonly used password.",
            "Toto se podobá běžně používanému heslu.",
        ),
        "sequences" => (
            "Sequences like abc or 6543 are easy to guess.",
            "Řady jako abc nebo 6543 se snadno uhodnou.",
        ),
        "recentYears" => (
            "Recent years are easy to guess.",
            "Nedávné roky se snadno uhodnou.",
        ),
        "wordByItself" => (
            "A word by itself is easy to guess.",
            "Samotné slovo se snadno uhodne.",
        ),
        "dates" => (
            "Dates are often easy to guess.",
            "Data se často snadno uhodnou.",
        ),
        "namesByThemselves" => (
            "Names and surnames by themselves are easy to guess.",
            "Samotná jména a příjmení se snadno uhodnou.",
        ),
        "commonNames" => (
            "Common names and surnames are easy to guess.",
            "Běžná jména a příjmení se snadno uhodnou.",
        ),
        _ => ("", ""),
    };
    if en { e } else { c }.to_owned()
}

/// Texts of the estimator's suggestions, by id.
pub(crate) fn suggestion_text(id: &str, locale: Locale) -> String {
    let en = locale == Locale::En;
    let (e, c) = match id {
        "useAFewWords" => (
            "Use a few words, avoid common phrases.",
            "Použijte několik slov, vyhněte se běžným frázím.",
        ),
        "noNeedForSymbols" => (
            "No need for symbols, digits, or uppercase letters.",
            "Symboly, číslice ani velká písmena nejsou potřeba.",
        ),
        "addAnotherWord" => (
            "Add another word or two. Uncommon words are better.",
            "Přidejte jedno nebo dvě slova. Neobvyklá slova jsou lepší.",
        ),
        "capitalization" => (
            "Capitalization doesn't help very much.",
            "Velké počáteční písmeno příliš nepomůže.",
        ),
        "allUppercase" => (
            "All-uppercase is almost as easy to guess as all-lowercase.",
            "Samá velká písmena se uhodnou skoro stejně snadno jako samá malá.",
        ),
        "reversedWords" => (
            "Reversed words aren't much harder to guess.",
            "Slova pozpátku se neuhodnou o moc hůř.",
        ),
        "predictableSubstitutions" => (
            "Predictable substitutions like '@' instead of 'a' don't help very much.",
            "Předvídatelné záměny jako „@“ místo „a“ příliš nepomohou.",
        ),
        "longerKeyboardPattern" => (
            "Use a longer keyboard pattern with more turns.",
            "Použijte delší vzor na klávesnici s více změnami směru.",
        ),
        "avoidRepeats" => (
            "Avoid repeated words and characters.",
            "Vyhněte se opakovaným slovům a znakům.",
        ),
        "avoidSequences" => ("Avoid sequences.", "Vyhněte se řadám."),
        "avoidRecentYears" => ("Avoid recent years.", "Vyhněte se nedávným rokům."),
        "avoidPersonalYears" => (
            "Avoid years that are associated with you.",
            "Vyhněte se rokům, které s vámi souvisejí.",
        ),
        "avoidPersonalDates" => (
            "Avoid dates and years that are associated with you.",
            "Vyhněte se datům a rokům, které s vámi souvisejí.",
        ),
        _ => ("", ""),
    };
    if en { e } else { c }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn czech_plurals() {
        let mut p = PasswordPolicy::default();
        p.min_length = 1;
        assert_eq!(
            rule_message(RuleId::MinLength, &p, Locale::Cs),
            "Alespoň 1 znak"
        );
        p.min_length = 3;
        assert_eq!(
            rule_message(RuleId::MinLength, &p, Locale::Cs),
            "Alespoň 3 znaky"
        );
        p.min_length = 12;
        assert_eq!(
            rule_message(RuleId::MinLength, &p, Locale::Cs),
            "Alespoň 12 znaků"
        );
        assert_eq!(
            rule_message(RuleId::MinLength, &p, Locale::En),
            "At least 12 characters"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration_text(0.5, Locale::En), "less than a second");
        assert_eq!(duration_text(7200.0, Locale::En), "2 hours");
        assert_eq!(duration_text(7200.0, Locale::Cs), "2 hodiny");
        assert_eq!(duration_text(86_400.0 * 5.0, Locale::Cs), "5 dní");
        assert_eq!(duration_text(1e12, Locale::Cs), "staletí");
    }

    #[test]
    fn locale_tags() {
        assert_eq!(Locale::parse("cs-CZ"), Some(Locale::Cs));
        assert_eq!(Locale::parse("EN"), Some(Locale::En));
        assert_eq!(Locale::parse("de"), None);
        for (tag, locale) in [
            ("cs-CZ", Locale::Cs),
            ("cs_CZ", Locale::Cs),
            ("de-AT", Locale::En),
            ("de", Locale::En),
            ("", Locale::En),
            ("x-private", Locale::En),
            ("zh-Hant-TW", Locale::En),
            ("CS", Locale::Cs),
            ("  cs  ", Locale::Cs),
        ] {
            assert_eq!(Locale::negotiate(tag), locale, "{tag}");
            assert_eq!(Locale::negotiate(tag).tag(), locale.tag());
        }
    }
}
