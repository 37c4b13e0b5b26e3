//! The protocol between a flow and the shell that drives it: the [`Step`]s
//! a flow asks for (read this, ask that object, forward, answer) and the
//! [`Input`] the shell hands back for each.

use std::rc::Rc;

use crate::bans::WarningKind;
use crate::objects::{
    AccountCall, AuditAnswer, AuditOp, BanLogAnswer, BanLogOp, ControlAnswer, ControlOp,
    GuardAnswer, GuardOp, LockAnswer, UserAnswer, UserOp,
};
use crate::refusal::Refusal;
use crate::snapshot::Snapshot;

/// What the flow needs done next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The isolate's configuration snapshot (its cached one, loaded when it
    /// has none). Answer: [`Input::Snapshot`].
    Snapshot,
    /// A fresh snapshot from Control now, cached in place of the old one
    /// (which may predate a secret rotation). Answer: [`Input::Snapshot`].
    FreshSnapshot,
    /// Cloudflare's bot score of the request. Answer: [`Input::BotScore`].
    BotScore,
    /// Every header of the request, names lower case (a rate limit keyed
    /// by a header: its spellings are core's to compare). Answer:
    /// [`Input::Headers`].
    Headers,
    /// The whole body, from a copy (the original still streams to the
    /// origin): a form the edge must check, the upload rules. Answer:
    /// [`Input::Body`].
    ReadBody,
    /// The request's multipart form rebuilt with links stripped from its
    /// text fields, kept for the next [`Step::Forward`] with
    /// [`Body::Stripped`]. Answer: [`Input::Done`], or a failure when the
    /// body is not a readable form.
    StripMultipart,
    /// A call to a Durable Object. Answer: [`Input::Answer`].
    Ask(Call),
    /// A security warning against the client: [`Call::Guard`] with
    /// [`GuardOp::Warn`], recorded off the response path (`wait_until`); a
    /// ban it triggers applies in this isolate as soon as it is recorded.
    /// Answer: [`Input::Done`] at once (a failure is logged, never fatal).
    Warn(Call),
    /// Wait until this isolate's warnings still being recorded against the
    /// client `key` (every client: `None`) are recorded, so that a ban one
    /// of them triggers applies to this request. Answer: [`Input::Done`]
    /// when none was, else [`Input::Snapshot`] (the replica now, with the
    /// bans they triggered).
    Settle(Option<String>),
    /// POST a CAPTCHA verification. Answer: [`Input::Captcha`].
    VerifyCaptcha(CaptchaCheck),
    /// The breached-password range at this URL (the range API and a
    /// five-hex-digit prefix, nothing else of the password), from the
    /// isolate's bounded cache ([`crate::breach::RangeCache`]) or fetched
    /// with `Add-Padding: true` and read with [`crate::breach::Range::parse`].
    /// Answer: [`Input::Range`].
    BreachRange {
        /// The range's URL.
        url: String,
        /// How long to wait (milliseconds).
        timeout_ms: u32,
    },
    /// Forget the isolate's snapshot: a change this request made must be
    /// seen by the next one. Answer: [`Input::Done`].
    Invalidate,
    /// Send the request to Control's admin API. Answer: [`Input::Upstream`].
    Admin(AdminCall),
    /// This isolate's counters (Durable Object requests per binding, since
    /// it started). Answer: [`Input::Json`].
    Metrics,
    /// A file of the console's static assets, by its path there (`/` for
    /// the page); held as the answer. Answer: [`Input::Upstream`] (404
    /// when there is none), or a failure.
    Asset(String),
    /// Send the request to the origin. Answer: [`Input::Upstream`], or a
    /// failure when it cannot be reached.
    Forward(Forward),
    /// Answer the client; the flow is over.
    Respond(Reply),
}

/// A Durable Object call.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// The `AccountGuard` named by the account key.
    Account {
        /// The account key (core's `account_key` of the login name).
        key: String,
        /// The call.
        call: AccountCall,
    },
    /// The `UserState` of a user id.
    User {
        /// The user id.
        user: String,
        /// The operation.
        op: UserOp,
    },
    /// The `IpGuard` of a client key.
    Guard {
        /// The client key.
        key: String,
        /// The operation.
        op: GuardOp,
    },
    /// The `Control` object.
    Control(ControlOp),
    /// A `BanLog` shard.
    BanLog {
        /// The shard's name ([`crate::objects::ban_shard`]).
        shard: String,
        /// The operation.
        op: BanLogOp,
    },
    /// An `AuditLog` shard.
    Audit {
        /// The shard's name ([`crate::objects::audit_shard`]).
        shard: String,
        /// The operation.
        op: AuditOp,
    },
    /// The `RateLimiter` of one rule's bucket.
    Rate {
        /// The bucket's name ([`crate::ratelimit::bucket_name`]).
        bucket: String,
        /// The operation.
        op: crate::ratelimit::RateOp,
    },
}

/// A Durable Object's answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// From an `AccountGuard`.
    Account(LockAnswer),
    /// From a `UserState`.
    User(UserAnswer),
    /// From an `IpGuard`.
    Guard(GuardAnswer),
    /// From `Control`.
    Control(ControlAnswer),
    /// From a `BanLog` shard.
    BanLog(BanLogAnswer),
    /// From an `AuditLog` shard.
    Audit(AuditAnswer),
    /// From a `RateLimiter`.
    Rate(crate::ratelimit::RateAnswer),
}

/// A CAPTCHA verification request (its body carries the provider secret:
/// never logged).
#[derive(Clone, PartialEq, Eq)]
pub struct CaptchaCheck {
    /// The provider's siteverify URL.
    pub url: String,
    /// The urlencoded body.
    pub body: String,
    /// How long to wait (milliseconds).
    pub timeout_ms: u32,
}

impl std::fmt::Debug for CaptchaCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaCheck")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// An admin API request for Control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCall {
    /// The path and query after `/__portcullis/admin`.
    pub rest: String,
    /// The client address (Control audits who changed what).
    pub client_ip: String,
}

/// What to send the origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// Headers that tell the origin who is calling (`Portcullis-User`…).
    pub to_origin: Vec<(&'static str, String)>,
    /// The body to send.
    pub body: Body,
    /// The origin's response headers the flow reads.
    pub read: &'static [&'static str],
    /// `Some`: add these to the origin's answer at once (the hot path: one
    /// call does both); `None`: the flow decides after reading it.
    pub finish: Option<Finish>,
    /// The request carries a verified identity: no shared cache may answer
    /// it (`cache: "no-store"`) or keep its answer (`Cache-Control: private`).
    pub private: bool,
}

impl Forward {
    /// A forward; it is private whenever it tells the origin who is calling.
    pub(crate) fn new(
        to_origin: Vec<(&'static str, String)>,
        body: Body,
        read: &'static [&'static str],
        finish: Option<Finish>,
    ) -> Self {
        Self {
            private: !to_origin.is_empty(),
            to_origin,
            body,
            read,
            finish,
        }
    }
}

/// The body forwarded to the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The request's own, streamed.
    Own,
    /// This text instead (its length recomputed).
    Text(String),
    /// These bytes instead (a form with sealed fields; its length recomputed).
    Bytes(Vec<u8>),
    /// The form [`Step::StripMultipart`] rebuilt.
    Stripped,
}

/// Headers and cookies added to a response that came from upstream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finish {
    /// Response headers (set).
    pub headers: Vec<(&'static str, String)>,
    /// `Set-Cookie` values (appended).
    pub cookies: Vec<String>,
}

/// How the flow answers the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The edge refuses (or cannot serve) the request.
    Refuse(Refusal),
    /// A redirect.
    Redirect {
        /// 301 or 302.
        status: u16,
        /// Where to.
        location: String,
        /// `Set-Cookie` values (clearing a dead session's cookies).
        cookies: Vec<String>,
    },
    /// A JSON document of the edge's own (the public policy).
    Json {
        /// HTTP status.
        status: u16,
        /// The document.
        body: serde_json::Value,
    },
    /// The answer that came from upstream (the origin, or Control's admin
    /// API), with these added.
    Upstream(Finish),
}

/// What came back from upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Its status.
    pub status: u16,
    /// The values of [`Forward::read`], in that order.
    pub headers: Vec<Option<String>>,
    /// When it answered (unix milliseconds): a new session begins then.
    pub received_ms: u64,
}

/// Why a step could not be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// An I/O error (the shell logged it).
    Io,
    /// A stored record could not be read (the object audited which).
    StateUnavailable,
    /// The origin did not answer.
    OriginUnreachable,
    /// `ORIGIN_URL` is not set.
    OriginNotConfigured,
    /// The body is not what the step expected (an unreadable form).
    Unreadable,
}

/// The shell's answer to a [`Step`].
#[derive(Debug, Clone)]
pub enum Input {
    /// The first call: nothing done yet.
    Start,
    /// The snapshot.
    Snapshot(Rc<Snapshot>),
    /// Cloudflare's bot score (1–99), when the request carries one.
    BotScore(Option<u8>),
    /// The request's headers (name lower case, value).
    Headers(Vec<(String, String)>),
    /// The body.
    Body(Vec<u8>),
    /// An object's answer.
    Answer(Answer),
    /// The provider's answer.
    Captcha {
        /// Its HTTP status; `0` when it did not answer in time.
        status: u16,
        /// Its body.
        body: String,
    },
    /// The breached-password range; `None` when the range API did not
    /// answer 200 with a range in time.
    Range(Option<Rc<crate::breach::Range>>),
    /// Upstream answered.
    Upstream(Upstream),
    /// A document of the shell's (its counters).
    Json(serde_json::Value),
    /// Done.
    Done,
    /// The step failed.
    Failed(Failure),
}

/// A timeout of `seconds` in the milliseconds a step carries (saturating).
pub(crate) fn timeout_ms(seconds: u64) -> u32 {
    u32::try_from(seconds.saturating_mul(1000)).unwrap_or(u32::MAX)
}

/// The warning step for `kind` against client `key` (seen from `ip`),
/// about the token with digest `token`, if any.
pub(crate) fn warning(
    key: &str,
    ip: &str,
    kind: WarningKind,
    policy: &crate::policy::BanPolicy,
    token: Option<String>,
) -> Step {
    Step::Warn(Call::Guard {
        key: key.to_owned(),
        op: GuardOp::Warn {
            key: key.to_owned(),
            ip: ip.to_owned(),
            kind,
            policy: Box::new(policy.clone()),
            token,
            caller_audits: true,
        },
    })
}
