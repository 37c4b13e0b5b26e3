//! The reset page with a single-use token (query parameter or form field):
//! a read shows the page if the token is good; a form with the new password
//! uses it once (checked by core and the history first). The origin learns
//! the verified user from `Portcullis-Reset-User` and
//! `Portcullis-Reset-Purpose`. A reset the origin took ends every session
//! of the user; one it refused gives the use back.

use super::caller::{Caller, Flow, refused};
use super::password_change::{CHANGED_HEADER, accepted, record_change, vet};
use super::steps::{Body, Finish, Forward, Reply};
use crate::objects::{ControlAnswer, ControlOp, ResetHolder, ResetStep};
use crate::refusal;
use crate::tokens::ResetError;

/// The reset flow; `None` when the request carries no token (it goes on as
/// any other: the page that asks for a link).
pub(crate) async fn run(c: &Caller<'_>) -> Flow<Option<Reply>> {
    let policy = c.policy();
    let fields = &policy.routes.fields;
    let write = c.req.submits();
    let from_query = c.req.query_param(&fields.reset_token);
    if !policy.signup.password_reset_enabled {
        return if from_query.is_some() || write {
            refused(refusal::password_reset_disabled(404))
        } else {
            Ok(None)
        };
    }
    let (token, password) = if write {
        let mut values = c
            .fields(&[&fields.reset_token, &fields.new_password])
            .await?
            .into_iter();
        let token = values.next().flatten().or(from_query);
        (token, values.next().flatten())
    } else {
        (from_query, None)
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let holder = use_token(c, ResetStep::Check, &token).await?;
    let to_origin = vec![
        ("Portcullis-Reset-User", holder.user.clone()),
        (
            "Portcullis-Reset-Purpose",
            holder.purpose.as_str().to_owned(),
        ),
    ];
    let Some(password) = password.filter(|_| write) else {
        if write {
            // A token without the new password: never forwarded unredeemed.
            let field = format!("`{}`", fields.new_password);
            return Err(c.refuse(refusal::missing_field(&field)).await);
        }
        let forward = Forward::new(to_origin, Body::Own, &[], Some(Finish::default()));
        c.forward(forward).await?;
        return Ok(Some(Reply::Upstream(Finish::default())));
    };
    let fingerprint = vet(c, Some(&holder.user), false, &password).await?;
    use_token(c, ResetStep::Redeem, &token).await?;
    let answer = c
        .forward_checked(Forward::new(to_origin, Body::Own, CHANGED_HEADER, None))
        .await;
    let answered = answer.as_ref().ok().filter(|up| up.status < 500);
    if let Some(upstream) = answered
        && accepted(upstream)
    {
        // Every session of the user ends, and every other link of theirs:
        // a reset is how accounts are recovered.
        if let Some(fingerprint) = fingerprint {
            record_change(c, &holder.user, None, fingerprint).await;
        }
        let others = ControlOp::RevokeResets {
            user: holder.user.clone(),
            except: token,
        };
        let _ = c.control(others).await;
        return Ok(Some(Reply::Upstream(Finish::default())));
    }
    // The origin did not take the new password: the link stays usable.
    // A failed release is logged by the shell; the origin's answer stands.
    let release = ControlOp::ResetToken {
        step: ResetStep::Release,
        token,
        ip: c.ip_text.clone(),
    };
    let _ = c.control(release).await;
    match answer {
        Ok(upstream) if upstream.status >= 500 => refused(refusal::origin_failed(true)),
        Ok(_) => Ok(Some(Reply::Upstream(Finish::default()))),
        Err(reply) => Err(reply),
    }
}

/// Checks, redeems or releases `token` with Control; a refused token is
/// answered (see [`refused_link`]).
async fn use_token(c: &Caller<'_>, step: ResetStep, token: &str) -> Flow<ResetHolder> {
    let op = ControlOp::ResetToken {
        step,
        token: token.to_owned(),
        ip: c.ip_text.clone(),
    };
    match c.control(op).await? {
        ControlAnswer::Reset { holder } => Ok(holder),
        ControlAnswer::ResetRefused { error } => Err(refused_link(c, error, token).await),
        _ => refused(refusal::internal()),
    }
}

/// A refused reset link: pages go back to the reset page with the reason,
/// others get the JSON error. An unknown token is a warning.
async fn refused_link(c: &Caller<'_>, error: ResetError, token: &str) -> Reply {
    let refusal = refusal::reset_link(error);
    if let Some(kind) = refusal.warning
        && let Err(reply) = c.warn_token(kind, token).await
    {
        return reply;
    }
    if c.req.wants_html() {
        Reply::Redirect {
            status: 302,
            location: format!("{}?reason={}", c.policy().routes.reset, error.code()),
            cookies: Vec::new(),
        }
    } else {
        Reply::Refuse(refusal)
    }
}
