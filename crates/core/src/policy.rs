//! The policy document: every setting of SPEC's catalogue, with its default,
//! as one versioned JSON document with camelCase keys. Durations are whole
//! seconds (fields end in `Seconds`). Parsing fills missing fields with their
//! defaults, refuses unknown fields, and validation names the offending field
//! by its dotted path, so an admin console can show the error next to it.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::paths::check_path;

/// The version of the policy document this build reads and writes.
pub const POLICY_VERSION: u32 = 1;

/// Longest `maxLength` a policy may set. The edge hashes and compares
/// passwords up to this length; anything longer is refused, never truncated.
const MAX_LENGTH_CEILING: u32 = 4096;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

pub(crate) use crate::mode::Mode;

/// The whole security configuration of one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Policy {
    /// The JSON Schema editors complete the document with, such as
    /// `"./policy.schema.json"` (`docs/policy.schema.json`); ignored.
    #[serde(rename = "$schema", default, skip_serializing)]
    pub schema: Option<String>,
    /// Document format version. Defaults to [`POLICY_VERSION`].
    pub version: u32,
    /// Password rules (the browser advises, the edge enforces). Defaults to [`PasswordPolicy::default`].
    pub passwords: PasswordPolicy,
    /// Login lockout and session-count rules. Defaults to [`LoginPolicy::default`].
    pub login: LoginPolicy,
    /// Automatic and manual IP bans. Defaults to [`BanPolicy::default`].
    pub bans: BanPolicy,
    /// Session token lifetimes and reset-link lifetimes. Defaults to [`SessionPolicy::default`].
    pub sessions: SessionPolicy,
    /// CAPTCHA provider and where it is required. Defaults to [`CaptchaPolicy::default`].
    pub captcha: CaptchaPolicy,
    /// Security headers added to every response. Defaults to [`ResponsePolicy::default`].
    pub responses: ResponsePolicy,
    /// Upload rules. Defaults to [`UploadPolicy::default`].
    pub uploads: UploadPolicy,
    /// Signup and password-reset switches. Defaults to [`SignupPolicy::default`].
    pub signup: SignupPolicy,
    /// Probation for new accounts. Defaults to [`ProbationPolicy::default`].
    pub probation: ProbationPolicy,
    /// Route paths and form field names the edge watches. Defaults to [`RoutePolicy::default`].
    pub routes: RoutePolicy,
    /// Audit log retention. Defaults to [`AuditPolicy::default`].
    pub audit: AuditPolicy,
    /// Signed webhooks for security events. Defaults to [`WebhookPolicy::default`].
    pub webhooks: WebhookPolicy,
    /// Rate limits by any key, at most 32 rules (see `ratelimit`). Defaults to none.
    pub rate_limits: Vec<crate::ratelimit::RateLimitRule>,
    /// Form fields the edge replaces by vault envelopes before the origin
    /// sees them. Defaults to [`VaultPolicy::default`] (none).
    pub vault: VaultPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            schema: None,
            version: POLICY_VERSION,
            passwords: PasswordPolicy::default(),
            login: LoginPolicy::default(),
            bans: BanPolicy::default(),
            sessions: SessionPolicy::default(),
            captcha: CaptchaPolicy::default(),
            responses: ResponsePolicy::default(),
            uploads: UploadPolicy::default(),
            signup: SignupPolicy::default(),
            probation: ProbationPolicy::default(),
            routes: RoutePolicy::default(),
            audit: AuditPolicy::default(),
            webhooks: WebhookPolicy::default(),
            rate_limits: Vec::new(),
            vault: VaultPolicy::default(),
        }
    }
}

impl Policy {
    /// Parses and validates a policy document. Missing fields take their
    /// defaults; unknown fields, wrong types and out-of-range values are
    /// errors that name the field.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let policy: Self = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            Error::PolicyJson {
                field,
                message: strip_position(&e.inner().to_string()),
            }
        })?;
        policy.validate()?;
        Ok(policy)
    }

    /// The document's SHA-256 (hex) over its JSON: policy as code replaces
    /// the stored policy when the deployment's differs from it.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        crate::text::hex(&sha2::Sha256::digest(self.to_json().as_bytes()))
    }

    /// Every error of a document, each naming its field, as far as they
    /// can be told apart: each section is read on its own (so a bad
    /// `login` does not hide a bad `bans`), then the whole document (its
    /// cross-section rules). Empty: the document is valid.
    pub fn errors(json: &str) -> Vec<Error> {
        let value = match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(fields)) => fields,
            Ok(_) => return vec![Error::invalid("", "a policy document is a JSON object")],
            Err(e) => {
                return vec![Error::PolicyJson {
                    field: String::new(),
                    message: e.to_string(),
                }];
            }
        };
        let mut errors: Vec<Error> = Vec::new();
        for (name, section) in &value {
            if name == "version" {
                continue;
            }
            let mut one = serde_json::Map::new();
            if let Some(version) = value.get("version") {
                one.insert("version".to_owned(), version.clone());
            }
            one.insert(name.clone(), section.clone());
            if let Err(e) = Self::from_json(&serde_json::Value::Object(one).to_string()) {
                errors.push(e);
            }
        }
        if errors.is_empty()
            && let Err(e) = Self::from_json(json)
        {
            errors.push(e);
        }
        errors
    }

    /// Serialises the document as JSON (camelCase keys).
    pub fn to_json(&self) -> String {
        // Serialising plain data structs with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The part a browser may see, served by the edge's public endpoint:
    /// the password rules and the CAPTCHA provider with its site key.
    pub fn public(&self) -> PublicPolicy {
        PublicPolicy {
            version: self.version,
            // The mode is the edge's business: browsers check the rules.
            passwords: PasswordPolicy {
                mode: Mode::Enforce,
                ..self.passwords.clone()
            },
            captcha: PublicCaptcha {
                enabled: self.captcha.enabled,
                provider: self.captcha.provider,
                site_key: self.captcha.site_key.clone(),
                pages: self.captcha.pages.clone(),
            },
            vault: None,
        }
    }

    /// Checks every range and cross-field rule.
    pub fn validate(&self) -> Result<(), Error> {
        if self.version != POLICY_VERSION {
            return Err(Error::UnsupportedVersion {
                found: self.version,
                supported: POLICY_VERSION,
            });
        }
        // Plain data with string keys: serialising cannot fail.
        crate::bounds::check(&serde_json::to_value(self).unwrap_or_default())?;
        self.passwords.validate("passwords")?;
        // The range API is the edge's alone: the browser's reader of the
        // password rules does not carry URL checks (first-feedback bytes).
        self.passwords.breached.validate("passwords.breached")?;
        self.login.validate()?;
        self.bans.validate()?;
        self.sessions.validate()?;
        self.captcha.validate()?;
        self.responses.validate()?;
        self.uploads.validate()?;
        self.signup.validate()?;
        self.probation.validate()?;
        self.routes.validate()?;
        at_least("audit.retentionSeconds", self.audit.retention_seconds, 1)?;
        self.webhooks.validate()?;
        self.vault.validate(&self.routes, &self.probation)?;
        crate::ratelimit::validate(&self.rate_limits)
    }
}

/// serde_json appends " at line 1 column 42"; the field path says more.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// `base × factor^previous`, capped at `cap`: the length of the next ban or
/// lockout for a repeat offender (shared by bans and lockout).
pub(crate) fn escalated(base: u64, factor: u32, cap: u64, previous: u32) -> u64 {
    let mut length = base;
    for _ in 0..previous {
        length = length.saturating_mul(u64::from(factor));
        if length >= cap {
            break;
        }
    }
    length.min(cap)
}

fn at_least(field: &str, value: u64, min: u64) -> Result<(), Error> {
    if value < min {
        return Err(Error::invalid(field, format!("must be at least {min}")));
    }
    Ok(())
}

fn in_range(field: &str, value: u64, min: u64, max: u64) -> Result<(), Error> {
    if value < min || value > max {
        return Err(Error::invalid(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}

/// An origin: `scheme://host[:port]`, nothing after it.
fn check_origin(field: &str, origin: &str) -> Result<(), Error> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty() && !r.contains(['/', '?', '#', '@']) && !r.chars().any(char::is_whitespace)
    });
    if !ok || origin != origin.to_ascii_lowercase() {
        return Err(Error::invalid(
            field,
            format!(
                "must be an origin such as `https://partner.example`, lowercase, got `{origin}`"
            ),
        ));
    }
    Ok(())
}

/// An outbound URL (CAPTCHA verification, webhooks, the fraud feed):
/// https, or plain http to a loopback host only (tests, a local relay).
fn check_url(field: &str, url: &str) -> Result<(), Error> {
    let host = |rest: &str| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
            None => host
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
        }
    };
    let plain = url.chars().any(|c| c.is_whitespace() || c.is_control());
    let ok = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => !host(rest).is_empty(),
        (None, Some(rest)) => matches!(host(rest).as_str(), "127.0.0.1" | "::1" | "localhost"),
        (None, None) => false,
    };
    if !ok || plain {
        return Err(Error::invalid(
            field,
            format!(
                "must be an https URL (plain http only to 127.0.0.1, ::1 or localhost), got `{url}`"
            ),
        ));
    }
    Ok(())
}

/// Accepts `203.0.113.7`, `203.0.113.0/24`, `2001:db8::1` and `2001:db8::/32`:
/// exactly what the ban engine's `parse_net` reads, so a validated entry is
/// never one that silently matches nothing; and no range wider than
/// `widest` (the IPv4 and IPv6 prefix lengths) allows.
fn check_cidr(field: &str, value: &str, widest: (u8, u8)) -> Result<(), Error> {
    let Some(net) = crate::net::parse_net(value).filter(|_| value.trim() == value) else {
        return Err(Error::invalid(
            field,
            format!("`{value}` is not an IP address or CIDR range (such as 203.0.113.0/24)"),
        ));
    };
    if crate::net::too_wide(&net, widest) {
        return Err(Error::invalid(
            field,
            format!(
                "`{value}` is wider than bans.minPrefixLengthV4 / V6 allow (/{} for IPv4, /{} for IPv6)",
                widest.0, widest.1
            ),
        ));
    }
    Ok(())
}

fn check_cidrs(field: &str, values: &[String], widest: (u8, u8)) -> Result<(), Error> {
    for (i, v) in values.iter().enumerate() {
        check_cidr(&format!("{field}[{i}]"), v, widest)?;
    }
    Ok(())
}

/// Password rules. The browser package shows them live; the edge enforces
/// them on signup and change-password forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// When off, only the length rules apply. Defaults to `true`.
    pub enforce_strength: bool,
    /// Administrators (as marked by the origin) skip the strength rules
    /// when changing their password; the length rules still apply.
    /// Defaults to `false`.
    pub admins_may_override: bool,
    /// Fewest Unicode code points after NFKC. Defaults to `8`.
    pub min_length: u32,
    /// Most Unicode code points after NFKC; longer passwords are refused,
    /// never truncated. Defaults to `128`.
    pub max_length: u32,
    /// Require a lowercase letter. Defaults to `false`.
    pub require_lowercase: bool,
    /// Require an uppercase letter. Defaults to `false`.
    pub require_uppercase: bool,
    /// Require a digit. Defaults to `false`.
    pub require_digit: bool,
    /// Require a symbol (see `symbols`). Defaults to `false`.
    pub require_symbol: bool,
    /// Which characters count as symbols: `null` for any character that is
    /// neither a letter nor a digit, or a string listing them, such as
    /// `"!@#$%^&*"`. Defaults to `null`.
    pub symbols: Option<String>,
    /// At least this many of the four classes (lowercase, uppercase,
    /// digit, symbol); `0` turns the rule off. Defaults to `0`.
    pub min_character_classes: u8,
    /// Refuse passwords at least half covered by dictionary words of four or
    /// more letters (after undoing l33t substitutions). Defaults to `false`.
    pub forbid_dictionary_words: bool,
    /// Refuse the bundled 10,000 most common passwords and `blocklistExtra`,
    /// compared whole after NFKC and lowercasing. Defaults to `true`.
    pub blocklist: bool,
    /// Words the admin adds to the blocklist. Defaults to empty.
    pub blocklist_extra: Vec<String>,
    /// Refuse passwords that equal or contain the username, the email's
    /// local part or the person's name. Defaults to `true`.
    pub forbid_user_info: bool,
    /// Lowest zxcvbn score (0–4) accepted. Defaults to `2`.
    pub min_score: u8,
    /// Most identical characters in a row; `0` turns the rule off.
    /// Defaults to `0`.
    pub max_repeated_characters: u32,
    /// Refuse the last N passwords of the user (the edge keeps keyed hashes
    /// only); `0` turns history off. Defaults to `0`.
    pub history_count: u32,
    /// A password expires this long after it was set; `0` = never.
    /// Defaults to `0`.
    pub expiry_seconds: u64,
    /// Warn this long before expiry. Defaults to 7 days (`604800`).
    pub expiry_warning_seconds: u64,
    /// A new account must change its password at first login. Defaults to `false`.
    pub change_on_first_login: bool,
    /// Check existing passwords against a tightened policy at next login
    /// (and require a change when they fail); when off, a policy change
    /// affects new passwords only. Defaults to `true`.
    pub apply_to_existing: bool,
    /// Refuse passwords found in known data breaches (checked by the edge on
    /// signup, change and reset through a k-anonymity range API).
    #[serde(default)]
    pub breached: BreachedPolicy,
    /// `"enforce"`: the edge's password rules (signup, change, reset) refuse; `"monitor"`: the request passes and
    /// the audit log says what would have happened (`wouldRefuse`).
    /// Defaults to `"enforce"`.
    #[serde(default, skip_serializing_if = "Mode::is_enforce")]
    pub mode: Mode,
}

/// The breached-password check (NIST SP 800-63B asks for it): the edge
/// sends the first 5 hex digits of the password's SHA-1 to a range API
/// (with `Add-Padding: true`) and looks the rest up in the answer; the
/// password itself never leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BreachedPolicy {
    /// Check new passwords. Off in every preset (the range API is a third
    /// party on the network). Defaults to `false`.
    pub enabled: bool,
    /// The range API; the prefix is appended. https, or plain http to
    /// loopback (tests, a self-hosted mirror on the same host).
    /// Defaults to `"https://api.pwnedpasswords.com/range/"`.
    pub range_url: String,
    /// Refuse a password seen at least this many times. Defaults to `1`.
    pub min_count: u32,
    /// How long to wait for the range API (1–30). Defaults to `2`.
    pub timeout_seconds: u64,
    /// Accept the password when the range API is down or slow. Defaults to
    /// `false` (503 `breach_check_unavailable`).
    pub fail_open: bool,
}

impl Default for BreachedPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            range_url: "https://api.pwnedpasswords.com/range/".to_owned(),
            min_count: 1,
            timeout_seconds: 2,
            fail_open: false,
        }
    }
}

impl BreachedPolicy {
    /// The range URL (its numbers are in `bounds`' table).
    fn validate(&self, prefix: &str) -> Result<(), Error> {
        let field = format!("{prefix}.rangeUrl");
        check_url(&field, &self.range_url)?;
        if self.range_url.contains(['?', '#']) {
            return Err(Error::invalid(
                &field,
                "must end where the prefix is appended (no query or fragment)",
            ));
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            enforce_strength: true,
            admins_may_override: false,
            min_length: 8,
            max_length: 128,
            require_lowercase: false,
            require_uppercase: false,
            require_digit: false,
            require_symbol: false,
            symbols: None,
            min_character_classes: 0,
            forbid_dictionary_words: false,
            blocklist: true,
            blocklist_extra: Vec::new(),
            forbid_user_info: true,
            min_score: 2,
            max_repeated_characters: 0,
            history_count: 0,
            expiry_seconds: 0,
            expiry_warning_seconds: 7 * DAY,
            change_on_first_login: false,
            apply_to_existing: true,
            breached: BreachedPolicy::default(),
            mode: Mode::Enforce,
        }
    }
}

impl PasswordPolicy {
    /// Checks ranges; `prefix` is the path of this section in the document.
    pub(crate) fn validate(&self, prefix: &str) -> Result<(), Error> {
        let f = |name: &str| format!("{prefix}.{name}");
        in_range(
            &f("minLength"),
            self.min_length.into(),
            1,
            MAX_LENGTH_CEILING.into(),
        )?;
        in_range(
            &f("maxLength"),
            self.max_length.into(),
            1,
            MAX_LENGTH_CEILING.into(),
        )?;
        if self.max_length < self.min_length {
            return Err(Error::invalid(
                &f("maxLength"),
                format!(
                    "must be at least minLength ({}), got {}",
                    self.min_length, self.max_length
                ),
            ));
        }
        in_range(
            &f("minCharacterClasses"),
            self.min_character_classes.into(),
            0,
            4,
        )?;
        in_range(&f("minScore"), self.min_score.into(), 0, 4)?;
        in_range(
            &f("maxRepeatedCharacters"),
            self.max_repeated_characters.into(),
            0,
            MAX_LENGTH_CEILING.into(),
        )?;
        in_range(&f("historyCount"), self.history_count.into(), 0, 100)?;
        if let Some(symbols) = &self.symbols {
            if symbols.is_empty() {
                return Err(Error::invalid(
                    &f("symbols"),
                    "must list at least one character, or be null for any non-alphanumeric character",
                ));
            }
            if let Some(c) = symbols.chars().find(|c| c.is_alphanumeric()) {
                return Err(Error::invalid(
                    &f("symbols"),
                    format!("`{c}` is a letter or digit, not a symbol"),
                ));
            }
        }
        if self.require_symbol && self.symbols.as_deref() == Some("") {
            return Err(Error::invalid(&f("symbols"), "is empty"));
        }
        for (i, word) in self.blocklist_extra.iter().enumerate() {
            if word.trim().is_empty() || word.chars().count() > MAX_LENGTH_CEILING as usize {
                return Err(Error::invalid(
                    &format!("{prefix}.blocklistExtra[{i}]"),
                    "must be a non-empty word",
                ));
            }
        }
        if self.expiry_seconds > 0 && self.expiry_warning_seconds >= self.expiry_seconds {
            return Err(Error::invalid(
                &f("expiryWarningSeconds"),
                "must be shorter than expirySeconds",
            ));
        }
        Ok(())
    }
}

/// What happens when a user who already has a session logs in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum SingleSession {
    /// Any number of sessions per user.
    Off,
    /// A new login ends the user's other sessions.
    EndOthers,
    /// A new login is refused while another session is active.
    RefuseNew,
}

/// Login lockout, inactive accounts and session counts (enforced by the edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LoginPolicy {
    /// Lock accounts after repeated failed logins. Defaults to `true`.
    pub lockout_enabled: bool,
    /// Failed attempts before lockout. Defaults to `5`.
    pub max_failed_attempts: u32,
    /// How long a lockout lasts. Defaults to 30 minutes (`1800`).
    pub lockout_seconds: u64,
    /// Each further lockout of the same account lasts this many times the
    /// previous one; `1` = no escalation. Defaults to `1`.
    pub lockout_escalation_factor: u32,
    /// Cap on an escalated lockout. Defaults to 1 day (`86400`).
    pub max_lockout_seconds: u64,
    /// Lock permanently (until an admin unlocks) after this many lockouts;
    /// `0` = never. Defaults to `0`.
    pub permanent_after_lockouts: u32,
    /// Tell the user how many attempts are left. Defaults to `true`.
    pub report_attempts_left: bool,
    /// Accounts not seen for this long are refused; `0` = never.
    /// Defaults to 180 days (`15552000`).
    pub inactive_account_seconds: u64,
    /// Single-session mode. Defaults to `"off"`.
    pub single_session: SingleSession,
    /// `"enforce"`: the lockout refuse; `"monitor"`: the request passes and
    /// the audit log says what would have happened (`wouldRefuse`).
    /// Defaults to `"enforce"`.
    pub mode: Mode,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            lockout_enabled: true,
            max_failed_attempts: 5,
            lockout_seconds: 30 * MINUTE,
            lockout_escalation_factor: 1,
            max_lockout_seconds: DAY,
            permanent_after_lockouts: 0,
            report_attempts_left: true,
            inactive_account_seconds: 180 * DAY,
            single_session: SingleSession::Off,
            mode: Mode::Enforce,
        }
    }
}

impl LoginPolicy {
    fn validate(&self) -> Result<(), Error> {
        in_range(
            "login.maxFailedAttempts",
            self.max_failed_attempts.into(),
            1,
            1000,
        )?;
        at_least("login.lockoutSeconds", self.lockout_seconds, 1)?;
        in_range(
            "login.lockoutEscalationFactor",
            self.lockout_escalation_factor.into(),
            1,
            100,
        )?;
        if self.max_lockout_seconds < self.lockout_seconds {
            return Err(Error::invalid(
                "login.maxLockoutSeconds",
                "must be at least lockoutSeconds",
            ));
        }
        Ok(())
    }
}

/// Whether a manual ban blocks everything or only writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ManualBanScope {
    /// Every request is refused.
    All,
    /// Only unsafe methods (POST, PUT, PATCH, DELETE) are refused.
    Writes,
}

/// One entry of the manual ban list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManualBan {
    /// An IP address or CIDR range, IPv4 or IPv6.
    pub cidr: String,
    /// What the ban blocks. Defaults to `"all"`.
    #[serde(default = "scope_all")]
    pub scope: ManualBanScope,
}

fn scope_all() -> ManualBanScope {
    ManualBanScope::All
}

/// Fraud signals that ban an IP at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FraudPolicy {
    /// Ban IPs that match a fraud signal. Defaults to `false`.
    pub enabled: bool,
    /// CIDR ranges the admin uploads. Defaults to empty.
    pub deny_list: Vec<String>,
    /// A URL serving one IP or CIDR per line, polled by the edge.
    /// Defaults to `null` (no feed).
    pub feed_url: Option<String>,
    /// How often the feed is polled. Defaults to 1 hour (`3600`).
    pub feed_poll_seconds: u64,
    /// Ban when Cloudflare's bot score (1–99) is below this; `0` = ignore
    /// the bot score. Defaults to `0`.
    pub bot_score_below: u8,
}

impl Default for FraudPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            deny_list: Vec::new(),
            feed_url: None,
            feed_poll_seconds: HOUR,
            bot_score_below: 0,
        }
    }
}

/// IP bans (enforced by the edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BanPolicy {
    /// Ban IPs that generate security warnings. Defaults to `true`.
    pub enabled: bool,
    /// Warnings within `windowSeconds` that trigger a ban. Defaults to `10`.
    pub warnings_before_ban: u32,
    /// The sliding window for counting warnings. Defaults to 10 minutes (`600`).
    pub window_seconds: u64,
    /// First ban's length. Defaults to 1 hour (`3600`).
    pub ban_seconds: u64,
    /// Each repeat ban lasts this many times the previous one; `1` = no
    /// escalation. Defaults to `2`.
    pub escalation_factor: u32,
    /// Cap on an escalated ban. Defaults to 7 days (`604800`).
    pub max_ban_seconds: u64,
    /// IPv6 clients are counted per prefix of this length. Defaults to `64`.
    pub ipv6_prefix_length: u8,
    /// The widest IPv4 range a ban, deny list or never-ban entry may name
    /// (`0.0.0.0/0` would ban or exempt everyone). Defaults to `8`.
    pub min_prefix_length_v4: u8,
    /// The same for IPv6. Defaults to `16`.
    pub min_prefix_length_v6: u8,
    /// Banned IPv6 clients of one prefix of `aggregateV6PrefixLength` bits
    /// that become one ban of the whole prefix (never one that overlaps
    /// `neverBan`); `0`: never. Defaults to `256`.
    pub aggregate_v6_after: u32,
    /// The prefix length IPv6 bans are aggregated into. Defaults to `48`.
    pub aggregate_v6_prefix_length: u8,
    /// IPs and CIDR ranges never banned (IPv4 and IPv6). Defaults to empty.
    pub never_ban: Vec<String>,
    /// Bans the admin sets by hand. Defaults to empty.
    pub manual: Vec<ManualBan>,
    /// Fraud signals. Defaults to [`FraudPolicy::default`].
    pub fraud: FraudPolicy,
    /// `"enforce"`: bans, manual bans and fraud signals (never on the edge's own routes) refuse; `"monitor"`: the request passes and
    /// the audit log says what would have happened (`wouldRefuse`).
    /// Defaults to `"enforce"`.
    pub mode: Mode,
}

impl Default for BanPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            warnings_before_ban: 10,
            window_seconds: 10 * MINUTE,
            ban_seconds: HOUR,
            escalation_factor: 2,
            max_ban_seconds: 7 * DAY,
            ipv6_prefix_length: 64,
            min_prefix_length_v4: 8,
            min_prefix_length_v6: 16,
            aggregate_v6_after: 256,
            aggregate_v6_prefix_length: 48,
            never_ban: Vec::new(),
            manual: Vec::new(),
            fraud: FraudPolicy::default(),
            mode: Mode::Enforce,
        }
    }
}

impl BanPolicy {
    /// The widest ranges entries may name (IPv4, IPv6 prefix lengths).
    pub(crate) fn widest(&self) -> (u8, u8) {
        (self.min_prefix_length_v4, self.min_prefix_length_v6)
    }

    fn validate(&self) -> Result<(), Error> {
        in_range(
            "bans.warningsBeforeBan",
            self.warnings_before_ban.into(),
            1,
            10_000,
        )?;
        at_least("bans.windowSeconds", self.window_seconds, 1)?;
        at_least("bans.banSeconds", self.ban_seconds, 1)?;
        in_range(
            "bans.escalationFactor",
            self.escalation_factor.into(),
            1,
            100,
        )?;
        if self.max_ban_seconds < self.ban_seconds {
            return Err(Error::invalid(
                "bans.maxBanSeconds",
                "must be at least banSeconds",
            ));
        }
        in_range(
            "bans.ipv6PrefixLength",
            self.ipv6_prefix_length.into(),
            1,
            128,
        )?;
        in_range(
            "bans.aggregateV6After",
            self.aggregate_v6_after.into(),
            0,
            65_536,
        )?;
        in_range(
            "bans.aggregateV6PrefixLength",
            self.aggregate_v6_prefix_length.into(),
            32,
            127,
        )?;
        if self.aggregate_v6_after > 0
            && (self.aggregate_v6_prefix_length >= self.ipv6_prefix_length
                || self.aggregate_v6_prefix_length < self.min_prefix_length_v6)
        {
            return Err(Error::invalid(
                "bans.aggregateV6PrefixLength",
                "must be shorter than ipv6PrefixLength and no shorter than minPrefixLengthV6",
            ));
        }
        let widest = self.widest();
        check_cidrs("bans.neverBan", &self.never_ban, widest)?;
        for (i, ban) in self.manual.iter().enumerate() {
            check_cidr(&format!("bans.manual[{i}].cidr"), &ban.cidr, widest)?;
        }
        check_cidrs("bans.fraud.denyList", &self.fraud.deny_list, widest)?;
        if let Some(url) = &self.fraud.feed_url {
            check_url("bans.fraud.feedUrl", url)?;
        }
        at_least(
            "bans.fraud.feedPollSeconds",
            self.fraud.feed_poll_seconds,
            10,
        )?;
        in_range(
            "bans.fraud.botScoreBelow",
            self.fraud.bot_score_below.into(),
            0,
            99,
        )
    }
}

/// Lifetimes of single-use password-reset links, by who asked for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ResetLinkLifetimes {
    /// The user asked for a reset. Defaults to 1 hour (`3600`).
    pub self_service_seconds: u64,
    /// An admin sent the reset. Defaults to 1 day (`86400`).
    pub sent_by_admin_seconds: u64,
    /// Invitation of a new user to set a first password. Defaults to 7 days (`604800`).
    pub invitation_seconds: u64,
}

impl Default for ResetLinkLifetimes {
    fn default() -> Self {
        Self {
            self_service_seconds: HOUR,
            sent_by_admin_seconds: DAY,
            invitation_seconds: 7 * DAY,
        }
    }
}

/// Session tokens (JWT cookie with sliding expiry) and reset links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SessionPolicy {
    /// Idle timeout: a session token lives this long and is renewed on every
    /// successful request. Defaults to 30 minutes (`1800`).
    pub idle_timeout_seconds: u64,
    /// A session ends this long after login, however active. Defaults to 12 hours (`43200`).
    pub absolute_lifetime_seconds: u64,
    /// Clock skew tolerated when checking `exp` and `iat`. Defaults to `30`.
    pub leeway_seconds: u64,
    /// Reset-link lifetimes. Defaults to [`ResetLinkLifetimes::default`].
    pub reset_links: ResetLinkLifetimes,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout_seconds: 30 * MINUTE,
            absolute_lifetime_seconds: 12 * HOUR,
            leeway_seconds: 30,
            reset_links: ResetLinkLifetimes::default(),
        }
    }
}

impl SessionPolicy {
    fn validate(&self) -> Result<(), Error> {
        at_least("sessions.idleTimeoutSeconds", self.idle_timeout_seconds, 1)?;
        if self.absolute_lifetime_seconds < self.idle_timeout_seconds {
            return Err(Error::invalid(
                "sessions.absoluteLifetimeSeconds",
                "must be at least idleTimeoutSeconds",
            ));
        }
        in_range("sessions.leewaySeconds", self.leeway_seconds, 0, 300)?;
        let r = &self.reset_links;
        at_least(
            "sessions.resetLinks.selfServiceSeconds",
            r.self_service_seconds,
            1,
        )?;
        at_least(
            "sessions.resetLinks.sentByAdminSeconds",
            r.sent_by_admin_seconds,
            1,
        )?;
        at_least(
            "sessions.resetLinks.invitationSeconds",
            r.invitation_seconds,
            1,
        )
    }
}

/// CAPTCHA providers the edge verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CaptchaProvider {
    /// No CAPTCHA.
    None,
    /// Cloudflare Turnstile.
    Turnstile,
    /// Google reCAPTCHA v2 (checkbox or invisible).
    RecaptchaV2,
    /// Google reCAPTCHA v3 (score).
    RecaptchaV3,
    /// hCaptcha.
    Hcaptcha,
    /// The built-in proof-of-work challenge (later phase).
    Builtin,
}

/// Pages that can require a CAPTCHA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CaptchaPage {
    /// The login form.
    Login,
    /// The signup form.
    Signup,
    /// The password-reset request form.
    Reset,
    /// The change-password form.
    ChangePassword,
    /// A probation-limited action of an account on probation (also asked
    /// for by `probation.captcha`).
    ProbationAction,
    /// A request over a rate limit whose action is `captcha` (asked for by
    /// the rule, not by this list).
    RateLimit,
    /// One of `captcha.unverifiedActions` by a user whose email is not
    /// verified (asked for by `captcha.unverifiedUsers`).
    UnverifiedAction,
}

/// A request by method and path (a trailing `*` matches a prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteAction {
    /// HTTP method, such as `POST`.
    pub method: String,
    /// Path; a trailing `*` matches a prefix.
    pub path: String,
}

/// CAPTCHA: the browser renders the provider's widget, the edge verifies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CaptchaPolicy {
    /// The switch, separate from the keys; without a secret key the
    /// CAPTCHA stays off anyway. Defaults to `false`.
    pub enabled: bool,
    /// Which provider. Defaults to `"none"`.
    pub provider: CaptchaProvider,
    /// The provider's public site key. Defaults to `""`.
    pub site_key: String,
    /// Overrides the provider's verify endpoint (tests, self-hosted).
    /// Defaults to `null` (the provider's own).
    pub verify_url: Option<String>,
    /// Lowest score accepted from score-based providers (reCAPTCHA v3).
    /// Defaults to `0.5`.
    pub score_threshold: f64,
    /// reCAPTCHA v3 action the token must carry. Defaults to `null` (not checked).
    pub expected_action: Option<String>,
    /// Hostname the token must have been solved on. Defaults to `null` (not checked).
    pub expected_hostname: Option<String>,
    /// Pages that require the CAPTCHA. Defaults to `["signup"]`.
    pub pages: Vec<CaptchaPage>,
    /// On the login page, require the CAPTCHA only after this many failed
    /// logins of the account; `0` = always. Defaults to `0`.
    pub after_failed_logins: u32,
    /// Require it from signed-in users whose email is not verified (the
    /// origin's `Portcullis-Login-Verified: false` at login, kept in the
    /// session until it sends `true`), on `unverifiedActions`.
    /// Defaults to `false`.
    pub unverified_users: bool,
    /// The actions that need the CAPTCHA from unverified users. Defaults to
    /// new tickets and new threads (`POST /tickets`, `POST /community/threads`).
    pub unverified_actions: Vec<RouteAction>,
    /// Write every verification result to the audit log. Defaults to `false`.
    pub log_results: bool,
    /// Let requests through when the provider cannot be reached. Defaults
    /// to `false` (fail closed).
    pub fail_open: bool,
    /// How long to wait for the provider. Defaults to `5`.
    pub verify_timeout_seconds: u64,
    /// The built-in proof-of-work challenge (provider `builtin`).
    pub builtin: BuiltinCaptcha,
    /// `"enforce"`: the CAPTCHA refuse; `"monitor"`: the request passes and
    /// the audit log says what would have happened (`wouldRefuse`).
    /// Defaults to `"enforce"`.
    pub mode: Mode,
}

/// The built-in CAPTCHA: a SHA-256 proof of work the edge issues, signs
/// and verifies itself (no third party, no image puzzle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BuiltinCaptcha {
    /// Leading zero bits the solution's SHA-256 must have: 2^N hashes
    /// expected. Defaults to `20` (1,048,576 hashes).
    pub difficulty: u32,
    /// The difficulty for clients with recent warnings. Defaults to `22`
    /// (4,194,304 hashes).
    pub raised_difficulty: u32,
    /// Warnings in the ban window from which a client gets the raised
    /// difficulty; `0` = never raised. Defaults to `3`.
    pub raise_after_warnings: u32,
    /// How long a challenge may be solved and used. Defaults to `300`.
    pub expiry_seconds: u64,
}

impl Default for BuiltinCaptcha {
    fn default() -> Self {
        Self {
            difficulty: 20,
            raised_difficulty: 22,
            raise_after_warnings: 3,
            expiry_seconds: 300,
        }
    }
}

impl Default for CaptchaPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            provider: CaptchaProvider::None,
            site_key: String::new(),
            verify_url: None,
            score_threshold: 0.5,
            expected_action: None,
            expected_hostname: None,
            pages: vec![CaptchaPage::Signup],
            after_failed_logins: 0,
            unverified_users: false,
            unverified_actions: vec![
                RouteAction {
                    method: "POST".to_owned(),
                    path: "/tickets".to_owned(),
                },
                RouteAction {
                    method: "POST".to_owned(),
                    path: "/community/threads".to_owned(),
                },
            ],
            log_results: false,
            fail_open: false,
            verify_timeout_seconds: 5,
            builtin: BuiltinCaptcha::default(),
            mode: Mode::Enforce,
        }
    }
}

impl CaptchaPolicy {
    fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.score_threshold) {
            return Err(Error::invalid(
                "captcha.scoreThreshold",
                "must be between 0 and 1",
            ));
        }
        if let Some(url) = &self.verify_url {
            check_url("captcha.verifyUrl", url)?;
        }
        in_range(
            "captcha.verifyTimeoutSeconds",
            self.verify_timeout_seconds,
            1,
            60,
        )?;
        if self.enabled
            && !matches!(
                self.provider,
                CaptchaProvider::None | CaptchaProvider::Builtin
            )
            && self.site_key.is_empty()
        {
            return Err(Error::invalid(
                "captcha.siteKey",
                "is required when the CAPTCHA is enabled",
            ));
        }
        for (i, a) in self.unverified_actions.iter().enumerate() {
            check_action(
                &format!("captcha.unverifiedActions[{i}]"),
                &a.method,
                &a.path,
            )?;
        }
        Ok(())
    }
}

/// Extra sources per CSP directive, added to Portcullis's safe defaults.
/// Wildcards such as `*.example.com` are allowed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CspSources {
    /// `connect-src`. Defaults to empty.
    pub connect_src: Vec<String>,
    /// `frame-ancestors` (only honoured when embedding is allowed). Defaults to empty.
    pub frame_ancestors: Vec<String>,
    /// `frame-src`. Defaults to empty.
    pub frame_src: Vec<String>,
    /// `script-src`. Defaults to empty.
    pub script_src: Vec<String>,
    /// `style-src`. Defaults to empty.
    pub style_src: Vec<String>,
    /// `img-src`. Defaults to empty.
    pub img_src: Vec<String>,
    /// `font-src`. Defaults to empty.
    pub font_src: Vec<String>,
    /// `media-src`. Defaults to empty.
    pub media_src: Vec<String>,
}

impl CspSources {
    fn validate(&self) -> Result<(), Error> {
        let lists = [
            ("connectSrc", &self.connect_src),
            ("frameAncestors", &self.frame_ancestors),
            ("frameSrc", &self.frame_src),
            ("scriptSrc", &self.script_src),
            ("styleSrc", &self.style_src),
            ("imgSrc", &self.img_src),
            ("fontSrc", &self.font_src),
            ("mediaSrc", &self.media_src),
        ];
        for (name, list) in lists {
            for (i, source) in list.iter().enumerate() {
                let bad = source.is_empty()
                    || source
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || c == ';' || c == ',');
                if bad {
                    return Err(Error::invalid(
                        &format!("responses.csp.{name}[{i}]"),
                        format!("`{source}` is not a CSP source expression"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Security headers on every response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ResponsePolicy {
    /// Redirect HTTP to HTTPS and send HSTS. Defaults to `false`.
    pub force_https: bool,
    /// HSTS `max-age` when forcing HTTPS. Defaults to 1 year (`31536000`).
    pub hsts_max_age_seconds: u64,
    /// Allow other sites listed in `csp.frameAncestors` to embed the pages.
    /// Defaults to `false` (`frame-ancestors 'self'`).
    pub allow_embedding: bool,
    /// Extra CSP sources. Defaults to [`CspSources::default`].
    pub csp: CspSources,
    /// `Referrer-Policy`. Defaults to `"no-referrer"`.
    pub referrer_policy: String,
    /// Send the CSP as `Content-Security-Policy-Report-Only` (browsers
    /// report violations to `/__portcullis/csp-report`, which the audit log
    /// keeps, and block nothing). Defaults to `false`.
    pub csp_report_only: bool,
    /// Per security header (by name, any case), what the edge does when the
    /// origin sent that header too: see [`HeaderMode`]. A header left out is
    /// `set`, except `Content-Security-Policy`, which is `merge`. Defaults
    /// to empty.
    pub headers: std::collections::BTreeMap<String, HeaderMode>,
}

/// How the edge sends one of its security headers beside the origin's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum HeaderMode {
    /// The edge's value replaces the origin's.
    Set,
    /// The origin's value is kept when it sent one; otherwise the edge's.
    Keep,
    /// `Content-Security-Policy` only: the origin's policies are kept
    /// beside the edge's (browsers enforce every one), and the edge adds
    /// `script-src-elem` and `style-src-elem` with the origin's nonces and
    /// hashes, so the inline scripts and styles the origin allows still run.
    Merge,
    /// The edge never sends this header; the origin's passes as it is.
    Off,
}

/// The security headers [`ResponsePolicy::headers`] may name, as the edge
/// sends them.
pub const SECURITY_HEADER_NAMES: [&str; 12] = [
    "Content-Security-Policy",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
    "Origin-Agent-Cluster",
    "Referrer-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-DNS-Prefetch-Control",
    "X-Download-Options",
    "X-Frame-Options",
    "X-Permitted-Cross-Domain-Policies",
    "X-XSS-Protection",
];

impl Default for ResponsePolicy {
    fn default() -> Self {
        Self {
            force_https: false,
            hsts_max_age_seconds: 365 * DAY,
            allow_embedding: false,
            csp: CspSources::default(),
            referrer_policy: "no-referrer".to_owned(),
            csp_report_only: false,
            headers: std::collections::BTreeMap::new(),
        }
    }
}

impl ResponsePolicy {
    /// The mode of the security header `name` (one of
    /// [`SECURITY_HEADER_NAMES`]); `Content-Security-Policy` also governs
    /// its `-Report-Only` form.
    pub fn header_mode(&self, name: &str) -> HeaderMode {
        let name = name.strip_suffix("-Report-Only").unwrap_or(name);
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(
                if name == "Content-Security-Policy" {
                    HeaderMode::Merge
                } else {
                    HeaderMode::Set
                },
                |(_, mode)| *mode,
            )
    }

    fn validate(&self) -> Result<(), Error> {
        const REFERRER: [&str; 8] = [
            "no-referrer",
            "no-referrer-when-downgrade",
            "origin",
            "origin-when-cross-origin",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin",
            "unsafe-url",
        ];
        if !REFERRER.contains(&self.referrer_policy.as_str()) {
            return Err(Error::invalid(
                "responses.referrerPolicy",
                format!("must be one of {}", REFERRER.join(", ")),
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (name, mode) in &self.headers {
            let field = format!("responses.headers.{name}");
            let Some(known) = SECURITY_HEADER_NAMES
                .iter()
                .find(|n| n.eq_ignore_ascii_case(name))
            else {
                return Err(Error::invalid(
                    &field,
                    format!("must be one of {}", SECURITY_HEADER_NAMES.join(", ")),
                ));
            };
            if seen.contains(known) {
                return Err(Error::invalid(&field, "is given twice (in another case)"));
            }
            seen.push(known);
            if *mode == HeaderMode::Merge && *known != "Content-Security-Policy" {
                return Err(Error::invalid(
                    &field,
                    "merge is for Content-Security-Policy only; use set, keep or off",
                ));
            }
        }
        self.csp.validate()
    }
}

/// Upload rules for multipart bodies on the configured paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct UploadPolicy {
    /// Paths (a trailing `*` matches a prefix) whose multipart bodies are
    /// checked. Defaults to empty (no upload checks until configured).
    pub paths: Vec<String>,
    /// Extensions staff and admins may upload, with the dot; `.*` = any.
    /// Defaults to `[".*"]`.
    pub staff_extensions: Vec<String>,
    /// Extensions end users may upload. Defaults to common images,
    /// documents and text: `.jpg .jpeg .png .gif .webp .pdf .txt .csv`.
    pub end_user_extensions: Vec<String>,
    /// Largest accepted file. Defaults to 2 MB (`2097152`).
    pub max_bytes: u64,
    /// `"enforce"`: the upload rules refuse; `"monitor"`: the request passes and
    /// the audit log says what would have happened (`wouldRefuse`).
    /// Defaults to `"enforce"`.
    pub mode: Mode,
}

impl Default for UploadPolicy {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            staff_extensions: vec![".*".to_owned()],
            end_user_extensions: [
                ".jpg", ".jpeg", ".png", ".gif", ".webp", ".pdf", ".txt", ".csv",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            max_bytes: 2 * 1024 * 1024,
            mode: Mode::Enforce,
        }
    }
}

impl UploadPolicy {
    fn validate(&self) -> Result<(), Error> {
        for (i, p) in self.paths.iter().enumerate() {
            check_path(&format!("uploads.paths[{i}]"), p)?;
        }
        for (name, list) in [
            ("staffExtensions", &self.staff_extensions),
            ("endUserExtensions", &self.end_user_extensions),
        ] {
            for (i, ext) in list.iter().enumerate() {
                let ok = ext.len() > 1
                    && ext.starts_with('.')
                    && ext[1..]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '_' || c == '-');
                if !ok {
                    return Err(Error::invalid(
                        &format!("uploads.{name}[{i}]"),
                        format!(
                            "`{ext}` must be an extension with its dot, such as `.jpg`, or `.*`"
                        ),
                    ));
                }
            }
        }
        in_range("uploads.maxBytes", self.max_bytes, 1, 100 * 1024 * 1024)
    }
}

/// Signup rules and the password-reset switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SignupPolicy {
    /// Email domains refused at signup. Defaults to empty.
    pub blocked_email_domains: Vec<String>,
    /// Also refuse the bundled list of free-mail providers. Defaults to `false`.
    pub block_free_mail: bool,
    /// Allow password resets. Defaults to `true`.
    pub password_reset_enabled: bool,
}

impl Default for SignupPolicy {
    fn default() -> Self {
        Self {
            blocked_email_domains: Vec::new(),
            block_free_mail: false,
            password_reset_enabled: true,
        }
    }
}

impl SignupPolicy {
    fn validate(&self) -> Result<(), Error> {
        for (i, d) in self.blocked_email_domains.iter().enumerate() {
            let ok = !d.is_empty()
                && d.contains('.')
                && d.chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
            if !ok {
                return Err(Error::invalid(
                    &format!("signup.blockedEmailDomains[{i}]"),
                    format!("`{d}` is not a domain name"),
                ));
            }
        }
        Ok(())
    }
}

/// The methods an action (probation, unverified users) may name.
const ACTION_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// An action's method and path, as the element `field` of its list.
fn check_action(field: &str, method: &str, path: &str) -> Result<(), Error> {
    if !ACTION_METHODS.contains(&method) {
        return Err(Error::invalid(
            &format!("{field}.method"),
            format!("must be one of {}", ACTION_METHODS.join(", ")),
        ));
    }
    check_path(&format!("{field}.path"), path)
}

/// One rate-limited action for accounts on probation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbationAction {
    /// A name for the console and the audit log, such as `newThread`.
    pub name: String,
    /// HTTP method, such as `POST`.
    pub method: String,
    /// Path; a trailing `*` matches a prefix.
    pub path: String,
    /// Most uses per 24 hours while on probation.
    pub limit_per_day: u32,
}

/// Probation for new accounts (SmarterTrack's "portal probation").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ProbationPolicy {
    /// Turn probation on. Defaults to `false`.
    pub enabled: bool,
    /// Accounts younger than this are on probation; `0` = age ignored.
    /// Defaults to 7 days (`604800`).
    pub account_age_seconds: u64,
    /// Accounts with fewer replies than this are on probation; `0` =
    /// replies ignored. Defaults to `10`.
    pub min_replies: u32,
    /// Rate-limited actions. Defaults to one new thread and five replies
    /// per 24 hours (`POST /community/threads`, `POST /community/replies`).
    pub actions: Vec<ProbationAction>,
    /// Require a CAPTCHA on those actions. Defaults to `true`.
    pub captcha: bool,
    /// Turn links in submitted form fields into plain text. Defaults to `true`.
    pub strip_links: bool,
    /// The search path whose result pages are capped. Defaults to `"/search"`.
    pub search_path: String,
    /// Most search result pages (also for anonymous users); `0` = no cap.
    /// Defaults to `5`.
    pub max_search_pages: u32,
    /// Tell the origin, on every request from an account on probation,
    /// which rule put it there (`Portcullis-Probation: account-age`,
    /// `reply-count`, or both comma-separated), so it can hold the posts of
    /// new users for approval (SmarterTrack's "Moderate new user community
    /// posts"). Defaults to `true`.
    pub moderate_posts: bool,
    /// `"enforce"`: probation's limits refuse; `"monitor"`: the request passes and
    /// the audit log says what would have happened (`wouldRefuse`).
    /// Defaults to `"enforce"`.
    pub mode: Mode,
}

impl Default for ProbationPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            account_age_seconds: 7 * DAY,
            min_replies: 10,
            actions: vec![
                ProbationAction {
                    name: "newThread".to_owned(),
                    method: "POST".to_owned(),
                    path: "/community/threads".to_owned(),
                    limit_per_day: 1,
                },
                ProbationAction {
                    name: "reply".to_owned(),
                    method: "POST".to_owned(),
                    path: "/community/replies".to_owned(),
                    limit_per_day: 5,
                },
            ],
            captcha: true,
            strip_links: true,
            search_path: "/search".to_owned(),
            max_search_pages: 5,
            moderate_posts: true,
            mode: Mode::Enforce,
        }
    }
}

impl ProbationPolicy {
    fn validate(&self) -> Result<(), Error> {
        for (i, a) in self.actions.iter().enumerate() {
            let f = format!("probation.actions[{i}]");
            if a.name.trim().is_empty() {
                return Err(Error::invalid(&format!("{f}.name"), "must not be empty"));
            }
            check_action(&f, &a.method, &a.path)?;
        }
        check_path("probation.searchPath", &self.search_path)
    }
}

/// Names of the form fields the edge reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FormFields {
    /// Defaults to `"username"`.
    pub username: String,
    /// Defaults to `"password"`.
    pub password: String,
    /// Defaults to `"new_password"`.
    pub new_password: String,
    /// Defaults to `"email"`.
    pub email: String,
    /// The reset page's single-use token (form field or query parameter).
    /// Defaults to `"token"`.
    pub reset_token: String,
}

impl Default for FormFields {
    fn default() -> Self {
        Self {
            username: "username".to_owned(),
            password: "password".to_owned(),
            new_password: "new_password".to_owned(),
            email: "email".to_owned(),
            reset_token: "token".to_owned(),
        }
    }
}

/// Route paths the edge watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RoutePolicy {
    /// Defaults to `"/login"`.
    pub login: String,
    /// Defaults to `"/logout"`.
    pub logout: String,
    /// Defaults to `"/signup"`.
    pub signup: String,
    /// Defaults to `"/account/password"`.
    pub change_password: String,
    /// Defaults to `"/reset"`.
    pub reset: String,
    /// Paths that need a session (a trailing `*` matches a prefix).
    /// Defaults to `["/app/*", "/account/*"]`.
    pub protected: Vec<String>,
    /// Form field names. Defaults to [`FormFields::default`].
    pub fields: FormFields,
    /// Origins besides the site's own whose pages may post to the checked
    /// routes (login, signup, change password, reset, logout), such as
    /// `"https://partner.example"`. Defaults to empty.
    pub allowed_origins: Vec<String>,
    /// Let paths carry encoded separators (`%2F`, `%5C`) and encoded dot
    /// segments (`%2E`); both the raw and the decoded path are then checked
    /// against the protected paths. Defaults to `false` (400 `ambiguous_path`).
    pub allow_encoded_separators: bool,
}

impl Default for RoutePolicy {
    fn default() -> Self {
        Self {
            login: "/login".to_owned(),
            logout: "/logout".to_owned(),
            signup: "/signup".to_owned(),
            change_password: "/account/password".to_owned(),
            reset: "/reset".to_owned(),
            protected: vec!["/app/*".to_owned(), "/account/*".to_owned()],
            fields: FormFields::default(),
            allowed_origins: Vec::new(),
            allow_encoded_separators: false,
        }
    }
}

impl RoutePolicy {
    fn validate(&self) -> Result<(), Error> {
        check_path("routes.login", &self.login)?;
        check_path("routes.logout", &self.logout)?;
        check_path("routes.signup", &self.signup)?;
        check_path("routes.changePassword", &self.change_password)?;
        check_path("routes.reset", &self.reset)?;
        for (i, p) in self.protected.iter().enumerate() {
            check_path(&format!("routes.protected[{i}]"), p)?;
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            check_origin(&format!("routes.allowedOrigins[{i}]"), origin)?;
        }
        let f = &self.fields;
        for (name, value) in [
            ("username", &f.username),
            ("password", &f.password),
            ("newPassword", &f.new_password),
            ("email", &f.email),
            ("resetToken", &f.reset_token),
        ] {
            if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::invalid(
                    &format!("routes.fields.{name}"),
                    "must be a non-empty field name without spaces",
                ));
            }
        }
        Ok(())
    }
}

/// The audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AuditPolicy {
    /// Entries older than this are pruned. Defaults to 90 days (`7776000`).
    pub retention_seconds: u64,
}

impl Default for AuditPolicy {
    fn default() -> Self {
        Self {
            retention_seconds: 90 * DAY,
        }
    }
}

/// Signed webhooks for security events. The signing secret is a secret of
/// its own, never part of this document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct WebhookPolicy {
    /// Where events are POSTed; `null` = no webhooks. Defaults to `null`.
    pub url: Option<String>,
    /// Event kinds sent; empty = all. Defaults to empty.
    pub events: Vec<String>,
    /// Delivery attempts before giving up. Defaults to `8`.
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long (at
    /// most 6 hours). Defaults to `30`.
    pub retry_base_seconds: u64,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            url: None,
            events: Vec::new(),
            max_attempts: 8,
            retry_base_seconds: 30,
        }
    }
}

impl WebhookPolicy {
    fn validate(&self) -> Result<(), Error> {
        if let Some(url) = &self.url {
            check_url("webhooks.url", url)?;
        }
        in_range("webhooks.maxAttempts", self.max_attempts.into(), 1, 50)?;
        in_range(
            "webhooks.retryBaseSeconds",
            self.retry_base_seconds,
            1,
            3600,
        )
    }
}

/// The CAPTCHA settings a browser may see.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicCaptcha {
    /// See [`CaptchaPolicy::enabled`].
    pub enabled: bool,
    /// See [`CaptchaPolicy::provider`].
    pub provider: CaptchaProvider,
    /// See [`CaptchaPolicy::site_key`].
    pub site_key: String,
    /// See [`CaptchaPolicy::pages`].
    pub pages: Vec<CaptchaPage>,
}

/// Where the edge seals form fields into vault envelopes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct VaultPolicy {
    /// Routes and their fields, at most 16. On a request to one of these
    /// paths (any method), each named field of an urlencoded, multipart or
    /// JSON body (a top-level member) is replaced by its envelope, unless
    /// it already is one for the vault's key; the field in the query, a
    /// spelling that could read as it, a duplicate, another media type or
    /// a content encoding is refused, and before a passphrase exists the
    /// request is 503 `vault_not_ready`. Defaults to none.
    pub routes: Vec<VaultRoute>,
    /// The vault's public key as the public policy serves it (so that
    /// document reads as a policy too); ignored when read, never written.
    #[serde(skip_serializing)]
    pub public_key: Option<String>,
    /// The key pair's id, likewise; ignored when read, never written.
    #[serde(skip_serializing)]
    pub key_id: Option<String>,
}

/// One route whose form fields the edge seals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VaultRoute {
    /// The path (a trailing `*` matches a prefix), such as `/billing`.
    pub path: String,
    /// The field names to seal (1 to 16), such as `card_number`.
    pub fields: Vec<String>,
}

/// Most vault routes, and most fields of one.
const MAX_VAULT_ROUTES: usize = 16;

impl VaultPolicy {
    fn validate(&self, routes: &RoutePolicy, probation: &ProbationPolicy) -> Result<(), Error> {
        if self.routes.len() > MAX_VAULT_ROUTES {
            return Err(Error::invalid("vault.routes", "at most 16 routes"));
        }
        // The checked routes forward their own forms: a vault field there
        // would reach the origin in the clear.
        let checked: Vec<String> = [
            &routes.login,
            &routes.logout,
            &routes.signup,
            &routes.change_password,
            &routes.reset,
        ]
        .iter()
        .map(|p| crate::paths::route_key(&crate::paths::canonical_path(p)))
        .collect();
        for (i, route) in self.routes.iter().enumerate() {
            let at = format!("vault.routes[{i}]");
            check_path(&format!("{at}.path"), &route.path)?;
            let patterns = crate::paths::PathPatterns::new(std::slice::from_ref(&route.path));
            // Also through another spelling of the same route (`/login.php`).
            let key = crate::paths::route_key(&crate::paths::canonical_path(
                route.path.trim_end_matches('*'),
            ));
            if checked.iter().any(|c| patterns.matches(c) || *c == key) {
                return Err(Error::invalid(
                    &format!("{at}.path"),
                    "must not cover the login, logout, signup, change-password or reset route (the edge forwards those forms itself)",
                ));
            }
            // Probation's limited actions forward their own (rewritten) forms.
            let actions = probation
                .actions
                .iter()
                .map(|a| crate::paths::route_key(&crate::paths::canonical_path(&a.path)));
            if probation.enabled && actions.clone().any(|a| patterns.matches(&a) || a == key) {
                return Err(Error::invalid(
                    &format!("{at}.path"),
                    "must not cover a probation action's path (probation forwards those forms itself)",
                ));
            }
            if route.fields.is_empty() || route.fields.len() > MAX_VAULT_ROUTES {
                return Err(Error::invalid(
                    &format!("{at}.fields"),
                    "1 to 16 field names",
                ));
            }
            for (j, field) in route.fields.iter().enumerate() {
                let plain = !field.is_empty()
                    && field.len() <= 128
                    && field
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !plain {
                    return Err(Error::invalid(
                        &format!("{at}.fields[{j}]"),
                        format!("`{field}` must be 1 to 128 letters, digits, `_` or `-`"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What a browser may see of the vault: the public policy's `vault`, once
/// the administrator has created the passphrase (see `vault`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicVault {
    /// The X25519 public key, base64url of its 32 bytes, no padding.
    pub public_key: String,
    /// The key pair's id, the second part of every envelope
    /// (`pcv1.<keyId>.<base64url>`).
    pub key_id: String,
}

/// What the edge's public policy endpoint serves. Its JSON is also a valid
/// (partial) [`Policy`] document, so [`Policy::from_json`] reads it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicPolicy {
    /// Document format version.
    pub version: u32,
    /// The password rules.
    pub passwords: PasswordPolicy,
    /// The CAPTCHA provider and site key.
    pub captcha: PublicCaptcha,
    /// The vault's public key, when a passphrase has made one; absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<PublicVault>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_is_the_default_policy() {
        assert_eq!(Policy::from_json("{}"), Ok(Policy::default()));
    }

    #[test]
    fn round_trips_through_json() {
        let mut p = Policy::default();
        p.passwords.min_length = 12;
        p.bans.never_ban.push("2001:db8::/32".into());
        assert_eq!(Policy::from_json(&p.to_json()), Ok(p));
    }

    #[test]
    fn unknown_field_is_named() {
        let e = Policy::from_json(r#"{"passwords":{"minLenght":3}}"#).unwrap_err();
        assert_eq!(e.field(), Some("passwords.minLenght"));
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = Policy::from_json(r#"{"login":{"maxFailedAttempts":"five"}}"#).unwrap_err();
        assert_eq!(e.field(), Some("login.maxFailedAttempts"));
    }

    #[test]
    fn out_of_range_is_named() {
        let e = Policy::from_json(r#"{"passwords":{"minLength":20,"maxLength":10}}"#).unwrap_err();
        assert_eq!(e.field(), Some("passwords.maxLength"));
        let e = Policy::from_json(r#"{"passwords":{"minScore":5}}"#).unwrap_err();
        assert_eq!(e.field(), Some("passwords.minScore"));
        let e = Policy::from_json(r#"{"bans":{"neverBan":["10.0.0.0/33"]}}"#).unwrap_err();
        assert_eq!(e.field(), Some("bans.neverBan[0]"));
    }

    #[test]
    fn header_modes_are_checked_by_name() {
        let ok = Policy::from_json(
            r#"{"responses":{"headers":{"content-security-policy":"keep","X-Frame-Options":"off"}}}"#,
        )
        .unwrap();
        assert_eq!(
            ok.responses
                .header_mode("Content-Security-Policy-Report-Only"),
            HeaderMode::Keep
        );
        assert_eq!(ok.responses.header_mode("X-Frame-Options"), HeaderMode::Off);
        assert_eq!(ok.responses.header_mode("Referrer-Policy"), HeaderMode::Set);
        for (json, field) in [
            (
                r#"{"X-Powered-By":"off"}"#,
                "responses.headers.X-Powered-By",
            ),
            (
                r#"{"Referrer-Policy":"merge"}"#,
                "responses.headers.Referrer-Policy",
            ),
            (
                r#"{"x-frame-options":"off","X-Frame-Options":"set"}"#,
                "responses.headers.x-frame-options",
            ),
        ] {
            let e =
                Policy::from_json(&format!(r#"{{"responses":{{"headers":{json}}}}}"#)).unwrap_err();
            assert_eq!(e.field(), Some(field), "{json}");
        }
        assert!(
            Policy::from_json(r#"{"responses":{"headers":{"Referrer-Policy":"drop"}}}"#).is_err()
        );
    }

    #[test]
    fn not_json_is_an_error_without_field() {
        let e = Policy::from_json("{nope").unwrap_err();
        assert!(matches!(e, Error::PolicyJson { .. }));
    }

    #[test]
    fn future_version_is_refused() {
        assert_eq!(
            Policy::from_json(r#"{"version":2}"#),
            Err(Error::UnsupportedVersion {
                found: 2,
                supported: POLICY_VERSION
            })
        );
    }

    #[test]
    fn public_policy_reads_back_as_policy() {
        let mut p = Policy::default();
        p.passwords.min_length = 11;
        p.captcha.site_key = "site".into();
        let mut public = p.public();
        public.vault = Some(PublicVault {
            public_key: "cHVibGlj".into(),
            key_id: "id".into(),
        });
        let json = serde_json::to_string(&public).unwrap();
        assert!(json.contains("publicKey"), "{json}");
        let back = Policy::from_json(&json).unwrap();
        assert_eq!(back.passwords, p.passwords);
        assert_eq!(back.captcha.site_key, "site");
        assert!(back.vault.routes.is_empty());
        // The browser's reader takes it too (`PasswordChecker.fromUrl`).
        assert_eq!(PasswordPolicy::from_document(&json).unwrap(), p.passwords);
        // And the vault's key is never written back into a policy.
        assert!(!back.to_json().contains("publicKey"));
    }
}
