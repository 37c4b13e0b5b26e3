//! The committed JSON Schema is the one the types generate, and the
//! example policy that references it is valid.
#![cfg(feature = "schema")]

#[test]
fn the_committed_package_types_schema_is_generated_from_the_types() {
    let committed = include_str!("../../../docs/package-types.schema.json");
    let generated = portcullis_core::package_types_schema();
    assert!(
        committed == generated,
        "docs/package-types.schema.json is stale: cargo run -p portcullis-core --features schema --bin policy-schema -- --package-types > docs/package-types.schema.json"
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let defs = &schema["$defs"];
    // Every rule id core has, and a score that is a literal union.
    let ids: Vec<&str> = defs["RuleId"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["const"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"minLength") && ids.contains(&"minScore"),
        "{ids:?}"
    );
    assert_eq!(
        defs["CheckResult"]["properties"]["score"]["enum"],
        serde_json::json!([0, 1, 2, 3, 4, null])
    );
    // Answers are described as serialised: a missing estimate is null, never absent.
    let required = defs["CheckResult"]["required"].as_array().unwrap();
    assert!(
        required.contains(&serde_json::json!("feedback")),
        "{required:?}"
    );
    // Documents as read: every policy field is optional.
    assert!(defs["Policy"].get("required").is_none());
    assert_eq!(
        defs["PresetName"]["enum"],
        serde_json::json!(portcullis_core::PRESET_NAMES)
    );
}

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
