//! The one driver loop: core's [`Machine`] says what to do next, this
//! performs it (a read of the request, a Durable Object call, the origin
//! fetch) and hands the result back, until core answers. Nothing here
//! decides; a failed step is logged and reported to core as failed.

use std::rc::Rc;

use portcullis_core::breach::{Range, RangeCache};
use portcullis_core::flows::{
    AdminCall, Answer, Body, Call, CaptchaCheck, Failure, Forward, Input, Machine, Reply, Step,
    Upstream,
};
use portcullis_core::objects::{BanLogAnswer, BanLogOp, GuardAnswer, Stored, warning_audit};
use portcullis_core::strip_links;
use wasm_bindgen::JsValue;
use worker::{Context, Env};

use crate::clock;
use crate::http::reply::{Held, Upstream as HeldUpstream, render};
use crate::http::{origin, outbound, request};
use crate::objects::account_guard::client as account_guard;
use crate::objects::audit_log::client as audit_log;
use crate::objects::ban_log::client as ban_log;
use crate::objects::control::client as control;
use crate::objects::ip_guard::client as ip_guard;
use crate::objects::rate_limiter::client as rate_limiter;
use crate::objects::stub;
use crate::objects::user_state::client as user_state;
use crate::pending;
use crate::replica::{self, Replica};

/// What one request's run holds between steps.
struct Run {
    req: web_sys::Request,
    env: Env,
    ctx: Context,
    replica: Option<Rc<Replica>>,
    held: Held,
    stripped: Option<JsValue>,
}

/// Handles one request: its response, or the promise of it.
///
/// The flow runs at once as far as it can (on the hot path: to the origin
/// fetch, with the snapshot from this isolate's cache). While the origin
/// answers the request is [`Parked`], and the flow goes on in that
/// promise's `then`; a step that waits on anything else (a Durable
/// Object, a body, a load) goes on in a task. The hot path thus runs no
/// Rust future between the request and its answer.
pub(crate) fn handle(req: web_sys::Request, env: Env, ctx: Context) -> JsValue {
    let context = match clock::context() {
        Ok(context) => context,
        Err(e) => return internal(&e),
    };
    let machine = Machine::request(request::facts(&req), context);
    let run = Run {
        req,
        env,
        ctx,
        replica: None,
        held: Held::default(),
        stripped: None,
    };
    drive(run, machine, Input::Start)
}

/// What a step gives at once.
enum Now {
    /// Its result.
    Done(Input),
    /// The origin fetch it began (the request parks until it answers).
    Origin(js_sys::Promise, Forward),
    /// It waits on I/O: it runs in a task.
    Wait(Step),
}

/// Runs the flow from `input` as far as it goes at once: its response, or
/// the promise of it.
fn drive(mut run: Run, mut machine: Machine, mut input: Input) -> JsValue {
    loop {
        let step = match machine.resume(input) {
            Step::Respond(reply) => {
                return run.answer(reply).map_or_else(|e| internal(&e), Into::into);
            }
            step => step,
        };
        input = match run.at_once(step) {
            Now::Done(input) => input,
            Now::Origin(answer, forward) => {
                let parked = Parked {
                    run,
                    machine,
                    forward,
                };
                return origin::then_resume(&answer, parked.into()).into();
            }
            Now::Wait(step) => {
                return wasm_bindgen_futures::future_to_promise(async move {
                    let input = run.wait(step).await;
                    Ok(drive(run, machine, input))
                })
                .into();
            }
        };
    }
}

/// A request whose flow waits for the origin's answer, held by the
/// answer's promise (see [`handle`]).
#[wasm_bindgen::prelude::wasm_bindgen]
pub struct Parked {
    run: Run,
    machine: Machine,
    forward: Forward,
}

#[wasm_bindgen::prelude::wasm_bindgen]
impl Parked {
    /// Goes on with what the origin fetch resolved to (`failed`: it threw).
    pub fn resume(self, answer: JsValue, failed: bool) -> JsValue {
        let Self {
            mut run,
            machine,
            forward,
        } = self;
        let input = if failed {
            Input::Failed(Failure::Io)
        } else {
            run.answered(answer, &forward)
        };
        drive(run, machine, input)
    }
}

/// The answer to a request the Worker could not handle: the error is
/// logged, never sent (when even the refusal cannot be built, no answer:
/// the runtime's own 500).
fn internal(e: &worker::Error) -> JsValue {
    worker::console_error!("portcullis: internal error: {e}");
    let refusal = portcullis_core::refusal::internal();
    crate::http::reply::refusal(&refusal).map_or(JsValue::NULL, |response| {
        web_sys::Response::from(response).into()
    })
}

/// A step's failure, logged (never sent to the client).
fn failed(what: &str, e: &worker::Error) -> Input {
    worker::console_error!("portcullis: {what} failed: {e}");
    Input::Failed(Failure::Io)
}

impl Run {
    fn answer(mut self, reply: Reply) -> worker::Result<web_sys::Response> {
        if let Reply::Refuse(refusal) = &reply {
            let ip = request::client_ip(&self.req);
            let url = self.req.url();
            let path = url.find("://").map_or("/", |i| {
                url[i + 3..].find('/').map_or("/", |j| &url[i + 3 + j..])
            });
            let line = refusal.log_line(&ip, &self.req.method(), path);
            if refusal.status >= 500 {
                worker::console_error!("{line}");
            } else {
                worker::console_log!("{line}");
            }
        }
        self.held.security = self.replica.as_ref().map(|r| r.security());
        render(reply, self.held)
    }

    /// `step` at once when it needs no waiting; the origin fetch begun.
    fn at_once(&mut self, step: Step) -> Now {
        Now::Done(match step {
            Step::Snapshot => match replica::current_now(&self.env, &self.ctx) {
                Some(replica) => self.keep(replica),
                None => return Now::Wait(Step::Snapshot),
            },
            Step::Settle(key) if !pending::waiting(key.as_deref()) => Input::Done,
            Step::BotScore => Input::BotScore(request::bot_score(&self.req)),
            Step::Headers => Input::Headers(request::headers(&self.req)),
            Step::Warn(call) => self.warn(call),
            Step::Invalidate => {
                replica::invalidate();
                Input::Done
            }
            Step::Metrics => Input::Json(serde_json::json!({
                "durableObjectRequests": stub::sent(),
                "pendingWarnings": pending::count() + audit_log::unsent(),
            })),
            Step::Forward(forward) => return self.forward(forward),
            Step::Respond(_) => Input::Done,
            step => return Now::Wait(step),
        })
    }

    /// A step that waits on I/O.
    async fn wait(&mut self, step: Step) -> Input {
        match step {
            Step::Snapshot => self.current().await,
            Step::FreshSnapshot => self.snapshot(replica::reload(&self.env).await),
            Step::ReadBody => match request::body(&self.req).await {
                Ok(body) => Input::Body(body),
                Err(e) => failed("reading the body", &e),
            },
            Step::StripMultipart => match origin::strip_multipart(&self.req, strip_links).await {
                Ok(Some(form)) => {
                    self.stripped = Some(form);
                    Input::Done
                }
                Ok(None) => Input::Failed(Failure::Unreadable),
                Err(e) => failed("rewriting the form", &e),
            },
            Step::Ask(call) => self.ask(call).await,
            Step::Settle(key) => {
                if pending::settle(key.as_deref()).await {
                    self.current().await
                } else {
                    Input::Done
                }
            }
            Step::VerifyCaptcha(check) => self.captcha(check).await,
            Step::BreachRange { url, timeout_ms } => breach_range(&url, timeout_ms).await,
            Step::Admin(call) => self.admin(call).await,
            Step::Asset(path) => self.asset(&path).await,
            // The others are done at once (`at_once`).
            step => match self.at_once(step) {
                Now::Done(input) => input,
                Now::Origin(..) | Now::Wait(_) => Input::Failed(Failure::Io),
            },
        }
    }

    /// The snapshot to go on with: the cached one, or one loaded.
    async fn current(&mut self) -> Input {
        match replica::current_now(&self.env, &self.ctx) {
            Some(replica) => self.keep(replica),
            None => self.snapshot(replica::current(&self.env).await),
        }
    }

    /// A loaded snapshot as the flow's input; the first one is the one
    /// this request is answered with.
    fn snapshot(&mut self, loaded: worker::Result<Rc<Replica>>) -> Input {
        match loaded {
            Ok(replica) => self.keep(replica),
            Err(e) => failed("loading the configuration", &e),
        }
    }

    fn keep(&mut self, replica: Rc<Replica>) -> Input {
        let snapshot = replica.snapshot.clone();
        self.replica.get_or_insert(replica);
        Input::Snapshot(snapshot)
    }

    /// Performs a Durable Object call; a ban this request published is
    /// live in this isolate at once.
    async fn ask(&self, call: Call) -> Input {
        let published = match &call {
            Call::BanLog {
                op: BanLogOp::Publish { ban, .. },
                ..
            } => Some(ban.clone()),
            _ => None,
        };
        let input = ask(&self.env, call).await;
        if let (Some(ban), Input::Answer(Answer::BanLog(answer))) = (published, &input) {
            replica::add_ban(ban);
            if let BanLogAnswer::Published {
                aggregate: Some(aggregate),
            } = answer
            {
                replica::add_ban(aggregate.clone());
            }
        }
        input
    }

    /// Records a warning after the response (see [`pending`]); a ban it
    /// triggers is live in this isolate as soon as it is recorded, and its
    /// audit entry goes with this isolate's next batch.
    fn warn(&self, call: Call) -> Input {
        let (key, op) = match &call {
            Call::Guard { key, op } => (key.clone(), Some(op.clone())),
            _ => (String::new(), None),
        };
        let env = self.env.clone();
        pending::spawn(&self.ctx, key, async move {
            let answer = match ask(&env, call).await {
                Input::Answer(Answer::Guard(answer)) => answer,
                _ => {
                    stub::note("warnings.failed");
                    return None;
                }
            };
            match &answer {
                GuardAnswer::Warned { ban, .. } => {
                    stub::note("warnings.recorded");
                    if let Some(ban) = ban {
                        replica::add_ban(ban.clone());
                    }
                }
                GuardAnswer::Repeated => stub::note("warnings.repeated"),
                _ => stub::note("warnings.failed"),
            }
            let entry = op.and_then(|op| warning_audit(&op, &answer))?;
            let then: pending::Then = Some(Box::pin(async move {
                audit_log::batched(&env, entry).await;
            }));
            then
        });
        Input::Done
    }

    async fn captcha(&self, check: CaptchaCheck) -> Input {
        match outbound::verify_captcha(&check.url, &check.body, check.timeout_ms).await {
            Ok((status, body)) => Input::Captcha { status, body },
            Err(e) => failed("the CAPTCHA verification", &e),
        }
    }

    /// Holds an answer of the edge's own (Control's admin API, a console
    /// file) as the reply, for the security headers to go on; its status.
    fn hold(&mut self, response: web_sys::Response) -> Input {
        let status = response.status();
        self.held.upstream = Some(HeldUpstream {
            response,
            secured: false,
            private: false,
        });
        Input::Upstream(Upstream {
            status,
            headers: Vec::new(),
            received_ms: clock::now_millis(),
        })
    }

    async fn admin(&mut self, call: AdminCall) -> Input {
        // What the admin reads includes this isolate's unsent audit entries.
        audit_log::send_batch(&self.env).await;
        match control::admin(&self.env, &self.req, &call.rest, &call.client_ip).await {
            Ok(response) => self.hold(response.into()),
            Err(e) => failed("the admin call", &e),
        }
    }

    /// A console file from the `ASSETS` binding (`[assets]` in
    /// wrangler.toml), held as the answer; 404 without the binding.
    async fn asset(&mut self, path: &str) -> Input {
        let Ok(assets) = self.env.assets("ASSETS") else {
            worker::console_error!("portcullis: no ASSETS binding: the console is not deployed");
            return Input::Upstream(Upstream {
                status: 404,
                headers: Vec::new(),
                received_ms: clock::now_millis(),
            });
        };
        // A revalidation gets its 304 (no body) from the assets.
        let mut init = worker::RequestInit::new();
        if let Ok(Some(tag)) = self.req.headers().get("If-None-Match") {
            let headers = worker::Headers::new();
            let _ = headers.set("If-None-Match", &tag);
            init.with_headers(headers);
        }
        match assets
            .fetch(format!("https://assets.invalid{path}"), Some(init))
            .await
        {
            Ok(response) => self.hold(response.into()),
            Err(e) => failed("a console file", &e),
        }
    }

    /// Begins the origin fetch `forward` describes.
    fn forward(&mut self, forward: Forward) -> Now {
        let security = self
            .replica
            .as_ref()
            .map_or_else(js_sys::Array::new, |r| r.security());
        let stripped = match forward.body {
            Body::Stripped => self.stripped.as_ref(),
            Body::Own | Body::Text(_) | Body::Bytes(_) => None,
        };
        match origin::send(&self.req, &self.env, &forward, &security, stripped) {
            Ok(answer) => Now::Origin(answer, forward),
            Err(failure) => Now::Done(Input::Failed(failure)),
        }
    }

    /// The origin's answer to `forward`, held for the reply.
    fn answered(&mut self, answer: JsValue, forward: &Forward) -> Input {
        match origin::answered(answer, forward) {
            Ok(answered) => {
                let status = answered.response.status();
                self.held.upstream = Some(HeldUpstream {
                    response: answered.response,
                    secured: answered.secured,
                    private: forward.private,
                });
                Input::Upstream(Upstream {
                    status,
                    headers: answered.headers,
                    received_ms: clock::now_millis(),
                })
            }
            Err(failure) => Input::Failed(failure),
        }
    }
}

/// Performs a Durable Object call.
async fn ask(env: &Env, call: Call) -> Input {
    let answer = match call {
        Call::Account { key, call } => account_guard::call(env, &key, &call)
            .await
            .map(|s| stored(s, Answer::Account)),
        Call::User { user, op } => user_state::call(env, &user, &op)
            .await
            .map(|s| stored(s, Answer::User)),
        Call::Guard { key, op } => ip_guard::call(env, &key, &op)
            .await
            .map(|s| stored(s, Answer::Guard)),
        Call::Control(op) => control::call(env, &op)
            .await
            .map(|s| stored(s, Answer::Control)),
        Call::BanLog { shard, op } => ban_log::call(env, &shard, &op)
            .await
            .map(|s| stored(s, Answer::BanLog)),
        Call::Audit { shard, op } => audit_log::call(env, &shard, &op)
            .await
            .map(|s| stored(s, Answer::Audit)),
        Call::Rate { bucket, op } => rate_limiter::call(env, &bucket, &op)
            .await
            .map(|s| stored(s, Answer::Rate)),
    };
    answer.unwrap_or_else(|e| failed("a Durable Object call", &e))
}

/// An object's answer as core's input.
fn stored<T>(stored: Stored<T>, wrap: fn(T) -> Answer) -> Input {
    match stored {
        Stored::Answer(answer) => Input::Answer(wrap(answer)),
        Stored::Unreadable { .. } => Input::Failed(Failure::StateUnavailable),
    }
}

thread_local! {
    /// This isolate's breached-password ranges (core bounds it).
    static RANGES: std::cell::RefCell<RangeCache> = std::cell::RefCell::new(RangeCache::default());
}

/// A breached-password range: from the isolate's cache, or fetched and
/// read by core (`None`: unavailable, nothing cached).
async fn breach_range(url: &str, timeout_ms: u32) -> Input {
    let now = clock::now_millis() / 1000;
    if let Some(range) = RANGES.with(|cache| cache.borrow().get(url, now)) {
        return Input::Range(Some(range));
    }
    let range = outbound::fetch_range(url, timeout_ms)
        .await
        .and_then(|body| Range::parse(&body))
        .map(Rc::new);
    if let Some(range) = &range {
        RANGES.with(|cache| cache.borrow_mut().put(url, range.clone(), now));
    }
    Input::Range(range)
}
