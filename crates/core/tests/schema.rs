//! The committed JSON Schema is the one the types generate, and the
//! example policy that references it is valid.
#![cfg(feature = "schema")]

#[test]
fn the_committed_schema_is_generated_from_the_types() {
    let committed = include_str!("../../../docs/policy.schema.json");
    let generated = portcullis_core::policy_schema();
    assert!(
        committed == generated,
        "docs/policy.schema.json is stale: cargo run -p portcullis-core --features schema --bin policy-schema > docs/policy.schema.json"
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let login = &schema["$defs"]["LoginPolicy"]["properties"]["maxFailedAttempts"];
    assert_eq!(
        (login["minimum"].as_i64(), login["maximum"].as_i64()),
        (Some(1), Some(1000))
    );
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}
