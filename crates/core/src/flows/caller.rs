//! Who is asking, as the pipeline established it, and the effects a flow
//! performs on their behalf, each typed: read a form, ask a Durable
//! Object, record a warning, forward to the origin. A failed effect comes
//! back as the answer to give instead (`Err(Reply)`), so flows read top to
//! bottom with `?`.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use super::io::Io;
use super::steps::{Answer, Call, Failure, Forward, Input, Reply, Step, Upstream, warning};
use crate::bans::WarningKind;
use crate::context::Context;
use crate::form::checked_fields;
use crate::lifecycle::HistoryFingerprint;
use crate::objects::{
    AccountCall, AccountOp, AuditEntry, ControlAnswer, ControlOp, LockAnswer, UserAnswer, UserOp,
};
use crate::refusal::{self, Refusal};
use crate::request::{Request, form_readable};
use crate::snapshot::Snapshot;

/// A flow's result: `Err` is an answer given early (a refusal or a failure).
pub(crate) type Flow<T> = Result<T, Reply>;

/// The answer for a step that failed or was answered with the wrong input.
pub(crate) fn failed(input: Input) -> Reply {
    Reply::Refuse(match input {
        Input::Failed(Failure::StateUnavailable) => refusal::state_unavailable(),
        Input::Failed(Failure::OriginUnreachable) => refusal::origin_unreachable(true),
        Input::Failed(Failure::OriginNotConfigured) => refusal::origin_unreachable(false),
        _ => refusal::internal(),
    })
}

/// The caller of one request and the means to act for them.
pub(crate) struct Caller<'a> {
    pub(crate) io: &'a Io,
    pub(crate) req: &'a Request,
    pub(crate) snapshot: Rc<Snapshot>,
    /// The client's address.
    pub(crate) ip: IpAddr,
    /// The same, as text (audit entries, CAPTCHA `remoteip`).
    pub(crate) ip_text: String,
    /// The client's ban key (IPv4 address or IPv6 prefix).
    pub(crate) key: String,
    pub(crate) ctx: Context,
    /// The body once read.
    pub(crate) body: RefCell<Option<Rc<[u8]>>>,
    /// This request's CAPTCHA token was verified.
    pub(crate) captcha_passed: std::cell::Cell<bool>,
    /// Audit items this request has sent (each gets its own id).
    pub(crate) audits: std::cell::Cell<u32>,
    /// Headers every answer to this request carries (`RateLimit`).
    pub(crate) headers: RefCell<Vec<(&'static str, String)>>,
}

impl Caller<'_> {
    /// Unix seconds.
    pub(crate) fn now(&self) -> u64 {
        self.ctx.now()
    }

    /// The policy in force.
    pub(crate) fn policy(&self) -> &crate::policy::Policy {
        &self.snapshot.policy
    }

    /// Records a security warning against the client, off the response
    /// path (the shell answers at once). A warning that could not be
    /// delivered is logged by the shell and does not stop the request.
    pub(crate) async fn warn(&self, kind: WarningKind) -> Flow<()> {
        self.warn_about(kind, None).await
    }

    /// [`Self::warn`] about a forged or unknown token: the same token
    /// counts one warning, however many requests carry it (a page's
    /// parallel requests after a rotation must not ban its own user).
    pub(crate) async fn warn_token(&self, kind: WarningKind, token: &str) -> Flow<()> {
        self.warn_about(kind, Some(crate::tokens::token_digest(token)))
            .await
    }

    async fn warn_about(&self, kind: WarningKind, token: Option<String>) -> Flow<()> {
        let step = warning(&self.key, &self.ip_text, kind, &self.policy().bans, token);
        match self.io.perform(step).await {
            Input::Failed(Failure::StateUnavailable) => {
                Err(Reply::Refuse(refusal::state_unavailable()))
            }
            _ => Ok(()),
        }
    }

    /// Records a warning about a request upstream has already answered: a
    /// warning that cannot be recorded (even for an unreadable client
    /// record) is logged by the shell and the answer stands.
    pub(crate) async fn warn_answered(&self, kind: WarningKind) {
        let step = warning(&self.key, &self.ip_text, kind, &self.policy().bans, None);
        let _ = self.io.perform(step).await;
    }

    /// A refusal of `feature` under its `mode`: enforced, the answer (with
    /// its warning); in monitor mode the request goes on, and the audit log
    /// says what would have happened (`wouldRefuse`: the feature, the code
    /// and the status; once a minute per client, feature and code in this
    /// isolate), with no warning counted.
    pub(crate) async fn enforce(
        &self,
        mode: crate::policy::Mode,
        feature: &'static str,
        refusal: Refusal,
    ) -> Flow<()> {
        if mode == crate::policy::Mode::Enforce {
            return Err(self.refuse(refusal).await);
        }
        // Once a minute per client, feature and code: a monitored ban on a
        // botnet must not cost an audit write per request.
        let rule = refusal
            .fields
            .iter()
            .find(|(name, _)| *name == "rule")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let seen = format!("{}\0{feature}\0{}\0{rule}", self.key, refusal.code);
        if !self.snapshot.monitored.first(&seen, self.now(), 60) {
            return Ok(());
        }
        let detail = serde_json::json!({
            "feature": feature,
            "wouldRefuse": refusal.code,
            "status": refusal.status,
            "method": self.req.method(),
            // The path only: a query may carry a token.
            "path": self.req.path(),
            "answer": refusal.body(),
        });
        self.audit(AuditEntry::new(
            crate::objects::AuditKind::WouldRefuse,
            self.ip_text.clone(),
            detail,
        ))
        .await;
        Ok(())
    }

    /// The answer for `refusal`, after recording its warning, if it has one.
    pub(crate) async fn refuse(&self, refusal: Refusal) -> Reply {
        if let Some(kind) = refusal.warning
            && let Err(reply) = self.warn(kind).await
        {
            return reply;
        }
        Reply::Refuse(refusal)
    }

    /// The request's body, read once (a copy: the original still streams).
    pub(crate) async fn body(&self) -> Flow<Rc<[u8]>> {
        if let Some(body) = self.body.borrow().as_ref() {
            return Ok(body.clone());
        }
        let body: Rc<[u8]> = match self.io.perform(Step::ReadBody).await {
            Input::Body(body) => body.into(),
            other => return Err(failed(other)),
        };
        *self.body.borrow_mut() = Some(body.clone());
        Ok(body)
    }

    /// Reads the named fields of a form the edge must check, the way the
    /// origin will: a text value or `None` each; a refusal (with its
    /// warning) when the form cannot be read one way.
    pub(crate) async fn fields(&self, names: &[&str]) -> Flow<Vec<Option<String>>> {
        if let Err(refusal) = form_readable(self.req) {
            return Err(self.refuse(refusal).await);
        }
        let body = self.body().await?;
        match checked_fields(self.req, &body, names) {
            Ok(values) => Ok(values),
            Err(refusal) => Err(self.refuse(refusal).await),
        }
    }

    /// A form field that is not a security decision, read the way
    /// [`Caller::fields`] reads one; `None` when it does not read one way.
    pub(crate) async fn lenient_field(&self, name: &str) -> Option<String> {
        let body = self.body().await.ok()?;
        checked_fields(self.req, &body, &[name])
            .ok()?
            .pop()
            .flatten()
    }

    /// Asks the account's `AccountGuard`.
    pub(crate) async fn account(&self, login: &str, op: AccountOp) -> Flow<LockAnswer> {
        let call = Call::Account {
            key: crate::lockout::account_key(login),
            call: AccountCall {
                op,
                name: login.to_owned(),
                policy: self.policy().login.clone(),
            },
        };
        match self.io.perform(Step::Ask(call)).await {
            Input::Answer(Answer::Account(answer)) => Ok(answer),
            other => Err(failed(other)),
        }
    }

    /// Asks the user's `UserState`.
    pub(crate) async fn user(&self, user: &str, op: UserOp) -> Flow<UserAnswer> {
        let call = Call::User {
            user: user.to_owned(),
            op,
        };
        match self.io.perform(Step::Ask(call)).await {
            Input::Answer(Answer::User(answer)) => Ok(answer),
            other => Err(failed(other)),
        }
    }

    /// Asks `Control`.
    pub(crate) async fn control(&self, op: ControlOp) -> Flow<ControlAnswer> {
        match self.io.perform(Step::Ask(Call::Control(op))).await {
            Input::Answer(Answer::Control(answer)) => Ok(answer),
            other => Err(failed(other)),
        }
    }

    /// Adds an entry to the audit log through its `AuditLog` shard (never
    /// Control on the request path); a failure is logged by the shell only.
    pub(crate) async fn audit(&self, entry: AuditEntry) {
        let _ = self.audit_item(entry, None).await;
    }

    /// Adds an entry, and the lockout it records, to the audit log.
    pub(crate) async fn audit_item(
        &self,
        entry: AuditEntry,
        lock: Option<crate::objects::LockStart>,
    ) -> Input {
        // Each item of the request its own id (Control keeps an id once).
        let n = self.audits.get();
        self.audits.set(n.wrapping_add(1));
        let label = [b"audit".as_slice(), &n.to_le_bytes()].concat();
        let id = crate::objects::audit_id(&self.ctx.derive(&label));
        let item = crate::objects::AuditItem {
            id: id.clone(),
            at: self.now(),
            entry,
            lock,
        };
        let call = Call::Audit {
            shard: crate::objects::audit_shard(&id),
            op: crate::objects::AuditOp::Append { items: vec![item] },
        };
        self.io.perform(Step::Ask(call)).await
    }

    /// Stores a ban in its `BanLog` shard (which audits it).
    pub(crate) async fn publish_ban(&self, ban: crate::bans::BanEntry) -> Flow<()> {
        let Some(shard) = crate::objects::ban_shard(&ban.target) else {
            return Ok(());
        };
        let op = crate::objects::BanLogOp::Publish {
            ban,
            policy: Box::new(self.policy().bans.clone()),
            audit: true,
        };
        match self.io.perform(Step::Ask(Call::BanLog { shard, op })).await {
            Input::Answer(Answer::BanLog(_)) => Ok(()),
            other => Err(failed(other)),
        }
    }

    /// The forward with the identity signed for the origin (when an
    /// `ORIGIN_SECRET` is set): over the request and the identity headers
    /// the edge sets. Whether the answer may be cached does not change.
    fn signed(&self, mut forward: Forward) -> Forward {
        let secrets = &self.snapshot.secrets;
        let Some(secret) = secrets.origin.as_deref() else {
            return forward;
        };
        let header = |name: &str| {
            forward
                .to_origin
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, v)| v.as_str())
        };
        let signed = crate::identity::Signed {
            t: self.now(),
            method: self.req.method(),
            host: &secrets.origin_host,
            path_and_query: self.req.path_and_query(),
            user: header("Portcullis-User"),
            roles: header("Portcullis-Roles"),
            session: header("Portcullis-Session"),
        };
        let value = crate::identity::identity_signature(secret.as_bytes(), &signed);
        forward
            .to_origin
            .push((crate::identity::SIGNATURE_HEADER, value));
        forward
    }

    /// Sends the request to the origin.
    pub(crate) async fn forward(&self, forward: Forward) -> Flow<Upstream> {
        let forward = self.signed(forward);
        match self.io.perform(Step::Forward(forward)).await {
            Input::Upstream(upstream) => Ok(upstream),
            other => Err(failed(other)),
        }
    }

    /// Sends a checked route's request to the origin: when it does not
    /// answer, 503 `origin_unavailable` (nothing was counted).
    pub(crate) async fn forward_checked(&self, forward: Forward) -> Flow<Upstream> {
        let forward = self.signed(forward);
        match self.io.perform(Step::Forward(forward)).await {
            Input::Upstream(upstream) => Ok(upstream),
            Input::Failed(Failure::OriginUnreachable | Failure::OriginNotConfigured) => {
                Err(Reply::Refuse(refusal::origin_failed(false)))
            }
            other => Err(failed(other)),
        }
    }

    /// The fingerprint of `password` for `user` under the history pepper.
    pub(crate) fn fingerprint(&self, user: &str, password: &str) -> HistoryFingerprint {
        crate::lifecycle::password_fingerprint(
            self.snapshot.secrets.pepper.as_bytes(),
            user,
            password,
        )
    }
}

/// A refusal as an early answer, for `?`.
pub(crate) fn refused<T>(refusal: Refusal) -> Flow<T> {
    Err(Reply::Refuse(refusal))
}
