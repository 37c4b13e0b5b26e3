//! Change password: the new password is checked by core (422 with the
//! failed rule ids; administrators, as the origin named them at login, may
//! skip the strength rules when the policy says so) and against the user's
//! history before the origin sees it. When the origin takes it, the edge
//! remembers it, the user's other sessions end, and this session goes on
//! without its change requirement.

use super::breach_check;
use super::caller::{Caller, Flow, refused};
use super::identity::{caller_headers, expiry_warning, session_cookies};
use super::steps::{Body, Finish, Forward, Input, Reply, Step, Upstream};
use crate::lifecycle::{HistoryFingerprint, change_accepted};
use crate::objects::{UserAnswer, UserOp};
use crate::password::PasswordChecker;
use crate::refusal;
use crate::roles::Role;
use crate::tokens::Claims;
use crate::verdict::Subject;

/// The origin's answer header that says whether it took the password.
pub(crate) const CHANGED_HEADER: &[&str] = &["Portcullis-Password-Changed"];

/// The change-password flow; `claims` is the renewed session, if any.
pub(crate) async fn run(c: &Caller<'_>, claims: Option<&Claims>) -> Flow<Reply> {
    let field = &c.policy().routes.fields.new_password;
    let Some(password) = c.fields(&[field]).await?.into_iter().next().flatten() else {
        return Err(c
            .refuse(refusal::missing_field(&format!("`{field}`")))
            .await);
    };
    let is_admin = claims.is_some_and(|c| Role::from_session_roles(&c.roles) == Role::Admin);
    let fingerprint = vet(c, claims.map(|c| c.sub.as_str()), is_admin, &password).await?;
    let now = c.now();
    let passwords = &c.policy().passwords;
    let secrets = &c.snapshot.secrets;
    let (to_origin, mut finish) = match claims {
        Some(claims) => (
            caller_headers(claims, &c.policy().probation, now),
            Finish {
                headers: expiry_warning(passwords, claims, now),
                cookies: session_cookies(secrets, claims, now),
            },
        ),
        None => (Vec::new(), Finish::default()),
    };
    let upstream = c
        .forward_checked(Forward::new(to_origin, Body::Own, CHANGED_HEADER, None))
        .await?;
    if upstream.status >= 500 {
        return refused(refusal::origin_failed(true));
    }
    if accepted(&upstream)
        && let (Some(fingerprint), Some(claims)) = (fingerprint, claims)
        && let Some((before, expires_at)) =
            record_change(c, &claims.sub, Some(&claims.sid), fingerprint).await
    {
        // The user's other sessions ended; this one goes on, from now.
        let changed = Claims {
            chg: None,
            pwx: expires_at,
            lms: before,
            ..claims.clone()
        };
        finish = Finish {
            headers: expiry_warning(passwords, &changed, now),
            cookies: session_cookies(secrets, &changed, now),
        };
    }
    Ok(Reply::Upstream(finish))
}

/// A new password, vetted before the origin sees it: core's rules, with
/// the account's own login name and email as the user record knows them
/// (and the user id) for "does not contain the username or email";
/// administrators may skip the strength rules when the policy says so;
/// then known data breaches (never skipped) and the user's history. Gives the fingerprint to remember once the
/// origin takes the password (`None` without a user).
pub(crate) async fn vet(
    c: &Caller<'_>,
    user_id: Option<&str>,
    is_admin: bool,
    password: &str,
) -> Flow<Option<HistoryFingerprint>> {
    let policy = c.policy();
    let mut subject = Subject {
        username: user_id.unwrap_or_default().to_owned(),
        is_admin,
        ..Subject::default()
    };
    let mut vetted = None;
    if let Some(user_id) = user_id {
        let fingerprint = c.fingerprint(user_id, password);
        let op = UserOp::Vet {
            passwords: policy.passwords.clone(),
            fingerprint: fingerprint.clone(),
        };
        match c.user(user_id, op).await? {
            UserAnswer::Vetted {
                reused,
                username,
                email,
            } => {
                if let Some(username) = username {
                    subject.name = std::mem::replace(&mut subject.username, username);
                }
                subject.email = email.unwrap_or_default();
                vetted = Some((fingerprint, reused));
            }
            _ => return refused(refusal::internal()),
        }
    }
    let verdict = PasswordChecker::new(policy.passwords.clone()).check(
        password,
        &subject,
        c.req.locale().catalog(),
    );
    let mode = policy.passwords.mode;
    if !verdict.ok {
        c.enforce(mode, "passwords", refusal::password_rejected(&verdict))
            .await?;
    }
    breach_check::check(c, password).await?;
    match vetted {
        Some((fingerprint, true)) => {
            let refusal = refusal::password_reused(c.req.locale());
            c.enforce(mode, "passwords", refusal).await?;
            Ok(Some(fingerprint))
        }
        Some((fingerprint, false)) => Ok(Some(fingerprint)),
        None => Ok(None),
    }
}

/// Whether the origin took the new password (core's `change_accepted`).
pub(crate) fn accepted(upstream: &Upstream) -> bool {
    let said = upstream.headers.first().cloned().flatten();
    change_accepted(upstream.status, said.as_deref())
}

/// After the origin took a new password: the user's record remembers it
/// (history, age, no change required) and ends their other tracked
/// sessions, and Control ends their older sessions everywhere. Gives the
/// revocation moment and the new expiry; `None` when that failed (the
/// shell logged why: the origin's answer still goes to the client).
pub(crate) async fn record_change(
    c: &Caller<'_>,
    user_id: &str,
    keep: Option<&str>,
    fingerprint: HistoryFingerprint,
) -> Option<(u64, Option<u64>)> {
    // The user's object stores the change with the revocation and has
    // Control end the older sessions everywhere, retrying until it lands
    // (a busy Control must not leave a stolen session alive).
    let before = c.ctx.now_ms();
    let op = UserOp::Changed {
        passwords: c.policy().passwords.clone(),
        fingerprint,
        keep: keep.map(str::to_owned),
        revoke_before: before,
    };
    let changed = c.user(user_id, op).await;
    // This isolate sees the revocation at once.
    let _: Input = c.io.perform(Step::Invalidate).await;
    match changed {
        Ok(UserAnswer::Changed { expires_at }) => Some((before, expires_at)),
        _ => None,
    }
}
