//! Single-use reset tokens: minted by the admin API (only the token's
//! SHA-256 is stored), checked, used and given back by the Worker's reset
//! flow. Spent and expired grants are kept a day, so a late click reads
//! "used" or "expired" rather than "invalid".

use portcullis_core::Policy;
use portcullis_core::objects::{AuditEntry, AuditKind, ControlAnswer, ResetHolder, ResetStep};
use portcullis_core::records::decode;
use portcullis_core::{ResetError, ResetGrant, ResetPurpose, token_digest};
use serde_json::json;
use worker::Result;

use super::audit;
use super::store::{Store, random_secret};

#[derive(serde::Deserialize)]
struct GrantRow {
    value: String,
}

/// A minted link.
pub(crate) struct Minted {
    /// The token (shown once, never stored).
    pub(crate) token: String,
    /// What it grants.
    pub(crate) grant: ResetGrant,
}

/// Mints a token for `user` and `purpose` at `now`.
pub(crate) fn mint(
    store: &Store,
    policy: &Policy,
    user: &str,
    purpose: ResetPurpose,
    now: u64,
) -> Result<Minted> {
    let token = random_secret()?;
    let grant = ResetGrant::new(user, purpose, &policy.sessions.reset_links, now);
    let sql = store.sql();
    sql.exec(
        "DELETE FROM reset_tokens WHERE expires < ?",
        vec![(now.saturating_sub(86_400) as i64).into()],
    )?;
    sql.exec(
        "INSERT INTO reset_tokens (digest, value, expires) VALUES (?, ?, ?)",
        vec![
            token_digest(&token).into(),
            json!(grant).to_string().into(),
            (grant.expires_at as i64).into(),
        ],
    )?;
    Ok(Minted { token, grant })
}

/// Checks, redeems or releases `token` for the reset flow; `Err` when the
/// stored grant is unreadable.
pub(crate) fn use_token(
    store: &Store,
    policy: Option<&Policy>,
    step: ResetStep,
    token: &str,
    ip: &str,
    now: u64,
) -> Result<std::result::Result<ControlAnswer, String>> {
    let digest = token_digest(token);
    let rows: Vec<GrantRow> = store
        .sql()
        .exec(
            "SELECT value FROM reset_tokens WHERE digest = ?",
            vec![digest.clone().into()],
        )?
        .to_array()?;
    let Some(row) = rows.first() else {
        return Ok(Ok(ControlAnswer::ResetRefused {
            error: ResetError::Unknown,
        }));
    };
    let Ok(mut grant) = decode::<ResetGrant>(&row.value) else {
        return Ok(Err("reset token".to_owned()));
    };
    let verdict = match step {
        ResetStep::Check => grant.check(now),
        ResetStep::Redeem => grant.redeem(now),
        ResetStep::Release => {
            grant.release();
            Ok(())
        }
    };
    if let Err(error) = verdict {
        return Ok(Ok(ControlAnswer::ResetRefused { error }));
    }
    let kind = match step {
        ResetStep::Check => None,
        ResetStep::Redeem => Some(AuditKind::ResetTokenUsed),
        ResetStep::Release => Some(AuditKind::ResetTokenReleased),
    };
    if let Some(kind) = kind {
        store.sql().exec(
            "UPDATE reset_tokens SET value = ? WHERE digest = ?",
            vec![json!(grant).to_string().into(), digest.into()],
        )?;
        let detail = json!({ "user": grant.user, "purpose": grant.purpose });
        audit::record(store, policy, &AuditEntry::new(kind, ip, detail), now)?;
    }
    Ok(Ok(ControlAnswer::Reset {
        holder: ResetHolder {
            user: grant.user,
            purpose: grant.purpose,
        },
    }))
}

/// Ends `user`'s outstanding reset links but `except` (the one just used):
/// they read as used from now on.
pub(crate) fn revoke_others(store: &Store, user: &str, except: &str, now: u64) -> Result<()> {
    store.sql().exec(
        "UPDATE reset_tokens SET value = json_set(value, '$.usedAt', CAST(? AS INTEGER)) WHERE json_extract(value, '$.user') = ? AND digest != ? AND json_extract(value, '$.usedAt') IS NULL",
        vec![(now as i64).into(), user.into(), token_digest(except).into()],
    )?;
    Ok(())
}
