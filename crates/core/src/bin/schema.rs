//! `policy-schema`: prints the policy document's JSON Schema (core's
//! `policy_schema`), or with `--package-types` the schema of every type
//! the npm package hands to JavaScript (core's `package_types_schema`).
//!
//! `cargo run -p portcullis-core --features schema --bin policy-schema > docs/policy.schema.json`
//! `cargo run -p portcullis-core --features schema --bin policy-schema -- --package-types > docs/package-types.schema.json`

fn main() {
    match std::env::args().nth(1).as_deref() {
        None => print!("{}", portcullis_core::policy_schema()),
        Some("--package-types") => print!("{}", portcullis_core::package_types_schema()),
        Some(other) => {
            eprintln!(
                "policy-schema: unknown argument `{other}` (expected nothing or --package-types)"
            );
            std::process::exit(2);
        }
    }
}
