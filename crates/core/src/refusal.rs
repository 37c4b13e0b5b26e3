//! The one refusal type: every answer the edge gives instead of the
//! origin's (its HTTP status, a stable error code, a message for people,
//! whether it is a security warning, and the extra fields, headers and
//! cookies it carries). The edge turns it into a response in one place;
//! the constructors below are the catalogue of codes the README lists.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::bans::WarningKind;

/// An answer that refuses a request (or explains why the edge cannot serve it).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// Stable error code (`"error"` in the JSON body).
    pub code: &'static str,
    /// What happened, for people (`"message"`). Never internal error text.
    pub message: Cow<'static, str>,
    /// The security warning this refusal records against the client, if any.
    pub warning: Option<WarningKind>,
    /// Further members of the JSON body (`reason`, `rules`, `attemptsLeft`…).
    pub fields: Vec<(&'static str, Value)>,
    /// Response headers (`Retry-After`, `Portcullis-Attempts-Left`).
    pub headers: Vec<(&'static str, String)>,
    /// `Set-Cookie` values (clearing a dead session's cookies).
    pub cookies: Vec<String>,
}

impl Refusal {
    /// A refusal with `status`, `code` and `message`, no warning.
    pub fn new(status: u16, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            warning: None,
            fields: Vec::new(),
            headers: Vec::new(),
            cookies: Vec::new(),
        }
    }

    /// The same, recorded as a security warning of `kind`.
    pub fn warns(mut self, kind: WarningKind) -> Self {
        self.warning = Some(kind);
        self
    }

    /// The same with one more JSON member.
    pub fn with(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// The same with one more response header.
    pub fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    /// The same with `Retry-After: seconds`.
    pub fn retry_after(self, seconds: u64) -> Self {
        self.header("Retry-After", seconds)
    }

    /// The same, also setting `cookies`.
    pub fn cookies(mut self, cookies: Vec<String>) -> Self {
        self.cookies = cookies;
        self
    }

    /// The structured log line of this refusal of a request by `ip`:
    /// `{"portcullis":"refusal","status":…,"code":…,"warning":…,"ip":…,
    /// "method":…,"path":…}`. The path goes without its query (which may
    /// carry a token); the message and fields stay out (they may quote
    /// what the client sent).
    pub fn log_line(&self, ip: &str, method: &str, path: &str) -> String {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        serde_json::json!({
            "portcullis": "refusal",
            "status": self.status,
            "code": self.code,
            "warning": self.warning,
            "ip": ip,
            "method": method,
            "path": path,
        })
        .to_string()
    }

    /// The JSON body: `{ "error": code, "message": …, …fields }`.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".to_owned(), json!(self.code));
        body.insert("message".to_owned(), json!(self.message));
        for (name, value) in &self.fields {
            body.insert((*name).to_owned(), value.clone());
        }
        Value::Object(body)
    }
}

/// 400: no `CF-Connecting-IP` (or not an address).
pub fn no_client_address() -> Refusal {
    Refusal::new(
        400,
        "no_client_address",
        "The request carries no client address.",
    )
}

/// 503: the configuration snapshot could not be loaded.
pub fn configuration_unavailable() -> Refusal {
    Refusal::new(
        503,
        "configuration_unavailable",
        "The gateway's configuration is unavailable; see the Worker's logs.",
    )
}

/// 503: the stored configuration does not validate.
pub fn configuration_invalid(message: String) -> Refusal {
    Refusal::new(503, "configuration_invalid", message)
}

/// 503: a stored record this request needs could not be read. Fails
/// closed: an unreadable lockout is no lockout, an unreadable history no
/// history; the admin API can clear the record.
pub fn state_unavailable() -> Refusal {
    Refusal::new(
        503,
        "state_unavailable",
        "Stored state this request needs could not be read; an administrator can clear it.",
    )
}

/// 500: something failed inside the edge (the Worker's log says what).
pub fn internal() -> Refusal {
    Refusal::new(
        500,
        "internal",
        "The gateway could not handle this request.",
    )
}

/// 404 on the edge's own routes.
pub fn not_found() -> Refusal {
    Refusal::new(404, "not_found", "No such route.")
}

/// 403 for a banned client; `until` is [`crate::bans::PERMANENT`] for no end.
pub fn banned(until: u64, now: u64) -> Refusal {
    let refusal = Refusal::new(403, "banned", "This address is banned.");
    if until == crate::bans::PERMANENT {
        refusal
    } else {
        refusal.retry_after(until.saturating_sub(now))
    }
}

/// 502: the origin did not answer; `configured: false` when `ORIGIN_URL` is unset.
pub fn origin_unreachable(configured: bool) -> Refusal {
    if configured {
        Refusal::new(
            502,
            "origin_unreachable",
            "The application behind the gateway did not answer.",
        )
    } else {
        Refusal::new(502, "origin_not_configured", "ORIGIN_URL is not set.")
    }
}

/// 401 on a protected path without a valid session (`code` says why).
pub fn sign_in(code: &'static str) -> Refusal {
    Refusal::new(401, code, "Sign in to continue.")
}

/// 403 while the session's user must change their password first.
pub fn password_change_required(reason: &str) -> Refusal {
    Refusal::new(
        403,
        "password_change_required",
        "Change your password to continue.",
    )
    .with("reason", reason)
}

/// 403 for an unsafe request on a protected path without the XSRF token.
pub fn xsrf_failed() -> Refusal {
    Refusal::new(
        403,
        "xsrf_failed",
        "The XSRF token is missing or wrong: send the __Host-portcullis-xsrf cookie's value in X-XSRF-Token or _xsrf.",
    )
    .warns(WarningKind::BadXsrf)
}

/// 411: a body the edge must measure came without a length.
pub fn length_required(message: &'static str) -> Refusal {
    Refusal::new(411, "length_required", message)
}

/// 413: a body the edge must read is too large.
pub fn body_too_large(message: &'static str) -> Refusal {
    Refusal::new(413, "body_too_large", message)
}

/// 415: a body in a format the edge does not read (the origin might read it differently).
pub fn unsupported_body(message: &'static str) -> Refusal {
    Refusal::new(415, "unsupported_body", message)
}

/// 400: a form the edge must check could not be read (a warning).
pub fn malformed_form() -> Refusal {
    Refusal::new(400, "malformed_body", "The form could not be read.")
        .warns(WarningKind::MalformedBody)
}

/// 400: a path that reads two ways (decoded twice, or with an encoded
/// separator or dot that origins split differently).
pub fn ambiguous_path() -> Refusal {
    Refusal::new(
        400,
        "ambiguous_path",
        "The path reads more than one way (double or encoded separators); send it plainly.",
    )
}

/// 400: a checked field an origin could read differently from the edge (a
/// warning): in the query too, under a spelling frameworks fold into it,
/// in an encoding or charset, or not as text.
pub fn ambiguous_field() -> Refusal {
    Refusal::new(
        400,
        "ambiguous_field",
        "A checked form field could be read more than one way; send each once, plainly, as UTF-8.",
    )
    .warns(WarningKind::MalformedBody)
}

/// 403: an unsafe request to a checked route from another site's page.
pub fn cross_site() -> Refusal {
    Refusal::new(
        403,
        "cross_site",
        "This form may only be sent from the site's own pages.",
    )
}

/// 502 / 503: the origin failed on a checked route (a 5xx answer, or no
/// answer); nothing was counted against the user.
pub fn origin_failed(answered: bool) -> Refusal {
    if answered {
        Refusal::new(
            502,
            "origin_error",
            "The application failed to handle this form; please try again.",
        )
    } else {
        Refusal::new(
            503,
            "origin_unavailable",
            "The application is unavailable just now; please try again.",
        )
    }
}

/// 400: a checked field sent twice (frameworks disagree on which counts; a warning).
pub fn duplicate_field() -> Refusal {
    Refusal::new(
        400,
        "duplicate_field",
        "A checked form field was sent more than once.",
    )
    .warns(WarningKind::MalformedBody)
}

/// 400: a form the edge must check lacks `fields` (a warning: forwarding it
/// unchecked would let an origin that reads the body differently skip the check).
pub fn missing_field(fields: &str) -> Refusal {
    Refusal::new(400, "missing_field", format!("This form needs {fields}."))
        .warns(WarningKind::MalformedBody)
}

/// 422: a signup from a blocked email domain.
pub fn email_domain_blocked() -> Refusal {
    Refusal::new(
        422,
        "email_domain_blocked",
        "Signups from this email domain are not accepted.",
    )
}

/// 422 with the failed rule ids and their messages.
pub fn password_rejected(verdict: &crate::verdict::Verdict) -> Refusal {
    let messages: Vec<&str> = verdict
        .rules
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.message.as_str())
        .collect();
    Refusal::new(422, "password_rejected", messages.join("; "))
        .with("rules", verdict.failed_rule_ids())
}

/// 422 for a password the user had recently (rule id `history`).
pub fn password_reused(locale: crate::messages::Locale) -> Refusal {
    Refusal::new(
        422,
        "password_rejected",
        crate::lifecycle::reused_message(locale),
    )
    .with("rules", ["history"])
}

/// 422 for a password found in known data breaches at least
/// `passwords.breached.minCount` times (rule id `breached`), the count in
/// the message.
pub fn password_breached(locale: crate::messages::Locale, count: u64) -> Refusal {
    let message = locale.catalog().format(
        "refusals.passwordBreached",
        &crate::messages::Params::count(count),
    );
    Refusal::new(422, "password_rejected", message)
        .with("rules", ["breached"])
        .with("count", count)
}

/// 503: the breached-password range API did not answer (in time) and the
/// policy fails closed.
pub fn breach_check_unavailable() -> Refusal {
    Refusal::new(
        503,
        "breach_check_unavailable",
        "The password could not be checked against known data breaches just now; please try again.",
    )
}

/// 400: a challenge asked for without a usable `route` (the path of the
/// form it is for).
pub fn invalid_challenge_route() -> Refusal {
    Refusal::new(
        400,
        "invalid_route",
        "Ask for a challenge with ?route=<the path the form posts to>, such as ?route=/signup.",
    )
}

/// 503: the CAPTCHA provider did not answer and the policy fails closed.
pub fn captcha_unavailable() -> Refusal {
    Refusal::new(
        503,
        "captcha_unavailable",
        "The CAPTCHA could not be checked just now; please try again.",
    )
}

/// 403: the CAPTCHA was not solved (a warning), with the provider's reason.
pub fn captcha_failed(reason: &str) -> Refusal {
    Refusal::new(403, "captcha_failed", "The CAPTCHA was not solved.")
        .with("reason", reason)
        .warns(WarningKind::FailedCaptcha)
}

/// 423 for a locked account (429 is for rate limits); `retry_after` is
/// `None` for a permanent lockout.
pub fn account_locked(retry_after: Option<u64>) -> Refusal {
    let message = if retry_after.is_some() {
        "Too many failed logins: this account is locked for a while."
    } else {
        "This account is locked until an administrator unlocks it."
    };
    let refusal = Refusal::new(423, "account_locked", message)
        .with("retryAfter", retry_after)
        .with("attemptsLeft", 0)
        .header("Portcullis-Attempts-Left", 0);
    match retry_after {
        Some(seconds) => refusal.retry_after(seconds),
        None => refusal,
    }
}

/// 502: the origin's login answer named no usable user id.
pub fn origin_bad_login() -> Refusal {
    Refusal::new(
        502,
        "origin_bad_login",
        "The application's login answer named no usable user.",
    )
}

/// 403 at login: the account was not used for too long.
pub fn account_inactive() -> Refusal {
    Refusal::new(
        403,
        "account_inactive",
        "This account was not used for too long; an administrator can reactivate it.",
    )
}

/// 409 at login in "refuse new" single-session mode.
pub fn session_active() -> Refusal {
    Refusal::new(
        409,
        "session_active",
        "This account is signed in elsewhere; sign out there first.",
    )
}

/// 404 (and 409 from the admin API) while password reset is off.
pub fn password_reset_disabled(status: u16) -> Refusal {
    let message = if status == 404 {
        "Password reset is switched off."
    } else {
        "Password reset is switched off (signup.passwordResetEnabled)."
    };
    Refusal::new(status, "password_reset_disabled", message)
}

/// A refused reset link: unknown (400, a warning), used or expired (410).
pub fn reset_link(error: crate::tokens::ResetError) -> Refusal {
    use crate::tokens::ResetError;
    match error {
        ResetError::Unknown => Refusal::new(400, error.code(), "This reset link is not valid.")
            .warns(WarningKind::ForgedToken),
        ResetError::Used => Refusal::new(
            410,
            error.code(),
            "This reset link was already used; ask for a new one.",
        ),
        ResetError::Expired => Refusal::new(
            410,
            error.code(),
            "This reset link has expired; ask for a new one.",
        ),
    }
}

/// 429: a probation account used `action` up to its daily limit.
pub fn probation_limit(action: &str, limit_per_day: u32, retry_after: u64) -> Refusal {
    Refusal::new(
        429,
        "probation_limit",
        format!("New accounts may do this {limit_per_day} times a day; try again later."),
    )
    .with("action", action)
    .with("retryAfter", retry_after)
    .retry_after(retry_after)
}

/// 429: a request over rate limit `rule`; `Retry-After` says when one
/// fits again.
pub fn rate_limited(rule: &str, retry_after: u64) -> Refusal {
    Refusal::new(429, "rate_limited", "Too many requests; try again later.")
        .with("rule", rule)
        .with("retryAfter", retry_after)
        .retry_after(retry_after)
}

/// 429: a search page past the cap.
pub fn search_page_capped(max_pages: u32) -> Refusal {
    Refusal::new(
        429,
        "search_page_capped",
        format!("Search results are limited to {max_pages} pages."),
    )
    .with("maxPages", max_pages)
}

/// 413 / 415 / 400 for an upload the rules refuse (a warning).
pub fn upload_refused(error: &crate::uploads::UploadError) -> Refusal {
    use crate::uploads::UploadError;
    let refusal = match error {
        UploadError::TooLarge { limit } => Refusal::new(
            413,
            "upload_too_large",
            format!("Files may be at most {limit} bytes."),
        ),
        UploadError::ExtensionNotAllowed { filename } => Refusal::new(
            415,
            "upload_type_not_allowed",
            format!("Files like `{filename}` may not be uploaded here."),
        ),
        UploadError::Malformed => Refusal::new(
            400,
            "malformed_body",
            "The upload is not a readable multipart body.",
        ),
    };
    refusal.warns(WarningKind::BlockedUpload)
}

/// 401 from the admin API without the application key (a warning).
pub fn unauthorized() -> Refusal {
    Refusal::new(
        401,
        "unauthorized",
        "A valid application key is required (Authorization: Bearer <key>).",
    )
    .warns(WarningKind::WrongApplicationKey)
}

/// 422 from the admin API: a setting out of range or of the wrong type.
pub fn invalid_setting(error: &crate::error::Error) -> Refusal {
    Refusal::new(422, "invalid_setting", error.to_string()).with("field", error.field())
}

/// 405 on the edge's own routes: only `allow` (`"GET, HEAD"`) is answered.
pub fn method_not_allowed(allow: &'static str) -> Refusal {
    Refusal::new(
        405,
        "method_not_allowed",
        "This method is not allowed here.",
    )
    .header("Allow", allow)
}

/// 409 from the admin API: the policy is managed as code.
pub fn policy_as_code() -> Refusal {
    Refusal::new(
        409,
        "policy_as_code",
        "The policy is managed as code (PORTCULLIS_POLICY_SOURCE = \"code\"): change PORTCULLIS_POLICY in wrangler.toml and deploy. Secrets, bans, lockouts and sessions stay writable here.",
    )
}

/// 422 (or another status) from the admin API for a request it cannot take.
pub fn invalid(status: u16, code: &'static str, message: &'static str) -> Refusal {
    Refusal::new(status, code, message)
}
