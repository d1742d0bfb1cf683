//! What a person reviews before an apply: the live object against the object after the apply,
//! with the fields the server keeps for itself stripped and Secret data masked, as a unified diff
//! of YAML.

use serde_json::{Map, Value};
use similar::TextDiff;

/// Fields that change on every write or belong to the server, never worth reviewing.
const SERVER_METADATA: [&str; 6] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
];

/// The object as a reviewer compares it: no server metadata, no status.
pub fn reviewable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(fields) = object.as_object_mut() {
        fields.remove("status");
        if let Some(metadata) = fields.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in SERVER_METADATA {
                metadata.remove(field);
            }
            let no_annotations = metadata
                .get("annotations")
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty);
            if no_annotations {
                metadata.remove("annotations");
            }
        }
    }
    object
}

fn is_secret(object: &Value) -> bool {
    object.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && object.get("kind").and_then(Value::as_str) == Some("Secret")
}

/// Replaces Secret values in both sides: `***` where they agree, `*** (before)` and
/// `*** (after)` where they differ, so the diff shows which keys change and never what they hold.
pub fn mask_secrets(mut before: Option<&mut Value>, mut after: Option<&mut Value>) {
    if !before.as_deref().is_some_and(is_secret) && !after.as_deref().is_some_and(is_secret) {
        return;
    }
    for field in ["data", "stringData"] {
        let old = values(before.as_deref(), field);
        let new = values(after.as_deref(), field);
        if let Some(map) = before.as_deref_mut().and_then(|b| b.get_mut(field)) {
            *map = masked(&old, &new, "before");
        }
        if let Some(map) = after.as_deref_mut().and_then(|a| a.get_mut(field)) {
            *map = masked(&new, &old, "after");
        }
    }
}

fn values(object: Option<&Value>, field: &str) -> Map<String, Value> {
    object
        .and_then(|o| o.get(field))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn masked(side: &Map<String, Value>, other: &Map<String, Value>, label: &str) -> Value {
    side.iter()
        .map(|(key, value)| {
            let shown = if other.get(key) == Some(value) {
                "***".to_string()
            } else {
                format!("*** ({label})")
            };
            (key.clone(), Value::String(shown))
        })
        .collect::<Map<String, Value>>()
        .into()
}

/// A unified diff of two objects' YAML (`None` for absent); empty when they are equal.
pub fn unified(before: Option<&Value>, after: Option<&Value>) -> String {
    let yaml = |object: Option<&Value>| {
        object.map_or_else(String::new, |o| {
            serde_yaml_ng::to_string(o).unwrap_or_else(|_| o.to_string())
        })
    };
    let (old, new) = (yaml(before), yaml(after));
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("live", "after apply")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_and_status_are_not_reviewed() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "uid": "u", "resourceVersion": "7", "generation": 2,
                "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{}], "labels": {"x": "y"}},
            "data": {"k": "v"}, "status": {"phase": "on"}});
        assert_eq!(
            reviewable(&live),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn secret_values_never_show_but_changed_keys_do() {
        let mut live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"same": "c2FtZQ==", "changed": "b2xk", "dropped": "eA=="}});
        let mut after = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"same": "c2FtZQ==", "changed": "bmV3"}, "stringData": {"plain": "hunter2"}});
        mask_secrets(Some(&mut live), Some(&mut after));
        let diff = unified(Some(&live), Some(&after));
        for secret in ["c2FtZQ==", "b2xk", "bmV3", "eA==", "hunter2"] {
            assert!(!diff.contains(secret), "{secret} leaked:\n{diff}");
        }
        assert!(diff.contains("-  changed: '*** (before)'"), "{diff}");
        assert!(diff.contains("+  changed: '*** (after)'"), "{diff}");
        assert!(diff.contains("   same: '***'"), "{diff}");
        assert!(diff.contains("-  dropped: '*** (before)'"), "{diff}");
        assert!(diff.contains("+  plain: '*** (after)'"), "{diff}");
    }

    #[test]
    fn equal_objects_have_no_diff_and_creates_diff_from_nothing() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        assert_eq!(unified(Some(&object), Some(&object)), "");
        let created = unified(None, Some(&object));
        assert!(created.contains("+kind: ConfigMap"), "{created}");
        assert!(
            created.starts_with("--- live\n+++ after apply\n"),
            "{created}"
        );
    }
}
