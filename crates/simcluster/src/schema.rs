//! Checks custom objects against their CRD's openAPIV3Schema (type, required, enum) and prunes
//! unknown fields, with the real server's field paths and messages. CEL rules are not evaluated.

use serde_json::Value;

use crate::status::Cause;

/// What validation found.
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<Cause>,
    /// Paths of fields the schema does not know (pruned from the object).
    pub unknown: Vec<String>,
}

/// Validate `object` in place (unknown fields are removed) against the schema.
pub fn validate(object: &mut Value, schema: &Value) -> Findings {
    let mut findings = Findings::default();
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
                check(value, child_schema, &key, &mut findings);
            }
            None if preserve => {}
            None => {
                map.remove(&key);
                findings.unknown.push(key);
            }
        }
    }
    required(map, schema, "", &mut findings);
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

fn check(value: &mut Value, schema: &Value, path: &str, findings: &mut Findings) {
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
            findings.errors.push(Cause {
                reason: "FieldValueTypeInvalid",
                message: format!(
                    "Invalid value: {}: {path} in body must be of type {expected}: \"{actual}\"",
                    display(value)
                ),
                field: path.to_string(),
            });
            return;
        }
    } else if int_or_string && !matches!(type_name(value), "integer" | "string") {
        findings.errors.push(Cause {
            reason: "FieldValueTypeInvalid",
            message: format!(
                "Invalid value: {}: {path} in body must be of type integer or string",
                display(value)
            ),
            field: path.to_string(),
        });
        return;
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
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_schema = properties.and_then(|p| p.get(&key)).or(additional);
                match child_schema {
                    Some(child_schema) => {
                        let child = map.get_mut(&key).expect("key listed above");
                        check(child, child_schema, &join(path, &key), findings);
                    }
                    None if preserve || properties.is_none() && schema.get("type").is_none() => {}
                    None => {
                        map.remove(&key);
                        findings.unknown.push(join(path, &key));
                    }
                }
            }
            required(map, schema, path, findings);
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), findings);
                }
            }
        }
        _ => {}
    }
}

fn required(
    map: &serde_json::Map<String, Value>,
    schema: &Value,
    path: &str,
    findings: &mut Findings,
) {
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(name) {
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
