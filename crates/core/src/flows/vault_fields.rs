//! The vault's form fields: on a request to a route of `vault.routes`,
//! each configured field of the body is replaced by its envelope (sealed
//! to the vault's public key) before the origin sees it, or the request is
//! refused: nothing configured for the vault is ever forwarded in the
//! clear. An envelope already made for the vault's key (the browser
//! sealed it) passes as it is.

use super::caller::{Caller, Flow, refused};
use super::identity::Forwarded;
use super::steps::{Body, Forward};
use crate::refusal;

/// `None` when no vault route matches (the request goes on as usual), the
/// origin's status when the rewritten request reached it, or the refusal.
pub(crate) async fn run(c: &Caller<'_>, forwarded: &Forwarded) -> Flow<Option<u16>> {
    let req = c.req;
    let Some(fields) = c.snapshot.routes.vault_fields(req) else {
        return Ok(None);
    };
    if !req.has_body() {
        if crate::form::carried_outside_body(req, &fields) {
            return Err(c.refuse(refusal::ambiguous_field()).await);
        }
        return Ok(None);
    }
    if let Err(refusal) = crate::request::form_readable(req) {
        return refused(refusal);
    }
    let body = c.body().await?;
    let rewritten = seal(c, &body, &fields);
    let body = match rewritten {
        Ok(None) => Body::Own,
        Ok(Some(bytes)) => Body::Bytes(bytes),
        Err(refusal) if refusal.warning.is_some() => return Err(c.refuse(refusal).await),
        Err(refusal) => return refused(refusal),
    };
    let forward = Forward::new(
        forwarded.to_origin.clone(),
        body,
        &[],
        Some(forwarded.finish.clone()),
    );
    Ok(Some(c.forward(forward).await?.status))
}

/// The body with the fields sealed (see `form::seal_fields`).
#[cfg(feature = "vault")]
fn seal(c: &Caller<'_>, body: &[u8], fields: &[&str]) -> Result<Option<Vec<u8>>, refusal::Refusal> {
    use crate::vault;
    let Some(public) = c.snapshot.vault.as_ref() else {
        // Only a form that carries none of the fields may pass.
        return crate::form::seal_fields(c.req, body, fields, &mut |_, _| Err(vault::not_ready()));
    };
    let mut n = 0u8;
    crate::form::seal_fields(c.req, body, fields, &mut |field, value| {
        if vault::is_envelope_for(value, &public.key_id) {
            return Ok(value.to_owned());
        }
        // Each envelope its own ephemeral key: the request's random bytes
        // and the field's position, hashed (core draws no randomness).
        n = n.wrapping_add(1);
        let label = [b"vault-seal\0".as_slice(), field.as_bytes(), &[0, n]].concat();
        let random = c.ctx.secret_for(&label);
        vault::seal(public, field, value, &random).map_err(|e| vault::refusal(&e))
    })
}

/// Without the vault compiled in, a form carrying a vault field is refused.
#[cfg(not(feature = "vault"))]
fn seal(c: &Caller<'_>, body: &[u8], fields: &[&str]) -> Result<Option<Vec<u8>>, refusal::Refusal> {
    let not_ready = || refusal::Refusal::new(503, "vault_not_ready", "This build has no vault.");
    crate::form::seal_fields(c.req, body, fields, &mut |_, _| Err(not_ready()))
}
