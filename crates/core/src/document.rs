//! Reading the password section of a policy document from an already
//! parsed value. The browser package parses JSON with the JS engine and
//! hands core a [`Field`] tree, so its first module carries neither a JSON
//! parser nor serde's generated visitors (about 30 KB of gzipped wasm);
//! field names, defaults, type errors and validation stay here in core.
//!
//! [`crate::policy::Policy::from_json`] reads the same section with serde; a test
//! keeps the two readers in agreement on every preset.

use crate::error::Error;
use crate::policy::{POLICY_VERSION, PasswordPolicy, strip_position};

/// A JSON value parsed by someone else (the JS engine, or serde_json).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Field {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Any number.
    Number(f64),
    /// A string.
    Text(String),
    /// An array.
    List(Vec<Field>),
    /// An object, keys in document order.
    Object(Vec<(String, Field)>),
}

impl Field {
    fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::Text(_) => "a string",
            Self::List(_) => "an array",
            Self::Object(_) => "an object",
        }
    }

    /// Converts a serde_json value.
    pub fn from_json_value(value: serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(b),
            Value::Number(n) => Self::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Self::Text(s),
            Value::Array(a) => Self::List(a.into_iter().map(Self::from_json_value).collect()),
            Value::Object(o) => Self::Object(
                o.into_iter()
                    .map(|(k, v)| (k, Self::from_json_value(v)))
                    .collect(),
            ),
        }
    }
}

/// Top-level sections of the policy document.
const SECTIONS: [&str; 16] = [
    "$schema",
    "version",
    "passwords",
    "login",
    "bans",
    "sessions",
    "captcha",
    "responses",
    "uploads",
    "signup",
    "probation",
    "routes",
    "audit",
    "webhooks",
    "rateLimits",
    "vault",
];

fn wrong_type(field: &str, expected: &str, got: &Field) -> Error {
    Error::PolicyJson {
        field: field.to_owned(),
        message: format!("invalid type: {}, expected {expected}", got.kind()),
    }
}

fn boolean(field: &str, value: &Field) -> Result<bool, Error> {
    match value {
        Field::Bool(b) => Ok(*b),
        other => Err(wrong_type(field, "a boolean", other)),
    }
}

fn whole<T: TryFrom<u64>>(field: &str, value: &Field) -> Result<T, Error> {
    let expected = "a whole number";
    match value {
        Field::Number(n) if n.fract() == 0.0 && *n >= 0.0 && *n <= 9.0e15 => {
            T::try_from(*n as u64).map_err(|_| Error::invalid(field, "is too large"))
        }
        other => Err(wrong_type(field, expected, other)),
    }
}

fn text_or_null(field: &str, value: &Field) -> Result<Option<String>, Error> {
    match value {
        Field::Null => Ok(None),
        Field::Text(s) => Ok(Some(s.clone())),
        other => Err(wrong_type(field, "a string or null", other)),
    }
}

fn mode(field: &str, value: &Field) -> Result<crate::policy::Mode, Error> {
    match value {
        Field::Text(s) if s == "enforce" => Ok(crate::policy::Mode::Enforce),
        Field::Text(s) if s == "monitor" => Ok(crate::policy::Mode::Monitor),
        Field::Text(s) => Err(Error::PolicyJson {
            field: field.to_owned(),
            message: format!("unknown variant `{s}`, expected `enforce` or `monitor`"),
        }),
        other => Err(wrong_type(field, "a string", other)),
    }
}

fn text_list(field: &str, value: &Field) -> Result<Vec<String>, Error> {
    let Field::List(items) = value else {
        return Err(wrong_type(field, "an array of strings", value));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Field::Text(s) => Ok(s.clone()),
            other => Err(wrong_type(&format!("{field}[{i}]"), "a string", other)),
        })
        .collect()
}

impl PasswordPolicy {
    /// Reads the password rules from a policy document (the edge's public
    /// policy or a full one) given as JSON text. The version and the section
    /// names are checked and the `passwords` section is validated in full;
    /// the other sections are the edge's business ([`crate::policy::Policy::from_json`]).
    pub fn from_document(json: &str) -> Result<Self, Error> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::PolicyJson {
                field: String::new(),
                message: strip_position(&e.to_string()),
            })?;
        Self::from_document_field(&Field::from_json_value(value))
    }

    /// Like [`Self::from_document`], from an already parsed document.
    pub fn from_document_field(doc: &Field) -> Result<Self, Error> {
        let Field::Object(entries) = doc else {
            return Err(Error::PolicyJson {
                field: String::new(),
                message: "a policy document must be a JSON object".to_owned(),
            });
        };
        let mut passwords = None;
        for (key, value) in entries {
            match key.as_str() {
                "version" => {
                    let v: u64 = whole("version", value)?;
                    if v != u64::from(POLICY_VERSION) {
                        return Err(Error::UnsupportedVersion {
                            found: u32::try_from(v).unwrap_or(u32::MAX),
                            supported: POLICY_VERSION,
                        });
                    }
                }
                "passwords" => passwords = Some(value),
                k if SECTIONS.contains(&k) => {}
                k => {
                    return Err(Error::PolicyJson {
                        field: k.to_owned(),
                        message: format!(
                            "unknown section; expected one of {}",
                            SECTIONS.join(", ")
                        ),
                    });
                }
            }
        }
        let policy = match passwords {
            None => Self::default(),
            Some(Field::Object(fields)) => Self::from_fields(fields)?,
            Some(other) => return Err(wrong_type("passwords", "an object", other)),
        };
        policy.validate("passwords")?;
        Ok(policy)
    }

    fn from_fields(fields: &[(String, Field)]) -> Result<Self, Error> {
        let mut p = Self::default();
        for (key, v) in fields {
            let f = format!("passwords.{key}");
            let f = f.as_str();
            match key.as_str() {
                "enforceStrength" => p.enforce_strength = boolean(f, v)?,
                "mode" => p.mode = mode(f, v)?,
                "adminsMayOverride" => p.admins_may_override = boolean(f, v)?,
                "minLength" => p.min_length = whole(f, v)?,
                "maxLength" => p.max_length = whole(f, v)?,
                "requireLowercase" => p.require_lowercase = boolean(f, v)?,
                "requireUppercase" => p.require_uppercase = boolean(f, v)?,
                "requireDigit" => p.require_digit = boolean(f, v)?,
                "requireSymbol" => p.require_symbol = boolean(f, v)?,
                "symbols" => p.symbols = text_or_null(f, v)?,
                "minCharacterClasses" => p.min_character_classes = whole(f, v)?,
                "forbidDictionaryWords" => p.forbid_dictionary_words = boolean(f, v)?,
                "blocklist" => p.blocklist = boolean(f, v)?,
                "blocklistExtra" => p.blocklist_extra = text_list(f, v)?,
                "forbidUserInfo" => p.forbid_user_info = boolean(f, v)?,
                "minScore" => p.min_score = whole(f, v)?,
                "maxRepeatedCharacters" => p.max_repeated_characters = whole(f, v)?,
                "historyCount" => p.history_count = whole(f, v)?,
                "expirySeconds" => p.expiry_seconds = whole(f, v)?,
                "expiryWarningSeconds" => p.expiry_warning_seconds = whole(f, v)?,
                "changeOnFirstLogin" => p.change_on_first_login = boolean(f, v)?,
                "applyToExisting" => p.apply_to_existing = boolean(f, v)?,
                "breached" => p.breached = breached(f, v)?,
                other => {
                    return Err(Error::PolicyJson {
                        field: format!("passwords.{other}"),
                        message: "unknown field".to_owned(),
                    });
                }
            }
        }
        Ok(p)
    }
}

/// The `passwords.breached` section, as far as a page needs it: whether
/// the edge checks (its other members are the edge's, which validates
/// them in full).
fn breached(field: &str, value: &Field) -> Result<crate::policy::BreachedPolicy, Error> {
    let Field::Object(fields) = value else {
        return Err(wrong_type(field, "an object", value));
    };
    let mut b = crate::policy::BreachedPolicy::default();
    if let Some((_, v)) = fields.iter().find(|(k, _)| k == "enabled") {
        b.enabled = boolean(&format!("{field}.enabled"), v)?;
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn agrees_with_the_serde_reader_on_every_preset() {
        for name in crate::presets::NAMES {
            let policy = Policy::preset(name).unwrap();
            let json = policy.to_json();
            assert_eq!(
                PasswordPolicy::from_document(&json).unwrap(),
                Policy::from_json(&json).unwrap().passwords,
                "{name}"
            );
        }
    }

    #[test]
    fn knows_every_field_serde_writes() {
        // Every key the serde side writes must be read here (a new field
        // added to PasswordPolicy without this reader fails this test).
        let mut p = PasswordPolicy::default();
        p.symbols = Some("!".into());
        p.blocklist_extra = vec!["word".into()];
        // Of `breached`, a page reads `enabled` only.
        p.breached.enabled = true;
        let value = serde_json::to_value(&p).unwrap();
        let doc = serde_json::json!({ "passwords": value }).to_string();
        assert_eq!(PasswordPolicy::from_document(&doc).unwrap(), p);
    }

    #[test]
    fn errors_name_the_field() {
        let field = |json: &str| PasswordPolicy::from_document(json).unwrap_err();
        assert_eq!(
            field(r#"{"passwords":{"minLength":"x"}}"#).field(),
            Some("passwords.minLength")
        );
        assert_eq!(
            field(r#"{"passwords":{"minLength":8.5}}"#).field(),
            Some("passwords.minLength")
        );
        assert_eq!(
            field(r#"{"passwords":{"minLength":-1}}"#).field(),
            Some("passwords.minLength")
        );
        assert_eq!(
            field(r#"{"passwords":{"minLenght":8}}"#).field(),
            Some("passwords.minLenght")
        );
        assert_eq!(
            field(r#"{"passwords":{"blocklistExtra":["a",1]}}"#).field(),
            Some("passwords.blocklistExtra[1]")
        );
        assert_eq!(field(r#"{"passwords":[]}"#).field(), Some("passwords"));
        // The browser's reader reads whether the edge checks; the edge's
        // reader checks every value (the range API is the edge's alone).
        assert_eq!(
            field(r#"{"passwords":{"breached":true}}"#).field(),
            Some("passwords.breached")
        );
        assert_eq!(
            field(r#"{"passwords":{"breached":{"enabled":1}}}"#).field(),
            Some("passwords.breached.enabled")
        );
        let values = [
            (
                r#"{"passwords":{"breached":{"failopen":true}}}"#,
                "failopen",
            ),
            (r#"{"passwords":{"breached":{"minCount":"x"}}}"#, "minCount"),
            (r#"{"passwords":{"breached":{"minCount":0}}}"#, "minCount"),
            (
                r#"{"passwords":{"breached":{"rangeUrl":"http://a.example/"}}}"#,
                "rangeUrl",
            ),
            (
                r#"{"passwords":{"breached":{"rangeUrl":"https://a.example/?x="}}}"#,
                "rangeUrl",
            ),
            (
                r#"{"passwords":{"breached":{"timeoutSeconds":31}}}"#,
                "timeoutSeconds",
            ),
        ];
        for (json, name) in values {
            let name = format!("passwords.breached.{name}");
            assert_eq!(
                Policy::from_json(json).unwrap_err().field(),
                Some(name.as_str())
            );
        }
        assert_eq!(
            field(r#"{"passwords":{"maxLength":0}}"#).field(),
            Some("passwords.maxLength")
        );
        assert_eq!(field(r#"{"pasword":{}}"#).field(), Some("pasword"));
        assert_eq!(
            field(r#"{"version":7}"#),
            Error::UnsupportedVersion {
                found: 7,
                supported: POLICY_VERSION
            }
        );
        assert!(PasswordPolicy::from_document("[]").is_err());
        assert!(PasswordPolicy::from_document("{nope").is_err());
        assert_eq!(
            PasswordPolicy::from_document("{}").unwrap(),
            PasswordPolicy::default()
        );
    }
}
