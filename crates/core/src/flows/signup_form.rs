//! The signup form: a blocked email domain, a password that fails the
//! policy or was found in data breaches is refused (422) before the origin
//! sees the form (the password rules only say so in monitor mode).

use super::breach_check;
use super::caller::{Caller, Flow, refused};
use crate::password::PasswordChecker;
use crate::refusal;
use crate::signup::email_domain_blocked;
use crate::verdict::Subject;

/// Passes, or answers with the refusal.
pub(crate) async fn check(c: &Caller<'_>) -> Flow<()> {
    let policy = c.policy();
    let fields = &policy.routes.fields;
    let names = [
        fields.email.as_str(),
        fields.password.as_str(),
        fields.username.as_str(),
    ];
    let values = c.fields(&names).await?;
    let text = |i: usize| values.get(i).cloned().flatten().unwrap_or_default();
    // The display name only feeds a strength rule: read when it reads one
    // way (a form's `name[first]` or `Name` field refuses nothing).
    let name = c.lenient_field("name").await.unwrap_or_default();
    let email = text(0);
    if email_domain_blocked(&policy.signup, &email) {
        return refused(refusal::email_domain_blocked());
    }
    let subject = Subject {
        username: text(2),
        email,
        name,
        is_admin: false,
    };
    let password = text(1);
    let verdict = PasswordChecker::new(policy.passwords.clone()).check(
        &password,
        &subject,
        c.req.locale().catalog(),
    );
    if !verdict.ok {
        let mode = policy.passwords.mode;
        c.enforce(mode, "passwords", refusal::password_rejected(&verdict))
            .await?;
    }
    breach_check::check(c, &password).await
}
