//! The example policy in docs/ (which names the schema) is a valid policy.

#[test]
fn the_example_policy_is_valid() {
    let example = include_str!("../../../docs/policy.example.json");
    let errors = portcullis_core::Policy::errors(example);
    assert!(errors.is_empty(), "{errors:?}");
    let policy = portcullis_core::Policy::from_json(example).unwrap();
    assert_eq!(policy.schema.as_deref(), Some("./policy.schema.json"));
    assert_eq!(policy.rate_limits.len(), 1);
}
