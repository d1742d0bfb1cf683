//! Checks objects against their schema (type, required, enum) and prunes unknown fields, with the
//! real server's field paths and messages: custom objects against their CRD's openAPIV3Schema,
//! built-in ones against their OpenAPI definitions. CEL rules are not evaluated.

use serde_json::{Map, Value};

use crate::status::Cause;

/// What validation found.
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<Cause>,
    /// Paths of fields the schema does not know (pruned from the object).
    pub unknown: Vec<String>,
}

/// How a schema reads.
#[derive(Debug, Clone, Copy)]
pub enum Dialect<'a> {
    /// A CRD's structural schema: an object schema without properties keeps no fields.
    Structural,
    /// A built-in kind's OpenAPI definitions (`$ref`s into them): type errors are worded as the
    /// server's JSON decoder words them, an object schema without properties is any object.
    OpenApi(&'a Map<String, Value>),
}

/// Validate `object` in place (unknown fields are removed) against a CRD's schema.
pub fn validate(object: &mut Value, schema: &Value) -> Findings {
    validate_as(object, schema, Dialect::Structural)
}

/// Validate `object` in place (unknown fields are removed) against the schema, read as `dialect`.
pub fn validate_as(object: &mut Value, schema: &Value, dialect: Dialect<'_>) -> Findings {
    let mut findings = Findings::default();
    let (schema, root_owner) = resolve(schema, dialect);
    let owner = root_owner.unwrap_or("");
    let Some(map) = object.as_object_mut() else {
        findings.errors.push(Cause {
            reason: "FieldValueInvalid",
            message: "must be an object".into(),
            field: "<root>".into(),
        });
        return findings;
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    let preserve = preserves_unknown(schema);
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match properties.and_then(|p| p.get(&key)) {
            Some(child_schema) => {
                let value = map.get_mut(&key).expect("key listed above");
                let at = Place {
                    path: &key,
                    owner,
                    dialect,
                };
                check(value, child_schema, at, &mut findings);
            }
            None if preserve => {}
            None => {
                map.remove(&key);
                findings.unknown.push(key);
            }
        }
    }
    required(map, schema, "", dialect, &mut findings);
    findings
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        Value::Object(_) => "\"object\"".into(),
        Value::Array(_) => "\"array\"".into(),
        other => other.to_string(),
    }
}

/// Follow `$ref`s (and the `allOf` of one that carries a description) to the definition; its
/// short name (`ContainerPort`) when there was one.
fn resolve<'s>(schema: &'s Value, dialect: Dialect<'s>) -> (&'s Value, Option<&'s str>) {
    let Dialect::OpenApi(definitions) = dialect else {
        return (schema, None);
    };
    let mut node = schema;
    let mut name = None;
    for _ in 0..8 {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let full = reference
                .strip_prefix(crate::builtin_schemas::REF_PREFIX)
                .unwrap_or(reference);
            match definitions.get(full) {
                Some(definition) => {
                    name = full.rsplit('.').next();
                    node = definition;
                }
                None => break,
            }
        } else if let Some([only]) = node
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            node = only;
        } else {
            break;
        }
    }
    (node, name)
}

/// Where a value is: its field path, the struct (definition) holding it, the dialect.
#[derive(Clone, Copy)]
struct Place<'p> {
    path: &'p str,
    owner: &'p str,
    dialect: Dialect<'p>,
}

/// A field path as Go's JSON decoder prints it: `spec.template.spec.containers.ports.containerPort`.
fn without_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '[' => skipping = true,
            ']' => skipping = false,
            c if !skipping => out.push(c),
            _ => {}
        }
    }
    out
}

/// The Go type a schema decodes into, as the decoder names it (`int32`, `[]v1.Container`).
fn go_type(schema: &Value, dialect: Dialect<'_>) -> String {
    let (schema, name) = resolve(schema, dialect);
    if let Some(name) = name
        && schema.get("properties").is_some()
    {
        return format!("v1.{name}");
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => match schema.get("format").and_then(Value::as_str) {
            Some("int32") => "int32".into(),
            Some("int64") => "int64".into(),
            _ => "int".into(),
        },
        Some("number") => "float64".into(),
        Some("boolean") => "bool".into(),
        Some("string") => "string".into(),
        Some("array") => match schema.get("items") {
            Some(items) => format!("[]{}", go_type(items, dialect)),
            None => "[]interface {}".into(),
        },
        Some("object") => match schema.get("additionalProperties").filter(|a| a.is_object()) {
            Some(values) => format!("map[string]{}", go_type(values, dialect)),
            None => "map[string]interface {}".into(),
        },
        _ => "interface {}".into(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

fn type_error(value: &Value, schema: &Value, expected: &str, at: Place<'_>) -> Cause {
    let path = at.path;
    let message = match at.dialect {
        Dialect::Structural => format!(
            "Invalid value: {}: {path} in body must be of type {expected}: \"{}\"",
            display(value),
            type_name(value)
        ),
        Dialect::OpenApi(_) => format!(
            "json: cannot unmarshal {} into Go struct field {}.{} of type {}",
            json_kind(value),
            at.owner,
            without_indices(path),
            go_type(schema, at.dialect)
        ),
    };
    Cause {
        reason: "FieldValueTypeInvalid",
        message,
        field: path.to_string(),
    }
}

fn check(value: &mut Value, schema: &Value, at: Place<'_>, findings: &mut Findings) {
    let original = schema;
    let (schema, name) = resolve(schema, at.dialect);
    let path = at.path;
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true)
            && schema.get("type").is_some()
        {
            // The real server drops nulls for non-nullable fields during pruning/defaulting.
        }
        return;
    }
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let fits = actual == expected
            || (expected == "number" && actual == "integer")
            || (int_or_string && matches!(actual, "integer" | "string"));
        if !fits {
            findings
                .errors
                .push(type_error(value, original, expected, at));
            return;
        }
    } else if int_or_string {
        // A built-in's quantities are int-or-string too, and take any number.
        let numbers = matches!(at.dialect, Dialect::OpenApi(_));
        let fits = match type_name(value) {
            "integer" | "string" => true,
            "number" => numbers,
            _ => false,
        };
        if !fits {
            let mut cause = type_error(value, original, "integer or string", at);
            if matches!(at.dialect, Dialect::Structural) {
                cause.message = format!(
                    "Invalid value: {}: {path} in body must be of type integer or string",
                    display(value)
                );
            }
            findings.errors.push(cause);
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let listing: Vec<String> = allowed.iter().map(display).collect();
        findings.errors.push(Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {}: supported values: {}",
                display(value),
                listing.join(", ")
            ),
            field: path.to_string(),
        });
    }
    match value {
        Value::Object(map) => {
            let embedded = schema
                .get("x-kubernetes-embedded-resource")
                .and_then(Value::as_bool)
                == Some(true);
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let preserve = preserves_unknown(schema)
                || schema.get("additionalProperties") == Some(&Value::Bool(true));
            // An OpenAPI object schema with neither properties nor additionalProperties is any object.
            let open = matches!(at.dialect, Dialect::OpenApi(_))
                && properties.is_none()
                && additional.is_none();
            let owner = name.unwrap_or(at.owner);
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_schema = properties.and_then(|p| p.get(&key)).or(additional);
                match child_schema {
                    Some(child_schema) => {
                        let child = map.get_mut(&key).expect("key listed above");
                        let child_path = join(path, &key);
                        let child_at = Place {
                            path: &child_path,
                            owner,
                            dialect: at.dialect,
                        };
                        check(child, child_schema, child_at, findings);
                    }
                    None if open
                        || preserve
                        || properties.is_none() && schema.get("type").is_none() => {}
                    None => {
                        map.remove(&key);
                        findings.unknown.push(join(path, &key));
                    }
                }
            }
            required(map, schema, path, at.dialect, findings);
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    let item_at = Place {
                        path: &item_path,
                        ..at
                    };
                    check(item, item_schema, item_at, findings);
                }
            }
        }
        _ => {}
    }
}

/// Required fields that are missing. A built-in's decoder turns a missing field into Go's zero
/// value and its validation cannot tell them apart: there a zero (0, "", []) is missing too.
fn required(
    map: &serde_json::Map<String, Value>,
    schema: &Value,
    path: &str,
    dialect: Dialect<'_>,
    findings: &mut Findings,
) {
    let zero = |value: &Value| match value {
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            let missing = match map.get(name) {
                None => true,
                Some(value) => matches!(dialect, Dialect::OpenApi(_)) && zero(value),
            };
            if missing {
                findings.errors.push(Cause {
                    reason: "FieldValueRequired",
                    message: "Required value".into(),
                    field: join(path, name),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer"},
                "mode": {"type": "string", "enum": ["Always", "Halted"]},
                "port": {"x-kubernetes-int-or-string": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}}}},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})
    }

    #[test]
    fn errors_name_the_field_path() {
        let mut object = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"size": "big", "mode": "Sometimes", "items": [{"n": 1}, {"n": "two"}]}});
        let findings = validate(&mut object, &schema());
        let fields: Vec<(&str, &str)> = findings
            .errors
            .iter()
            .map(|c| (c.field.as_str(), c.reason))
            .collect();
        assert!(
            fields.contains(&("spec.size", "FieldValueTypeInvalid")),
            "{fields:?}"
        );
        assert!(fields.contains(&("spec.mode", "FieldValueNotSupported")));
        assert!(fields.contains(&("spec.items[1].n", "FieldValueTypeInvalid")));
        let mut missing = json!({"spec": {}});
        let findings = validate(&mut missing, &schema());
        assert_eq!(findings.errors[0].field, "spec.size");
        assert_eq!(findings.errors[0].message, "Required value");
    }

    #[test]
    fn unknown_fields_are_pruned_unless_preserved() {
        let mut object = json!({"spec": {"size": 1, "port": "http", "bogus": 1, "labels": {"a": "b"},
            "free": {"anything": [1]}}, "extra": true});
        let findings = validate(&mut object, &schema());
        assert!(findings.errors.is_empty(), "{:?}", findings.errors);
        assert_eq!(
            findings.unknown,
            vec!["spec.bogus".to_string(), "extra".to_string()]
        );
        assert!(object["spec"].get("bogus").is_none());
        assert_eq!(object["spec"]["free"]["anything"], json!([1]));
    }
}
