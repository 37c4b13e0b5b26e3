//! Every user-facing text of the password rules, the estimator's feedback
//! and the password refusals, as message catalogs: one JSON file per
//! language in `crates/core/locales/`. Core builds each message as an id and
//! its parameters ([`Message`]) and formats it with a [`Catalog`], so an
//! application may translate the id itself, and the browser package can
//! load only the catalog of the visitor's language (its first module holds
//! no texts at all: they arrive as data).
//!
//! Texts are phrased as requirements ("At least 8 characters") so one text
//! serves a checklist item whether it is met or not. A text with a count
//! has one form per CLDR plural category of its language ([`Plural`]).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::{Deserialize, Serialize as DeriveSerialize};

use crate::document::Field;
use crate::error::Error;

/// Language of the messages.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, DeriveSerialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Locale {
    /// English. The default, and the end of every fallback.
    #[default]
    En,
    /// Czech.
    Cs,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Polish.
    Pl,
    /// Slovak.
    Sk,
}

impl Locale {
    /// Every locale with a built-in catalog.
    pub const ALL: [Locale; 7] = [
        Self::En,
        Self::Cs,
        Self::De,
        Self::Fr,
        Self::Es,
        Self::Pl,
        Self::Sk,
    ];

    /// Reads a BCP 47 tag by its language: `en`, `en-GB`, `cs`, `de-AT`.
    pub fn parse(tag: &str) -> Option<Self> {
        let lang = tag.trim().split(['-', '_']).next().unwrap_or_default();
        Self::ALL
            .into_iter()
            .find(|l| lang.eq_ignore_ascii_case(l.tag()))
    }

    /// The locale for any tag, as BCP 47 lookup falls back (RFC 4647
    /// 3.4): `de-AT`, then `de`, then English. Never fails: an unknown,
    /// empty or malformed tag is English.
    pub fn negotiate(tag: &str) -> Self {
        // Every locale here is a bare language, so lookup's truncation
        // ends at the language subtag.
        Self::parse(tag).unwrap_or_default()
    }

    /// The locale's language subtag: `en`, `cs`, `de`, `fr`, `es`, `pl`, `sk`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Cs => "cs",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Es => "es",
            Self::Pl => "pl",
            Self::Sk => "sk",
        }
    }

    /// The built-in catalog of this locale (parsed once per process from
    /// `crates/core/locales/<tag>.json`). The browser package never calls
    /// this, so its wasm carries no texts: it is handed the catalog it
    /// needs as data ([`Catalog::from_document`]).
    pub fn catalog(self) -> &'static Catalog {
        static CATALOGS: std::sync::OnceLock<Vec<Catalog>> = std::sync::OnceLock::new();
        let all = CATALOGS.get_or_init(|| {
            Self::ALL
                .into_iter()
                .map(|locale| {
                    serde_json::from_str(locale.source())
                        .map_err(|e| e.to_string())
                        .and_then(|doc| {
                            Catalog::from_document(&Field::from_json_value(doc))
                                .map_err(|e| e.to_string())
                        })
                        // The files are checked by this module's tests; a
                        // broken one formats every message as its id.
                        .unwrap_or_else(|_| Catalog::empty(locale))
                })
                .collect()
        });
        let at = Self::ALL.iter().position(|l| *l == self).unwrap_or(0);
        &all[at]
    }

    /// The JSON text of the built-in catalog.
    pub fn source(self) -> &'static str {
        match self {
            Self::En => include_str!("../locales/en.json"),
            Self::Cs => include_str!("../locales/cs.json"),
            Self::De => include_str!("../locales/de.json"),
            Self::Fr => include_str!("../locales/fr.json"),
            Self::Es => include_str!("../locales/es.json"),
            Self::Pl => include_str!("../locales/pl.json"),
            Self::Sk => include_str!("../locales/sk.json"),
        }
    }

    /// The CLDR plural category of the whole number `n` in this language
    /// (the cardinal rules of CLDR 44, which `Intl.PluralRules` follows; a
    /// test compares the two).
    pub fn plural(self, n: u64) -> Plural {
        let millions = n != 0 && n.is_multiple_of(1_000_000);
        match self {
            Self::En | Self::De => {
                if n == 1 {
                    Plural::One
                } else {
                    Plural::Other
                }
            }
            Self::Cs | Self::Sk => match n {
                1 => Plural::One,
                2..=4 => Plural::Few,
                // "many" is for fractions only.
                _ => Plural::Other,
            },
            Self::Fr => match n {
                0 | 1 => Plural::One,
                _ if millions => Plural::Many,
                _ => Plural::Other,
            },
            Self::Es => match n {
                1 => Plural::One,
                _ if millions => Plural::Many,
                _ => Plural::Other,
            },
            // "other" is for fractions only.
            Self::Pl => match (n, n % 10, n % 100) {
                (1, _, _) => Plural::One,
                (_, 2..=4, m) if !(12..=14).contains(&m) => Plural::Few,
                _ => Plural::Many,
            },
        }
    }

    /// The plural categories this language's texts must give, whole
    /// numbers and fractions alike (as `Intl.PluralRules` lists them).
    pub fn plural_categories(self) -> &'static [Plural] {
        use Plural::{Few, Many, One, Other};
        match self {
            Self::En | Self::De => &[One, Other],
            Self::Fr | Self::Es => &[One, Many, Other],
            Self::Cs | Self::Sk | Self::Pl => &[One, Few, Many, Other],
        }
    }
}

/// A CLDR plural category (`Intl.PluralRules` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Plural {
    /// `zero`.
    Zero,
    /// `one`.
    One,
    /// `two`.
    Two,
    /// `few`.
    Few,
    /// `many`.
    Many,
    /// `other`.
    Other,
}

impl Plural {
    /// The category's CLDR name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::One => "one",
            Self::Two => "two",
            Self::Few => "few",
            Self::Many => "many",
            Self::Other => "other",
        }
    }
}

/// One parameter of a message.
#[derive(Debug, Clone, PartialEq, Eq, DeriveSerialize)]
#[serde(untagged)]
pub enum Param {
    /// A count: `{n}`, which also picks the plural form.
    Count(u64),
    /// A text shown as is, such as the allowed symbols.
    Text(String),
}

/// A message's parameters by name; serialised as a JSON object
/// (`{ "n": 8 }`, or `{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, Param)>);

impl Params {
    /// No parameters.
    pub fn none() -> Self {
        Self::default()
    }

    /// Just the count `n`.
    pub fn count(n: u64) -> Self {
        Self(vec![("n", Param::Count(n))])
    }

    /// Just the text `name`.
    pub fn text(name: &'static str, value: String) -> Self {
        Self(vec![(name, Param::Text(value))])
    }

    fn get(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

impl Serialize for Params {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A message: its stable id and parameters, for applications that
/// translate it themselves, beside the text in the requested language.
#[derive(Debug, Clone, PartialEq, DeriveSerialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "FeedbackMessage"))]
pub struct Message {
    /// Stable id, such as `commonPassword` (the catalog key without its
    /// section).
    pub id: &'static str,
    /// Values the text is built from.
    pub params: Params,
    /// The text.
    pub message: String,
}

/// Sections of a catalog, each an object of texts by id.
const SECTIONS: [&str; 5] = ["rules", "warnings", "suggestions", "durations", "refusals"];

/// Longest text a catalog entry may hold, in bytes.
const MAX_TEXT: usize = 1024;

/// The texts of one language: a catalog document (the shape of
/// `crates/core/locales/*.json`), kept as read and looked up by
/// `section.id` key. Kept as a [`Field`] tree rather than parsed into a
/// map: the browser's first module carries this code, and a map and its
/// parser would cost it about 1.5 kB of its 60 kB budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    locale: Locale,
    sections: Vec<(String, Field)>,
}

impl Catalog {
    /// A catalog with no texts: every message is its key. For callers that
    /// only need a verdict's outcome, without pulling any texts in.
    pub(crate) const NONE: Catalog = Catalog {
        locale: Locale::En,
        sections: Vec::new(),
    };

    fn empty(locale: Locale) -> Self {
        Self {
            locale,
            sections: Vec::new(),
        }
    }

    /// Reads a catalog document: `locale`, then the sections `rules`,
    /// `warnings`, `suggestions`, `durations` and `refusals`, each an
    /// object whose values are a text or an object of texts by plural
    /// category. Only the shape is checked here, so that a text that is
    /// wrong shows as its key; [`Catalog::verify`] checks every entry.
    pub fn from_document(doc: &Field) -> Result<Self, Error> {
        let Field::Object(fields) = doc else {
            return Err(bad(String::new(), "a catalog must be an object"));
        };
        let mut catalog = None;
        let mut sections = Vec::new();
        for (name, value) in fields {
            match (name.as_str(), value) {
                ("locale", Field::Text(tag)) => {
                    catalog = Locale::parse(tag).filter(|l| l.tag() == tag);
                }
                (section, Field::Object(_)) if SECTIONS.contains(&section) => {
                    sections.push((name.clone(), value.clone()));
                }
                _ => return Err(bad(name.clone(), "not a section of a catalog")),
            }
        }
        let locale = catalog.ok_or_else(|| bad("locale".into(), "must be a language tag here"))?;
        Ok(Self { locale, sections })
    }

    /// Checks every entry: a string of at most 1024 bytes, or an object
    /// with exactly the plural categories of the catalog's language.
    pub fn verify(&self) -> Result<(), Error> {
        let categories = self.locale.plural_categories();
        let checked = |field: String, t: &Field| match t {
            Field::Text(s) if s.len() <= MAX_TEXT => Ok(()),
            _ => Err(bad(field, "must be a string of at most 1024 bytes")),
        };
        for (section, entries) in &self.sections {
            let Field::Object(entries) = entries else {
                continue;
            };
            for (id, text) in entries {
                let field = format!("{section}.{id}");
                let Field::Object(forms) = text else {
                    checked(field, text)?;
                    continue;
                };
                for (name, t) in forms {
                    if !categories.iter().any(|p| p.name() == name) {
                        return Err(bad(
                            format!("{field}.{name}"),
                            "not a plural category of this language",
                        ));
                    }
                    checked(format!("{field}.{name}"), t)?;
                }
                if let Some(missing) = categories
                    .iter()
                    .find(|p| !forms.iter().any(|(name, _)| name == p.name()))
                {
                    return Err(bad(
                        format!("{field}.{}", missing.name()),
                        "this plural form is missing",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The catalog's language.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The keys (`section.id`) this catalog has an entry for, in document
    /// order.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for (section, entries) in &self.sections {
            if let Field::Object(entries) = entries {
                keys.extend(entries.iter().map(|(id, _)| format!("{section}.{id}")));
            }
        }
        keys
    }

    fn entry(&self, key: &str) -> Option<&Field> {
        let (section, id) = key.split_once('.')?;
        let (_, Field::Object(entries)) = self.sections.iter().find(|(s, _)| s == section)? else {
            return None;
        };
        entries.iter().find(|(k, _)| k == id).map(|(_, t)| t)
    }

    /// The text of `section.id` with `params` filled in; the key itself
    /// when the catalog has no text for it.
    pub fn format(&self, key: &str, params: &Params) -> String {
        let text = match self.entry(key) {
            Some(Field::Object(forms)) => {
                let n = match params.get("n") {
                    Some(Param::Count(n)) => *n,
                    _ => 0,
                };
                let category = self.locale.plural(n).name();
                forms
                    .iter()
                    .find(|(p, _)| p == category)
                    .or_else(|| forms.iter().find(|(p, _)| p == "other"))
                    .map(|(_, t)| t)
            }
            other => other,
        };
        match text {
            Some(Field::Text(template)) => fill(template, params),
            _ => key.to_owned(),
        }
    }

    /// A [`Message`] of `section` with the id `id`.
    pub(crate) fn message(&self, section: &str, id: &'static str, params: Params) -> Message {
        let message = self.format(&format!("{section}.{id}"), &params);
        Message {
            id,
            params,
            message,
        }
    }
}

fn bad(field: String, message: &str) -> Error {
    Error::PolicyJson {
        field,
        message: message.to_owned(),
    }
}

/// Replaces each `{name}` of `template` by its parameter.
fn fill(template: &str, params: &Params) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                match params.get(&after[..close]) {
                    Some(Param::Count(n)) => out.push_str(&n.to_string()),
                    Some(Param::Text(t)) => out.push_str(t),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A human reading of a duration in seconds, as zxcvbn shows crack times.
pub(crate) fn duration_text(seconds: f64, catalog: &Catalog) -> String {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = MINUTE * 60.0;
    const DAY: f64 = HOUR * 24.0;
    const MONTH: f64 = DAY * 31.0;
    const YEAR: f64 = MONTH * 12.0;
    const CENTURY: f64 = YEAR * 100.0;
    if seconds >= CENTURY {
        return catalog.format("durations.centuries", &Params::none());
    }
    let units = [
        (YEAR, "durations.year"),
        (MONTH, "durations.month"),
        (DAY, "durations.day"),
        (HOUR, "durations.hour"),
        (MINUTE, "durations.minute"),
        (1.0, "durations.second"),
    ];
    for (size, key) in units {
        if seconds >= size {
            // Truncation is intended: "3 hours" for 3.9 hours, as zxcvbn does.
            let n = (seconds / size) as u64;
            return catalog.format(key, &Params::count(n));
        }
    }
    catalog.format("durations.lessThanASecond", &Params::none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PasswordPolicy;
    use crate::verdict::RuleId;

    fn min_length(n: u32, locale: Locale) -> String {
        let mut p = PasswordPolicy::default();
        p.min_length = n;
        crate::password::rule_message(RuleId::MinLength, &p, locale.catalog()).message
    }

    #[test]
    fn czech_plurals() {
        assert_eq!(min_length(1, Locale::Cs), "Alespoň 1 znak");
        assert_eq!(min_length(3, Locale::Cs), "Alespoň 3 znaky");
        assert_eq!(min_length(12, Locale::Cs), "Alespoň 12 znaků");
        assert_eq!(min_length(12, Locale::En), "At least 12 characters");
        assert_eq!(min_length(22, Locale::Pl), "Co najmniej 22 znaki");
        assert_eq!(min_length(12, Locale::Pl), "Co najmniej 12 znaków");
        assert_eq!(min_length(1, Locale::Fr), "Au moins 1 caractère");
    }

    #[test]
    fn durations() {
        let en = Locale::En.catalog();
        let cs = Locale::Cs.catalog();
        assert_eq!(duration_text(0.5, en), "less than a second");
        assert_eq!(duration_text(7200.0, en), "2 hours");
        assert_eq!(duration_text(7200.0, cs), "2 hodiny");
        assert_eq!(duration_text(86_400.0 * 5.0, cs), "5 dní");
        assert_eq!(duration_text(1e12, cs), "staletí");
        assert_eq!(duration_text(86_400.0 * 5.0, Locale::Pl.catalog()), "5 dni");
    }

    #[test]
    fn locale_tags() {
        assert_eq!(Locale::parse("cs-CZ"), Some(Locale::Cs));
        assert_eq!(Locale::parse("EN"), Some(Locale::En));
        assert_eq!(Locale::parse("de"), Some(Locale::De));
        assert_eq!(Locale::parse("it"), None);
        for (tag, locale) in [
            ("cs-CZ", Locale::Cs),
            ("cs_CZ", Locale::Cs),
            ("de-AT", Locale::De),
            ("fr-CA", Locale::Fr),
            ("es-419", Locale::Es),
            ("pl", Locale::Pl),
            ("sk-SK", Locale::Sk),
            ("it-IT", Locale::En),
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

    /// Every built-in catalog parses, names its own language, and has
    /// exactly the English catalog's keys with the same placeholders.
    #[test]
    fn catalogs_are_complete() {
        let en = Locale::En.catalog();
        assert!(en.keys().len() > 40);
        for locale in Locale::ALL {
            let doc: serde_json::Value = serde_json::from_str(locale.source()).unwrap();
            let catalog = Catalog::from_document(&Field::from_json_value(doc)).unwrap();
            catalog.verify().unwrap();
            assert_eq!(catalog.locale(), locale);
            assert_eq!(&catalog, locale.catalog());
            let keys = catalog.keys();
            assert_eq!(keys, en.keys(), "{}", locale.tag());
            for key in &keys {
                let params = Params(vec![
                    ("n", Param::Count(7)),
                    ("symbols", Param::Text("#".into())),
                ]);
                let text = catalog.format(key, &params);
                assert!(!text.contains('{'), "{}: {key}: {text}", locale.tag());
                for name in ["n", "symbols"] {
                    let placeholder = format!("{{{name}}}");
                    let uses = |c: &Catalog| match c.entry(key) {
                        Some(Field::Text(t)) => t.contains(&placeholder),
                        Some(Field::Object(forms)) => forms
                            .iter()
                            .all(|(_, t)| matches!(t, Field::Text(t) if t.contains(&placeholder))),
                        _ => false,
                    };
                    assert_eq!(
                        uses(&catalog),
                        uses(en),
                        "{}: {key} {{{name}}}",
                        locale.tag()
                    );
                }
            }
        }
    }

    #[test]
    fn bad_catalogs_name_the_field() {
        let read = |json: &str| {
            let doc = Field::from_json_value(serde_json::from_str(json).unwrap());
            match Catalog::from_document(&doc).and_then(|c| c.verify()) {
                Err(Error::PolicyJson { field, message }) => format!("{field}: {message}"),
                other => format!("{other:?}"),
            }
        };
        assert!(read(r#"{"locale":"it"}"#).starts_with("locale:"));
        assert!(
            read(r#"{"locale":"de","rules":{"minLength":{"one":"x"}}}"#)
                .starts_with("rules.minLength.other: this plural form is missing")
        );
        assert!(
            read(r#"{"locale":"en","rules":{"minLength":{"few":"x","one":"a","other":"b"}}}"#)
                .starts_with("rules.minLength.few: not a plural")
        );
        assert!(read(r#"{"locale":"en","extra":{}}"#).starts_with("extra: not a section"));
        assert!(read(r#"{"locale":"en","rules":{"digit":3}}"#).starts_with("rules.digit: must"));
    }

    #[test]
    fn fill_leaves_unknown_placeholders() {
        let p = Params::count(3);
        assert_eq!(fill("{n} of {m}", &p), "3 of {m}");
        assert_eq!(fill("open { brace", &p), "open { brace");
        assert_eq!(fill("", &p), "");
    }

    #[test]
    fn plural_rules() {
        use Plural::*;
        let cases: [(Locale, u64, Plural); 14] = [
            (Locale::En, 0, Other),
            (Locale::En, 1, One),
            (Locale::Fr, 0, One),
            (Locale::Fr, 1_000_000, Many),
            (Locale::Es, 2_000_000, Many),
            (Locale::Es, 0, Other),
            (Locale::Pl, 0, Many),
            (Locale::Pl, 12, Many),
            (Locale::Pl, 22, Few),
            (Locale::Pl, 112, Many),
            (Locale::Cs, 4, Few),
            (Locale::Cs, 5, Other),
            (Locale::Sk, 1, One),
            (Locale::De, 2, Other),
        ];
        for (locale, n, want) in cases {
            assert_eq!(locale.plural(n), want, "{} {n}", locale.tag());
        }
    }
}
