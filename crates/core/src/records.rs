//! How the Durable Objects' records are written and read back: a versioned
//! envelope `{"v": 2, "record": …}`, and the bare JSON that version 1 (the
//! code before the envelope) wrote. A record that reads as neither is an
//! error, never a default: an unreadable lockout must not become an
//! unlocked account, nor an unreadable history an empty one.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The version [`encode`] writes.
pub const RECORD_VERSION: u64 = 2;

/// Why a stored record could not be read. Says what kind of damage it is,
/// never what the record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// What is wrong, such as "not JSON" or "unknown version 9".
    pub reason: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unreadable record: {}", self.reason)
    }
}

/// The stored form of `record`.
pub fn encode<T: Serialize>(record: &T) -> String {
    // Plain data with string keys: serialising cannot fail.
    let record = serde_json::to_value(record).unwrap_or(Value::Null);
    serde_json::json!({ "v": RECORD_VERSION, "record": record }).to_string()
}

/// Reads a record written by [`encode`], or by version 1 (bare JSON).
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, Unreadable> {
    let value: Value = serde_json::from_str(text).map_err(|_| Unreadable {
        reason: "not JSON".to_owned(),
    })?;
    let (version, record) = match value {
        Value::Object(mut map) if map.contains_key("v") => {
            let version = map.get("v").and_then(Value::as_u64);
            (version, map.remove("record").unwrap_or(Value::Null))
        }
        bare => (Some(1), bare),
    };
    match version {
        Some(1 | RECORD_VERSION) => serde_json::from_value(record).map_err(|e| Unreadable {
            reason: format!(
                "version {} does not fit: {}",
                version.unwrap_or(1),
                kind_of(&e)
            ),
        }),
        Some(v) => Err(Unreadable {
            reason: format!("unknown version {v}"),
        }),
        None => Err(Unreadable {
            reason: "the version is not a number".to_owned(),
        }),
    }
}

/// What kind of mismatch a serde error is, without the values it quotes.
fn kind_of(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Data => "wrong shape",
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not JSON",
        serde_json::error::Category::Io => "unreadable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Sample {
        count: u32,
    }

    #[test]
    fn round_trips_and_reads_version_one() {
        let text = encode(&Sample { count: 3 });
        assert_eq!(text, r#"{"record":{"count":3},"v":2}"#);
        assert_eq!(decode::<Sample>(&text), Ok(Sample { count: 3 }));
        assert_eq!(decode::<Sample>(r#"{"count":4}"#), Ok(Sample { count: 4 }));
    }

    #[test]
    fn damage_is_an_error_that_quotes_nothing() {
        for text in [
            "",
            "{",
            "[1,2]",
            r#"{"count":"secret-value"}"#,
            r#"{"v":9,"record":{}}"#,
            r#"{"v":"x"}"#,
        ] {
            let error = decode::<Sample>(text).unwrap_err();
            assert!(!error.reason.contains("secret-value"), "{error}");
        }
    }
}
