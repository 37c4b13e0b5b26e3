//! The session steps of the pipeline: reading the cookie (a forged token is
//! a warning, checked once more against fresh secrets first), single-session
//! mode, logout, protected paths, a required password change, and XSRF on
//! unsafe requests.

use super::caller::{Caller, Flow};
use super::steps::{Body, Finish, Forward, Input, Reply, Step};
use crate::bans::WarningKind;
use crate::form::first_value;
use crate::objects::{UserAnswer, UserOp};
use crate::policy::SingleSession;
use crate::refusal;
use crate::request::MAX_FORM_BYTES;
use crate::session::{
    ChangeGate, NoSession, SESSION_COOKIE, SessionState, XSRF_FIELD, XsrfDecision, change_gate,
    change_reason, clearing_cookies, cookie, no_session, renew, renewal_due, session_state,
    xsrf_decision,
};
use crate::snapshot::{REVOCATIONS_RECORD, Snapshot};
use crate::tokens::Claims;

/// A snapshot younger than this is trusted to know the current signing
/// secrets (milliseconds); an older one is refreshed before a token is
/// called forged. The isolate refreshes every few seconds anyway, so a
/// stream of forged cookies costs Control at most one reload per isolate
/// per this long.
const FRESH_MS: u64 = 5000;

/// The session of a request, as far as the pipeline has checked it.
pub(crate) struct Session {
    /// A valid session lent to this request (none after a failed XSRF
    /// check off the protected paths: the request goes on as anonymous).
    pub(crate) claims: Option<Claims>,
    /// The same renewed (sliding expiry), after the XSRF check.
    pub(crate) renewed: Option<Claims>,
    /// Whether the renewed token is re-issued on this answer.
    pub(crate) renewal_due: bool,
    /// Cookies that end a dead or forged session in the browser.
    pub(crate) clear: Vec<String>,
    /// Whether the path is protected.
    pub(crate) protected: bool,
}

fn read(c: &Caller<'_>, snapshot: &Snapshot) -> SessionState {
    let token = c.req.cookies().and_then(|h| cookie(h, SESSION_COOKIE));
    session_state(
        &snapshot.session_keys(),
        token,
        &snapshot.policy.sessions,
        &snapshot.revocations,
        c.now(),
    )
}

/// The session cookie's state. A forged or tampered token is a warning and
/// counts as no session; in single-session mode the user's record says
/// whether the session is still theirs (the one round trip it costs).
pub(crate) async fn state(c: &Caller<'_>) -> Flow<SessionState> {
    let mut state = read(c, &c.snapshot);
    // Without the revocations no session can be told apart from an ended one.
    if matches!(state, SessionState::Valid(_)) && c.snapshot.is_unreadable(REVOCATIONS_RECORD) {
        return Err(Reply::Refuse(refusal::state_unavailable()));
    }
    if state == SessionState::Forged {
        // A copy of the secrets older than a second may have missed a
        // rotation made elsewhere: check once more against a fresh copy.
        // Not forged after all: no session for this request (the cookie
        // stays), the fresh copy decides the next.
        let stale = c.ctx.now_ms().saturating_sub(c.snapshot.loaded_at_ms) > FRESH_MS;
        let forged = !stale
            || match c.io.perform(Step::FreshSnapshot).await {
                Input::Snapshot(fresh) => read(c, &fresh) == SessionState::Forged,
                _ => true,
            };
        if forged {
            let token = c.req.cookies().and_then(|h| cookie(h, SESSION_COOKIE));
            c.warn_token(WarningKind::ForgedToken, token.unwrap_or_default())
                .await?;
        } else {
            state = SessionState::Missing;
        }
    }
    if c.policy().login.single_session != SingleSession::Off
        && let SessionState::Valid(claims) = &state
    {
        let op = UserOp::Touch {
            sid: claims.sid.clone(),
            sessions: c.policy().sessions.clone(),
        };
        match c.user(&claims.sub, op).await? {
            UserAnswer::Touched { active: true } => {}
            UserAnswer::Touched { active: false } => state = SessionState::Ended,
            _ => return Err(Reply::Refuse(refusal::internal())),
        }
    }
    Ok(state)
}

/// Logout: the tracked session ends (single-session mode) and the request
/// goes to the origin with cookies that clear the session.
pub(crate) async fn logout(c: &Caller<'_>, state: &SessionState) -> Flow<Reply> {
    if c.policy().login.single_session != SingleSession::Off
        && let SessionState::Valid(claims) = state
    {
        let op = UserOp::Logout {
            sid: claims.sid.clone(),
        };
        c.user(&claims.sub, op).await?;
    }
    let finish = Finish {
        headers: Vec::new(),
        cookies: clearing_cookies().to_vec(),
    };
    c.forward(Forward::new(Vec::new(), Body::Own, &[], Some(finish)))
        .await?;
    Ok(Reply::Upstream(Finish::default()))
}

/// Protected paths need a valid session: pages are redirected to the
/// login page with the reason, the rest get 401. A dead or forged cookie
/// is cleared so the browser stops sending it.
pub(crate) fn require(c: &Caller<'_>, state: SessionState) -> Flow<Session> {
    let clear = match state {
        SessionState::Expired | SessionState::Ended | SessionState::Forged => {
            clearing_cookies().to_vec()
        }
        SessionState::Valid(_) | SessionState::Missing => Vec::new(),
    };
    let protected = c.req.under(&c.snapshot.routes.protected);
    if protected && !matches!(state, SessionState::Valid(_)) {
        return Err(
            match no_session(c.req.accept(), &c.policy().routes.login, &state) {
                NoSession::Redirect(location) => Reply::Redirect {
                    status: 302,
                    location,
                    cookies: clear,
                },
                NoSession::Unauthorized(code) => {
                    Reply::Refuse(refusal::sign_in(code).cookies(clear))
                }
            },
        );
    }
    let claims = match state {
        SessionState::Valid(claims) => Some(claims),
        _ => None,
    };
    Ok(Session {
        claims,
        renewed: None,
        renewal_due: false,
        clear,
        protected,
    })
}

/// While a password change is required (first login, expiry, tightened
/// policy, an admin's request) only the change page, logout and static
/// assets pass: pages are redirected to the change page, the rest refused.
pub(crate) fn password_gate(c: &Caller<'_>, session: &Session) -> Flow<()> {
    let Some(claims) = &session.claims else {
        return Ok(());
    };
    let Some(reason) = change_reason(claims, c.now()) else {
        return Ok(());
    };
    let routes = &c.snapshot.routes;
    let gate = change_gate(
        reason,
        c.req.method(),
        (c.req.route(), c.req.route_key()),
        c.req.accept(),
        (&routes.change_password, &routes.logout),
        &c.policy().routes.change_password,
    );
    match gate {
        ChangeGate::Pass => Ok(()),
        ChangeGate::Redirect(location) => Err(Reply::Redirect {
            status: 302,
            location,
            cookies: Vec::new(),
        }),
        ChangeGate::Refuse => Err(Reply::Refuse(refusal::password_change_required(reason))),
    }
}

/// An unsafe request carries the user's identity to the origin only with
/// the XSRF token bound to the session; on protected paths it is refused
/// without one (a warning), elsewhere it goes on as anonymous. A valid
/// session is then renewed (sliding expiry), its token re-issued once a
/// 60th of the idle timeout has passed.
pub(crate) async fn xsrf(c: &Caller<'_>, mut session: Session) -> Flow<Session> {
    if let Some(claims) = &session.claims
        && c.req.is_write()
    {
        let echoed = match c.req.xsrf_header() {
            Some(token) => Some(token.to_owned()),
            None => xsrf_field(c).await,
        };
        let decision = xsrf_decision(
            c.snapshot.secrets.xsrf.as_bytes(),
            claims,
            c.req.method(),
            session.protected,
            echoed.as_deref(),
        );
        match decision {
            XsrfDecision::Pass => {}
            XsrfDecision::Anonymous => session.claims = None,
            XsrfDecision::Refuse => return Err(c.refuse(refusal::xsrf_failed()).await),
        }
    }
    let sessions = &c.policy().sessions;
    let now = c.now();
    session.renewal_due = session
        .claims
        .as_ref()
        .is_some_and(|claims| renewal_due(claims, sessions, now));
    session.renewed = session
        .claims
        .as_ref()
        .map(|claims| renew(claims, sessions, now));
    Ok(session)
}

/// The XSRF token in the form field: only from a form with a length under
/// the cap (an endless or huge body is never read for it; send the header).
async fn xsrf_field(c: &Caller<'_>) -> Option<String> {
    if !c.req.is_form() || c.req.content_length().is_none_or(|n| n > MAX_FORM_BYTES) {
        return None;
    }
    let body = c.body().await.ok()?;
    first_value(c.req, &body, XSRF_FIELD)
}
