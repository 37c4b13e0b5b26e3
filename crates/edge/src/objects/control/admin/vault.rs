//! The vault's admin routes: the passphrase (create, reset, delete), and
//! batches of values to envelopes and back. Core decides and does the
//! cryptography; this reads the stored key pair, draws the random bytes
//! and stores the result. The passphrase and the values are never stored
//! or logged: the audit entry says what was done and how many items.

use portcullis_core::AdminRoute;
use portcullis_core::objects::AuditKind;
use portcullis_core::refusal::Refusal;
use portcullis_core::vault::{
    self, Attempts, DecryptRequest, DeleteRequest, EncryptRequest, PassphraseRequest, VaultKey,
};
use serde_json::json;
use worker::{Response, Result};

use super::context::Admin;
use crate::http::reply;
use crate::objects::control::store::Store;

/// The row the key pair is stored in.
pub(crate) const KEY_ROW: &str = "vault";
/// The row of the current window's unwrapping attempts.
const ATTEMPTS_ROW: &str = "vaultAttempts";

/// The stored key pair: `Ok(None)` before a passphrase exists; an
/// unreadable row is a refusal (fail closed: nothing is sealed to a key
/// that cannot be read back).
pub(crate) fn stored_key(store: &Store) -> Result<std::result::Result<Option<VaultKey>, Refusal>> {
    Ok(store
        .record::<VaultKey>(KEY_ROW)?
        .map_err(|_| vault::refusal(&vault::VaultError::DamagedKey)))
}

/// The key pair, or the refusal: 503 `vault_not_ready` before a
/// passphrase exists, `vault_damaged` when its row does not read.
fn active_key(store: &Store) -> Result<std::result::Result<VaultKey, Refusal>> {
    Ok(match stored_key(store)? {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(vault::not_ready()),
        Err(refusal) => Err(refusal),
    })
}

/// `n` random bytes from the runtime.
fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|_| worker::Error::RustError("no random source".into()))?;
    Ok(bytes)
}

/// Takes one unwrapping attempt (Argon2id runs): the 429 when the window's
/// are spent.
fn take_attempt(a: &Admin<'_>) -> Result<std::result::Result<(), Refusal>> {
    // An unreadable row fails closed: this window is spent (the next one
    // starts fresh, so it heals by itself).
    let attempts = match a.store.record::<Attempts>(ATTEMPTS_ROW)? {
        Ok(found) => found.unwrap_or_default(),
        Err(_) => Attempts {
            window_start: a.now,
            count: vault::MAX_ATTEMPTS,
        },
    };
    Ok(match attempts.take(a.now) {
        Ok(next) => {
            a.store.put_record(ATTEMPTS_ROW, &next)?;
            Ok(())
        }
        Err(refusal) => Err(refusal),
    })
}

/// Audits a vault action (never a value or the passphrase) and answers.
fn done(
    a: &Admin<'_>,
    action: &str,
    detail: serde_json::Value,
    status: u16,
    body: serde_json::Value,
) -> Result<Response> {
    let mut detail = detail;
    detail["action"] = json!(action);
    a.audit(AuditKind::Vault, detail)?;
    reply::json(status, &body)
}

/// A refusal, audited as such when it concerns the passphrase.
fn refused(a: &Admin<'_>, action: &str, refusal: &Refusal) -> Result<Response> {
    if matches!(
        refusal.code,
        "wrong_passphrase" | "rate_limited" | "envelope_invalid"
    ) {
        a.audit(
            AuditKind::Vault,
            json!({ "action": action, "refused": refusal.code }),
        )?;
    }
    reply::refusal(refusal)
}

/// Answers one of the vault's routes (the admin API's last arm: a route
/// that is not the vault's gets 404, so a new route left unhandled shows).
pub(crate) fn handle(a: &Admin<'_>, route: &AdminRoute, body: &str) -> Result<Response> {
    match route {
        AdminRoute::VaultPassphrase => passphrase(a, body),
        AdminRoute::VaultDelete => delete(a, body),
        AdminRoute::VaultEncrypt => encrypt(a, body),
        AdminRoute::VaultDecrypt => decrypt(a, body),
        AdminRoute::VaultState => state(a),
        _ => reply::refusal(&Refusal::new(404, "not_found", "No such admin route.")),
    }
}

/// `GET /vault`.
fn state(a: &Admin<'_>) -> Result<Response> {
    match stored_key(a.store)? {
        Ok(None) => reply::json(200, &json!({ "state": "none" })),
        Ok(Some(key)) => reply::json(
            200,
            &json!({
                "state": "active",
                "keyId": key.key_id,
                "publicKey": key.public_key,
                "createdAt": key.created_at,
                "passphraseSetAt": key.wrapped_at,
                "kdf": key.kdf,
            }),
        ),
        Err(refusal) => reply::refusal(&refusal),
    }
}

/// `POST /vault/passphrase`: creates the key pair, or re-wraps it under a
/// new passphrase (every envelope stays readable).
fn passphrase(a: &Admin<'_>, body: &str) -> Result<Response> {
    let request: PassphraseRequest = match vault::read_request(body) {
        Ok(request) => request,
        Err(refusal) => return reply::refusal(&refusal),
    };
    let existing = match stored_key(a.store)? {
        Ok(existing) => existing,
        Err(refusal) => return reply::refusal(&refusal),
    };
    match (existing, request.new_passphrase) {
        (None, None) => match vault::create(&request.passphrase, &random()?, a.now) {
            Ok(key) => {
                a.store.put_record(KEY_ROW, &key)?;
                done(
                    a,
                    "created",
                    json!({ "keyId": key.key_id }),
                    201,
                    json!({ "state": "active", "keyId": key.key_id, "publicKey": key.public_key, "createdAt": key.created_at }),
                )
            }
            Err(e) => reply::refusal(&vault::refusal(&e)),
        },
        (Some(_), None) => reply::refusal(&vault::exists()),
        (None, Some(_)) => reply::refusal(&vault::not_ready()),
        (Some(key), Some(new)) => {
            if let Err(refusal) = take_attempt(a)? {
                return refused(a, "reset", &refusal);
            }
            match vault::rewrap(&key, &request.passphrase, &new, &random()?, a.now) {
                Ok(rewrapped) => {
                    a.store.put_record(KEY_ROW, &rewrapped)?;
                    done(
                        a,
                        "reset",
                        json!({ "keyId": key.key_id }),
                        200,
                        json!({ "state": "active", "keyId": key.key_id, "reset": true }),
                    )
                }
                Err(e) => refused(a, "reset", &vault::refusal(&e)),
            }
        }
    }
}

/// `DELETE /vault/passphrase` with `{"confirm": "delete"}`: destroys the
/// key pair; envelopes made for it can no longer be read.
fn delete(a: &Admin<'_>, body: &str) -> Result<Response> {
    match vault::read_request::<DeleteRequest>(body) {
        Ok(DeleteRequest { confirm }) if confirm == "delete" => {}
        _ => {
            return reply::refusal(&Refusal::new(
                400,
                "confirmation_required",
                "Send {\"confirm\": \"delete\"}: stored envelopes can no longer be read, and customers must re-enter their cards.",
            ));
        }
    }
    let key_id = match stored_key(a.store)? {
        Ok(Some(key)) => json!(key.key_id),
        // A damaged row can be deleted too: that is the way out of it.
        Ok(None) => return reply::refusal(&vault::not_ready()),
        Err(_) => json!(null),
    };
    a.store.delete(KEY_ROW)?;
    done(
        a,
        "deleted",
        json!({ "keyId": key_id }),
        200,
        json!({ "state": "none", "deleted": key_id }),
    )
}

/// `POST /vault/encrypt`: values to envelopes (needs no passphrase).
fn encrypt(a: &Admin<'_>, body: &str) -> Result<Response> {
    let request: EncryptRequest = match vault::read_request(body) {
        Ok(request) => request,
        Err(refusal) => return reply::refusal(&refusal),
    };
    let key = match active_key(a.store)? {
        Ok(key) => key,
        Err(refusal) => return reply::refusal(&refusal),
    };
    let mut failed = false;
    let sealed = vault::encrypt_batch(&key.public(), &request, &mut |bytes| {
        failed |= getrandom::fill(bytes).is_err();
    });
    if failed {
        return Err(worker::Error::RustError("no random source".into()));
    }
    match sealed {
        Ok(envelopes) => done(
            a,
            "encrypted",
            json!({ "keyId": key.key_id, "items": envelopes.len() }),
            200,
            json!({ "keyId": key.key_id, "envelopes": envelopes }),
        ),
        Err(refusal) => reply::refusal(&refusal),
    }
}

/// `POST /vault/decrypt`: envelopes to values, with the passphrase;
/// bounded per minute, audited with the count only.
fn decrypt(a: &Admin<'_>, body: &str) -> Result<Response> {
    let request: DecryptRequest = match vault::read_request(body) {
        Ok(request) => request,
        Err(refusal) => return reply::refusal(&refusal),
    };
    let key = match active_key(a.store)? {
        Ok(key) => key,
        Err(refusal) => return reply::refusal(&refusal),
    };
    if let Err(refusal) = vault::check_decrypt(&request) {
        return reply::refusal(&refusal);
    }
    if let Err(refusal) = take_attempt(a)? {
        return refused(a, "decrypt", &refusal);
    }
    match vault::decrypt_batch(&key, &request) {
        Ok(values) => done(
            a,
            "decrypted",
            json!({ "keyId": key.key_id, "items": values.len() }),
            200,
            json!({ "values": values }),
        ),
        Err(refusal) => refused(a, "decrypt", &refusal),
    }
}
