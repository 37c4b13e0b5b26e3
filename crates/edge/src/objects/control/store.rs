//! Control's SQLite storage: the tables, the key-value rows (the policy,
//! the session revocations, the fraud feed's last list), and the secrets.
//! Every `secret:…` key is spelled once, in [`Secret::key`]. Records are
//! read fail-closed: an unreadable row is an error, never a default.

use portcullis_core::MIN_SECRET_CHARS;
use portcullis_core::Policy;
use portcullis_core::Revocations;
use portcullis_core::dangerous::random_token;
use portcullis_core::records::{Unreadable, decode, encode};
use portcullis_core::{KeyInForce, application_key_digest, application_key_in_force};
use worker::{Env, Result, SqlStorage, State};

/// Control's storage and its deployment's vars and secrets.
pub(crate) struct Store {
    pub(crate) state: State,
    pub(crate) env: Env,
}

/// A secret Control keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secret {
    /// The session signing secret.
    Jwt,
    /// The session signing secret before the last rotation.
    JwtPrevious,
    /// The XSRF salt.
    Xsrf,
    /// The key of password-history fingerprints.
    Pepper,
    /// The CAPTCHA provider's secret key.
    Captcha,
    /// The admin API's application key.
    ApplicationKey,
    /// The webhook signing secret.
    Webhook,
}

impl Secret {
    /// The row it is stored under.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Jwt => "secret:jwt",
            Self::JwtPrevious => "secret:jwtPrevious",
            Self::Xsrf => "secret:xsrf",
            Self::Pepper => "secret:pepper",
            Self::Captcha => "secret:captcha",
            Self::ApplicationKey => "secret:applicationKey",
            Self::Webhook => "secret:webhook",
        }
    }

    /// The `wrangler secret` (or var) that seeds it, if any.
    fn env_name(self) -> Option<&'static str> {
        match self {
            Self::Jwt => Some("JWT_SECRET"),
            Self::Xsrf => Some("XSRF_SALT"),
            Self::Pepper => Some("PASSWORD_PEPPER"),
            Self::Captcha => Some("CAPTCHA_SECRET"),
            Self::ApplicationKey => Some("APPLICATION_KEY"),
            Self::Webhook => Some("WEBHOOK_SECRET"),
            Self::JwtPrevious => None,
        }
    }
}

/// The row of the retired application keys' digests (JSON array).
const RETIRED_KEYS: &str = "applicationKeysRetired";
/// The most retired key digests kept.
const MAX_RETIRED: usize = 256;

#[derive(serde::Deserialize)]
struct ValueRow {
    value: String,
}

/// The tables, created on every request (cheap when they exist).
const TABLES: [&str; 9] = [
    // The ids of the audit items taken from AuditLog shards (each once).
    "CREATE TABLE IF NOT EXISTS audit_ids (id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bans (target TEXT PRIMARY KEY, until INTEGER, scope TEXT NOT NULL, reason TEXT NOT NULL, created INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, ip TEXT NOT NULL, detail TEXT NOT NULL)",
    // Pruning by age runs on every insert: keep it an index range scan.
    "CREATE INDEX IF NOT EXISTS audit_at ON audit (at)",
    // Accounts whose lockout is running (`until` NULL: until unlocked).
    "CREATE TABLE IF NOT EXISTS locks (account TEXT PRIMARY KEY, until INTEGER, at INTEGER NOT NULL)",
    // Webhook deliveries: the event, core's Delivery, and the columns the
    // scheduler reads.
    "CREATE TABLE IF NOT EXISTS webhooks (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL, delivery TEXT NOT NULL, state TEXT NOT NULL, next_at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks (state, next_at)",
    // Single-use reset tokens, by the SHA-256 of the token (never the token).
    "CREATE TABLE IF NOT EXISTS reset_tokens (digest TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER NOT NULL)",
];

impl Store {
    /// The SQLite handle.
    pub(crate) fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Creates the tables.
    pub(crate) fn init(&self) -> Result<()> {
        let sql = self.sql();
        for statement in TABLES {
            sql.exec(statement, None)?;
        }
        Ok(())
    }

    /// A key-value row.
    pub(crate) fn get(&self, key: &str) -> Result<Option<String>> {
        let rows: Vec<ValueRow> = self
            .sql()
            .exec("SELECT value FROM kv WHERE key = ?", vec![key.into()])?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| r.value))
    }

    /// Writes a key-value row.
    pub(crate) fn put(&self, key: &str, value: &str) -> Result<()> {
        self.sql().exec(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), value.into()],
        )?;
        Ok(())
    }

    /// Deletes a key-value row; whether there was one.
    pub(crate) fn delete(&self, key: &str) -> Result<bool> {
        let removed: Vec<serde_json::Value> = self
            .sql()
            .exec(
                "DELETE FROM kv WHERE key = ? RETURNING key",
                vec![key.into()],
            )?
            .to_array()?;
        Ok(!removed.is_empty())
    }

    /// A record in a key-value row (`None` when there is none).
    pub(crate) fn record<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<std::result::Result<Option<T>, Unreadable>> {
        Ok(match self.get(key)? {
            None => Ok(None),
            Some(text) => decode(&text).map(Some),
        })
    }

    /// Writes a record to a key-value row.
    pub(crate) fn put_record<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.put(key, &encode(value))
    }

    /// A deployment var, when set and not blank.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        self.env
            .var(name)
            .map(|v| v.to_string())
            .ok()
            .filter(|v| !v.trim().is_empty())
    }

    /// The policy; seeded from the `PORTCULLIS_POLICY` (JSON) or
    /// `PORTCULLIS_PRESET` var on first start. `Err` says what is wrong.
    pub(crate) fn policy(&self) -> std::result::Result<Policy, String> {
        if let Ok(Some(json)) = self.get("policy") {
            return Policy::from_json(&json).map_err(|e| e.to_string());
        }
        let policy = self.deployed_policy()?;
        self.put("policy", &policy.to_json())
            .map_err(|e| e.to_string())?;
        Ok(policy)
    }

    /// The policy the deployment gives: `PORTCULLIS_POLICY` (JSON), else
    /// the `PORTCULLIS_PRESET`, else the defaults.
    pub(crate) fn deployed_policy(&self) -> std::result::Result<Policy, String> {
        match (self.var("PORTCULLIS_POLICY"), self.var("PORTCULLIS_PRESET")) {
            (Some(json), _) => {
                Policy::from_json(&json).map_err(|e| format!("PORTCULLIS_POLICY: {e}"))
            }
            (None, Some(name)) => {
                Policy::preset(&name).map_err(|e| format!("PORTCULLIS_PRESET: {e}"))
            }
            (None, None) => Ok(Policy::default()),
        }
    }

    /// Whether the policy is managed as code (`PORTCULLIS_POLICY_SOURCE =
    /// "code"`): the deployment's policy is authoritative, and the admin
    /// API does not write it.
    pub(crate) fn policy_as_code(&self) -> bool {
        self.var("PORTCULLIS_POLICY_SOURCE")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("code"))
    }

    /// A `wrangler secret` (or var, for local development), when set.
    pub(crate) fn env_secret(&self, name: &str) -> Option<String> {
        self.env
            .secret(name)
            .map(|s| s.to_string())
            .or_else(|_| self.env.var(name).map(|v| v.to_string()))
            .ok()
            .filter(|v| !v.is_empty())
    }

    /// A secret the admin API may replace: the stored one, else its
    /// `wrangler secret`.
    pub(crate) fn secret(&self, secret: Secret) -> Result<Option<String>> {
        Ok(match self.get(secret.key())? {
            Some(value) => Some(value),
            None => secret.env_name().and_then(|name| self.env_secret(name)),
        })
    }

    /// Whether `secret` has a stored value (set through the admin API or
    /// seeded).
    pub(crate) fn is_stored(&self, secret: Secret) -> Result<bool> {
        Ok(self.get(secret.key())?.is_some())
    }

    /// A signing secret: stored in SQLite; seeded from its `wrangler
    /// secret` when that has at least 32 characters, else 32 random bytes.
    /// Never leaves the Worker.
    pub(crate) fn signing_secret(&self, secret: Secret) -> Result<String> {
        if let Some(value) = self.get(secret.key())? {
            return Ok(value);
        }
        let from_env = secret
            .env_name()
            .and_then(|name| self.env_secret(name))
            .filter(|v| v.chars().count() >= MIN_SECRET_CHARS);
        let value = match from_env {
            Some(v) => v,
            None => random_secret()?,
        };
        self.put(secret.key(), &value)?;
        Ok(value)
    }

    /// The application key in force (core's `application_key_in_force`):
    /// the one the admin API stored, unless `APPLICATION_KEY` now holds a
    /// key never retired (break-glass). A takeover is stored at once: the
    /// environment's key becomes the stored one and the replaced key is
    /// retired, so it holds whatever the environment does next.
    pub(crate) fn application_key(&self) -> Result<Option<String>> {
        let stored = self.get(Secret::ApplicationKey.key())?;
        let env = self.env_secret("APPLICATION_KEY");
        if stored.is_none() {
            return Ok(env);
        }
        let retired = self.retired_keys()?;
        let pepper = self.signing_secret(Secret::Pepper)?;
        match application_key_in_force(
            stored.as_deref(),
            env.as_deref(),
            retired.as_deref(),
            &pepper,
        ) {
            KeyInForce::None => Ok(None),
            KeyInForce::Key(key) => Ok(Some(key.to_owned())),
            KeyInForce::TakeOver(key) => {
                let key = key.to_owned();
                self.retire(&stored.into_iter().chain([key.clone()]).collect::<Vec<_>>())?;
                self.set_secret(Secret::ApplicationKey, &key)?;
                Ok(Some(key))
            }
        }
    }

    /// Retires the deployment's current `APPLICATION_KEY` and the stored
    /// key, as the admin API replaces the key: neither takes over again.
    pub(crate) fn retire_keys_at_rotation(&self) -> Result<()> {
        let keys: Vec<String> = self
            .env_secret("APPLICATION_KEY")
            .into_iter()
            .chain(self.get(Secret::ApplicationKey.key())?)
            .collect();
        self.retire(&keys)
    }

    /// The retired keys' digests (`None`: no rotation recorded any).
    fn retired_keys(&self) -> Result<Option<Vec<String>>> {
        Ok(self
            .get(RETIRED_KEYS)?
            .map(|text| serde_json::from_str(&text).unwrap_or_default()))
    }

    /// Adds the digests of `keys` to the retired ones (the newest
    /// [`MAX_RETIRED`] kept).
    fn retire(&self, keys: &[String]) -> Result<()> {
        let pepper = self.signing_secret(Secret::Pepper)?;
        let mut retired = self.retired_keys()?.unwrap_or_default();
        for key in keys {
            let digest = application_key_digest(&pepper, key.trim());
            if !retired.contains(&digest) {
                retired.push(digest);
            }
        }
        let excess = retired.len().saturating_sub(MAX_RETIRED);
        retired.drain(..excess);
        let text =
            serde_json::to_string(&retired).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.put(RETIRED_KEYS, &text)
    }

    /// Stores `value` as `secret`.
    pub(crate) fn set_secret(&self, secret: Secret, value: &str) -> Result<()> {
        self.put(secret.key(), value)
    }

    /// The replicated session revocations.
    pub(crate) fn revocations(&self) -> Result<std::result::Result<Revocations, Unreadable>> {
        Ok(self
            .record::<Revocations>("revocations")?
            .map(Option::unwrap_or_default))
    }
}

/// 32 random bytes as a token.
pub(crate) fn random_secret() -> Result<String> {
    Ok(random_token(&crate::clock::random_bytes()?))
}
