//! The policy document's JSON Schema (the `schema` feature), generated
//! from core's types by schemars (their serde names, defaults and
//! `deny_unknown_fields`) with every number's bounds from core's table
//! (`minimum`, `maximum`). `docs/policy.schema.json` is its output; a
//! test keeps the two equal.
//!
//! Beside it, the schema of every type the npm package hands to
//! JavaScript (`docs/package-types.schema.json`): the policy documents,
//! a check's result, the requirements, the preset and locale names.
//! `scripts/build-types.mjs` turns it into `pkg/types.d.ts`, so the
//! package's TypeScript types come from these Rust types, not from a
//! second hand-written copy.

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};
use serde_json::{Map, Value};

use crate::bounds::BOUNDS;
use crate::messages::{Locale, Params};
use crate::policy::{Policy, PublicPolicy};
use crate::verdict::{Requirement, Verdict};

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

/// The package's types as one JSON Schema: a `$defs` entry per type,
/// named as TypeScript users see them, as pretty JSON with a trailing
/// newline.
pub fn package_types_schema() -> String {
    // What the package answers is described as serialised (an `Option`
    // is `null`, never missing); what it reads, as read (defaults fill in
    // what is missing, so every policy field is optional).
    let mut answers = SchemaGenerator::new(SchemaSettings::default().for_serialize());
    answers.subschema_for::<Verdict>();
    answers.subschema_for::<Requirement>();
    answers.subschema_for::<Locale>();
    let mut documents = SchemaGenerator::default();
    documents.subschema_for::<PublicPolicy>();
    let mut defs = answers.take_definitions(true);
    defs.extend(documents.take_definitions(true));
    // The policy's own definitions carry the bounds: they win.
    let Ok(Value::Object(mut policy)) = serde_json::from_str::<Value>(&policy_schema()) else {
        return String::new();
    };
    if let Some(Value::Object(policy_defs)) = policy.remove("$defs") {
        defs.extend(policy_defs);
    }
    let dialect = policy.remove("$schema").unwrap_or(Value::Null);
    policy.remove("title");
    defs.insert("Policy".to_owned(), Value::Object(policy));
    defs.insert("PresetName".to_owned(), preset_names().to_value());
    let root = json_schema!({
        "$schema": dialect,
        "title": "PortcullisPackageTypes",
        "description": "The types the npm package `portcullis` hands to JavaScript, generated from portcullis-core's Rust types.",
        "$defs": Value::Object(sorted(defs)),
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&root).unwrap_or_default()
    )
}

fn sorted(map: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<_> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

fn preset_names() -> Schema {
    json_schema!({
        "description": "Names of the built-in presets.",
        "enum": crate::presets::NAMES,
    })
}

/// A zxcvbn score: the integers 0 to 4, or null before the estimator has
/// loaded (a union of literals in TypeScript, not `number`).
pub(crate) fn score(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "enum": [0, 1, 2, 3, 4, null] })
}

impl JsonSchema for Params {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MessageParams".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Values a message is built from: `n` for counts, `symbols` for a symbol set.",
            "type": "object",
            "properties": {
                "n": { "type": "integer", "minimum": 0 },
                "symbols": { "type": "string" },
            },
            "additionalProperties": false,
        })
    }
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
