//! Field sets: which fields of an object a manager owns, in the `FieldsV1` shape of
//! `metadata.managedFields` (`f:` fields, `k:` list items by key, `v:` set values, `.` the item itself).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::list_types::{ListSemantics, ListType, item_key};

/// A tree of owned fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSet {
    /// `.`: the node itself (a list item) is owned.
    pub member: bool,
    pub children: BTreeMap<String, FieldSet>,
}

/// A path of FieldsV1 elements, e.g. `["f:spec", "f:containers", "k:{\"name\":\"web\"}", "f:image"]`.
pub type FieldPath = Vec<String>;

/// Metadata fields the server owns; never part of a manager's set.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

impl FieldSet {
    /// The fields an object sets, leaving out what the server owns (`apiVersion`, `kind`, identity metadata)
    /// and, when `skip_status`, the status.
    pub fn from_object(object: &Value, semantics: ListSemantics<'_>, skip_status: bool) -> Self {
        let mut set = FieldSet::default();
        let Some(map) = object.as_object() else {
            return set;
        };
        for (key, value) in map {
            match key.as_str() {
                "apiVersion" | "kind" => continue,
                "status" if skip_status => continue,
                "metadata" => {
                    let Some(meta) = value.as_object() else {
                        continue;
                    };
                    let mut meta_set = FieldSet::default();
                    for (mk, mv) in meta {
                        if SERVER_METADATA.contains(&mk.as_str()) {
                            continue;
                        }
                        meta_set.children.insert(
                            format!("f:{mk}"),
                            build(mv, semantics, &mut vec!["metadata", mk]),
                        );
                    }
                    if !meta_set.children.is_empty() {
                        set.children.insert("f:metadata".into(), meta_set);
                    }
                }
                _ => {
                    set.children.insert(
                        format!("f:{key}"),
                        build(value, semantics, &mut vec![key.as_str()]),
                    );
                }
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        if self.member {
            map.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, child) in &self.children {
            map.insert(k.clone(), child.to_json());
        }
        Value::Object(map)
    }

    pub fn from_json(value: &Value) -> Self {
        let mut set = FieldSet::default();
        if let Some(map) = value.as_object() {
            for (k, v) in map {
                if k == "." {
                    set.member = true;
                } else {
                    set.children.insert(k.clone(), FieldSet::from_json(v));
                }
            }
        }
        set
    }

    /// Owned leaves (fields with a value) — the units that can conflict.
    pub fn leaves(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.walk(&mut Vec::new(), &mut |path, node| {
            if node.children.is_empty() {
                out.push(path.to_vec());
            }
        });
        out
    }

    /// Leaves plus owned list items: everything removal is decided on.
    pub fn owned_paths(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.walk(&mut Vec::new(), &mut |path, node| {
            if node.children.is_empty() || node.member {
                out.push(path.to_vec());
            }
        });
        out
    }

    fn walk(&self, path: &mut FieldPath, visit: &mut impl FnMut(&[String], &FieldSet)) {
        for (k, child) in &self.children {
            path.push(k.clone());
            visit(path, child);
            child.walk(path, visit);
            path.pop();
        }
    }

    fn node(&self, path: &[String]) -> Option<&FieldSet> {
        let mut node = self;
        for step in path {
            node = node.children.get(step)?;
        }
        Some(node)
    }

    /// Does the set own exactly this leaf or item?
    pub fn owns(&self, path: &[String]) -> bool {
        self.node(path)
            .is_some_and(|n| n.children.is_empty() || n.member)
    }

    /// Does the set own this path or anything below it?
    pub fn touches(&self, path: &[String]) -> bool {
        self.node(path).is_some()
    }

    /// Drop a path (and whatever is below it), pruning emptied parents.
    pub fn remove(&mut self, path: &[String]) {
        fn go(node: &mut FieldSet, path: &[String]) -> bool {
            match path {
                [] => true,
                [last] => {
                    node.children.remove(last);
                    node.children.is_empty() && !node.member
                }
                [first, rest @ ..] => {
                    if let Some(child) = node.children.get_mut(first)
                        && go(child, rest)
                    {
                        node.children.remove(first);
                    }
                    node.children.is_empty() && !node.member
                }
            }
        }
        go(self, path);
    }

    /// Add a path as an owned leaf or item.
    pub fn insert(&mut self, path: &[String], member: bool) {
        let mut node = self;
        for step in path {
            node = node.children.entry(step.clone()).or_default();
        }
        if member {
            node.member = true;
        }
    }

    pub fn union(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (k, child) in &other.children {
            self.children.entry(k.clone()).or_default().union(child);
        }
    }
}

fn build<'v>(value: &'v Value, semantics: ListSemantics<'_>, path: &mut Vec<&'v str>) -> FieldSet {
    let mut set = FieldSet::default();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.as_str());
                let child = build(v, semantics, path);
                path.pop();
                set.children.insert(format!("f:{k}"), child);
            }
        }
        Value::Array(items) => match semantics.list_type(path) {
            ListType::Atomic => {}
            ListType::Set => {
                for item in items {
                    set.children
                        .insert(format!("v:{item}"), FieldSet::default());
                }
            }
            ListType::Map(keys) => {
                for item in items {
                    let Some(key) = item_key(item, &keys) else {
                        continue;
                    };
                    let mut child = build(item, semantics, path);
                    child.member = true;
                    set.children
                        .insert(format!("k:{}", Value::Object(key)), child);
                }
            }
        },
        _ => {}
    }
    set
}

/// Find the value at a field path inside an object.
pub fn lookup<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut node = value;
    for step in path {
        node = step_into(node, step)?;
    }
    Some(node)
}

fn step_into<'v>(node: &'v Value, step: &str) -> Option<&'v Value> {
    if let Some(field) = step.strip_prefix("f:") {
        return node.get(field);
    }
    let items = node.as_array()?;
    if let Some(key) = step.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).ok()?;
        return items.iter().find(|item| item_matches(item, &key));
    }
    if let Some(wanted) = step.strip_prefix("v:") {
        let wanted: Value = serde_json::from_str(wanted).ok()?;
        return items.iter().find(|item| **item == wanted);
    }
    if let Some(index) = step.strip_prefix("i:") {
        return items.get(index.parse::<usize>().ok()?);
    }
    None
}

fn item_matches(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, v)| match item.get(k) {
        Some(actual) => actual == v,
        None => k == "protocol" && v == "TCP",
    })
}

/// Remove the value at a field path. Returns whether something was removed.
pub fn remove_at(value: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for step in parents {
        let next = match step_index(node, step) {
            Some(Step::Field(f)) => node.get_mut(&f),
            Some(Step::Index(i)) => node.get_mut(i),
            None => None,
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    match step_index(node, last) {
        Some(Step::Field(f)) => node.as_object_mut().and_then(|m| m.remove(&f)).is_some(),
        Some(Step::Index(i)) => node.as_array_mut().map(|a| a.remove(i)).is_some(),
        None => false,
    }
}

enum Step {
    Field(String),
    Index(usize),
}

fn step_index(node: &Value, step: &str) -> Option<Step> {
    if let Some(field) = step.strip_prefix("f:") {
        return Some(Step::Field(field.to_string()));
    }
    let items = node.as_array()?;
    if let Some(key) = step.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).ok()?;
        return items
            .iter()
            .position(|item| item_matches(item, &key))
            .map(Step::Index);
    }
    if let Some(wanted) = step.strip_prefix("v:") {
        let wanted: Value = serde_json::from_str(wanted).ok()?;
        return items
            .iter()
            .position(|item| *item == wanted)
            .map(Step::Index);
    }
    step.strip_prefix("i:")
        .and_then(|i| i.parse().ok())
        .map(Step::Index)
}

/// A field path as the real server prints it in conflicts: `.spec.containers[name="web"].image`.
pub fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for step in path {
        if let Some(field) = step.strip_prefix("f:") {
            out.push('.');
            out.push_str(field);
        } else if let Some(key) = step.strip_prefix("k:") {
            let parsed: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
            let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(value) = step.strip_prefix("v:") {
            out.push_str(&format!("[={value}]"));
        } else {
            out.push_str(&format!("[{step}]"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "uid": "u"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}], "args": ["a", "b"]}]}}},
            "status": {"replicas": 2}})
    }

    #[test]
    fn fields_v1_shape_matches_the_real_server() {
        let set = FieldSet::from_object(&deployment(), ListSemantics::builtin(), true);
        let json = set.to_json();
        assert_eq!(json["f:metadata"], json!({"f:labels": {"f:app": {}}}));
        let container =
            &json["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"];
        assert_eq!(container["."], json!({}));
        assert_eq!(container["f:args"], json!({}));
        assert!(container["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"].is_object());
        assert!(json.get("f:status").is_none());
        assert_eq!(FieldSet::from_json(&json), set);
    }

    #[test]
    fn lookup_and_remove_follow_keys() {
        let mut object = deployment();
        let path: FieldPath = [
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            "k:{\"name\":\"web\"}",
            "f:image",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(lookup(&object, &path), Some(&json!("nginx")));
        assert_eq!(
            display_path(&path),
            ".spec.template.spec.containers[name=\"web\"].image"
        );
        assert!(remove_at(&mut object, &path));
        assert_eq!(lookup(&object, &path), None);
    }

    #[test]
    fn remove_prunes_empty_parents() {
        let mut set = FieldSet::from_object(
            &json!({"metadata": {"labels": {"a": "1"}}}),
            ListSemantics::builtin(),
            false,
        );
        set.remove(&[
            "f:metadata".to_string(),
            "f:labels".to_string(),
            "f:a".to_string(),
        ]);
        assert!(set.is_empty());
    }
}
