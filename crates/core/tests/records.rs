//! Records saved by the code before versioned records (bare JSON, files
//! under `tests/records/`, written by that code) still load, and load the
//! same after a round trip through today's envelope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_core::AccountLock;
use portcullis_core::IpRecord;
use portcullis_core::ResetGrant;
use portcullis_core::Revocations;
use portcullis_core::UserRecord;
use portcullis_core::records::{decode, encode};
use portcullis_core::webhooks::Delivery;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn saved(name: &str) -> String {
    let path = format!("{}/tests/records/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("fixture")
}

/// Loads the version-1 record `name`, checks it re-encodes to the same
/// JSON, and that the envelope round-trips.
fn loads<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(name: &str) -> T {
    let text = saved(name);
    let record: T = decode(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let same: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(serde_json::to_value(&record).expect("json"), same, "{name}");
    assert_eq!(
        decode::<T>(&encode(&record)).expect("round trip"),
        record,
        "{name}"
    );
    record
}

#[test]
fn version_one_records_still_load() {
    let lock: AccountLock = loads("account-lock");
    assert_eq!(lock.failures, 1);
    let locked: AccountLock = loads("account-lock-locked");
    assert_eq!(
        (locked.locked_until, locked.lockouts),
        (Some(1_800_000_000), 2)
    );
    let ip: IpRecord = loads("ip-record");
    assert_eq!(ip.warnings, vec![100, 101]);
    let user: UserRecord = loads("user-record");
    assert_eq!(
        (user.password_set_at, user.never_expires, user.created),
        (Some(200), true, Some(50))
    );
    let revocations: Revocations = loads("revocations");
    assert!(revocations.ended("u-bob", 1_700_000_000_400));
    let grant: ResetGrant = loads("reset-grant");
    assert_eq!(grant.user, "u-alice");
    let delivery: Delivery = loads("webhook-delivery");
    assert_eq!(delivery.attempts, 1);
}

#[test]
fn damaged_records_are_errors_not_defaults() {
    for text in [
        "",
        "garbage",
        r#"{"failures":"many"}"#,
        r#"{"v":3,"record":{}}"#,
        "[]",
    ] {
        assert!(decode::<AccountLock>(text).is_err(), "{text}");
    }
    // A lock record missing its fields is damage too (it has no defaults).
    assert!(decode::<AccountLock>("{}").is_err());
}
