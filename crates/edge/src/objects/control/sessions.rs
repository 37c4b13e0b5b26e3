//! Session revocations: the moments before which everyone's, or one user's,
//! sessions are over. Isolates replicate them in the snapshot.

use portcullis_core::Policy;
use portcullis_core::records::Unreadable;
use worker::Result;

use super::store::Store;
use crate::clock;

/// The row the revocations are stored in.
pub(crate) const ROW: &str = "revocations";

/// Ends the sessions of `user` (or everyone's) that began before `before`
/// (none: now); gives that moment (unix milliseconds). A later moment
/// already stored for the user stands, so a retried revocation changes
/// nothing.
pub(crate) fn revoke(
    store: &Store,
    policy: &Policy,
    user: Option<&str>,
    before: Option<u64>,
) -> Result<std::result::Result<u64, Unreadable>> {
    let mut revocations = match store.revocations()? {
        Ok(revocations) => revocations,
        Err(damage) => return Ok(Err(damage)),
    };
    let now = clock::now_millis();
    let moment = before.unwrap_or(now);
    let moment = match user {
        Some(user) => {
            let slot = revocations.users.entry(user.to_owned()).or_insert(0);
            *slot = (*slot).max(moment);
            *slot
        }
        None => {
            revocations.all_before = revocations.all_before.max(moment);
            revocations.all_before
        }
    };
    revocations.prune(&policy.sessions, now);
    store.put_record(ROW, &revocations)?;
    Ok(Ok(moment))
}
