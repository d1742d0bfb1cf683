//! Turns a pack's values JSON Schema into form fields (text, numbers, switches, choices, string lists, nested
//! groups, and a JSON editor for anything else), marking required and secret (`x-vmdeck-secret`) fields.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use vmdeck_packs::values::SECRET_KEYWORD;

/// How a field is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "FieldKind.ts")]
pub enum FieldKind {
    Text,
    Integer,
    Number,
    Boolean,
    /// One of `choices` (a schema `enum` of strings).
    Choice,
    /// An array of strings, one per line.
    StringList,
    /// A nested object with its own `fields`.
    Group,
    /// Anything else (maps, arrays of objects), edited as JSON.
    Json,
}

/// One field of a pack's values form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "FormField.ts")]
pub struct FormField {
    /// Property name.
    pub key: String,
    /// Dotted path inside the pack's values, e.g. `server.address`.
    pub path: String,
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
    /// A secret: edited in a password input and kept in the secret store, never in the profile.
    pub secret: bool,
    pub description: Option<String>,
    /// The allowed values of a `choice` field.
    pub choices: Vec<String>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// The fields of a `group`.
    pub fields: Vec<FormField>,
}

/// The form for a values schema (its top-level object's properties, in schema order).
pub fn form_fields(schema: &Value) -> Vec<FormField> {
    fields_of(schema, "")
}

fn fields_of(schema: &Value, prefix: &str) -> Vec<FormField> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(key, sub)| {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            field(key, sub, path, required.contains(&key.as_str()))
        })
        .collect()
}

/// The schema's type, skipping `null` in a type list.
fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

fn field(key: &str, schema: &Value, path: String, required: bool) -> FormField {
    let secret = schema.get(SECRET_KEYWORD).and_then(Value::as_bool) == Some(true);
    let enum_values = schema.get("enum").and_then(Value::as_array);
    let choices: Vec<String> = enum_values
        .map(|values| {
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let kind = if secret {
        FieldKind::Text
    } else if let Some(values) = enum_values {
        if values.len() == choices.len() {
            FieldKind::Choice
        } else {
            FieldKind::Json
        }
    } else {
        match type_of(schema) {
            Some("string") => FieldKind::Text,
            Some("integer") => FieldKind::Integer,
            Some("number") => FieldKind::Number,
            Some("boolean") => FieldKind::Boolean,
            Some("array") if is_plain_string(schema.get("items")) => FieldKind::StringList,
            Some("object") if is_group(schema) => FieldKind::Group,
            _ => FieldKind::Json,
        }
    };
    let fields = if kind == FieldKind::Group {
        fields_of(schema, &path)
    } else {
        Vec::new()
    };
    FormField {
        key: key.to_string(),
        label: schema
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| label_of(key)),
        path,
        kind,
        required,
        secret,
        description: schema
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        choices,
        minimum: schema.get("minimum").and_then(Value::as_f64),
        maximum: schema.get("maximum").and_then(Value::as_f64),
        fields,
    }
}

fn is_plain_string(items: Option<&Value>) -> bool {
    items.is_some_and(|items| type_of(items) == Some("string") && items.get("enum").is_none())
}

/// An object with named properties and no free-form keys.
fn is_group(schema: &Value) -> bool {
    let has_properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    let free_form = schema
        .get("additionalProperties")
        .is_some_and(Value::is_object);
    has_properties && !free_form
}

/// `imagePullPolicy` -> `Image pull policy`.
fn label_of(key: &str) -> String {
    let mut label = String::new();
    for (i, c) in key.chars().enumerate() {
        if i == 0 {
            label.extend(c.to_uppercase());
        } else if c.is_uppercase() {
            label.push(' ');
            label.extend(c.to_lowercase());
        } else if c == '_' || c == '-' {
            label.push(' ');
        } else {
            label.push(c);
        }
    }
    label
}

/// The field at a dotted path (`server.address`) in a form, looking into nested groups.
pub fn find_field<'f>(fields: &'f [FormField], path: &str) -> Option<&'f FormField> {
    fields.iter().find_map(|f| {
        if f.path == path {
            Some(f)
        } else if path.starts_with(&format!("{}.", f.path)) {
            find_field(&f.fields, path)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find<'f>(fields: &'f [FormField], path: &str) -> &'f FormField {
        find_field(fields, path).unwrap_or_else(|| panic!("no field {path}"))
    }

    #[test]
    fn every_supported_kind_is_recognised_with_required_and_secret_marks() {
        let schema = json!({
            "type": "object",
            "required": ["name", "server"],
            "properties": {
                "name": {"type": "string", "description": "The name."},
                "count": {"type": "integer", "minimum": 1, "maximum": 9},
                "ratio": {"type": ["number", "null"]},
                "on": {"type": "boolean"},
                "mode": {"enum": ["a", "b", ""]},
                "mixed": {"enum": ["a", 1]},
                "users": {"type": "array", "items": {"type": "string"}},
                "rules": {"type": "array", "items": {"type": "object"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "token": {"type": "string", "x-vmdeck-secret": true},
                "server": {
                    "type": "object",
                    "required": ["address"],
                    "properties": {"address": {"type": "string", "title": "Server host"}}
                }
            }
        });
        let fields = form_fields(&schema);
        let kind = |p: &str| find(&fields, p).kind;
        assert_eq!(kind("name"), FieldKind::Text);
        assert_eq!(kind("count"), FieldKind::Integer);
        assert_eq!(kind("ratio"), FieldKind::Number);
        assert_eq!(kind("on"), FieldKind::Boolean);
        assert_eq!(kind("mode"), FieldKind::Choice);
        assert_eq!(find(&fields, "mode").choices, vec!["a", "b", ""]);
        assert_eq!(kind("mixed"), FieldKind::Json);
        assert_eq!(kind("users"), FieldKind::StringList);
        assert_eq!(kind("rules"), FieldKind::Json);
        assert_eq!(kind("labels"), FieldKind::Json);
        assert_eq!(kind("server"), FieldKind::Group);
        let count = find(&fields, "count");
        assert_eq!((count.minimum, count.maximum), (Some(1.0), Some(9.0)));
        let token = find(&fields, "token");
        assert!(token.secret && !token.required);
        assert!(find(&fields, "name").required);
        assert_eq!(
            find(&fields, "name").description.as_deref(),
            Some("The name.")
        );
        let address = find(&fields, "server.address");
        assert!(address.required);
        assert_eq!(address.label, "Server host");
    }

    #[test]
    fn labels_come_from_camel_case_keys() {
        assert_eq!(label_of("imagePullPolicy"), "Image pull policy");
        assert_eq!(label_of("cluster_id"), "Cluster id");
        assert_eq!(label_of("x"), "X");
    }

    #[test]
    fn a_schema_without_properties_gives_no_fields() {
        assert!(form_fields(&json!({"type": "object"})).is_empty());
        assert!(form_fields(&json!(true)).is_empty());
    }
}
