//! The one error type of the core crate. Every variant is something a caller
//! can show to the person who supplied the input: it names the offending
//! field or value and never carries a secret.

use std::fmt;

/// Everything that can go wrong in core. Bad input is always one of these,
/// never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The policy document is not well-formed JSON, has a value of the wrong
    /// type, or has a field this version does not know. `field` is the dotted
    /// path of the offending field (empty when the document itself is not
    /// JSON).
    PolicyJson {
        /// Dotted path of the field, such as `passwords.minLength`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A field holds a value outside its allowed range, or two fields
    /// contradict each other.
    InvalidSetting {
        /// Dotted path of the field, such as `passwords.maxLength`.
        field: String,
        /// What is wrong with it, including the allowed range.
        message: String,
    },
    /// The document's `version` is not one this build understands.
    UnsupportedVersion {
        /// The version the document names.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// No preset has this name.
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: &'static [&'static str],
    },
}

impl Error {
    /// The dotted path of the offending field, when the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::PolicyJson { field, .. } | Self::InvalidSetting { field, .. } => Some(field),
            Self::UnsupportedVersion { .. } => Some("version"),
            Self::UnknownPreset { .. } => None,
        }
    }

    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidSetting {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PolicyJson { field, message } if field.is_empty() => {
                write!(f, "invalid policy JSON: {message}")
            }
            Self::PolicyJson { field, message } => {
                write!(f, "invalid policy field `{field}`: {message}")
            }
            Self::InvalidSetting { field, message } => {
                write!(f, "invalid policy field `{field}`: {message}")
            }
            Self::UnsupportedVersion { found, supported } => write!(
                f,
                "unsupported policy `version` {found}: this build reads version {supported}"
            ),
            Self::UnknownPreset { name, known } => write!(
                f,
                "unknown preset `{name}`; known presets: {}",
                known.join(", ")
            ),
        }
    }
}

impl std::error::Error for Error {}
