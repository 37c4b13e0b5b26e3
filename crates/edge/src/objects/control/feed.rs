//! The fraud feed: polled from Control's alarm (one IP or CIDR per line);
//! a failed poll keeps the last good list, which every snapshot merges into
//! the deny list.

use portcullis_core::Policy;
use portcullis_core::objects::{AuditEntry, AuditKind};
use portcullis_core::parse_feed;
use portcullis_core::records::Unreadable;
use serde_json::json;
use worker::Result;

use super::audit;
use super::store::Store;
use crate::http::outbound;

/// The row of the last good list.
pub(crate) const LIST: &str = "fraudFeed";

/// The row of the next poll's time (unix seconds).
const NEXT_AT: &str = "feedNextAt";

/// The last good list.
pub(crate) fn entries(store: &Store) -> Result<std::result::Result<Vec<String>, Unreadable>> {
    Ok(store
        .record::<Vec<String>>(LIST)?
        .map(Option::unwrap_or_default))
}

/// Polls the feed when due.
pub(crate) async fn poll(store: &Store, policy: &Policy, now: u64) -> Result<()> {
    let fraud = &policy.bans.fraud;
    let Some(url) = fraud.feed_url.clone().filter(|_| fraud.enabled) else {
        return Ok(());
    };
    let due = store
        .get(NEXT_AT)?
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if now < due {
        return Ok(());
    }
    let entry = match outbound::fetch_text(&url).await {
        Some(text) => {
            let (good, bad) = parse_feed(&text, &policy.bans);
            store.put_record(LIST, &good)?;
            let detail = json!({ "entries": good.len(), "rejectedLines": bad.len() });
            AuditEntry::new(AuditKind::FraudFeedLoaded, "", detail)
        }
        None => AuditEntry::new(AuditKind::FraudFeedFailed, "", json!({})),
    };
    audit::record(store, Some(policy), &entry, now)?;
    store.put(
        NEXT_AT,
        &now.saturating_add(fraud.feed_poll_seconds).to_string(),
    )
}

/// When the next poll is due (unix seconds), while a feed is configured; a
/// newly configured feed is polled within a second.
pub(crate) fn next_due(store: &Store, policy: &Policy, now: u64) -> Result<Option<u64>> {
    let fraud = &policy.bans.fraud;
    if !fraud.enabled || fraud.feed_url.is_none() {
        return Ok(None);
    }
    if let Some(at) = store.get(NEXT_AT)?.and_then(|v| v.parse::<u64>().ok()) {
        return Ok(Some(at));
    }
    let at = now + 1;
    store.put(NEXT_AT, &at.to_string())?;
    Ok(Some(at))
}

/// Forgets when the feed was polled, so a newly configured one is polled at once.
pub(crate) fn reset(store: &Store) -> Result<()> {
    store.delete(NEXT_AT).map(|_| ())
}
