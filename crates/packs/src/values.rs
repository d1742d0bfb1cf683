//! Pack values: defaults merged with a profile's overrides, checked against the pack's JSON Schema; secret
//! fields (`"x-vmdeck-secret": true` in the schema) never come from a profile.

use serde_json::{Map, Value};

/// The schema keyword marking a secret value.
pub const SECRET_KEYWORD: &str = "x-vmdeck-secret";

/// A schema violation at a path inside the values (`server.address`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueIssue {
    /// Dotted path inside the values, e.g. `server.address` or `bindings[0].role`.
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

/// Objects are merged key by key; anything else in `overrides` replaces the default.
pub fn merge(defaults: &Value, overrides: &Value) -> Value {
    match (defaults, overrides) {
        (Value::Object(base), Value::Object(over)) => {
            let mut out = base.clone();
            for (key, value) in over {
                let merged = match base.get(key) {
                    Some(existing) => merge(existing, value),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (_, over) => over.clone(),
    }
}

/// Paths (as key lists) of every property marked secret in a schema.
pub fn secret_paths(schema: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    collect_secrets(schema, &mut Vec::new(), &mut out);
    out
}

fn collect_secrets(schema: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, sub) in props {
        prefix.push(key.clone());
        if sub.get(SECRET_KEYWORD).and_then(Value::as_bool) == Some(true) {
            out.push(prefix.clone());
        } else {
            collect_secrets(sub, prefix, out);
        }
        prefix.pop();
    }
}

pub fn get_path<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// Set a value, creating objects on the way.
pub fn set_path(value: &mut Value, path: &[String], new: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = value;
    for key in parents {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else { return };
        current = map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    if let Value::Object(map) = current {
        map.insert(last.clone(), new);
    }
}

pub fn dotted(path: &[String]) -> String {
    path.join(".")
}

/// Check values against a schema; every violation is returned with its path.
pub fn check(schema: &Value, values: &Value) -> Vec<ValueIssue> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![ValueIssue {
                path: String::new(),
                code: "values_schema_invalid",
                message: format!("the pack's schema is invalid: {e}"),
            }];
        }
    };
    let mut issues: Vec<ValueIssue> = validator
        .iter_errors(values)
        .flat_map(|error| {
            let mut path = String::new();
            for segment in error.instance_path().iter() {
                match segment {
                    jsonschema::paths::LocationSegment::Property(p) => {
                        path = crate::yaml_locate::join_key(&path, &p)
                    }
                    jsonschema::paths::LocationSegment::Index(i) => {
                        path = crate::yaml_locate::join_index(&path, i)
                    }
                }
            }
            match error.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let name = property
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| property.to_string());
                    vec![ValueIssue {
                        path: crate::yaml_locate::join_key(&path, &name),
                        code: "value_required",
                        message: "required".to_string(),
                    }]
                }
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let known = sibling_settings(schema, error.schema_path().as_str());
                    unexpected
                        .iter()
                        .map(|name| ValueIssue {
                            path: crate::yaml_locate::join_key(&path, name),
                            code: "value_unknown",
                            message: unknown_setting_hint(name, &known),
                        })
                        .collect()
                }
                jsonschema::error::ValidationErrorKind::AnyOf { .. }
                | jsonschema::error::ValidationErrorKind::OneOfNotValid { .. } => {
                    vec![ValueIssue {
                        path,
                        code: "value_invalid",
                        message: alternatives_hint(schema, error.schema_path().as_str()),
                    }]
                }
                // Masked: the message never repeats the value (which may be a secret).
                _ => vec![ValueIssue {
                    path,
                    code: "value_invalid",
                    message: error.masked().to_string(),
                }],
            }
        })
        .collect();
    issues.sort_by(|a, b| a.path.cmp(&b.path));
    issues.dedup();
    issues
}

/// The settings the schema allows beside an `additionalProperties: false` (the `properties` of the
/// object schema at `schema_path` minus its last segment).
fn sibling_settings(schema: &Value, schema_path: &str) -> Vec<String> {
    let object = schema_path
        .rsplit_once('/')
        .map_or("", |(parent, _)| parent);
    schema
        .pointer(object)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// "not a setting of this pack; did you mean `address`? (settings here: address, port, protocol)".
fn unknown_setting_hint(name: &str, known: &[String]) -> String {
    let nearest = known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_else(|| "; remove it or check the spelling".to_string());
    if known.is_empty() {
        format!("not a setting of this pack{nearest}")
    } else {
        format!(
            "not a setting of this pack{nearest} (settings here: {})",
            known.join(", ")
        )
    }
}

/// "set one of: clusterId, subdomain" from the `required` lists of an anyOf/oneOf's branches.
fn alternatives_hint(schema: &Value, schema_path: &str) -> String {
    let names: Vec<String> = schema
        .pointer(schema_path)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|branch| branch.get("required").and_then(Value::as_array))
        .map(|required| {
            required
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .filter(|text| !text.is_empty())
        .collect();
    if names.is_empty() {
        "matches none of the allowed alternatives of the pack's schema".to_string()
    } else {
        format!("set one of: {}", names.join(", "))
    }
}
