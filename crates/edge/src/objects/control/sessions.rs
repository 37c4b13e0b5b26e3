//! Session revocations: the moments before which everyone's, or one user's,
//! sessions are over. Isolates replicate them in the snapshot.

use portcullis_core::Policy;
use portcullis_core::records::Unreadable;
use worker::Result;

use super::store::Store;
use crate::clock;

/// The row the revocations are stored in.
pub(crate) const ROW: &str = "revocations";

/// Ends the sessions of `user` (or everyone's) that began before now;
/// gives that moment (unix milliseconds).
pub(crate) fn revoke(
    store: &Store,
    policy: &Policy,
    user: Option<&str>,
) -> Result<std::result::Result<u64, Unreadable>> {
    let mut revocations = match store.revocations()? {
        Ok(revocations) => revocations,
        Err(damage) => return Ok(Err(damage)),
    };
    let now = clock::now_millis();
    match user {
        Some(user) => {
            revocations.users.insert(user.to_owned(), now);
        }
        None => revocations.all_before = now,
    }
    revocations.prune(&policy.sessions, now);
    store.put_record(ROW, &revocations)?;
    Ok(Ok(now))
}
