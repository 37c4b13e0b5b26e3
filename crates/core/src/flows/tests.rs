//! The flows driven natively: the order of their steps, their refusals,
//! and properties over any answers the shell could give.

use std::rc::Rc;

use proptest::prelude::*;

use super::{Answer, Call, Failure, Finish, Input, Machine, Reply, Step, Upstream};
use crate::bans::{BanEntry, WarningKind};
use crate::context::Context;
use crate::lockout::Gate;
use crate::objects::{
    AccountOp, AuditAnswer, AuditKind, AuditOp, ControlAnswer, GuardAnswer, GuardOp, LockAnswer,
    UserAnswer, UserOp,
};
use crate::policy::{ManualBanScope, Policy};
use crate::request::{FACT_HEADERS, RequestFacts};
use crate::session::{Revocations, new_session};
use crate::snapshot::{Secrets, Snapshot};
use crate::tokens::dangerous::sign_jwt;
use crate::tokens::{Claims, verify_hs256, xsrf_token};

const NOW_MS: u64 = 1_800_000_000_000;
const JWT: &str = "flow-test-jwt-secret-0123456789abcdef";
const XSRF: &str = "flow-test-xsrf-salt-0123456789abcdefg";
const PEPPER: &str = "flow-test-pepper-0123456789abcdefghij";
const APP_KEY: &str = "flow-test-application-key-0123456789";

fn secrets() -> Secrets {
    Secrets {
        jwt: JWT.into(),
        jwt_previous: None,
        xsrf: XSRF.into(),
        captcha: None,
        pepper: PEPPER.into(),
        application_key: Some(crate::admin::application_key_digest(PEPPER, APP_KEY)),
        origin: None,
        origin_host: String::new(),
    }
}

fn snapshot(policy: Policy) -> Rc<Snapshot> {
    let mut s = Snapshot::new(policy, Vec::new(), secrets(), Revocations::default());
    s.loaded_at_ms = NOW_MS;
    Rc::new(s)
}

fn session_cookie(user: &str) -> (String, String) {
    let policy = Policy::default();
    let claims = new_session(user, "sid-1", vec![], &policy.sessions, NOW_MS / 1000);
    let token = sign_jwt(JWT.as_bytes(), &claims);
    let xsrf = xsrf_token(XSRF.as_bytes(), "sid-1");
    (format!("__Host-portcullis-session={token}"), xsrf)
}

/// A signed-in urlencoded POST to `path` from 203.0.113.7 with the
/// session `cookie` and its `xsrf` token.
fn signed_post(path: &str, cookie: &str, xsrf: &str) -> RequestFacts {
    facts(
        "POST",
        path,
        &[
            ip("203.0.113.7"),
            ("Cookie", cookie),
            ("X-XSRF-Token", xsrf),
            FORM,
            LENGTH,
        ],
        true,
    )
}

/// A request's facts: `headers` by name.
fn facts(method: &str, path: &str, headers: &[(&str, &str)], has_body: bool) -> RequestFacts {
    let mut values: [Option<String>; 11] = Default::default();
    for (name, value) in headers {
        let i = FACT_HEADERS
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .expect("a header core reads");
        values[i] = Some((*value).to_owned());
    }
    RequestFacts {
        method: method.into(),
        url: format!("https://edge.example{path}"),
        headers: values,
        has_body,
    }
}

fn ip(value: &str) -> (&'static str, &str) {
    ("CF-Connecting-IP", value)
}

/// Drives a machine with `answer` until it responds; the steps it took.
fn drive(facts: RequestFacts, mut answer: impl FnMut(&Step) -> Input) -> (Vec<Step>, Reply) {
    let mut machine = Machine::request(facts, Context::new(NOW_MS, [7; 32]));
    let mut steps = Vec::new();
    let mut input = Input::Start;
    for _ in 0..64 {
        let step = machine.resume(input);
        if let Step::Respond(reply) = step {
            return (steps, reply);
        }
        // Every request settles its client's pending warnings first.
        input = match &step {
            Step::Settle(_) => Input::Done,
            step => answer(step),
        };
        steps.push(step);
    }
    panic!("no answer after 64 steps: {steps:?}");
}

fn kind(step: &Step) -> &'static str {
    match step {
        Step::Snapshot => "snapshot",
        Step::FreshSnapshot => "fresh-snapshot",
        Step::BotScore => "bot-score",
        Step::Headers => "headers",
        Step::ReadBody => "read-body",
        Step::StripMultipart => "strip-multipart",
        Step::Ask(Call::Account { call, .. }) => match call.op {
            AccountOp::Peek => "account:peek",
            AccountOp::Begin => "account:begin",
            AccountOp::Failure => "account:failure",
            AccountOp::Success => "account:success",
            AccountOp::Release => "account:release",
            AccountOp::Unlock | AccountOp::Clear => "account:admin",
        },
        Step::Ask(Call::User { .. }) => "user",
        Step::Ask(Call::Guard { .. }) => "guard",
        Step::Ask(Call::Control(_)) => "control",
        Step::Ask(Call::BanLog { .. }) => "bans",
        Step::Ask(Call::Audit { .. }) => "audit",
        Step::Ask(Call::Rate { .. }) => "rate",
        Step::Warn(_) => "warn",
        Step::Settle(_) => "settle",
        Step::Metrics => "metrics",
        Step::Asset(_) => "asset",
        Step::VerifyCaptcha(_) => "captcha",
        Step::BreachRange { .. } => "breach-range",
        Step::Invalidate => "invalidate",
        Step::Admin(_) => "admin",
        Step::Forward(_) => "forward",
        Step::Respond(_) => "respond",
    }
}

fn kinds(steps: &[Step]) -> Vec<&'static str> {
    steps.iter().map(kind).collect()
}

fn open_lock() -> Input {
    Input::Answer(Answer::Account(LockAnswer {
        gate: Gate::Open,
        attempts_left: None,
        failures: 0,
        locks_on_failure: None,
    }))
}

fn upstream(status: u16, headers: Vec<Option<String>>) -> Input {
    Input::Upstream(Upstream {
        status,
        headers,
        received_ms: NOW_MS,
    })
}

fn code(reply: &Reply) -> &'static str {
    match reply {
        Reply::Refuse(r) => r.code,
        Reply::Redirect { .. } => "redirect",
        Reply::Json { .. } => "json",
        Reply::Upstream(_) => "upstream",
    }
}

fn login_form() -> Vec<u8> {
    b"username=alice&password=orbit-Vivid-lantern-52".to_vec()
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const LENGTH: (&str, &str) = ("Content-Length", "40");

#[test]
fn the_hot_path_is_one_forward_with_the_caller_named() {
    let (cookie, _) = session_cookie("u-alice");
    let facts = facts(
        "GET",
        "/app/hello",
        &[ip("203.0.113.7"), ("Cookie", &cookie)],
        false,
    );
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::Forward(_) => upstream(200, vec![]),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(kinds(&steps), ["snapshot", "settle", "forward"]);
    assert_eq!(steps[1], Step::Settle(Some("203.0.113.7".into())));
    let Step::Forward(forward) = &steps[2] else {
        unreachable!()
    };
    assert_eq!(
        forward.to_origin[0],
        ("Portcullis-User", "u-alice".to_owned())
    );
    assert!(
        forward.finish.is_some(),
        "the hot path secures the answer in the same call"
    );
    assert_eq!(code(&reply), "upstream");
}

#[test]
fn no_client_address_is_refused_before_anything_is_loaded() {
    let (steps, reply) = drive(facts("GET", "/", &[], false), |_| {
        panic!("no step expected")
    });
    assert!(steps.is_empty());
    assert_eq!(code(&reply), "no_client_address");
}

#[test]
fn a_login_checks_the_lockout_then_the_origin_then_settles() {
    let facts = facts("POST", "/login", &[ip("203.0.113.7"), FORM, LENGTH], true);
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(login_form()),
        Step::Ask(Call::Account { .. }) => open_lock(),
        Step::Forward(_) => upstream(303, vec![Some("u-alice".into()), None, None]),
        Step::Ask(Call::User { .. }) => Input::Answer(Answer::User(UserAnswer::LoggedIn {
            change: None,
            expires_at: None,
            probation: false,
            created: None,
            replies: 0,
        })),
        other => panic!("unexpected {other:?}"),
    });
    // The default policy tracks users (inactive accounts, a tightened policy).
    assert_eq!(
        kinds(&steps),
        [
            "snapshot",
            "settle",
            "read-body",
            "account:begin",
            "forward",
            "account:success",
            "user"
        ]
    );
    let Reply::Upstream(finish) = &reply else {
        panic!("{reply:?}")
    };
    assert_eq!(finish.cookies.len(), 2, "the session and its XSRF token");
}

#[test]
fn a_locked_account_never_reaches_the_origin() {
    let facts = facts("POST", "/login", &[ip("203.0.113.7"), FORM, LENGTH], true);
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(login_form()),
        Step::Ask(Call::Account { .. }) => Input::Answer(Answer::Account(LockAnswer {
            gate: Gate::Locked { retry_after: 60 },
            attempts_left: None,
            failures: 0,
            locks_on_failure: None,
        })),
        Step::Warn(_) => Input::Answer(Answer::Guard(GuardAnswer::Done)),
        other => panic!("unexpected {other:?}"),
    });
    // Still a failed login for the address (spraying locked accounts bans).
    assert_eq!(
        kinds(&steps),
        ["snapshot", "settle", "read-body", "account:begin", "warn"]
    );
    let Reply::Refuse(refusal) = &reply else {
        panic!("{reply:?}")
    };
    assert_eq!((refusal.status, refusal.code), (423, "account_locked"));
    assert!(refusal.headers.contains(&("Retry-After", "60".to_owned())));
}

/// The account's answer to a login's Begin: open, and what a failure of
/// the attempt leads to.
fn begun(attempts_left: Option<u32>, locks_on_failure: Option<Gate>) -> Input {
    Input::Answer(Answer::Account(LockAnswer {
        gate: Gate::Open,
        attempts_left,
        failures: 0,
        locks_on_failure,
    }))
}

#[test]
fn a_failed_login_warns_counts_and_reports_attempts_left() {
    let facts = facts("POST", "/login", &[ip("203.0.113.7"), FORM, LENGTH], true);
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(login_form()),
        Step::Ask(Call::Account { call, .. }) if call.op == AccountOp::Begin => {
            begun(Some(3), None)
        }
        Step::Warn(_) => Input::Answer(Answer::Guard(GuardAnswer::Done)),
        Step::Forward(_) => upstream(401, vec![None, None, None]),
        other => panic!("unexpected {other:?}"),
    });
    // The failure was counted when the attempt began: nothing more is asked.
    assert_eq!(
        kinds(&steps),
        [
            "snapshot",
            "settle",
            "read-body",
            "account:begin",
            "forward",
            "warn"
        ]
    );
    let Step::Warn(Call::Guard {
        op: GuardOp::Warn { kind, .. },
        ..
    }) = &steps[5]
    else {
        panic!()
    };
    assert_eq!(*kind, WarningKind::FailedLogin);
    let Reply::Upstream(finish) = reply else {
        panic!()
    };
    assert_eq!(
        finish.headers,
        vec![("Portcullis-Attempts-Left", "3".to_owned())]
    );
}

/// A failed login whose Begin said it would lock the account, with the
/// object's answer to the failure: its steps and reply.
fn failing_at_the_limit(settled: Gate) -> (Vec<Step>, Reply) {
    let facts = facts("POST", "/login", &[ip("203.0.113.7"), FORM, LENGTH], true);
    drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(login_form()),
        Step::Ask(Call::Account { call, .. }) if call.op == AccountOp::Begin => {
            begun(Some(0), Some(Gate::Locked { retry_after: 900 }))
        }
        Step::Ask(Call::Account { call, .. }) if call.op == AccountOp::Failure => {
            Input::Answer(Answer::Account(LockAnswer {
                gate: settled,
                attempts_left: Some(1),
                failures: 0,
                locks_on_failure: None,
            }))
        }
        Step::Ask(Call::Audit { .. }) => {
            Input::Answer(Answer::Audit(AuditAnswer::Done { pending: 0 }))
        }
        Step::Warn(_) => Input::Answer(Answer::Guard(GuardAnswer::Done)),
        Step::Forward(_) => upstream(401, vec![None, None, None]),
        other => panic!("unexpected {other:?}"),
    })
}

/// Whether `steps` list a lockout for the admin.
fn lists_a_lock(steps: &[Step]) -> bool {
    steps.iter().any(|step| match step {
        Step::Ask(Call::Audit {
            op: AuditOp::Append { items },
            ..
        }) => items.iter().any(|item| {
            item.entry.kind == AuditKind::AccountLocked
                && item.lock.as_ref().is_some_and(|l| l.until.is_some())
        }),
        _ => false,
    })
}

#[test]
fn the_failure_that_reaches_the_limit_asks_its_object_and_locks() {
    let (steps, reply) = failing_at_the_limit(Gate::Locked { retry_after: 899 });
    assert!(kinds(&steps).ends_with(&["forward", "warn", "account:failure", "audit"]));
    assert!(
        lists_a_lock(&steps),
        "the lock is listed for the admin: {steps:?}"
    );
    let Reply::Refuse(refusal) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!((refusal.status, refusal.code), (423, "account_locked"));
    assert!(refusal.headers.contains(&("Retry-After", "899".to_owned())));
}

#[test]
fn a_lock_the_object_does_not_hold_is_not_announced() {
    // A parallel success or origin error took the count below the limit.
    let (steps, reply) = failing_at_the_limit(Gate::Open);
    assert!(!lists_a_lock(&steps), "{steps:?}");
    let Reply::Upstream(finish) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(
        finish.headers,
        vec![("Portcullis-Attempts-Left", "1".to_owned())]
    );
}

#[test]
fn an_unsafe_request_without_the_xsrf_token_is_refused_and_warned() {
    let (cookie, _) = session_cookie("u-alice");
    let facts = facts(
        "POST",
        "/app/notes",
        &[ip("203.0.113.7"), ("Cookie", &cookie), FORM, LENGTH],
        true,
    );
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(b"note=hello".to_vec()),
        Step::Warn(_) => Input::Answer(Answer::Guard(GuardAnswer::Done)),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(kinds(&steps), ["snapshot", "settle", "read-body", "warn"]);
    assert_eq!(code(&reply), "xsrf_failed");
}

#[test]
fn the_xsrf_token_in_the_header_lets_the_session_through() {
    let (cookie, xsrf) = session_cookie("u-alice");
    let facts = facts(
        "POST",
        "/app/notes",
        &[
            ip("203.0.113.7"),
            ("Cookie", &cookie),
            ("X-XSRF-Token", &xsrf),
        ],
        true,
    );
    let (steps, _) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::Forward(_) => upstream(200, vec![]),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(kinds(&steps), ["snapshot", "settle", "forward"]);
}

#[test]
fn an_unreadable_record_fails_closed() {
    let facts = facts("POST", "/login", &[ip("203.0.113.7"), FORM, LENGTH], true);
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(login_form()),
        Step::Ask(Call::Account { .. }) => Input::Failed(Failure::StateUnavailable),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(
        kinds(&steps),
        ["snapshot", "settle", "read-body", "account:begin"]
    );
    let Reply::Refuse(refusal) = reply else {
        panic!()
    };
    assert_eq!((refusal.status, refusal.code), (503, "state_unavailable"));
}

#[test]
fn a_banned_client_is_refused_before_its_routes() {
    let mut s = Snapshot::new(
        Policy::default(),
        vec![BanEntry {
            target: "203.0.113.7".into(),
            until: NOW_MS / 1000 + 60,
            scope: ManualBanScope::All,
            reason: "manual".into(),
        }],
        secrets(),
        Revocations::default(),
    );
    s.loaded_at_ms = NOW_MS;
    let s = Rc::new(s);
    let facts = facts("GET", "/__portcullis/policy", &[ip("203.0.113.7")], false);
    let (steps, reply) = drive(facts, |_| Input::Snapshot(s.clone()));
    assert_eq!(kinds(&steps), ["snapshot", "settle"]);
    assert_eq!(code(&reply), "banned");
}

fn answered(user: UserAnswer) -> Input {
    Input::Answer(Answer::User(user))
}

#[test]
fn a_signup_with_a_weak_password_never_reaches_the_origin() {
    let facts = facts("POST", "/signup", &[ip("203.0.113.7"), FORM, LENGTH], true);
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(b"email=a%40example.com&password=short&username=al".to_vec()),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(kinds(&steps), ["snapshot", "settle", "read-body"]);
    let Reply::Refuse(refusal) = reply else {
        panic!()
    };
    assert_eq!((refusal.status, refusal.code), (422, "password_rejected"));
    assert!(
        refusal.warning.is_none(),
        "a weak password is not a warning"
    );
}

/// A signup with a strong password under a policy with the breach check
/// on: the range URL asked for and the reply, `range` answering it.
#[cfg(feature = "estimator")]
fn breached_signup(
    breached: crate::policy::BreachedPolicy,
    range: impl Fn() -> Option<&'static str>,
) -> (Vec<String>, Reply) {
    let mut policy = Policy::default();
    policy.passwords.breached = breached;
    let facts = facts("POST", "/signup", &[ip("203.0.113.7"), FORM, LENGTH], true);
    let mut asked = Vec::new();
    let (_, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(policy.clone())),
        Step::ReadBody => Input::Body(
            b"email=a%40example.com&password=Quiet-harbor-lantern-81&username=al".to_vec(),
        ),
        Step::BreachRange { url, timeout_ms } => {
            assert_eq!(*timeout_ms, 2000);
            asked.push(url.clone());
            Input::Range(range().and_then(crate::breach::Range::parse).map(Rc::new))
        }
        Step::Forward(_) => upstream(201, vec![]),
        other => panic!("unexpected {other:?}"),
    });
    (asked, reply)
}

#[test]
#[cfg(feature = "estimator")]
fn a_signup_with_a_breached_password_is_refused_with_its_count() {
    let on = crate::policy::BreachedPolicy {
        enabled: true,
        range_url: "http://127.0.0.1:9/range/".into(),
        ..Default::default()
    };
    let (prefix, suffix) = crate::breach::split_hash("Quiet-harbor-lantern-81");
    let line: &'static str = Box::leak(format!("{suffix}:42\r\n").into_boxed_str());
    let (asked, reply) = breached_signup(on.clone(), || Some(line));
    assert_eq!(asked, [format!("http://127.0.0.1:9/range/{prefix}")]);
    let Reply::Refuse(refusal) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!((refusal.status, refusal.code), (422, "password_rejected"));
    let body = refusal.body();
    assert_eq!(body["rules"], serde_json::json!(["breached"]));
    assert_eq!(body["count"], 42);
    assert!(refusal.message.contains("42 times"), "{}", refusal.message);
    // Seen fewer times than minCount, or not at all: the origin gets it.
    let strict = crate::policy::BreachedPolicy {
        min_count: 43,
        ..on.clone()
    };
    let (_, reply) = breached_signup(strict, || Some(line));
    assert_eq!(reply, Reply::Upstream(Finish::default()));
    let (_, reply) = breached_signup(on.clone(), || Some(""));
    assert_eq!(reply, Reply::Upstream(Finish::default()));
    // The range API down, slow or answering junk: 503 unless failOpen.
    let (_, reply) = breached_signup(on.clone(), || None);
    let Reply::Refuse(refusal) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(
        (refusal.status, refusal.code),
        (503, "breach_check_unavailable")
    );
    let (_, reply) = breached_signup(on.clone(), || Some("<html>down</html>"));
    assert!(
        matches!(reply, Reply::Refuse(ref r) if r.status == 503),
        "{reply:?}"
    );
    let open = crate::policy::BreachedPolicy {
        fail_open: true,
        ..on
    };
    let (_, reply) = breached_signup(open, || None);
    assert_eq!(reply, Reply::Upstream(Finish::default()));
    // Off (every preset): never asked.
    let (asked, _) = breached_signup(Default::default(), || panic!("asked"));
    assert!(asked.is_empty());
}

// A password passes only with the estimator (the edge always has it).
#[test]
#[cfg(feature = "estimator")]
fn a_change_to_a_recent_password_is_refused_before_the_origin() {
    let (cookie, xsrf) = session_cookie("u-alice");
    let mut policy = Policy::default();
    policy.passwords.history_count = 3;
    let facts = facts(
        "POST",
        "/account/password",
        &[
            ip("203.0.113.7"),
            ("Cookie", &cookie),
            ("X-XSRF-Token", &xsrf),
            FORM,
            LENGTH,
        ],
        true,
    );
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(policy.clone())),
        Step::ReadBody => Input::Body(b"new_password=Quiet-harbor-lantern-81".to_vec()),
        Step::Ask(Call::User { .. }) => answered(UserAnswer::Vetted {
            reused: true,
            username: None,
            email: None,
        }),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(kinds(&steps), ["snapshot", "settle", "read-body", "user"]);
    let Reply::Refuse(refusal) = reply else {
        panic!()
    };
    assert_eq!(refusal.code, "password_rejected");
    assert_eq!(
        refusal.fields,
        vec![("rules", serde_json::json!(["history"]))]
    );
}

// A password passes only with the estimator (the edge always has it).
#[test]
#[cfg(feature = "estimator")]
fn a_reset_link_is_checked_then_used_once_the_password_passes() {
    let mut holder = None;
    let facts = facts("POST", "/reset", &[ip("203.0.113.7"), FORM, LENGTH], true);
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(b"token=tok&new_password=Quiet-harbor-lantern-81".to_vec()),
        Step::Ask(Call::Control(crate::objects::ControlOp::ResetToken { step, .. })) => {
            holder.get_or_insert(*step);
            Input::Answer(Answer::Control(ControlAnswer::Reset {
                holder: crate::objects::ResetHolder {
                    user: "u-alice".into(),
                    purpose: crate::tokens::ResetPurpose::SelfService,
                },
            }))
        }
        Step::Ask(Call::User {
            op: crate::objects::UserOp::Vet { .. },
            ..
        }) => answered(UserAnswer::Vetted {
            reused: false,
            username: Some("alice".into()),
            email: None,
        }),
        Step::Ask(Call::User { .. }) => answered(UserAnswer::Changed { expires_at: None }),
        Step::Ask(Call::Control(_)) => {
            Input::Answer(Answer::Control(ControlAnswer::Revoked { before: NOW_MS }))
        }
        Step::Forward(forward) => {
            assert_eq!(
                forward.to_origin[0],
                ("Portcullis-Reset-User", "u-alice".to_owned())
            );
            upstream(303, vec![None])
        }
        Step::Invalidate => Input::Done,
        other => panic!("unexpected {other:?}"),
    });
    // Check, the user's record (history and names), redeem, origin, then
    // the record with the revocation (the user's object has Control end
    // the older sessions), and the user's other links.
    assert_eq!(
        kinds(&steps),
        [
            "snapshot",
            "settle",
            "read-body",
            "control",
            "user",
            "control",
            "forward",
            "user",
            "invalidate",
            "control"
        ]
    );
    assert_eq!(holder, Some(crate::objects::ResetStep::Check));
    assert_eq!(code(&reply), "upstream");
}

#[test]
fn a_probation_use_over_the_limit_is_refused_with_retry_after() {
    let (cookie, xsrf) = session_cookie("u-new");
    let mut policy = Policy::default();
    policy.probation.enabled = true;
    let facts = facts(
        "POST",
        "/community/threads",
        &[
            ip("203.0.113.7"),
            ("Cookie", &cookie),
            ("X-XSRF-Token", &xsrf),
            FORM,
            LENGTH,
        ],
        true,
    );
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(policy.clone())),
        Step::Ask(Call::User { .. }) => answered(UserAnswer::ActionLimited { retry_after: 90 }),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(kinds(&steps), ["snapshot", "settle", "user"]);
    let Reply::Refuse(refusal) = reply else {
        panic!()
    };
    assert_eq!((refusal.status, refusal.code), (429, "probation_limit"));
    assert!(refusal.headers.contains(&("Retry-After", "90".to_owned())));
}

#[test]
fn a_wrong_application_key_is_refused_in_the_isolate_and_a_good_write_is_seen_at_once() {
    let good = format!("Bearer {APP_KEY}");
    // (key presented, Control's status, steps, answer)
    let cases = [
        (
            Some("Bearer wrong"),
            0,
            vec!["snapshot", "settle", "warn"],
            "unauthorized",
        ),
        (
            Some("Basic d3Jvbmc="),
            0,
            vec!["snapshot", "settle", "warn"],
            "unauthorized",
        ),
        (None, 0, vec!["snapshot", "settle"], "unauthorized"),
        // Control knows of a rotation this snapshot missed.
        (
            Some(good.as_str()),
            401,
            vec!["snapshot", "settle", "admin", "warn"],
            "upstream",
        ),
        (
            Some(good.as_str()),
            200,
            vec!["snapshot", "settle", "admin", "invalidate"],
            "upstream",
        ),
    ];
    for (key, status, expected, answer) in cases {
        let mut headers = vec![ip("203.0.113.7"), ("Content-Length", "10")];
        if let Some(key) = key {
            headers.push(("Authorization", key));
        }
        let facts = facts("POST", "/__portcullis/admin/bans", &headers, true);
        let (steps, reply) = drive(facts, |step| match step {
            Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
            Step::Admin(call) => {
                assert_eq!(call.rest, "/bans");
                upstream(status, vec![])
            }
            Step::Warn(_) => Input::Done,
            Step::Invalidate => Input::Done,
            other => panic!("unexpected {other:?}"),
        });
        assert_eq!(kinds(&steps), expected, "key {key:?}, status {status}");
        assert_eq!(
            steps[1],
            Step::Settle(Some("203.0.113.7".into())),
            "only its own warnings before the key (a POST settles no more)"
        );
        assert_eq!(code(&reply), answer);
    }
}

#[test]
fn an_admin_body_without_a_length_is_refused_before_control() {
    let key = format!("Bearer {APP_KEY}");
    let facts = facts(
        "POST",
        "/__portcullis/admin/bans",
        &[ip("203.0.113.7"), ("Authorization", &key)],
        true,
    );
    let (steps, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(kinds(&steps), ["snapshot", "settle"]);
    assert_eq!(code(&reply), "body_too_large");
}

#[test]
fn the_origins_403_to_a_limited_action_on_a_protected_path_is_a_warning() {
    let (cookie, xsrf) = session_cookie("u-new");
    let mut policy = Policy::default();
    policy.probation.enabled = true;
    policy.probation.strip_links = false;
    policy.probation.actions[0].path = "/app/threads".into();
    let facts = signed_post("/app/threads", &cookie, &xsrf);
    let mut warned = Vec::new();
    let (steps, _) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(policy.clone())),
        Step::Ask(Call::User { .. }) => answered(UserAnswer::ActionCounted { probation: true }),
        Step::Forward(_) => upstream(403, vec![]),
        Step::Warn(Call::Guard {
            op: GuardOp::Warn { kind, .. },
            ..
        }) => {
            warned.push(*kind);
            Input::Answer(Answer::Guard(GuardAnswer::Done))
        }
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(
        kinds(&steps),
        ["snapshot", "settle", "user", "forward", "user", "warn"]
    );
    assert_eq!(warned, [WarningKind::OriginForbidden]);
}

/// A signed-in request to `path` with a session of these claims (mapped
/// from a new one), and the steps' answers for a reply use: the headers
/// the origin saw and the reply.
fn on_probation_request(
    policy: &Policy,
    path: &str,
    claims: impl Fn(Claims) -> Claims,
    replies_after: u32,
) -> (Vec<(&'static str, String)>, Reply) {
    let now = NOW_MS / 1000;
    let claims = claims(new_session("u-new", "sid-1", vec![], &policy.sessions, now));
    let cookie = format!(
        "__Host-portcullis-session={}",
        sign_jwt(JWT.as_bytes(), &claims)
    );
    let facts = signed_post(path, &cookie, &xsrf_token(XSRF.as_bytes(), "sid-1"));
    let mut seen = Vec::new();
    let (_, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(policy.clone())),
        Step::Ask(Call::User {
            op: UserOp::SettleAction { .. },
            ..
        }) => answered(UserAnswer::Settled {
            replies: replies_after,
        }),
        Step::Ask(Call::User { .. }) => answered(UserAnswer::ActionCounted { probation: true }),
        Step::Forward(forward) => {
            seen = forward.to_origin.clone();
            upstream(201, vec![])
        }
        other => panic!("unexpected {other:?}"),
    });
    (seen, reply)
}

fn probation_header<'a>(headers: &'a [(&'static str, String)]) -> Option<&'a str> {
    headers
        .iter()
        .find(|(name, _)| *name == "Portcullis-Probation")
        .map(|(_, value)| value.as_str())
}

/// Probation with 3 replies needed, no CAPTCHA and links left alone.
fn probation_policy() -> Policy {
    let mut policy = Policy::default();
    policy.probation.enabled = true;
    policy.probation.strip_links = false;
    policy.probation.captcha = false;
    policy.probation.min_replies = 3;
    policy
}

#[test]
fn the_origin_is_told_which_rule_holds_an_account_on_probation() {
    let mut policy = probation_policy();
    let now = NOW_MS / 1000;
    let young = |c: Claims| Claims {
        prb: true,
        crt: Some(now - 60),
        rpl: 3,
        ..c
    };
    let quiet = |c: Claims| Claims {
        prb: true,
        crt: Some(now - 30 * 86_400),
        rpl: 1,
        ..c
    };
    let both = |c: Claims| Claims {
        prb: true,
        crt: None,
        rpl: 0,
        ..c
    };
    // A session from before the header (no creation time, no replies):
    // every rule the policy has.
    let older = |c: Claims| Claims { prb: true, ..c };
    let off = |c: Claims| Claims { prb: false, ..c };
    type Case<'a> = (&'a dyn Fn(Claims) -> Claims, Option<&'a str>);
    let cases: [Case; 5] = [
        (&young, Some("account-age")),
        (&quiet, Some("reply-count")),
        (&both, Some("account-age,reply-count")),
        (&older, Some("account-age,reply-count")),
        (&off, None),
    ];
    for (claims, expected) in cases {
        let (seen, _) = on_probation_request(&policy, "/app/other", claims, 0);
        assert_eq!(probation_header(&seen), expected);
    }
    // Aged out with the session still open: the header goes with it.
    let aged = |c: Claims| Claims {
        prb: true,
        crt: Some(now - 8 * 86_400),
        rpl: 5,
        ..c
    };
    let (seen, _) = on_probation_request(&policy, "/app/other", aged, 0);
    assert_eq!(probation_header(&seen), None);
    // The setting off, or probation off: no header.
    policy.probation.moderate_posts = false;
    let (seen, _) = on_probation_request(&policy, "/app/other", both, 0);
    assert_eq!(probation_header(&seen), None);
    policy.probation.moderate_posts = true;
    policy.probation.enabled = false;
    let (seen, _) = on_probation_request(&policy, "/app/other", both, 0);
    assert_eq!(probation_header(&seen), None);
}

#[test]
fn an_accepted_reply_renews_the_session_with_the_replies_counted() {
    let policy = probation_policy();
    let now = NOW_MS / 1000;
    let quiet = |c: Claims| Claims {
        prb: true,
        crt: Some(now - 30 * 86_400),
        rpl: 2,
        ..c
    };
    let (seen, reply) = on_probation_request(&policy, "/community/replies", quiet, 3);
    assert_eq!(probation_header(&seen), Some("reply-count"));
    let Reply::Upstream(finish) = reply else {
        panic!("{reply:?}")
    };
    let session = finish
        .cookies
        .iter()
        .find_map(|c| c.strip_prefix("__Host-portcullis-session="))
        .and_then(|c| c.split(';').next())
        .expect("the session renewed");
    let claims: Claims =
        serde_json::from_slice(&verify_hs256(JWT.as_bytes(), session).expect("signed"))
            .expect("claims");
    assert_eq!(claims.rpl, 3);
    let (seen, _) =
        on_probation_request(&policy, "/app/other", |c| Claims { rpl: 3, ..quiet(c) }, 0);
    assert_eq!(probation_header(&seen), None);
}

// A password passes only with the estimator (the edge always has it).
#[test]
#[cfg(feature = "estimator")]
fn a_change_renews_the_session_it_signs() {
    let policy = Policy::default();
    let issued = NOW_MS / 1000 - 100;
    let claims = new_session("u-alice", "sid-1", vec![], &policy.sessions, issued);
    let cookie = format!(
        "__Host-portcullis-session={}",
        sign_jwt(JWT.as_bytes(), &claims)
    );
    let xsrf = xsrf_token(XSRF.as_bytes(), "sid-1");
    let facts = facts(
        "POST",
        "/account/password",
        &[
            ip("203.0.113.7"),
            ("Cookie", &cookie),
            ("X-XSRF-Token", &xsrf),
            FORM,
            LENGTH,
        ],
        true,
    );
    let (_, reply) = drive(facts, |step| match step {
        Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
        Step::ReadBody => Input::Body(b"new_password=Quiet-harbor-lantern-81".to_vec()),
        Step::Ask(Call::User { .. }) => answered(UserAnswer::Vetted {
            reused: false,
            username: None,
            email: None,
        }),
        Step::Forward(_) => upstream(400, vec![None]),
        other => panic!("unexpected {other:?}"),
    });
    let Reply::Upstream(finish) = reply else {
        panic!()
    };
    let idle = policy.sessions.idle_timeout_seconds;
    assert!(
        finish
            .cookies
            .iter()
            .all(|c| c.contains(&format!("Max-Age={idle};"))),
        "{:?}",
        finish.cookies
    );
}

fn damaged(policy: Policy, record: &str) -> Rc<Snapshot> {
    let mut s = (*snapshot(policy)).clone();
    s.unreadable = vec![record.to_owned()];
    Rc::new(s)
}

#[test]
fn unreadable_revocations_fail_sessions_closed_and_nothing_else() {
    let s = damaged(Policy::default(), crate::snapshot::REVOCATIONS_RECORD);
    let (cookie, _) = session_cookie("u-alice");
    let with = facts(
        "GET",
        "/app/hello",
        &[ip("203.0.113.7"), ("Cookie", &cookie)],
        false,
    );
    let (_, reply) = drive(with, |_| Input::Snapshot(s.clone()));
    assert_eq!(code(&reply), "state_unavailable");
    let without = facts("GET", "/hello", &[ip("203.0.113.7")], false);
    let (steps, reply) = drive(without, |step| match step {
        Step::Snapshot => Input::Snapshot(s.clone()),
        _ => upstream(200, vec![]),
    });
    assert_eq!(
        (kinds(&steps), code(&reply)),
        (vec!["snapshot", "settle", "forward"], "upstream")
    );
}

#[test]
fn an_unreadable_fraud_feed_refuses_all_but_the_admin_api() {
    let mut policy = Policy::default();
    policy.bans.fraud.enabled = true;
    policy.bans.fraud.feed_url = Some("https://feed.example/list".into());
    let s = damaged(policy, crate::snapshot::FRAUD_FEED_RECORD);
    let (_, reply) = drive(facts("GET", "/hello", &[ip("203.0.113.7")], false), |_| {
        Input::Snapshot(s.clone())
    });
    assert_eq!(code(&reply), "state_unavailable");
    let key = format!("Bearer {APP_KEY}");
    let admin = facts(
        "GET",
        "/__portcullis/admin/settings",
        &[ip("203.0.113.7"), ("Authorization", &key)],
        false,
    );
    let (steps, _) = drive(admin, |step| match step {
        Step::Snapshot => Input::Snapshot(s.clone()),
        _ => upstream(200, vec![]),
    });
    assert_eq!(kinds(&steps), ["snapshot", "settle", "settle", "admin"]);
    assert_eq!(
        steps[2],
        Step::Settle(None),
        "a read settles every warning, after the key"
    );
}

/// The warnings that only ever accompany a refusal.
fn refusing(step: &Step) -> bool {
    matches!(
        step,
        Step::Warn(Call::Guard {
            op: GuardOp::Warn {
                kind: WarningKind::BadXsrf
                    | WarningKind::FailedCaptcha
                    | WarningKind::MalformedBody
                    | WarningKind::BlockedUpload
                    | WarningKind::WrongApplicationKey,
                ..
            },
            ..
        })
    )
}

fn any_policy() -> impl Strategy<Value = Policy> {
    (any::<bool>(), any::<bool>(), any::<bool>(), 0u32..3).prop_map(
        |(probation, captcha, history, single)| {
            let mut p = Policy::default();
            p.probation.enabled = probation;
            p.captcha.enabled = captcha;
            p.captcha.pages = vec![
                crate::policy::CaptchaPage::Login,
                crate::policy::CaptchaPage::Signup,
                crate::policy::CaptchaPage::ProbationAction,
            ];
            p.passwords.history_count = if history { 3 } else { 0 };
            p.login.single_session = match single {
                0 => crate::policy::SingleSession::Off,
                1 => crate::policy::SingleSession::EndOthers,
                _ => crate::policy::SingleSession::RefuseNew,
            };
            p.uploads.paths = vec!["/upload".into()];
            p
        },
    )
}

fn any_facts() -> impl Strategy<Value = RequestFacts> {
    let paths = prop::sample::select(vec![
        "/",
        "/login",
        "/logout",
        "/signup",
        "/account/password",
        "/reset?token=t",
        "/app/hello",
        "/upload",
        "/community/threads",
        "/search?page=9",
        "/__portcullis/policy",
        "/__portcullis/admin/bans",
        "/__PORTCULLIS/admin",
    ]);
    let methods = prop::sample::select(vec!["GET", "POST", "PUT", "HEAD"]);
    let types = prop::sample::select(vec![
        "",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json",
        "text/plain",
    ]);
    (
        methods,
        paths,
        types,
        any::<bool>(),
        prop::option::of(0u64..400_000),
        0u8..3,
        any::<bool>(),
    )
        .prop_map(|(method, path, media, body, length, cookie, html)| {
            let (valid, xsrf) = session_cookie("u-alice");
            let cookie = match cookie {
                0 => None,
                1 => Some(valid),
                _ => Some("__Host-portcullis-session=forged.token.here".to_owned()),
            };
            let length = length.map(|n| n.to_string());
            let mut headers = vec![ip("203.0.113.7"), ("Content-Type", media)];
            if let Some(cookie) = &cookie {
                headers.push(("Cookie", cookie));
            }
            if let Some(length) = &length {
                headers.push(("Content-Length", length));
            }
            if html {
                headers.push(("Accept", "text/html"));
            } else {
                headers.push(("X-XSRF-Token", &xsrf));
            }
            facts(method, path, &headers, body)
        })
}

/// An answer of any kind, right or wrong for the step.
fn any_input(snapshot: Rc<Snapshot>) -> impl Strategy<Value = Input> {
    let bodies = prop::sample::select(vec![
        b"username=alice&password=orbit-Vivid-lantern-52".to_vec(),
        b"username=a&username=b&password=x".to_vec(),
        b"Username=a&password=x".to_vec(),
        br#"{"username":"alice","password":"x"}"#.to_vec(),
        b"\xff\xfe".to_vec(),
        b"--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.exe\"\r\n\r\nMZ\r\n--x--\r\n".to_vec(),
        Vec::new(),
    ]);
    let gates = prop::sample::select(vec![
        Gate::Open,
        Gate::Locked { retry_after: 30 },
        Gate::LockedPermanently,
    ]);
    let users = prop::sample::select(vec![
        UserAnswer::Touched { active: true },
        UserAnswer::Touched { active: false },
        UserAnswer::Vetted {
            reused: true,
            username: None,
            email: None,
        },
        UserAnswer::ActionCounted { probation: true },
        UserAnswer::ActionLimited { retry_after: 9 },
        UserAnswer::LoggedIn {
            change: None,
            expires_at: None,
            probation: false,
            created: None,
            replies: 0,
        },
        UserAnswer::Done,
    ]);
    prop_oneof![
        Just(Input::Snapshot(snapshot)),
        bodies.prop_map(Input::Body),
        gates.prop_map(|gate| Input::Answer(Answer::Account(LockAnswer {
            gate,
            attempts_left: Some(1),
            failures: 9,
            locks_on_failure: None,
        }))),
        users.prop_map(|u| Input::Answer(Answer::User(u))),
        Just(Input::Answer(Answer::Guard(GuardAnswer::Done))),
        Just(Input::Answer(Answer::Control(ControlAnswer::Done))),
        prop::sample::select(vec![0u16, 200, 429, 503]).prop_map(|status| Input::Captcha {
            status,
            body: r#"{"success":true}"#.to_owned(),
        }),
        (
            prop::sample::select(vec![200u16, 303, 401, 403, 500]),
            prop::option::of(Just("u-1".to_owned()))
        )
            .prop_map(|(status, user)| upstream(status, vec![user, None, None])),
        Just(Input::Done),
        prop::sample::select(vec![
            Failure::Io,
            Failure::StateUnavailable,
            Failure::OriginUnreachable,
            Failure::Unreadable
        ])
        .prop_map(Input::Failed),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the shell answers, a flow ends within a bounded number of
    /// steps, forwards a request at most once, never forwards after a
    /// warning that accompanies a refusal, and once it has answered gives
    /// that answer again instead of any further step.
    #[test]
    fn no_answer_makes_a_flow_forward_what_it_refused(
        (snap, pool) in any_policy().prop_flat_map(|policy| {
            let snap = snapshot(policy);
            (Just(snap.clone()), prop::collection::vec(any_input(snap), 32))
        }),
        facts in any_facts(),
        answers in prop::collection::vec(any::<prop::sample::Index>(), 64),
        late in prop::collection::vec(any::<prop::sample::Index>(), 4),
    ) {
        let mut machine = Machine::request(facts, Context::new(NOW_MS, [9; 32]));
        let mut input = Input::Start;
        let mut forwards = 0;
        let mut refused = false;
        let mut reply = None;
        for (i, pick) in answers.iter().enumerate() {
            let step = machine.resume(input);
            match &step {
                Step::Respond(r) => { reply = Some(r.clone()); break; }
                Step::Forward(_) => {
                    prop_assert!(!refused, "forwarded after a refusing warning");
                    forwards += 1;
                }
                s if refusing(s) => refused = true,
                _ => {}
            }
            // The first step is always answered right, so flows get going.
            input = if i == 0 { Input::Snapshot(snap.clone()) } else { pick.get(&pool).clone() };
        }
        let reply = reply.expect("an answer within 64 steps");
        prop_assert!(forwards <= 1, "forwarded {forwards} times");
        for pick in &late {
            prop_assert_eq!(machine.resume(pick.get(&pool).clone()), Step::Respond(reply.clone()));
        }
    }
}

#[test]
fn the_isolates_metrics_are_answered_in_the_isolate_behind_the_key() {
    let good = format!("Bearer {APP_KEY}");
    for (key, expected, answer) in [
        (
            good.as_str(),
            vec!["snapshot", "settle", "settle", "metrics"],
            "json",
        ),
        (
            "Bearer wrong",
            vec!["snapshot", "settle", "warn"],
            "unauthorized",
        ),
    ] {
        let headers = [ip("203.0.113.7"), ("Authorization", key)];
        let facts = facts("GET", "/__portcullis/admin/metrics", &headers, false);
        let (steps, reply) = drive(facts, |step| match step {
            Step::Snapshot => Input::Snapshot(snapshot(Policy::default())),
            Step::Metrics => Input::Json(serde_json::json!({ "CONTROL": 1 })),
            Step::Warn(_) => Input::Done,
            other => panic!("unexpected {other:?}"),
        });
        assert_eq!(kinds(&steps), expected);
        match (&reply, answer) {
            (Reply::Json { status: 200, body }, "json") => assert_eq!(body["CONTROL"], 1),
            _ => assert_eq!(code(&reply), answer),
        }
    }
}

#[test]
fn a_ban_a_settled_warning_triggered_applies_to_the_next_request() {
    let facts = facts("GET", "/hello", &[ip("203.0.113.7")], false);
    let mut machine = Machine::request(facts, Context::new(NOW_MS, [7; 32]));
    let step = machine.resume(Input::Start);
    assert_eq!(step, Step::Snapshot);
    let step = machine.resume(Input::Snapshot(snapshot(Policy::default())));
    assert_eq!(step, Step::Settle(Some("203.0.113.7".into())));
    // The pending warning banned the client: the shell hands over the
    // replica with the ban.
    let ban = crate::bans::BanEntry {
        target: "203.0.113.7".into(),
        until: NOW_MS / 1000 + 60,
        scope: crate::policy::ManualBanScope::All,
        reason: "warnings".into(),
    };
    let banned = snapshot(Policy::default()).with_bans(&[ban]);
    let Step::Respond(reply) = machine.resume(Input::Snapshot(Rc::new(banned))) else {
        panic!("the banned client was not answered at once")
    };
    assert_eq!(code(&reply), "banned");
}

#[test]
fn a_lockout_this_isolate_saw_is_not_asked_again() {
    let s = snapshot(Policy::default());
    let attempt = |s: &Rc<Snapshot>, ask: &mut u32| {
        let facts = facts("POST", "/login", &[ip("203.0.113.7"), FORM, LENGTH], true);
        drive(facts, |step| match step {
            Step::Snapshot => Input::Snapshot(s.clone()),
            Step::ReadBody => Input::Body(login_form()),
            Step::Ask(Call::Account { .. }) => {
                *ask += 1;
                Input::Answer(Answer::Account(LockAnswer {
                    gate: Gate::Locked { retry_after: 60 },
                    attempts_left: None,
                    failures: 0,
                    locks_on_failure: None,
                }))
            }
            Step::Warn(_) => Input::Done,
            other => panic!("unexpected {other:?}"),
        })
    };
    let mut asked = 0;
    let (_, first) = attempt(&s, &mut asked);
    let (steps, second) = attempt(&s, &mut asked);
    assert_eq!(
        asked, 1,
        "the second attempt was refused from the isolate's copy"
    );
    assert_eq!(code(&first), "account_locked");
    assert_eq!(code(&second), "account_locked");
    assert_eq!(
        kinds(&steps),
        ["snapshot", "settle", "read-body", "warn"],
        "still a warning"
    );
    // A new snapshot (a refresh, an admin's unlock here) asks again.
    let (_, _) = attempt(&snapshot(Policy::default()), &mut asked);
    assert_eq!(asked, 2);
}

/// A policy with one rule on `/api/*` keyed by `key`.
fn rate_policy(key: &str, algorithm: &str, action: &str) -> Policy {
    let json = serde_json::json!({ "rateLimits": [{
        "id": "api", "match": { "path": "/api/*" }, "key": key,
        "algorithm": algorithm, "limit": 2, "windowSeconds": 60, "action": action,
    }]});
    Policy::from_json(&json.to_string()).unwrap()
}

/// Drives one request against `buckets` (the objects' state, by name);
/// its steps and reply.
fn rate_request(
    policy: &Policy,
    buckets: &mut std::collections::HashMap<String, crate::ratelimit::BucketState>,
    path: &str,
    headers: &[(&str, &str)],
    all_headers: &[(&str, &str)],
) -> (Vec<Step>, Reply) {
    let snap = snapshot(policy.clone());
    let mut with_ip = vec![ip("203.0.113.7")];
    with_ip.extend_from_slice(headers);
    drive(facts("GET", path, &with_ip, false), |step| match step {
        Step::Snapshot => Input::Snapshot(snap.clone()),
        Step::Headers => Input::Headers(
            all_headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
        ),
        Step::Ask(Call::Rate { bucket, op }) => {
            let crate::ratelimit::RateOp::Take { limits } = op else {
                panic!("no challenge is spent here: {op:?}");
            };
            let state = buckets
                .entry(bucket.clone())
                .or_insert_with(|| crate::ratelimit::BucketState::fresh(NOW_MS, *limits));
            let (decision, _) = state.take(NOW_MS, *limits);
            Input::Answer(Answer::Rate(crate::ratelimit::RateAnswer::Taken(decision)))
        }
        Step::Ask(Call::Audit { .. }) | Step::Warn(_) => Input::Done,
        Step::Forward(_) => upstream(200, vec![]),
        other => panic!("unexpected {other:?}"),
    })
}

fn reply_headers(reply: &Reply) -> Vec<(&'static str, String)> {
    match reply {
        Reply::Refuse(r) => r.headers.clone(),
        Reply::Upstream(f) => f.headers.clone(),
        _ => Vec::new(),
    }
}

#[test]
fn a_rate_limit_counts_matching_requests_and_refuses_past_the_limit() {
    for algorithm in ["sliding-window", "token-bucket"] {
        let policy = rate_policy("header:x-api-key", algorithm, "deny");
        let mut buckets = std::collections::HashMap::new();
        let key = [("x-api-key", "k1")];
        let (steps, first) = rate_request(&policy, &mut buckets, "/api/a", &[], &key);
        assert_eq!(
            kinds(&steps),
            ["snapshot", "settle", "headers", "rate", "forward"]
        );
        assert_eq!(
            reply_headers(&first),
            [
                ("RateLimit-Policy", "\"api\";q=2;w=60".to_owned()),
                (
                    "RateLimit",
                    format!(
                        "\"api\";r=1;t={}",
                        if algorithm == "token-bucket" { 30 } else { 60 }
                    )
                ),
            ]
        );
        let (_, second) = rate_request(&policy, &mut buckets, "/API/b/", &[], &key);
        assert_eq!(code(&second), "upstream");
        let (steps, third) = rate_request(&policy, &mut buckets, "/api/c", &[], &key);
        assert_eq!(code(&third), "rate_limited", "{algorithm}");
        assert!(kinds(&steps).contains(&"audit"), "a refusal is audited");
        let Reply::Refuse(refusal) = &third else {
            unreachable!()
        };
        assert_eq!(refusal.status, 429);
        assert!(
            refusal
                .headers
                .iter()
                .any(|(k, v)| *k == "Retry-After" && v.parse::<u64>().unwrap() >= 1)
        );
        assert!(
            refusal
                .headers
                .iter()
                .any(|(k, v)| *k == "RateLimit" && v.contains("r=0"))
        );
        // Another key has a bucket of its own; no key shares one.
        let (_, other) = rate_request(&policy, &mut buckets, "/api/a", &[], &[("x-api-key", "k2")]);
        assert_eq!(code(&other), "upstream");
        for _ in 0..2 {
            let (_, absent) = rate_request(&policy, &mut buckets, "/api/a", &[], &[]);
            assert_eq!(code(&absent), "upstream");
        }
        let (_, absent) = rate_request(&policy, &mut buckets, "/api/a", &[], &[("x-other", "1")]);
        assert_eq!(code(&absent), "rate_limited");
        assert_eq!(buckets.len(), 3, "{:?}", buckets.keys());
        assert!(
            buckets
                .keys()
                .all(|k| !k.contains("k1") && !k.contains("k2")),
            "keys are hashed"
        );
        // A merged duplicate or an underscore spelling is refused.
        let (_, merged) = rate_request(
            &policy,
            &mut buckets,
            "/api/a",
            &[],
            &[("x-api-key", "k1, k9")],
        );
        assert_eq!(code(&merged), "ambiguous_field");
        let (_, underscore) = rate_request(
            &policy,
            &mut buckets,
            "/api/a",
            &[],
            &[("x-api-key", "k9"), ("x_api_key", "k1")],
        );
        assert_eq!(code(&underscore), "ambiguous_field");
    }
}

#[test]
fn requests_no_rule_matches_pay_nothing() {
    let policy = rate_policy("ip", "sliding-window", "deny");
    let mut buckets = std::collections::HashMap::new();
    let (steps, reply) = rate_request(&policy, &mut buckets, "/apix", &[], &[]);
    assert_eq!(kinds(&steps), ["snapshot", "settle", "forward"]);
    assert!(reply_headers(&reply).is_empty());
}

#[test]
fn a_captcha_rule_denies_requests_that_cannot_carry_one() {
    // No CAPTCHA configured, and a GET: denied like a `deny` rule.
    let policy = rate_policy("query:api_key", "token-bucket", "captcha");
    let mut buckets = std::collections::HashMap::new();
    for expected in ["upstream", "upstream", "rate_limited"] {
        let (_, reply) = rate_request(&policy, &mut buckets, "/api/x?api_key=a", &[], &[]);
        assert_eq!(code(&reply), expected);
    }
    // A folded spelling of the query key is refused.
    let (_, reply) = rate_request(
        &policy,
        &mut buckets,
        "/api/x?api_key=b&api.key=a",
        &[],
        &[],
    );
    assert_eq!(code(&reply), "ambiguous_field");
}

#[test]
fn bad_rules_name_their_field() {
    let field = |rule: serde_json::Value| {
        let json = serde_json::json!({ "rateLimits": [rule] }).to_string();
        Policy::from_json(&json)
            .unwrap_err()
            .field()
            .map(str::to_owned)
    };
    let rule = || {
        serde_json::json!({
            "id": "r", "match": { "path": "/x" }, "key": "ip",
            "algorithm": "sliding-window", "limit": 5, "windowSeconds": 60,
        })
    };
    assert!(Policy::from_json(&serde_json::json!({ "rateLimits": [rule()] }).to_string()).is_ok());
    let with = |k: &str, v: serde_json::Value| {
        let mut r = rule();
        r[k] = v;
        r
    };
    assert_eq!(
        field(with("key", "path:x".into())).as_deref(),
        Some("rateLimits[0].key")
    );
    assert_eq!(
        field(with("id", "a b".into())).as_deref(),
        Some("rateLimits[0].id")
    );
    assert_eq!(
        field(with("limit", 0.into())).as_deref(),
        Some("rateLimits[0].limit")
    );
    assert_eq!(
        field(with("limit", 20_000.into())).as_deref(),
        Some("rateLimits[0].limit")
    );
    assert_eq!(
        field(with("windowSeconds", 0.into())).as_deref(),
        Some("rateLimits[0].windowSeconds")
    );
    assert_eq!(
        field(with("algorithm", "leaky".into())).as_deref(),
        Some("rateLimits[0].algorithm")
    );
    assert_eq!(
        field(with("action", "ban".into())).as_deref(),
        Some("rateLimits[0].action")
    );
    assert_eq!(
        field(with("match", serde_json::json!({ "path": "x" }))).as_deref(),
        Some("rateLimits[0].match.path")
    );
    assert_eq!(
        field(with(
            "match",
            serde_json::json!({ "path": "/x", "methods": ["get"] })
        ))
        .as_deref(),
        Some("rateLimits[0].match.methods[0]")
    );
    let twice = serde_json::json!({ "rateLimits": [rule(), rule()] }).to_string();
    assert_eq!(
        Policy::from_json(&twice).unwrap_err().field(),
        Some("rateLimits[1].id")
    );
}

#[test]
fn a_bucket_that_does_not_answer_fails_closed() {
    let snap = snapshot(rate_policy("ip", "token-bucket", "deny"));
    let (steps, reply) = drive(
        facts("GET", "/api/x", &[ip("203.0.113.7")], false),
        |step| match step {
            Step::Snapshot => Input::Snapshot(snap.clone()),
            Step::Ask(Call::Rate { .. }) => Input::Failed(Failure::Io),
            other => panic!("unexpected {other:?}"),
        },
    );
    assert!(!kinds(&steps).contains(&"forward"));
    let Reply::Refuse(refusal) = reply else {
        panic!("refused")
    };
    assert_eq!((refusal.status, refusal.code), (503, "state_unavailable"));
}

#[test]
fn a_banned_client_passes_in_monitor_mode_with_an_audit_entry_but_never_at_the_admin_api() {
    let mut policy = Policy::default();
    policy.bans.mode = crate::policy::Mode::Monitor;
    let ban = BanEntry {
        target: "203.0.113.9".into(),
        until: NOW_MS / 1000 + 600,
        scope: ManualBanScope::All,
        reason: "test".into(),
    };
    let mut s = Snapshot::new(policy, Vec::new(), secrets(), Revocations::default());
    s.loaded_at_ms = NOW_MS;
    let s = Rc::new(s.with_bans(&[ban]));
    let answer = |step: &Step| match step {
        Step::Snapshot => Input::Snapshot(s.clone()),
        Step::Ask(Call::Audit { .. }) => Input::Done,
        Step::Forward(_) => upstream(200, vec![]),
        other => panic!("unexpected {other:?}"),
    };
    let (steps, reply) = drive(facts("GET", "/page", &[ip("203.0.113.9")], false), answer);
    assert_eq!(kinds(&steps), ["snapshot", "settle", "audit", "forward"]);
    assert_eq!(code(&reply), "upstream");
    let (steps, reply) = drive(
        facts(
            "GET",
            "/__portcullis/admin/settings",
            &[ip("203.0.113.9")],
            false,
        ),
        answer,
    );
    assert_eq!(code(&reply), "banned");
    assert!(!kinds(&steps).contains(&"audit"));
}

#[test]
fn every_audit_item_of_a_request_has_its_own_id() {
    let mut policy = rate_policy("ip", "sliding-window", "deny");
    policy.rate_limits[0].mode = crate::policy::Mode::Monitor;
    policy.rate_limits[0].limit = 1;
    let mut second = policy.rate_limits[0].clone();
    second.id = "api-2".into();
    policy.rate_limits.push(second);
    let mut buckets = std::collections::HashMap::new();
    rate_request(&policy, &mut buckets, "/api/x", &[], &[]);
    let (steps, reply) = rate_request(&policy, &mut buckets, "/api/x", &[], &[]);
    assert_eq!(code(&reply), "upstream", "monitored: it passes");
    let ids: Vec<String> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Ask(Call::Audit {
                op: crate::objects::AuditOp::Append { items },
                ..
            }) => Some(items[0].id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2, "both rules would refuse");
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn every_forward_carries_a_signature_the_origin_can_verify_and_stays_cacheable() {
    let mut s = Snapshot::new(
        Policy::default(),
        Vec::new(),
        secrets(),
        Revocations::default(),
    );
    s.secrets.origin = Some("origin-secret".into());
    s.secrets.origin_host = "app.internal".into();
    s.loaded_at_ms = NOW_MS;
    let s = Rc::new(s);
    let (steps, _) = drive(
        facts("GET", "/page?q=1", &[ip("203.0.113.7")], false),
        |step| match step {
            Step::Snapshot => Input::Snapshot(s.clone()),
            Step::Forward(_) => upstream(200, vec![]),
            other => panic!("unexpected {other:?}"),
        },
    );
    let Some(Step::Forward(forward)) = steps.last() else {
        panic!("forwarded")
    };
    assert!(!forward.private, "an anonymous request stays cacheable");
    let (_, header) = forward
        .to_origin
        .iter()
        .find(|(n, _)| *n == crate::identity::SIGNATURE_HEADER)
        .unwrap();
    let signed = crate::identity::Signed {
        t: 0,
        method: "GET",
        host: "app.internal",
        path_and_query: "/page?q=1",
        user: "",
        roles: "",
        session: "",
    };
    assert!(crate::identity::verify_identity(
        &[b"origin-secret"],
        header,
        &signed,
        NOW_MS / 1000
    ));
}
