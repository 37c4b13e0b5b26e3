//! The upload rules on a request to an upload path: a body needs a length
//! (an unbounded stream is refused rather than buffered), a declared length
//! over the limit is refused before a byte is read, and every file the
//! multipart body carries must pass (the role comes only from the session).

use super::caller::{Caller, Flow, failed};
use super::steps::{Input, Step};
use crate::refusal;
use crate::roles::Role;
use crate::uploads::{UploadError, check_upload, declared_too_large};

/// Passes, or answers with the refusal (a warning for a refused upload).
pub(crate) async fn run(c: &Caller<'_>, role: Role) -> Flow<()> {
    let req = c.req;
    let uploads = &c.policy().uploads;
    // Any request with a body counts, whatever its method.
    if !req.under(&c.snapshot.routes.uploads) || !(req.is_write() || req.has_body()) {
        return Ok(());
    }
    let declared = req.content_length();
    if declared.is_none() && req.has_body() {
        let refusal = refusal::length_required("Uploads need a Content-Length.");
        return c.enforce(uploads.mode, "uploads", refusal).await;
    }
    let verdict = if declared_too_large(uploads, declared) {
        Err(UploadError::TooLarge {
            limit: uploads.max_bytes,
        })
    } else {
        let body = match c.io.perform(Step::ReadBody).await {
            Input::Body(body) => body,
            other => return Err(failed(other)),
        };
        check_upload(uploads, role, req.content_type(), &body)
    };
    match verdict {
        Ok(()) => Ok(()),
        Err(error) => {
            c.enforce(uploads.mode, "uploads", refusal::upload_refused(&error))
                .await
        }
    }
}
