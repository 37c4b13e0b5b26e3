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
//! let verdict = checker.check("short", &Subject::default(), Locale::En);
//! assert!(!verdict.ok);
//! assert_eq!(verdict.failed_rule_ids(), vec!["minLength"]);
//! # }
//! # Ok::<(), portcullis_core::Error>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::field_reassign_with_default
    )
)]

pub mod admin;
pub mod bans;
pub mod captcha;
pub mod context;
mod document;
mod error;
#[cfg(feature = "estimator")]
mod estimator;
#[cfg(feature = "nfkc")]
pub mod flows;
mod generate;
pub mod headers;
pub mod lifecycle;
pub mod lockout;
mod messages;
pub mod net;
pub mod objects;
mod password;
pub mod paths;
mod policy;
pub mod presets;
pub mod probation;
pub mod records;
pub mod refusal;
pub mod request;
pub mod roles;
pub mod routes;
pub mod session;
pub mod signup;
pub mod snapshot;
mod text;
pub mod tokens;
pub mod uploads;
mod verdict;
pub mod webhooks;

pub use document::Field;
pub use error::Error;
#[cfg(feature = "estimator")]
pub use estimator::ESTIMATOR_MAX_CHARS;
#[cfg(feature = "nfkc")]
pub use lifecycle::password_fingerprint;
pub use lifecycle::{HistoryFingerprint, PasswordAge, password_age, password_reused};
pub use messages::Locale;
pub use password::PasswordChecker;
pub use policy::{
    AuditPolicy, BanPolicy, CaptchaPage, CaptchaPolicy, CaptchaProvider, CspSources, FormFields,
    FraudPolicy, LoginPolicy, ManualBan, ManualBanScope, POLICY_VERSION, PasswordPolicy, Policy,
    ProbationAction, ProbationPolicy, PublicPolicy, ResetLinkLifetimes, ResponsePolicy,
    RoutePolicy, SessionPolicy, SignupPolicy, SingleSession, UploadPolicy, WebhookPolicy,
};
pub use text::TextOps;
#[cfg(feature = "nfkc")]
pub use text::nfkc;
pub use verdict::{
    CrackTime, Estimate, Feedback, RuleId, RuleResult, RuleStatus, Subject, Verdict,
};
