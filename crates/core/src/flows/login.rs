//! The login form, in order: the form must carry the name and password;
//! the CAPTCHA (on the login page, or after N failures of the account);
//! the account's lockout (refused at once while locked, else the attempt
//! is counted in advance); the origin checks the password; its answer
//! settles the attempt. A failure is a warning against the client and a
//! failure of the account (locking it at the limit). A success consults
//! the user's lifecycle record (inactive, single session, a required
//! change, expiry, probation) and issues the session.

use super::caller::{Caller, Flow, failed as step_failed, refused};
use super::captcha_gate;
use super::identity::{expiry_warning, session_cookies};
use super::steps::{Body, Finish, Forward, Input, Reply};
use crate::bans::WarningKind;
use crate::captcha::email_verified;
use crate::lifecycle::{LoginAnswer, LoginRefusal, login_answer, tracks_users};
use crate::lockout::{Gate, account_key};
use crate::objects::{
    AccountOp, AuditEntry, AuditKind, LockAnswer, LockStart, LoginRequest, UserAnswer, UserOp,
};
use crate::password::PasswordChecker;
use crate::policy::CaptchaPage;
use crate::refusal::{self, Refusal};
use crate::roles::Role;
use crate::session::new_session;
use crate::tokens::dangerous::random_token;
use crate::verdict::Subject;

/// The origin's login answer headers the flow reads.
const LOGIN_HEADERS: &[&str] = &[
    "Portcullis-Login-User",
    "Portcullis-Login-Roles",
    "Portcullis-Login-Created",
    "Portcullis-Login-Email",
    "Portcullis-Login-Verified",
];

/// What the origin said about a login it accepted.
struct Accepted {
    user: String,
    roles: Vec<String>,
    created: Option<u64>,
    /// The account's email, when the origin names it (or the login name is one).
    email: Option<String>,
    /// When the origin answered (the session's login time).
    at_ms: u64,
    /// The origin said the email is not verified.
    unverified: bool,
}

/// The login flow.
pub(crate) async fn run(c: &Caller<'_>) -> Flow<Reply> {
    let fields = &c.policy().routes.fields;
    let mut values = c
        .fields(&[&fields.username, &fields.password])
        .await?
        .into_iter();
    let login = values.next().flatten().unwrap_or_default();
    let Some(password) = values.next().flatten().filter(|_| !login.trim().is_empty()) else {
        let names = format!("`{}` and `{}`", fields.username, fields.password);
        return Err(c.refuse(refusal::missing_field(&names)).await);
    };
    // A lockout this isolate saw answered is not asked again (one hot
    // account under credential stuffing must not be one hot object).
    let key = account_key(&login);
    let cached = c.snapshot.locks.gate(&key, c.now());
    let failures = match (c.policy().captcha.after_failed_logins, cached) {
        (0, _) => 0,
        (_, Some(_)) => c.policy().login.max_failed_attempts,
        _ => c.account(&login, AccountOp::Peek).await?.failures,
    };
    captcha_gate::check(c, CaptchaPage::Login, failures).await?;
    let begin = match cached {
        Some(gate) => LockAnswer {
            gate,
            attempts_left: None,
            failures,
            locks_on_failure: None,
        },
        None => c.account(&login, AccountOp::Begin).await?,
    };
    c.snapshot.locks.remember(&key, begin.gate, c.now());
    // An attempt on a locked account is still a failed login for the
    // address: spraying across accounts until each locks gets it banned.
    // In monitor mode a locked account's attempt goes on (reported once).
    let reported = match locked(&begin) {
        Some(refusal) => {
            let mode = c.policy().login.mode;
            c.enforce(mode, "lockout", refusal.warns(WarningKind::FailedLogin))
                .await?;
            true
        }
        None => false,
    };
    let forward = Forward::new(Vec::new(), Body::Own, LOGIN_HEADERS, None);
    // The origin failing (a 5xx, or no answer) judged nothing: the reserved
    // attempt is given back and no warning counted.
    let upstream = match c.forward_checked(forward).await {
        Ok(upstream) if upstream.status < 500 => upstream,
        answer => {
            // Only an attempt Begin reserved is given back.
            if !reported {
                c.account(&login, AccountOp::Release).await?;
            }
            return Err(answer
                .err()
                .unwrap_or_else(|| Reply::Refuse(refusal::origin_failed(true))));
        }
    };
    let header = |i: usize| upstream.headers.get(i).cloned().flatten();
    let user = header(0);
    let roles = header(1);
    match login_answer(upstream.status, user.as_deref(), roles.as_deref()) {
        LoginAnswer::Succeeded { user, roles } => {
            let accepted = Accepted {
                user,
                roles,
                created: header(2).and_then(|v| v.trim().parse().ok()),
                email: header(3).or_else(|| login.contains('@').then(|| login.clone())),
                at_ms: upstream.received_ms,
                unverified: email_verified(header(4).as_deref()) == Some(false),
            };
            succeeded(c, &login, &password, accepted, reported).await
        }
        LoginAnswer::Unusable => refused(refusal::origin_bad_login()),
        LoginAnswer::Failed => failed(c, &login, &begin, reported).await,
    }
}

/// The 423 for a locked account, or `None` while it is open.
fn locked(answer: &LockAnswer) -> Option<Refusal> {
    match answer.gate {
        Gate::Open => None,
        Gate::Locked { retry_after } => Some(refusal::account_locked(Some(retry_after))),
        Gate::LockedPermanently => Some(refusal::account_locked(None)),
    }
}

/// Lets the attempt on while the account is open; else 423.
/// Passes while the account is open; a lock is the 423 (in monitor mode
/// an audit entry, unless this attempt's was already `reported`).
async fn open(c: &Caller<'_>, answer: LockAnswer, reported: bool) -> Flow<()> {
    match locked(&answer) {
        None => Ok(()),
        Some(_) if reported => Ok(()),
        Some(refusal) => c.enforce(c.policy().login.mode, "lockout", refusal).await,
    }
}

/// The origin accepted the password: settle the attempt (a parallel one
/// may have locked the account meanwhile), consult the user's record, and
/// issue the session.
async fn succeeded(
    c: &Caller<'_>,
    login: &str,
    password: &str,
    who: Accepted,
    reported: bool,
) -> Flow<Reply> {
    open(c, c.account(login, AccountOp::Success).await?, reported).await?;
    let policy = c.policy();
    let now = c.now();
    let sid = random_token(c.ctx.random());
    let mut claims = new_session(&who.user, &sid, who.roles, &policy.sessions, now);
    claims.lms = who.at_ms;
    claims.unv = who.unverified;
    if tracks_users(policy) {
        let meets_policy = !policy.passwords.apply_to_existing || {
            let subject = Subject {
                username: login.to_owned(),
                is_admin: Role::from_session_roles(&claims.roles) == Role::Admin,
                ..Subject::default()
            };
            PasswordChecker::new(policy.passwords.clone())
                .check(password, &subject, c.req.locale().catalog())
                .ok
        };
        let op = UserOp::Login(LoginRequest {
            policy: Box::new(policy.clone()),
            fingerprint: Some(c.fingerprint(&who.user, password)),
            meets_policy,
            sid,
            created: who.created,
            roles: claims.roles.clone(),
            username: login.to_owned(),
            email: who.email.clone(),
        });
        match c.user(&who.user, op).await? {
            UserAnswer::LoggedIn {
                change,
                expires_at,
                probation,
                created,
                replies,
            } => {
                claims.chg = change.map(|reason| reason.as_str().to_owned());
                claims.pwx = expires_at;
                claims.prb = probation;
                if probation {
                    claims.crt = created;
                    claims.rpl = replies;
                }
            }
            UserAnswer::LoginRefused {
                refusal: LoginRefusal::Inactive,
            } => return refused(refusal::account_inactive()),
            UserAnswer::LoginRefused {
                refusal: LoginRefusal::SessionActive,
            } => return refused(refusal::session_active()),
            _ => return refused(refusal::internal()),
        }
    }
    Ok(Reply::Upstream(Finish {
        headers: expiry_warning(&policy.passwords, &claims, now),
        cookies: session_cookies(&c.snapshot.secrets, &claims, now),
    }))
}

/// The origin refused the password: a warning for the client, a failure
/// for the account (locking it at the limit, listed for the admin), and
/// the attempts left on the origin's answer. The account's object counted
/// the failure when the attempt began (`begin`) and said then what it
/// leads to: a failed login asks it nothing more, unless it is the one
/// that would lock the account.
async fn failed(c: &Caller<'_>, login: &str, begin: &LockAnswer, reported: bool) -> Flow<Reply> {
    c.warn_answered(WarningKind::FailedLogin).await;
    let outcome = match (begin.gate, begin.locks_on_failure) {
        (Gate::Open, None) => *begin,
        // The failure that would lock the account asks its object, which
        // knows the attempts settled meanwhile (a parallel success or an
        // origin error may have taken the count below the limit): a lock
        // is announced only when the object holds it.
        (Gate::Open, Some(_)) => c.account(login, AccountOp::Failure).await?,
        (locked, _) => LockAnswer {
            gate: locked,
            attempts_left: Some(0),
            ..*begin
        },
    };
    c.snapshot
        .locks
        .remember(&account_key(login), outcome.gate, c.now());
    if outcome.gate != Gate::Open && !reported {
        // This failure started the lockout: list it for the admin.
        let until = match outcome.gate {
            Gate::Locked { retry_after } => Some(c.now().saturating_add(retry_after)),
            Gate::Open | Gate::LockedPermanently => None,
        };
        let account = account_key(login);
        let detail = serde_json::json!({ "account": account, "until": until });
        let entry = AuditEntry::new(AuditKind::AccountLocked, c.ip_text.clone(), detail);
        let lock = LockStart { account, until };
        if let failure @ Input::Failed(_) = c.audit_item(entry, Some(lock)).await {
            return Err(step_failed(failure));
        }
        open(c, outcome, false).await?;
    }
    let headers = outcome
        .attempts_left
        .map(|n| vec![("Portcullis-Attempts-Left", n.to_string())])
        .unwrap_or_default();
    Ok(Reply::Upstream(Finish {
        headers,
        cookies: Vec::new(),
    }))
}
