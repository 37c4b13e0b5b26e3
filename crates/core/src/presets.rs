//! Presets: complete policy documents a site can start from, one per seed
//! product (following its documentation's settings and defaults) and two
//! standards. Where a seed is silent, the Portcullis default stands and the
//! comment says so.

use crate::error::Error;
use crate::policy::{CaptchaPage, CaptchaProvider, PasswordPolicy, Policy, SingleSession};

const MINUTE: u64 = 60;
const DAY: u64 = 86_400;

/// Names accepted by [`crate::Policy::preset`], in display order.
pub const NAMES: [&str; 7] = [
    "clientexec",
    "clientspace",
    "smartertrack",
    "etendo",
    "czech-transfer",
    "nist-800-63b",
    "owasp-asvs-l2",
];

impl Policy {
    /// The named preset (see [`NAMES`]).
    pub fn preset(name: &str) -> Result<Self, Error> {
        let (Some(passwords), Some(rest)) = (passwords_of(name), rest_of(name)) else {
            return Err(unknown(name));
        };
        let mut p = Policy::default();
        passwords(&mut p.passwords);
        rest(&mut p);
        Ok(p)
    }
}

impl PasswordPolicy {
    /// The password rules of the named preset (see [`NAMES`]), without
    /// building the rest of its document (the browser's rules module needs
    /// only these: its first-feedback bytes).
    pub fn preset(name: &str) -> Result<Self, Error> {
        let passwords = passwords_of(name).ok_or_else(|| unknown(name))?;
        let mut p = PasswordPolicy::default();
        passwords(&mut p);
        Ok(p)
    }
}

fn unknown(name: &str) -> Error {
    Error::UnknownPreset {
        name: name.to_owned(),
        known: &NAMES,
    }
}

/// A preset's password rules, applied to the defaults.
fn passwords_of(name: &str) -> Option<fn(&mut PasswordPolicy)> {
    Some(match name {
        "clientexec" => clientexec_passwords,
        "clientspace" => clientspace_passwords,
        "smartertrack" => smartertrack_passwords,
        "etendo" => etendo_passwords,
        "czech-transfer" => czech_transfer_passwords,
        "nist-800-63b" => nist_800_63b_passwords,
        "owasp-asvs-l2" => owasp_asvs_l2_passwords,
        _ => return None,
    })
}

/// The rest of a preset's document, applied to the defaults.
fn rest_of(name: &str) -> Option<fn(&mut Policy)> {
    Some(match name {
        "clientexec" => clientexec,
        "clientspace" => clientspace,
        "smartertrack" => smartertrack,
        "etendo" => etendo,
        "czech-transfer" => czech_transfer,
        "nist-800-63b" => nist_800_63b,
        "owasp-asvs-l2" => owasp_asvs_l2,
        _ => return None,
    })
}

/// Clientexec, Settings > Security: "Enforce Password Strength" with mixed
/// case, numbers, symbols (any non-alphanumeric) and forbidden dictionary
/// words, admins may override; IPs generating security warnings are banned;
/// captcha on selected pages. The document gives no numbers, so lengths and
/// ban thresholds are Portcullis defaults.
fn clientexec_passwords(pw: &mut PasswordPolicy) {
    pw.enforce_strength = true;
    pw.admins_may_override = true;
    pw.require_lowercase = true;
    pw.require_uppercase = true;
    pw.require_digit = true;
    pw.require_symbol = true;
    pw.symbols = None;
    pw.forbid_dictionary_words = true;
    pw.min_score = 0;
}

fn clientexec(p: &mut Policy) {
    p.bans.enabled = true;
    p.bans.fraud.enabled = true;
    p.captcha.pages = vec![CaptchaPage::Signup, CaptchaPage::Reset];
}

/// ClientSpace: minimum length 7, complexity "at least two types of
/// characters", 5 failed attempts, 30-minute lockout, session expiration
/// after inactivity ("Session Expired" message), password reset days with a
/// per-user "never expires", external users inactive for 180 days expire.
fn clientspace_passwords(pw: &mut PasswordPolicy) {
    pw.min_length = 7;
    pw.min_character_classes = 2;
    pw.min_score = 0;
    // "PasswordResetDays" has no documented default; 90 days is common.
    pw.expiry_seconds = 90 * DAY;
}

fn clientspace(p: &mut Policy) {
    p.login.max_failed_attempts = 5;
    p.login.lockout_seconds = 30 * MINUTE;
    p.login.inactive_account_seconds = 180 * DAY;
    p.sessions.idle_timeout_seconds = 20 * MINUTE;
}

/// SmarterTrack: brute-force protection (10 failed logins, 5-minute
/// lockout, admin bypass), require numbers / uppercase / lowercase / symbol
/// and "does not match username", "disable password strength for existing
/// passwords" (off: existing passwords are checked), IP blacklist for
/// writes, uploads (staff any `.*`, end users restricted, 2 MB), the
/// free-mail list, portal probation (7 days / 10 replies, 1 thread and 5
/// replies per 24 hours, CAPTCHA, links stripped, 5 search pages), CSP
/// additional sources, CAPTCHA at registration.
fn smartertrack_passwords(pw: &mut PasswordPolicy) {
    pw.require_digit = true;
    pw.require_uppercase = true;
    pw.require_lowercase = true;
    pw.require_symbol = true;
    pw.forbid_user_info = true;
    pw.apply_to_existing = true;
    pw.min_score = 0;
}

fn smartertrack(p: &mut Policy) {
    p.login.max_failed_attempts = 10;
    p.login.lockout_seconds = 5 * MINUTE;
    p.signup.block_free_mail = true;
    p.signup.password_reset_enabled = true;
    p.uploads.max_bytes = 2 * 1024 * 1024;
    p.uploads.staff_extensions = vec![".*".to_owned()];
    p.probation.enabled = true;
    p.captcha.provider = CaptchaProvider::RecaptchaV2;
    p.captcha.pages = vec![CaptchaPage::Signup, CaptchaPage::Reset];
    let csp = &mut p.responses.csp;
    csp.connect_src = strings(&["*.google-analytics.com", "googleapis.com"]);
    csp.frame_src = strings(&[
        "*.fleeq.io",
        "*.google.com/recaptcha/",
        "*.mediaservices.windows.net",
        "*.metacafe.com",
        "*.streaming.azure.net",
        "*.vimeo.com",
        "*.youtube.com",
        "*.youtube-nocookie.com",
    ]);
    csp.script_src = strings(&[
        "*.google.com/recaptcha/",
        "*.google-analytics.com",
        "*.googleapis.com",
        "*.gstatic.com/recaptcha/",
        "translate.google.com",
    ]);
    csp.style_src = strings(&["fonts.googleapis.com"]);
}

/// Etendo Advanced Security: at least 8 characters with three of the
/// character classes, password history, lockout after 5 attempts with
/// attempts left shown, single session (on by default, "Allow multiple
/// sessions" per user), change password after first login, expiry after
/// 30 days with a warning 7 days before.
fn etendo_passwords(pw: &mut PasswordPolicy) {
    pw.min_length = 8;
    pw.min_character_classes = 3;
    pw.min_score = 0;
    // History has no documented depth; 5 is Keycloak's common choice.
    pw.history_count = 5;
    pw.change_on_first_login = true;
    pw.expiry_seconds = 30 * DAY;
    pw.expiry_warning_seconds = 7 * DAY;
}

fn etendo(p: &mut Policy) {
    p.login.max_failed_attempts = 5;
    p.login.report_attempts_left = true;
    p.login.single_session = SingleSession::RefuseNew;
}

/// The bilingual Czech/English file-sending application: minimum length,
/// character groups with symbols `! @ # $ % ^ & *`, three reset-link
/// lifetimes (minutes in its screen), JWT lifetime in seconds renewed on
/// every request, JWT secret and XSRF salt, reCAPTCHA with a 0.5 score
/// threshold, an enable switch and results logging (off).
fn czech_transfer_passwords(pw: &mut PasswordPolicy) {
    pw.min_length = 8;
    pw.require_lowercase = true;
    pw.require_uppercase = true;
    pw.require_digit = true;
    pw.require_symbol = true;
    pw.symbols = Some("!@#$%^&*".to_owned());
    pw.min_score = 0;
}

fn czech_transfer(p: &mut Policy) {
    p.sessions.idle_timeout_seconds = 30 * MINUTE;
    p.sessions.reset_links.self_service_seconds = 60 * MINUTE;
    p.sessions.reset_links.sent_by_admin_seconds = 24 * 60 * MINUTE;
    p.sessions.reset_links.invitation_seconds = 7 * DAY;
    p.captcha.provider = CaptchaProvider::RecaptchaV3;
    p.captcha.score_threshold = 0.5;
    p.captcha.log_results = false;
    p.captcha.pages = vec![CaptchaPage::Login, CaptchaPage::Signup, CaptchaPage::Reset];
}

/// NIST SP 800-63B revision 4, password as the only factor: at least 15
/// characters, at least 64 allowed (128 here), no composition rules, a
/// blocklist of common and compromised passwords and context-specific
/// words, no periodic expiry.
fn nist_800_63b_passwords(pw: &mut PasswordPolicy) {
    pw.min_length = 15;
    pw.max_length = 128;
    no_composition(pw);
    pw.blocklist = true;
    pw.forbid_user_info = true;
    pw.expiry_seconds = 0;
    // 800-63B limits consecutive failed attempts to at most 100.
}

fn nist_800_63b(p: &mut Policy) {
    p.login.max_failed_attempts = 100;
}

/// OWASP ASVS 4.0.3 level 2: at least 12 characters, at least 128 allowed,
/// no composition rules (2.1.9), checked against breached/common passwords
/// (2.1.7), no periodic rotation (2.1.10), a strength meter (2.1.8).
fn owasp_asvs_l2_passwords(pw: &mut PasswordPolicy) {
    pw.min_length = 12;
    pw.max_length = 128;
    no_composition(pw);
    pw.blocklist = true;
    pw.expiry_seconds = 0;
}

fn owasp_asvs_l2(_: &mut Policy) {}

fn no_composition(pw: &mut PasswordPolicy) {
    pw.require_lowercase = false;
    pw.require_uppercase = false;
    pw.require_digit = false;
    pw.require_symbol = false;
    pw.min_character_classes = 0;
    pw.forbid_dictionary_words = false;
    pw.min_score = 0;
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presets_password_rules_alone_are_those_of_its_document() {
        for name in NAMES {
            assert_eq!(
                PasswordPolicy::preset(name).unwrap(),
                Policy::preset(name).unwrap().passwords,
                "{name}"
            );
        }
        assert!(PasswordPolicy::preset("nope").is_err());
        assert!(Policy::preset("nope").is_err());
    }

    #[test]
    fn every_preset_is_valid_and_round_trips() {
        for name in NAMES {
            let p = Policy::preset(name).unwrap();
            p.validate().unwrap();
            assert_eq!(Policy::from_json(&p.to_json()).unwrap(), p, "{name}");
        }
    }

    #[test]
    fn presets_follow_their_sources() {
        let cs = Policy::preset("clientspace").unwrap();
        assert_eq!(cs.passwords.min_length, 7);
        assert_eq!(cs.passwords.min_character_classes, 2);
        assert_eq!(cs.login.lockout_seconds, 1800);
        let st = Policy::preset("smartertrack").unwrap();
        assert_eq!(st.login.max_failed_attempts, 10);
        assert_eq!(st.login.lockout_seconds, 300);
        assert_eq!(st.probation.max_search_pages, 5);
        let et = Policy::preset("etendo").unwrap();
        assert_eq!(et.passwords.min_character_classes, 3);
        assert_eq!(et.passwords.expiry_seconds, 30 * DAY);
        let nist = Policy::preset("nist-800-63b").unwrap();
        assert_eq!(nist.passwords.min_length, 15);
        assert!(nist.passwords.max_length >= 64);
        let asvs = Policy::preset("owasp-asvs-l2").unwrap();
        assert_eq!(asvs.passwords.min_length, 12);
        assert!(asvs.passwords.max_length >= 128);
        let cz = Policy::preset("czech-transfer").unwrap();
        assert_eq!(cz.passwords.symbols.as_deref(), Some("!@#$%^&*"));
    }
}
