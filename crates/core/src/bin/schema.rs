//! `policy-schema`: prints the policy document's JSON Schema (core's
//! `policy_schema`).
//!
//! `cargo run -p portcullis-core --features schema --bin policy-schema > docs/policy.schema.json`

fn main() {
    print!("{}", portcullis_core::policy_schema());
}
