//! The flows: the per-request pipeline and the login, change-password,
//! reset, signup, CAPTCHA, upload and probation flows it runs, each the
//! order of its steps and every refusal it can give. A flow is written as
//! straight-line `async` code over typed effects ([`Step`]); the shell
//! drives it with a [`Machine`]: it performs each step (a form read, a
//! Durable Object call, the origin fetch) and hands the result back with
//! [`Machine::resume`], until the flow answers with [`Step::Respond`].

mod breach_check;
mod caller;
mod captcha_gate;
mod challenge_route;
mod identity;
mod io;
mod limited_action;
mod login;
mod machine;
mod password_change;
mod pipeline;
mod rate_limit;
mod reset_link;
mod session_check;
mod signup_form;
mod steps;
mod upload_check;
mod vault_fields;

pub use machine::Machine;
pub use steps::{
    AdminCall, Answer, Body, Call, CaptchaCheck, Failure, Finish, Forward, Input, Reply, Step,
    Upstream,
};

#[cfg(test)]
mod tests;
