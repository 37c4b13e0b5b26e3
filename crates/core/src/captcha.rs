//! CAPTCHA verification: which form field carries the token, the request
//! to each provider's siteverify endpoint, and the verdict on its answer
//! (success, reCAPTCHA v3 score threshold, expected action and hostname).
//! The edge only sends the request and passes the answer back in.

use serde::Deserialize;

use crate::policy::{CaptchaPage, CaptchaPolicy, CaptchaProvider};

/// The form field the provider's widget fills.
pub(crate) fn token_field(provider: CaptchaProvider) -> Option<&'static str> {
    match provider {
        CaptchaProvider::Turnstile => Some("cf-turnstile-response"),
        CaptchaProvider::RecaptchaV2 | CaptchaProvider::RecaptchaV3 => Some("g-recaptcha-response"),
        CaptchaProvider::Hcaptcha => Some("h-captcha-response"),
        CaptchaProvider::Builtin => Some(crate::challenge::FIELD),
        _ => None,
    }
}

/// Whether the CAPTCHA is on and usable: a provider with a field, and its
/// secret (the built-in one needs none: it signs with the pepper).
fn configured(policy: &CaptchaPolicy, has_secret: bool) -> bool {
    policy.enabled
        && token_field(policy.provider).is_some()
        && (has_secret || policy.provider == CaptchaProvider::Builtin)
}

/// The provider's own verify endpoint.
pub(crate) fn default_verify_url(provider: CaptchaProvider) -> Option<&'static str> {
    match provider {
        CaptchaProvider::Turnstile => {
            Some("https://challenges.cloudflare.com/turnstile/v0/siteverify")
        }
        CaptchaProvider::RecaptchaV2 | CaptchaProvider::RecaptchaV3 => {
            Some("https://www.google.com/recaptcha/api/siteverify")
        }
        CaptchaProvider::Hcaptcha => Some("https://api.hcaptcha.com/siteverify"),
        _ => None,
    }
}

/// What `Portcullis-Login-Verified` says: `Some(true)` for `true`,
/// `Some(false)` for `false` (trimmed, any case); `None` otherwise.
pub(crate) fn email_verified(value: Option<&str>) -> Option<bool> {
    match value.map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Whether a request by a user whose email is not verified is one of the
/// actions that need the CAPTCHA from them (method and canonical path).
pub(crate) fn unverified_action(policy: &CaptchaPolicy, method: &str, route: &str) -> bool {
    policy.unverified_users
        && policy
            .unverified_actions
            .iter()
            .any(|a| crate::paths::action_matches(&a.method, &a.path, method, route))
}

/// Whether `page` needs a CAPTCHA now. No secret means a provider's CAPTCHA is off; on
/// the login page, `afterFailedLogins` (when set) waits for that many
/// failures of the account.
pub(crate) fn required(
    policy: &CaptchaPolicy,
    has_secret: bool,
    page: CaptchaPage,
    failed_logins: u32,
) -> bool {
    if !configured(policy, has_secret) {
        return false;
    }
    if !policy.pages.contains(&page) {
        return false;
    }
    !(page == CaptchaPage::Login
        && policy.after_failed_logins > 0
        && failed_logins < policy.after_failed_logins)
}

/// What the edge does with a CAPTCHA check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Decision {
    /// Let the request through.
    Pass,
    /// The provider did not answer (in time) and the policy fails closed:
    /// 503, nothing counted against the user.
    Unavailable,
    /// Not solved: 403 and a security warning, with this reason.
    Refuse(&'static str),
}

/// The decision for the provider's answer (its HTTP status, `0` when it
/// did not answer in time, and its body), and the result code the audit
/// log records for it (`pass`, `unavailable`, `providerRefused`, or the
/// refusal's reason). Fail open lets a check through only when the
/// provider could not be asked (no answer, a 5xx), never on its 4xx: a
/// 429 can be provoked by sending junk tokens.
pub(crate) fn decide(policy: &CaptchaPolicy, status: u16, body: &str) -> (Decision, &'static str) {
    match status {
        200..=299 => match verdict(policy, body) {
            Verdict::Pass => (Decision::Pass, "pass"),
            Verdict::Fail(reason) => (Decision::Refuse(reason), reason),
        },
        0 | 500..=599 if policy.fail_open => (Decision::Pass, "unavailable"),
        0 | 500..=599 => (Decision::Unavailable, "unavailable"),
        _ => (Decision::Unavailable, "providerRefused"),
    }
}

/// [`required`] for any page, including a probation action, which needs a
/// CAPTCHA when `probation.captcha` is on (or the page is listed).
pub(crate) fn required_for(
    policy: &crate::policy::Policy,
    has_secret: bool,
    page: CaptchaPage,
    failed_logins: u32,
) -> bool {
    let settings = &policy.captcha;
    // A rate limit's `captcha` action asks for the configured CAPTCHA
    // whatever its pages say.
    if page == CaptchaPage::RateLimit {
        return configured(settings, has_secret);
    }
    if page == CaptchaPage::UnverifiedAction && settings.unverified_users {
        return configured(settings, has_secret);
    }
    if page == CaptchaPage::ProbationAction
        && policy.probation.captcha
        && configured(settings, has_secret)
    {
        return true;
    }
    required(settings, has_secret, page, failed_logins)
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The siteverify request: URL and `application/x-www-form-urlencoded`
/// body. `None` when the provider has no verify endpoint.
pub(crate) fn verify_request(
    policy: &CaptchaPolicy,
    secret: &str,
    token: &str,
    remote_ip: &str,
) -> Option<(String, String)> {
    let url = policy
        .verify_url
        .clone()
        .or_else(|| default_verify_url(policy.provider).map(str::to_owned))?;
    let mut pairs = vec![
        ("secret", secret),
        ("response", token),
        ("remoteip", remote_ip),
    ];
    if policy.provider == CaptchaProvider::Hcaptcha && !policy.site_key.is_empty() {
        pairs.push(("sitekey", policy.site_key.as_str()));
    }
    Some((url, form_encode(&pairs)))
}

#[derive(Deserialize)]
struct Answer {
    success: bool,
    score: Option<f64>,
    action: Option<String>,
    hostname: Option<String>,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) enum Verdict {
    /// Human enough.
    Pass,
    /// Refused, with a reason code for the audit log.
    Fail(&'static str),
}

/// Judges the provider's JSON answer.
pub(crate) fn verdict(policy: &CaptchaPolicy, answer_json: &str) -> Verdict {
    let Ok(answer) = serde_json::from_str::<Answer>(answer_json) else {
        return Verdict::Fail("unreadable_answer");
    };
    if !answer.success {
        return Verdict::Fail("not_solved");
    }
    if policy.provider == CaptchaProvider::RecaptchaV3 || answer.score.is_some() {
        match answer.score {
            Some(score) if score >= policy.score_threshold => {}
            Some(_) => return Verdict::Fail("score_too_low"),
            None => return Verdict::Fail("no_score"),
        }
    }
    if let Some(expected) = &policy.expected_action
        && answer.action.as_deref() != Some(expected.as_str())
    {
        return Verdict::Fail("wrong_action");
    }
    if let Some(expected) = &policy.expected_hostname
        && !answer
            .hostname
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(expected))
    {
        return Verdict::Fail("wrong_hostname");
    }
    Verdict::Pass
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origins_verified_header_reads_one_way() {
        assert_eq!(email_verified(Some(" TRUE ")), Some(true));
        assert_eq!(email_verified(Some("false")), Some(false));
        for other in [None, Some(""), Some("yes"), Some("0"), Some("true,false")] {
            assert_eq!(email_verified(other), None, "{other:?}");
        }
    }

    #[test]
    fn unverified_users_meet_the_captcha_on_the_configured_actions_only() {
        let mut policy = CaptchaPolicy {
            enabled: true,
            provider: CaptchaProvider::Builtin,
            unverified_users: true,
            ..CaptchaPolicy::default()
        };
        assert!(unverified_action(&policy, "post", "/tickets"));
        assert!(!unverified_action(&policy, "GET", "/tickets"));
        assert!(!unverified_action(&policy, "POST", "/tickets/9/replies"));
        policy.unverified_users = false;
        assert!(!unverified_action(&policy, "POST", "/tickets"));
    }

    #[test]
    fn decisions_fail_closed_unless_told_otherwise() {
        let mut p = CaptchaPolicy::default();
        assert_eq!(decide(&p, 0, ""), (Decision::Unavailable, "unavailable"));
        assert_eq!(
            decide(&p, 200, r#"{"success":true}"#),
            (Decision::Pass, "pass")
        );
        assert_eq!(
            decide(&p, 200, r#"{"success":false}"#),
            (Decision::Refuse("not_solved"), "not_solved")
        );
        assert_eq!(
            decide(&p, 200, "garbage").0,
            Decision::Refuse("unreadable_answer")
        );
        p.fail_open = true;
        assert_eq!(decide(&p, 0, ""), (Decision::Pass, "unavailable"));
        assert_eq!(decide(&p, 503, ""), (Decision::Pass, "unavailable"));
        for status in [400, 403, 429] {
            assert_eq!(
                decide(&p, status, r#"{"success":true}"#),
                (Decision::Unavailable, "providerRefused")
            );
        }
    }

    #[test]
    fn probation_actions_ask_when_probation_says_so() {
        let mut p = crate::policy::Policy::default();
        p.captcha.enabled = true;
        p.captcha.provider = crate::policy::CaptchaProvider::Turnstile;
        assert!(
            required_for(&p, true, CaptchaPage::ProbationAction, 0),
            "probation.captcha is on by default"
        );
        assert!(
            !required_for(&p, false, CaptchaPage::ProbationAction, 0),
            "no secret, no CAPTCHA"
        );
        p.probation.captcha = false;
        assert!(!required_for(&p, true, CaptchaPage::ProbationAction, 0));
        p.captcha.enabled = false;
        p.probation.captcha = true;
        assert!(!required_for(&p, true, CaptchaPage::ProbationAction, 0));
    }

    fn policy(provider: CaptchaProvider) -> CaptchaPolicy {
        CaptchaPolicy {
            enabled: true,
            provider,
            site_key: "site".into(),
            pages: vec![CaptchaPage::Login, CaptchaPage::Signup],
            ..CaptchaPolicy::default()
        }
    }

    #[test]
    fn when_required() {
        let mut p = policy(CaptchaProvider::Turnstile);
        assert!(required(&p, true, CaptchaPage::Signup, 0));
        assert!(
            !required(&p, false, CaptchaPage::Signup, 0),
            "no secret, no CAPTCHA"
        );
        assert!(!required(&p, true, CaptchaPage::Reset, 0));
        p.after_failed_logins = 2;
        assert!(!required(&p, true, CaptchaPage::Login, 1));
        assert!(required(&p, true, CaptchaPage::Login, 2));
        p.enabled = false;
        assert!(!required(&p, true, CaptchaPage::Signup, 0));
    }

    #[test]
    fn requests_per_provider() {
        let (url, body) = verify_request(
            &policy(CaptchaProvider::Turnstile),
            "s3cr&t",
            "tok en",
            "203.0.113.7",
        )
        .unwrap();
        assert_eq!(
            url,
            "https://challenges.cloudflare.com/turnstile/v0/siteverify"
        );
        assert_eq!(body, "secret=s3cr%26t&response=tok+en&remoteip=203.0.113.7");
        let mut h = policy(CaptchaProvider::Hcaptcha);
        h.verify_url = Some("http://127.0.0.1:9/verify".into());
        let (url, body) = verify_request(&h, "s", "t", "ip").unwrap();
        assert_eq!(url, "http://127.0.0.1:9/verify");
        assert!(body.ends_with("&sitekey=site"));
        assert_eq!(
            token_field(CaptchaProvider::RecaptchaV2),
            Some("g-recaptcha-response")
        );
    }

    #[test]
    fn verdicts() {
        let v2 = policy(CaptchaProvider::RecaptchaV2);
        assert_eq!(verdict(&v2, r#"{"success":true}"#), Verdict::Pass);
        assert_eq!(
            verdict(&v2, r#"{"success":false,"error-codes":["bad"]}"#),
            Verdict::Fail("not_solved")
        );
        assert_eq!(verdict(&v2, "<html>"), Verdict::Fail("unreadable_answer"));
        let mut v3 = policy(CaptchaProvider::RecaptchaV3);
        assert_eq!(
            verdict(&v3, r#"{"success":true,"score":0.9}"#),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&v3, r#"{"success":true,"score":0.3}"#),
            Verdict::Fail("score_too_low")
        );
        assert_eq!(
            verdict(&v3, r#"{"success":true}"#),
            Verdict::Fail("no_score")
        );
        v3.expected_action = Some("login".into());
        v3.expected_hostname = Some("app.example".into());
        assert_eq!(
            verdict(
                &v3,
                r#"{"success":true,"score":0.9,"action":"signup","hostname":"app.example"}"#
            ),
            Verdict::Fail("wrong_action")
        );
        assert_eq!(
            verdict(
                &v3,
                r#"{"success":true,"score":0.9,"action":"login","hostname":"evil.example"}"#
            ),
            Verdict::Fail("wrong_hostname")
        );
        assert_eq!(
            verdict(
                &v3,
                r#"{"success":true,"score":0.9,"action":"login","hostname":"APP.example"}"#
            ),
            Verdict::Pass
        );
    }
}
