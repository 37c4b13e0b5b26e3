//! Signed tokens: the session JWT (HS256 only, algorithm pinned), the XSRF
//! token bound to a session, and single-use reset tokens. Every check is in
//! constant time and untrusted input is capped before any work.
//!
//! JWT is written here on `hmac` + `sha2` rather than with the
//! `jsonwebtoken` crate: that crate carries RSA and elliptic-curve code for
//! algorithms Portcullis refuses anyway, which would cost the Worker bundle
//! far more than these few functions, and pinning HS256 is simpler when
//! there is nothing else to pin against.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Longest token accepted before any decoding.
const MAX_TOKEN_LEN: usize = 4096;

/// The fixed JOSE header of every token Portcullis signs.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url parts of JSON, or too long.
    Malformed,
    /// The header names an algorithm other than HS256 (including `none`).
    AlgorithmNotAllowed,
    /// The signature does not match (forged or tampered).
    BadSignature,
    /// Past `exp` (plus leeway).
    Expired,
    /// `iat` lies in the future (beyond leeway).
    NotYetValid,
}

impl TokenError {
    /// Whether this refusal is a security warning (forged or tampered),
    /// as opposed to an ordinary expiry.
    pub fn is_forgery(self) -> bool {
        matches!(
            self,
            Self::Malformed | Self::AlgorithmNotAllowed | Self::BadSignature
        )
    }
}

/// The session token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id the origin named at login.
    pub sub: String,
    /// The session id.
    pub sid: String,
    /// Issued at (unix seconds); renewed on every successful request.
    pub iat: u64,
    /// Expires at (unix seconds): `iat` + the idle timeout, never past `auth` + the absolute lifetime.
    pub exp: u64,
    /// Login time (unix seconds), for the absolute lifetime.
    pub auth: u64,
    /// Roles the origin named at login (`admin`, `staff`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Why the user must change their password before anything else
    /// (see [`crate::lifecycle::ChangeReason`]), while they must.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chg: Option<String>,
    /// When the password expires (unix seconds), when expiry applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pwx: Option<u64>,
    /// Login time in unix milliseconds, compared with session revocations
    /// (a revocation and a new login often fall in the same second).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lms: u64,
    /// On probation at login (for the search-page cap, which is decided
    /// without a round trip).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prb: bool,
    /// The account's creation time (unix seconds) when the session began
    /// on probation and the origin gave it: `account-age` ends with the
    /// session still open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crt: Option<u64>,
    /// The account's replies while on probation (renewed when the origin
    /// accepts one): `reply-count` ends with the session still open.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub rpl: u32,
    /// The origin said at login that the user's email is not verified
    /// (`Portcullis-Login-Verified: false`); cleared when it later says
    /// `true`. A token without it (older ones too) counts as verified.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unv: bool,
    /// Not before (unix seconds): RFC 7519's `nbf`, honoured when a token
    /// carries it (the edge's own tokens do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

/// An HMAC-SHA-256 under `secret` (any length).
pub(crate) fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail.
    HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable_mac())
}

#[allow(clippy::unwrap_used)] // An empty key is always accepted by HMAC.
fn unreachable_mac() -> HmacSha256 {
    HmacSha256::new_from_slice(&[]).unwrap()
}

/// Checks the structure, the pinned algorithm and the signature of a
/// compact JWS; returns the decoded payload.
pub fn verify_hs256(secret: &[u8], token: &str) -> Result<Vec<u8>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: serde_json::Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed)?;
    if header.get("alg").and_then(serde_json::Value::as_str) != Some("HS256") {
        return Err(TokenError::AlgorithmNotAllowed);
    }
    let signature = B64.decode(s).map_err(|_| TokenError::Malformed)?;
    let mut m = mac(secret);
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    m.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    B64.decode(p).map_err(|_| TokenError::Malformed)
}

/// Verifies a session token at `now`, allowing `leeway` seconds of clock skew.
pub(crate) fn verify_jwt(
    secret: &[u8],
    token: &str,
    now: u64,
    leeway: u64,
) -> Result<Claims, TokenError> {
    let payload = verify_hs256(secret, token)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    check_times(claims, now, leeway)
}

/// The claims if they are in force at `now` (expiry, issue and not-before
/// times, with `leeway` seconds of clock skew).
pub(crate) fn check_times(claims: Claims, now: u64, leeway: u64) -> Result<Claims, TokenError> {
    if now > claims.exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if claims.iat > now.saturating_add(leeway)
        || claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

/// The XSRF token of a session: an HMAC of the session id under the XSRF
/// salt, so it is bound to the session and unforgeable without the salt.
pub(crate) fn xsrf_token(salt: &[u8], session_id: &str) -> String {
    let mut m = mac(salt);
    m.update(b"portcullis-xsrf\0");
    m.update(session_id.as_bytes());
    B64.encode(m.finalize().into_bytes())
}

/// Whether `presented` is the XSRF token of `session_id` (constant time).
pub(crate) fn xsrf_valid(salt: &[u8], session_id: &str, presented: &str) -> bool {
    if presented.len() > MAX_TOKEN_LEN {
        return false;
    }
    let expected = xsrf_token(salt, session_id);
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// Minting: what turns secrets and random bytes into credentials. Named so
/// that a call reads as what it is; only the edge's session and reset
/// flows and the admin API's rotation call these.
pub(crate) mod dangerous {
    use base64::Engine;
    use hmac::Mac;

    use super::{B64, Claims, HEADER, mac};

    /// Signs `claims` as a compact HS256 JWT.
    pub fn sign_jwt(secret: &[u8], claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
        let mut m = mac(secret);
        m.update(signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(m.finalize().into_bytes()))
    }

    /// A new random token (for sessions ids and reset links) from 32 random
    /// bytes supplied by the caller.
    pub fn random_token(random: &[u8; 32]) -> String {
        B64.encode(random)
    }
}

/// What the edge stores for a single-use token: its SHA-256, never the
/// token itself, so a leaked store cannot be replayed.
pub fn token_digest(token: &str) -> String {
    B64.encode(Sha256::digest(token.as_bytes()))
}

/// Who a password-reset link is for; each has its own lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ResetPurpose {
    /// The user asked for a reset.
    SelfService,
    /// An administrator sent the reset.
    SentByAdmin,
    /// A new user sets a first password.
    Invitation,
}

impl ResetPurpose {
    /// The purpose as the origin is told it (`Portcullis-Reset-Purpose`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfService => "selfService",
            Self::SentByAdmin => "sentByAdmin",
            Self::Invitation => "invitation",
        }
    }

    /// How long a link of this purpose lives.
    pub fn lifetime(self, links: &crate::policy::ResetLinkLifetimes) -> u64 {
        match self {
            Self::SelfService => links.self_service_seconds,
            Self::SentByAdmin => links.sent_by_admin_seconds,
            Self::Invitation => links.invitation_seconds,
        }
    }
}

/// Why a reset token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResetError {
    /// Never issued (or its record is gone): a guess is a security warning.
    Unknown,
    /// Past its lifetime.
    Expired,
    /// Already used.
    Used,
}

impl ResetError {
    /// The stable error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Unknown => "reset_link_invalid",
            Self::Expired => "reset_link_expired",
            Self::Used => "reset_link_used",
        }
    }
}

/// What the edge stores for one reset token, under its [`token_digest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetGrant {
    /// The user id the link resets.
    pub user: String,
    /// Who it is for.
    pub purpose: ResetPurpose,
    /// Unix seconds after which it is refused.
    pub expires_at: u64,
    /// When it was used, once it was.
    pub used_at: Option<u64>,
}

impl ResetGrant {
    /// A new grant for `user` at `now`.
    pub fn new(
        user: &str,
        purpose: ResetPurpose,
        links: &crate::policy::ResetLinkLifetimes,
        now: u64,
    ) -> Self {
        Self {
            user: user.to_owned(),
            purpose,
            expires_at: now.saturating_add(purpose.lifetime(links)),
            used_at: None,
        }
    }

    /// Whether it may still be used at `now` (without using it).
    pub fn check(&self, now: u64) -> Result<(), ResetError> {
        if self.used_at.is_some() {
            Err(ResetError::Used)
        } else if now >= self.expires_at {
            Err(ResetError::Expired)
        } else {
            Ok(())
        }
    }

    /// Uses it: succeeds once.
    pub fn redeem(&mut self, now: u64) -> Result<(), ResetError> {
        self.check(now)?;
        self.used_at = Some(now);
        Ok(())
    }

    /// Gives a use back (the origin failed before it could act on it).
    pub fn release(&mut self) {
        self.used_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::dangerous::{random_token, sign_jwt};
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims(iat: u64, exp: u64) -> Claims {
        Claims {
            sub: "u-1".into(),
            sid: "s-1".into(),
            iat,
            exp,
            auth: iat,
            roles: vec!["admin".into()],
            chg: None,
            pwx: None,
            lms: 0,
            prb: false,
            crt: None,
            rpl: 0,
            unv: false,
            nbf: None,
        }
    }

    #[test]
    fn a_token_not_valid_before_a_time_is_refused_until_then() {
        let mut c = claims(1000, 5000);
        c.nbf = Some(4000);
        let t = dangerous::sign_jwt(SECRET, &c);
        assert_eq!(
            verify_jwt(SECRET, &t, 1500, 30),
            Err(TokenError::NotYetValid)
        );
        assert!(
            verify_jwt(SECRET, &t, 3990, 30).is_ok(),
            "within the leeway"
        );
    }

    #[test]
    fn round_trip_and_time_checks() {
        let t = sign_jwt(SECRET, &claims(1000, 2000));
        assert_eq!(verify_jwt(SECRET, &t, 1500, 0), Ok(claims(1000, 2000)));
        assert_eq!(verify_jwt(SECRET, &t, 2001, 0), Err(TokenError::Expired));
        assert!(verify_jwt(SECRET, &t, 2001, 30).is_ok(), "leeway");
        assert_eq!(
            verify_jwt(SECRET, &t, 900, 30),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            verify_jwt(b"another-secret-another-secret-xx", &t, 1500, 0),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampering_none_and_other_algorithms_are_refused() {
        let t = sign_jwt(SECRET, &claims(1000, 2000));
        let parts: Vec<&str> = t.split('.').collect();
        let evil = B64.encode(br#"{"sub":"admin","sid":"s","iat":1000,"exp":9999,"auth":1000}"#);
        assert_eq!(
            verify_jwt(
                SECRET,
                &format!("{}.{}.{}", parts[0], evil, parts[2]),
                1500,
                0
            ),
            Err(TokenError::BadSignature)
        );
        let none = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            verify_jwt(SECRET, &format!("{none}.{}.", parts[1]), 1500, 0),
            Err(TokenError::AlgorithmNotAllowed)
        );
        let hs512 = B64.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        assert_eq!(
            verify_jwt(
                SECRET,
                &format!("{hs512}.{}.{}", parts[1], parts[2]),
                1500,
                0
            ),
            Err(TokenError::AlgorithmNotAllowed)
        );
        for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!", &"a".repeat(5000)] {
            assert!(verify_jwt(SECRET, junk, 1500, 0).is_err());
        }
    }

    #[test]
    fn xsrf_is_bound_to_the_session_and_salt() {
        let t = xsrf_token(b"salt-one", "s-1");
        assert!(xsrf_valid(b"salt-one", "s-1", &t));
        assert!(!xsrf_valid(b"salt-one", "s-2", &t));
        assert!(!xsrf_valid(b"salt-two", "s-1", &t));
        assert!(!xsrf_valid(b"salt-one", "s-1", ""));
    }

    #[test]
    fn digests_hide_tokens() {
        let t = random_token(&[7; 32]);
        assert_eq!(t.len(), 43);
        assert_ne!(token_digest(&t), t);
        assert_eq!(token_digest(&t), token_digest(&t));
    }

    #[test]
    fn reset_grants_are_single_use_and_expire() {
        let links = crate::policy::ResetLinkLifetimes {
            self_service_seconds: 10,
            sent_by_admin_seconds: 20,
            invitation_seconds: 30,
        };
        let mut g = ResetGrant::new("u-1", ResetPurpose::SentByAdmin, &links, 100);
        assert_eq!(g.expires_at, 120);
        assert_eq!(g.check(119), Ok(()));
        assert_eq!(g.redeem(110), Ok(()));
        assert_eq!(g.redeem(111), Err(ResetError::Used));
        g.release();
        assert_eq!(g.redeem(112), Ok(()), "a released use can be retried");
        let late = ResetGrant::new("u-1", ResetPurpose::Invitation, &links, 0);
        assert_eq!(late.check(30), Err(ResetError::Expired));
        assert_eq!(ResetPurpose::SelfService.lifetime(&links), 10);
        assert_eq!(ResetError::Used.code(), "reset_link_used");
        let json = serde_json::to_string(&g).unwrap();
        assert!(json.contains(r#""purpose":"sentByAdmin""#), "{json}");
    }

    proptest::proptest! {
        /// Any sequence of checks, uses and releases at increasing times:
        /// between two releases at most one use succeeds, and none after
        /// the lifetime.
        #[test]
        fn a_reset_grant_is_used_at_most_once(ops in proptest::collection::vec((0u8..3, 0u64..5), 1..40)) {
            let links = crate::policy::ResetLinkLifetimes {
                self_service_seconds: 30,
                ..crate::policy::ResetLinkLifetimes::default()
            };
            let mut g = ResetGrant::new("u", ResetPurpose::SelfService, &links, 0);
            let mut now = 0;
            let mut uses_since_release = 0;
            for (op, step) in ops {
                now += step;
                match op {
                    0 => {
                        if g.redeem(now).is_ok() {
                            uses_since_release += 1;
                            proptest::prop_assert!(now < 30);
                        }
                    }
                    1 => {
                        g.release();
                        uses_since_release = 0;
                    }
                    _ => {
                        let _ = g.check(now);
                    }
                }
                proptest::prop_assert!(uses_since_release <= 1);
            }
        }
    }
}
