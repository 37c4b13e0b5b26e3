//! Control's admin routes for people rather than settings: rotating the
//! signing secrets, ending sessions, reading and changing a user's record,
//! and single-use reset tokens (minted here, redeemed by the gateway).
//! Core decides; this stores.

use portcullis_core::Policy;
use portcullis_core::admin::{SecretKind, SecretRefusal, new_secret};
use portcullis_core::lifecycle::{UserPatch, valid_user_id};
use portcullis_core::session::Revocations;
use portcullis_core::tokens::{ResetError, ResetGrant, ResetPurpose, random_token, token_digest};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{Method, Request, Response, Result};

use super::Control;
use crate::reply;
use crate::user;

#[derive(Deserialize)]
struct GrantRow {
    value: String,
}

/// A path segment as the client sent it, percent-decoded.
pub(super) fn decoded(raw: &str) -> String {
    js_sys::decode_uri_component(raw)
        .map(String::from)
        .unwrap_or_else(|_| raw.to_owned())
}

/// 32 random bytes as a token.
pub(super) fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| worker::Error::RustError("no random source".into()))?;
    Ok(random_token(&bytes))
}

fn invalid_user() -> Result<Response> {
    reply::error(
        422,
        "invalid_user",
        "Name the user by the id the application gives at login (1–256 characters).",
    )
}

impl Control {
    /// The replicated session revocations.
    pub(super) fn revocations(&self) -> Result<Revocations> {
        Ok(self
            .get("revocations")?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// Ends the sessions of `user` (or everyone's) that began before now;
    /// answers that moment (unix milliseconds).
    pub(super) fn revoke(&self, policy: &Policy, user: Option<&str>) -> Result<u64> {
        let now = crate::reply::now_millis();
        let mut revocations = self.revocations()?;
        match user {
            Some(user) => {
                revocations.users.insert(user.to_owned(), now);
            }
            None => revocations.all_before = now,
        }
        revocations.prune(&policy.sessions, now);
        self.put("revocations", &json!(revocations).to_string())?;
        Ok(now)
    }

    /// Admin routes of this module; `None` when `path` is not one of them.
    pub(super) async fn handle_people(
        &self,
        req: &mut Request,
        path: &str,
        policy: &Policy,
        ip: &str,
        now: u64,
    ) -> Option<Result<Response>> {
        let method = req.method();
        let retention = policy.audit.retention_seconds;
        let audit = |kind: &str, detail: Value| self.audit(kind, ip, &detail, now, retention);
        let answer = match (method, path) {
            (
                Method::Post,
                "/secrets/jwtSecret"
                | "/secrets/xsrfSalt"
                | "/secrets/webhookSecret"
                | "/secrets/captchaSecret"
                | "/secrets/applicationKey",
            ) => {
                let name = &path["/secrets/".len()..];
                self.rotate(req, name, policy, audit).await
            }
            (Method::Delete, "/sessions") => (|| {
                self.revoke(policy, None)?;
                audit("sessionsEnded", json!({ "user": null }))?;
                reply::json(200, &json!({ "ended": "all" }))
            })(),
            (Method::Post, "/reset-tokens") => self.mint_reset(req, policy, now, audit).await,
            (method, p) if p.starts_with("/users/") => {
                let rest = &p["/users/".len()..];
                let (raw, sessions) = match rest.strip_suffix("/sessions") {
                    Some(raw) => (raw, true),
                    None => (rest, false),
                };
                let id = decoded(raw);
                if !valid_user_id(&id) {
                    return Some(invalid_user());
                }
                match (method, sessions) {
                    (Method::Get, false) => {
                        self.user(&id, "get", user::Call::default(), policy).await
                    }
                    (Method::Patch, false) => {
                        let body = req.text().await.unwrap_or_default();
                        self.patch_user(&id, &body, policy, audit).await
                    }
                    (Method::Delete, true) => {
                        let ended = async {
                            self.revoke(policy, Some(&id))?;
                            user::call(&self.env, &id, "end-sessions", &user::Call::default())
                                .await?;
                            audit("sessionsEnded", json!({ "user": id }))?;
                            reply::json(200, &json!({ "ended": id }))
                        };
                        ended.await
                    }
                    _ => reply::error(405, "method_not_allowed", "Not for this route."),
                }
            }
            _ => return None,
        };
        Some(answer)
    }

    /// Applies an administrator's change to a user record. Requiring a
    /// password change also ends the user's sessions, so it applies at once
    /// (the next login carries the requirement).
    async fn patch_user(
        &self,
        id: &str,
        body: &str,
        policy: &Policy,
        audit: impl Fn(&str, Value) -> Result<()>,
    ) -> Result<Response> {
        let Ok(patch) = serde_json::from_str::<UserPatch>(body) else {
            return reply::error(
                422,
                "invalid_patch",
                "Send {\"neverExpires\", \"allowMultipleSessions\", \"mustChangePassword\": true|false, \"reactivate\": true}.",
            );
        };
        let end_sessions = patch.must_change_password == Some(true);
        let call = user::Call {
            patch: Some(patch),
            ..user::Call::default()
        };
        let answer = self.user(id, "patch", call, policy).await?;
        if end_sessions {
            self.revoke(policy, Some(id))?;
            user::call(&self.env, id, "end-sessions", &user::Call::default()).await?;
        }
        let change = serde_json::from_str::<Value>(body).unwrap_or(Value::Null);
        audit("userChanged", json!({ "user": id, "change": change }))?;
        Ok(answer)
    }

    async fn user(
        &self,
        id: &str,
        op: &str,
        mut call: user::Call,
        policy: &Policy,
    ) -> Result<Response> {
        call.policy = Some(policy.clone());
        let answer = user::call(&self.env, id, op, &call).await?;
        reply::json(
            200,
            &json!({ "user": id, "record": answer.summary.unwrap_or(Value::Null) }),
        )
    }

    /// Replaces the JWT secret or the XSRF salt (with the given value of at
    /// least 32 characters, else a random one) and ends every session. The
    /// old JWT secret is kept so its tokens read as ended, not forged.
    async fn rotate(
        &self,
        req: &mut Request,
        name: &str,
        policy: &Policy,
        audit: impl Fn(&str, Value) -> Result<()>,
    ) -> Result<Response> {
        let body = req.text().await.unwrap_or_default();
        let Some(kind) = SecretKind::parse(name) else {
            return reply::error(404, "not_found", "No such secret.");
        };
        let given = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("value").and_then(Value::as_str).map(str::to_owned));
        if !body.trim().is_empty() && given.is_none() {
            return reply::error(422, "invalid_secret", "Send {\"value\": \"…\"}.");
        }
        let value = match new_secret(kind, given.as_deref()) {
            Ok(Some(value)) => value,
            Ok(None) => random_secret()?,
            Err(SecretRefusal::ValueRequired) => {
                return reply::error(
                    422,
                    "invalid_secret",
                    "Send {\"value\": \"…\"} with at least 32 characters: others must hold this secret.",
                );
            }
            Err(_) => {
                return reply::error(
                    422,
                    "invalid_secret",
                    "A secret has at least 32 characters (send no body for a random one where allowed).",
                );
            }
        };
        let stored = match kind {
            SecretKind::JwtSecret => "secret:jwt",
            SecretKind::XsrfSalt => "secret:xsrf",
            SecretKind::ApplicationKey => "secret:applicationKey",
            SecretKind::CaptchaSecret => "secret:captcha",
            _ => "secret:webhook",
        };
        // The JWT secret before this one stays, so its tokens read as ended.
        if kind == SecretKind::JwtSecret
            && let Some(old) = self.get("secret:jwt")?
        {
            self.put("secret:jwtPrevious", &old)?;
        }
        self.put(stored, &value)?;
        if kind.ends_sessions() {
            self.revoke(policy, None)?;
        }
        audit(
            "secretRotated",
            json!({ "secret": name, "by": "applicationKey" }),
        )?;
        reply::json(
            200,
            &json!({ "rotated": name, "sessionsEnded": kind.ends_sessions() }),
        )
    }

    /// Mints a single-use reset token for `{"user", "purpose"}`; only its
    /// digest is stored.
    async fn mint_reset(
        &self,
        req: &mut Request,
        policy: &Policy,
        now: u64,
        audit: impl Fn(&str, Value) -> Result<()>,
    ) -> Result<Response> {
        if !policy.signup.password_reset_enabled {
            return reply::error(
                409,
                "password_reset_disabled",
                "Password reset is switched off (signup.passwordResetEnabled).",
            );
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Mint {
            user: String,
            purpose: ResetPurpose,
        }
        let body = req.text().await.unwrap_or_default();
        let Ok(mint) = serde_json::from_str::<Mint>(&body) else {
            return reply::error(
                422,
                "invalid_reset_request",
                "Send {\"user\": \"<user id>\", \"purpose\": \"selfService\" | \"sentByAdmin\" | \"invitation\"}.",
            );
        };
        if !valid_user_id(&mint.user) {
            return invalid_user();
        }
        let token = random_secret()?;
        let grant = ResetGrant::new(&mint.user, mint.purpose, &policy.sessions.reset_links, now);
        let sql = self.sql();
        // Spent and expired grants are kept a day, so a late click reads
        // "used" or "expired" rather than "invalid".
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
        audit(
            "resetTokenIssued",
            json!({ "user": grant.user, "purpose": grant.purpose, "expiresAt": grant.expires_at }),
        )?;
        let separator = if policy.routes.reset.contains('?') {
            '&'
        } else {
            '?'
        };
        reply::json(
            201,
            &json!({
                "token": token,
                "url": format!("{}{separator}{}={token}", policy.routes.reset, policy.routes.fields.reset_token),
                "user": grant.user,
                "purpose": grant.purpose,
                "expiresAt": grant.expires_at,
            }),
        )
    }

    /// The gateway's reset-token calls (`{"token", "ip"}`): `check` (the page is shown),
    /// `redeem` (the new password is sent: succeeds once) and `release`
    /// (the origin failed; the use is given back).
    pub(super) async fn reset_token(
        &self,
        req: &mut Request,
        op: &str,
        now: u64,
        retention: u64,
    ) -> Result<Response> {
        let body = req
            .text()
            .await
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or(Value::Null);
        let text = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
        let (token, ip) = (text("token"), text("ip"));
        let digest = token_digest(token);
        let rows: Vec<GrantRow> = self
            .sql()
            .exec(
                "SELECT value FROM reset_tokens WHERE digest = ?",
                vec![digest.clone().into()],
            )?
            .to_array()?;
        let grant = rows
            .first()
            .and_then(|r| serde_json::from_str::<ResetGrant>(&r.value).ok());
        let Some(mut grant) = grant else {
            return reply::json(200, &json!({ "error": ResetError::Unknown.code() }));
        };
        let verdict = match op {
            "check" => grant.check(now),
            "redeem" => grant.redeem(now),
            _ => {
                grant.release();
                Ok(())
            }
        };
        if let Err(e) = verdict {
            return reply::json(200, &json!({ "error": e.code() }));
        }
        if op != "check" {
            self.sql().exec(
                "UPDATE reset_tokens SET value = ? WHERE digest = ?",
                vec![json!(grant).to_string().into(), digest.into()],
            )?;
            let kind = if op == "redeem" {
                "resetTokenUsed"
            } else {
                "resetTokenReleased"
            };
            self.audit(
                kind,
                ip,
                &json!({ "user": grant.user, "purpose": grant.purpose }),
                now,
                retention,
            )?;
        }
        reply::json(
            200,
            &json!({ "user": grant.user, "purpose": grant.purpose }),
        )
    }
}
