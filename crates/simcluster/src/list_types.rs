//! How a list inside an object merges: atomically, as a set, or as a map keyed by some fields.
//! Custom resources say so in their schema (`x-kubernetes-list-type`); built-in kinds follow the
//! merge keys of the Kubernetes types this simulator serves.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// Scalars merged by value.
    Set,
    /// Objects merged by these key fields.
    Map(Vec<String>),
}

/// Answers list types for one kind.
#[derive(Clone, Copy)]
pub struct ListSemantics<'a> {
    schema: Option<&'a Value>,
}

impl<'a> ListSemantics<'a> {
    pub fn builtin() -> Self {
        Self { schema: None }
    }

    pub fn for_schema(schema: Option<&'a Value>) -> Self {
        Self { schema }
    }

    /// The list type at a path of field names (list positions left out), e.g. `["spec", "template", "spec", "containers"]`.
    pub fn list_type(&self, path: &[&str]) -> ListType {
        if path.first() == Some(&"metadata") || self.schema.is_none() {
            return builtin_list_type(path);
        }
        match self.schema.and_then(|s| schema_at(s, path)) {
            Some(node) => match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("map") => ListType::Map(
                    node.get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|keys| {
                            keys.iter()
                                .filter_map(|k| k.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                Some("set") => ListType::Set,
                _ => ListType::Atomic,
            },
            None => ListType::Atomic,
        }
    }
}

/// Walk an openAPIV3Schema along field names; array schemas are stepped through to their items.
fn schema_at<'v>(schema: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut node = schema;
    for name in path {
        while node.get("type").and_then(Value::as_str) == Some("array") {
            node = node.get("items")?;
        }
        node = match node.get("properties").and_then(|p| p.get(*name)) {
            Some(child) => child,
            None => node.get("additionalProperties").filter(|a| a.is_object())?,
        };
    }
    Some(node)
}

fn builtin_list_type(path: &[&str]) -> ListType {
    let keys = |names: &[&str]| ListType::Map(names.iter().map(|s| s.to_string()).collect());
    let Some(last) = path.last() else {
        return ListType::Atomic;
    };
    match *last {
        "finalizers" => ListType::Set,
        "ownerReferences" => keys(&["uid"]),
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "webhooks"
        | "resourceClaims"
        | "envFrom_" => keys(&["name"]),
        "volumeMounts" => keys(&["mountPath"]),
        "volumeDevices" => keys(&["devicePath"]),
        "hostAliases" => keys(&["ip"]),
        "conditions" => keys(&["type"]),
        "ports" if path.iter().any(|p| p.ends_with("ontainers")) => {
            keys(&["containerPort", "protocol"])
        }
        "ports" => keys(&["port", "protocol"]),
        _ => ListType::Atomic,
    }
}

/// The key of a list item for a map-typed list: the key fields as a JSON object with sorted keys.
/// Missing `protocol` defaults to TCP, as the Kubernetes types do.
pub fn item_key(item: &Value, keys: &[String]) -> Option<serde_json::Map<String, Value>> {
    let mut key = serde_json::Map::new();
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    for k in sorted {
        match item.get(k) {
            Some(v) => {
                key.insert(k.clone(), v.clone());
            }
            None if k == "protocol" => {
                key.insert(k.clone(), Value::String("TCP".into()));
            }
            None => return None,
        }
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_merge_keys() {
        let s = ListSemantics::builtin();
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers"]),
            ListType::Map(vec!["name".into()])
        );
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers", "ports"]),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(
            s.list_type(&["spec", "ports"]),
            ListType::Map(vec!["port".into(), "protocol".into()])
        );
        assert_eq!(s.list_type(&["metadata", "finalizers"]), ListType::Set);
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers", "args"]),
            ListType::Atomic
        );
    }

    #[test]
    fn schema_list_types() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                "items": {"type": "object", "properties": {"tags": {"type": "array", "x-kubernetes-list-type": "set"}}}},
            "plain": {"type": "array"}}}}});
        let s = ListSemantics::for_schema(Some(&schema));
        assert_eq!(
            s.list_type(&["spec", "items"]),
            ListType::Map(vec!["id".into()])
        );
        assert_eq!(s.list_type(&["spec", "items", "tags"]), ListType::Set);
        assert_eq!(s.list_type(&["spec", "plain"]), ListType::Atomic);
        assert_eq!(s.list_type(&["spec", "unknown"]), ListType::Atomic);
    }
}
