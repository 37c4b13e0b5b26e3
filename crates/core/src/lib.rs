//! The pure core of Portcullis: every security rule and state machine, with
//! no I/O, no clock and no random number generator. Time and random bytes
//! come in as arguments, so each rule is testable natively and the two
//! shells (the browser package and the edge Worker) only translate.
//!
//! The entry points are the [`Policy`] document (one versioned JSON document
//! holding every setting, see [`Policy::from_json`]), its [`presets`], and
//! [`PasswordChecker`], which evaluates a password against a policy.
//!
//! ```
//! # #[cfg(feature = "nfkc")] {
//! use portcullis_core::{Locale, PasswordChecker, Policy, Subject};
//!
//! let policy = Policy::preset("owasp-asvs-l2")?;
//! let checker = PasswordChecker::new(policy.passwords);
//! let verdict = checker.check("short", &Subject::default(), Locale::En.catalog());
//! assert!(!verdict.ok);
//! assert_eq!(verdict.failed_rule_ids(), vec!["minLength"]);
//! # }
//! # Ok::<(), portcullis_core::Error>(())
//! ```
#![forbid(unsafe_code)]
// Without `nfkc` (the browser's rules module) the flows are compiled out,
// and with them the only callers of the edge's rules: those are dead there.
#![cfg_attr(not(feature = "nfkc"), allow(dead_code))]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::field_reassign_with_default
    )
)]

// Modules are private and the names the shells use are re-exported below,
// but for five namespaces that are whole APIs: `flows` (the step protocol
// the edge drives), `objects` (what each Durable Object is asked and
// answers), `records` (how they store their records), `refusal` (the
// catalogue of refusals) and `webhooks` (signing and verifying them);
// `dangerous` holds the minting.
mod admin;
mod audit;
mod bans;
mod bounds;
pub mod breach;
mod captcha;
pub mod challenge;
mod context;
mod document;
mod error;
#[cfg(feature = "estimator")]
mod estimator;
#[cfg(feature = "nfkc")]
pub mod flows;
mod form;
mod generate;
mod headers;
pub mod identity;
mod lifecycle;
mod lockout;
mod messages;
mod mode;
mod multipart;
mod net;
pub mod objects;
mod password;
mod paths;
mod policy;
mod presets;
mod probation;
mod ranges;
pub mod ratelimit;
pub mod records;
pub mod refusal;
mod request;
mod roles;
mod routes;
#[cfg(feature = "schema")]
mod schema;
mod session;
mod shards;
mod signup;
mod snapshot;
mod text;
mod tokens;
mod uploads;
#[cfg(feature = "vault")]
pub mod vault;
mod verdict;
pub mod webhooks;

/// Turning secrets and random bytes into credentials: session tokens and
/// random tokens. Named so that a call reads as what it is.
pub mod dangerous {
    pub use crate::tokens::dangerous::{random_token, sign_jwt};
}

pub use admin::{
    KeyInForce, MIN_SECRET_CHARS, SecretKind, SecretRefusal, admin_actor, application_key_digest,
    application_key_in_force, application_key_matches, bearer_token, new_secret,
};
pub use bans::{
    AccessLists, BanEntry, IpRecord, MAX_FEED_BYTES, PERMANENT, WarningKind, ban_target, parse_feed,
};
pub use bounds::{BOUNDS, Bound, MAX_SECONDS};
pub use context::Context;
pub use document::Field;
pub use error::Error;
#[cfg(feature = "estimator")]
pub use estimator::ESTIMATOR_MAX_CHARS;
pub use headers::{DROPPED_REQUEST_HEADERS, SecurityHeader, merge_csp, security_headers};
pub use lifecycle::{
    ChangeReason, HistoryFingerprint, UserPatch, UserRecord, UserSummary, valid_user_id,
};
#[cfg(feature = "nfkc")]
pub use lockout::account_key;
pub use lockout::{AccountLock, Gate};
pub use messages::{Catalog, Locale, Message, Param, Params, Plural};
pub use mode::Mode;
pub use net::{canonical_target, client_key, parse_client_ip};
pub use password::PasswordChecker;
pub use policy::{
    AuditPolicy, BanPolicy, BreachedPolicy, BuiltinCaptcha, CaptchaPage, CaptchaPolicy,
    CaptchaProvider, CspSources, FormFields, FraudPolicy, HeaderMode, LoginPolicy, ManualBan,
    ManualBanScope, POLICY_VERSION, PasswordPolicy, Policy, ProbationAction, ProbationPolicy,
    PublicPolicy, PublicVault, ResetLinkLifetimes, ResponsePolicy, RouteAction, RoutePolicy,
    SECURITY_HEADER_NAMES, SessionPolicy, SignupPolicy, SingleSession, UploadPolicy, WebhookPolicy,
};
pub use presets::NAMES as PRESET_NAMES;
pub use probation::strip_links;
pub use request::{FACT_HEADERS, RequestFacts};
pub use routes::AdminRoute;
#[cfg(feature = "schema")]
pub use schema::{package_types_schema, policy_schema};
pub use session::Revocations;
pub use snapshot::{FRAUD_FEED_RECORD, REVOCATIONS_RECORD, Secrets, Snapshot};
pub use text::TextOps;
#[cfg(feature = "nfkc")]
pub use text::nfkc;
pub use tokens::{ResetError, ResetGrant, ResetPurpose, TokenError, token_digest, verify_hs256};
pub use verdict::{
    CrackTime, Estimate, Feedback, Requirement, RuleId, RuleResult, RuleStatus, Subject, Verdict,
};
