//! The step machine the shell drives: it holds one flow (for a request,
//! the whole pipeline), returns the next [`Step`] on each
//! [`Machine::resume`], and once the flow has answered returns that same
//! [`Step::Respond`] forever, whatever it is handed: a flow that has
//! answered (or refused) can never be made to forward.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use super::io::{Exchange, Io};
use super::steps::{Input, Reply, Step};
use crate::context::Context;
use crate::refusal;
use crate::request::RequestFacts;

/// A flow in progress.
pub struct Machine {
    flow: Pin<Box<dyn Future<Output = Reply>>>,
    slot: Rc<RefCell<Exchange>>,
    answered: Option<Reply>,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("answered", &self.answered)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// The pipeline for one request (see `flows/pipeline.rs` for its order).
    pub fn request(facts: RequestFacts, ctx: Context) -> Self {
        let (io, slot) = Io::new();
        Self {
            flow: Box::pin(super::pipeline::run(io, facts, ctx)),
            slot,
            answered: None,
        }
    }

    /// Hands the flow the answer to its last step ([`Input::Start`] the
    /// first time) and returns what it needs next.
    pub fn resume(&mut self, input: Input) -> Step {
        if let Some(reply) = &self.answered {
            return Step::Respond(reply.clone());
        }
        *self.slot.borrow_mut() = Exchange::Answered(input);
        let mut cx = TaskContext::from_waker(Waker::noop());
        let step = match self.flow.as_mut().poll(&mut cx) {
            Poll::Ready(reply) => Step::Respond(reply),
            Poll::Pending => {
                match std::mem::replace(&mut *self.slot.borrow_mut(), Exchange::Idle) {
                    Exchange::Asked(step) => step,
                    // Pending on something that is not a step: cannot happen
                    // in core's flows; answer rather than hang.
                    Exchange::Idle | Exchange::Answered(_) => {
                        Step::Respond(Reply::Refuse(refusal::internal()))
                    }
                }
            }
        };
        if let Step::Respond(reply) = &step {
            self.answered = Some(reply.clone());
        }
        step
    }
}
