//! The policy document's JSON Schema (the `schema` feature), generated
//! from core's types by schemars (their serde names, defaults and
//! `deny_unknown_fields`) with every number's bounds from core's table
//! (`minimum`, `maximum`). `docs/policy.schema.json` is its output; a
//! test keeps the two equal.

use serde_json::Value;

use crate::bounds::BOUNDS;
use crate::policy::Policy;

/// The schema as pretty JSON, with a trailing newline.
pub fn policy_schema() -> String {
    let mut schema = serde_json::to_value(schemars::schema_for!(Policy)).unwrap_or_default();
    for bound in &BOUNDS {
        if let Some(pointer) = pointer(&schema, bound.field)
            && let Some(Value::Object(node)) = schema.pointer_mut(&pointer)
        {
            node.insert("minimum".to_owned(), number(bound.min));
            node.insert("maximum".to_owned(), number(bound.max));
        }
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    )
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

/// The JSON pointer of the schema node of `field` (`probation.actions[].limitPerDay`),
/// following `$ref`s into `$defs`.
fn pointer(schema: &Value, field: &str) -> Option<String> {
    let resolve = |at: String| -> String {
        match schema
            .pointer(&at)
            .and_then(|n| n.get("$ref"))
            .and_then(Value::as_str)
        {
            Some(target) => target.trim_start_matches('#').to_owned(),
            None => at,
        }
    };
    let mut at = String::new();
    for part in field.split('.') {
        let (key, items) = match part.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (part, false),
        };
        at = resolve(at);
        at = format!("{at}/properties/{key}");
        schema.pointer(&at)?;
        if items {
            at = resolve(at);
            at = format!("{at}/items");
        }
    }
    Some(resolve(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bound_lands_in_the_schema() {
        let schema = serde_json::to_value(schemars::schema_for!(Policy)).unwrap_or_default();
        for bound in &BOUNDS {
            let at = pointer(&schema, bound.field);
            assert!(
                at.as_deref().and_then(|p| schema.pointer(p)).is_some(),
                "{} has no node in the schema",
                bound.field
            );
        }
    }
}
