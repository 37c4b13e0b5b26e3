//! Signup rules that are not about the password: blocked email domains (an
//! editable list plus a bundled list of free-mail providers that a preset or
//! the admin can switch on).

use crate::policy::SignupPolicy;

/// Large free-mail providers (SmarterTrack ships such a list for the same
/// purpose). Subdomains match too.
pub(crate) const FREE_MAIL_DOMAINS: [&str; 32] = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "mail.com",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "web.de",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "proton.me",
    "protonmail.com",
    "zoho.com",
    "seznam.cz",
    "email.cz",
    "centrum.cz",
    "post.cz",
    "atlas.cz",
    "volny.cz",
    "tutanota.com",
];

/// The domain of an email address, lowercased, without a trailing dot.
pub(crate) fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_lowercase();
    (!local.is_empty() && !domain.is_empty()).then_some(domain)
}

fn matches(domain: &str, blocked: &str) -> bool {
    let blocked = blocked.trim().trim_end_matches('.');
    domain.eq_ignore_ascii_case(blocked)
        || domain
            .strip_suffix(&blocked.to_lowercase())
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Whether a signup with `email` must be refused for its domain.
pub(crate) fn email_domain_blocked(policy: &SignupPolicy, email: &str) -> bool {
    let Some(domain) = email_domain(email) else {
        return false;
    };
    policy
        .blocked_email_domains
        .iter()
        .any(|b| matches(&domain, b))
        || (policy.block_free_mail && FREE_MAIL_DOMAINS.iter().any(|b| matches(&domain, b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_domains_and_their_subdomains() {
        let p = SignupPolicy {
            blocked_email_domains: vec!["spam.example".into()],
            ..SignupPolicy::default()
        };
        assert!(email_domain_blocked(&p, "a@SPAM.example"));
        assert!(email_domain_blocked(&p, "a@mx.spam.example."));
        assert!(!email_domain_blocked(&p, "a@notspam.example"));
        assert!(!email_domain_blocked(&p, "a@gmail.com"));
        assert!(!email_domain_blocked(&p, "not an email"));
    }

    #[test]
    fn free_mail_switch() {
        let mut p = SignupPolicy::default();
        assert!(!email_domain_blocked(&p, "jan@seznam.cz"));
        p.block_free_mail = true;
        assert!(email_domain_blocked(&p, "jan@seznam.cz"));
        assert!(email_domain_blocked(&p, "x@gmail.com"));
        assert!(!email_domain_blocked(&p, "x@company.cz"));
    }
}
