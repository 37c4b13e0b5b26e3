//! How a flow written as an `async fn` becomes a step machine without a
//! runtime: each effect the flow awaits puts its [`Step`] in a shared slot
//! and suspends once; the [`super::machine::Machine`] returns that step to
//! the shell, and on the next resume puts the shell's [`Input`] in the slot
//! and polls again, so the flow continues with it. No waker is ever used.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll};

use super::steps::{Failure, Input, Step};

/// What the slot between a flow and its machine holds.
#[derive(Debug)]
pub(crate) enum Exchange {
    /// Nothing pending.
    Idle,
    /// The flow asked for this step.
    Asked(Step),
    /// The shell's answer to the last step.
    Answered(Input),
}

/// A flow's handle for performing steps.
#[derive(Debug, Clone)]
pub(crate) struct Io {
    slot: Rc<RefCell<Exchange>>,
}

impl Io {
    /// A handle and the slot its machine reads.
    pub(crate) fn new() -> (Self, Rc<RefCell<Exchange>>) {
        let slot = Rc::new(RefCell::new(Exchange::Idle));
        (Self { slot: slot.clone() }, slot)
    }

    /// Asks the shell to perform `step`, and gives its answer.
    pub(crate) async fn perform(&self, step: Step) -> Input {
        *self.slot.borrow_mut() = Exchange::Asked(step);
        Suspend { suspended: false }.await;
        match std::mem::replace(&mut *self.slot.borrow_mut(), Exchange::Idle) {
            Exchange::Answered(input) => input,
            // Polled again without an answer: treat as a failed step.
            Exchange::Idle | Exchange::Asked(_) => Input::Failed(Failure::Io),
        }
    }
}

/// A future that is pending once, then ready.
struct Suspend {
    suspended: bool,
}

impl Future for Suspend {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<()> {
        if self.suspended {
            Poll::Ready(())
        } else {
            self.suspended = true;
            Poll::Pending
        }
    }
}
