//! Merging one object into another: the structural merge of server-side apply and the
//! strategic merge patch of built-in kinds (with its `$patch`, `$retainKeys`,
//! `$setElementOrder` and `$deleteFromPrimitiveList` directives).

use serde_json::{Map, Value};

use crate::list_types::{ListSemantics, ListType, item_key};

/// What makes a strategic merge patch malformed (the messages are what the API server answers).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    #[error("unknown patch type: {0} in map")]
    UnknownPatchType(String),
    #[error("{0} must be a list")]
    NotAList(String),
    #[error("map: {item} does not contain declared merge key: {}", keys.join(","))]
    MissingMergeKey { item: Value, keys: Vec<String> },
}

fn as_refs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// Merge an applied configuration into the live object: maps recursively, keyed lists by key,
/// sets by value, everything else replaced.
pub fn apply_merge(target: &mut Value, applied: &Value, semantics: ListSemantics<'_>) {
    merge_value(target, applied, semantics, &mut Vec::new());
}

fn merge_value(
    target: &mut Value,
    applied: &Value,
    semantics: ListSemantics<'_>,
    path: &mut Vec<String>,
) {
    match (target.as_object_mut(), applied.as_object()) {
        (Some(live), Some(fields)) => {
            for (key, value) in fields {
                if value.is_null() {
                    live.remove(key);
                    continue;
                }
                path.push(key.clone());
                match live.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge_value(existing, value, semantics, path)
                    }
                    Some(existing) if existing.is_array() && value.is_array() => {
                        merge_list(existing, value, semantics, path)
                    }
                    _ => {
                        live.insert(key.clone(), value.clone());
                    }
                }
                path.pop();
            }
        }
        _ => *target = applied.clone(),
    }
}

fn merge_list(
    target: &mut Value,
    applied: &Value,
    semantics: ListSemantics<'_>,
    path: &mut Vec<String>,
) {
    let (Some(live), Some(items)) = (target.as_array_mut(), applied.as_array()) else {
        return;
    };
    match semantics.list_type(&as_refs(path)) {
        ListType::Atomic => *live = items.clone(),
        ListType::Set => {
            for item in items {
                if !live.contains(item) {
                    live.push(item.clone());
                }
            }
        }
        ListType::Map(keys) => {
            for item in items {
                let key = item_key(item, &keys);
                match live
                    .iter_mut()
                    .find(|l| key.is_some() && item_key(l, &keys) == key)
                {
                    Some(existing) => merge_value(existing, item, semantics, path),
                    None => live.push(item.clone()),
                }
            }
        }
    }
}

/// Apply a strategic merge patch. Errors name what was malformed.
pub fn strategic_merge(
    target: &mut Value,
    patch: &Value,
    semantics: ListSemantics<'_>,
) -> Result<(), MergeError> {
    smp_value(target, patch, semantics, &mut Vec::new())
}

/// A patch value with every `$` directive taken out (what gets stored when it replaces a field).
fn without_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), without_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("delete"))
                .map(without_directives)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn smp_value(
    target: &mut Value,
    patch: &Value,
    semantics: ListSemantics<'_>,
    path: &mut Vec<String>,
) -> Result<(), MergeError> {
    let Some(fields) = patch.as_object() else {
        *target = patch.clone();
        return Ok(());
    };
    match fields.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = without_directives(patch);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(MergeError::UnknownPatchType(other.to_string())),
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let mut orders: Vec<(String, Vec<Value>)> = Vec::new();
    for (key, value) in fields {
        if let Some(field) = key.strip_prefix("$setElementOrder/") {
            let order = value
                .as_array()
                .ok_or_else(|| MergeError::NotAList(key.clone()))?
                .clone();
            orders.push((field.to_string(), order));
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let doomed = value
                .as_array()
                .ok_or_else(|| MergeError::NotAList(key.clone()))?;
            if let Some(list) = target.get_mut(field).and_then(Value::as_array_mut) {
                list.retain(|v| !doomed.contains(v));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        let live = target.as_object_mut().expect("made an object above");
        if value.is_null() || value.get("$patch").and_then(Value::as_str) == Some("delete") {
            live.remove(key);
            continue;
        }
        path.push(key.clone());
        match (live.get_mut(key), value) {
            (Some(existing), Value::Object(_)) if existing.is_object() => {
                smp_value(existing, value, semantics, path)?
            }
            (Some(existing), Value::Array(items)) if existing.is_array() => {
                smp_list(existing, items, semantics, path)?
            }
            _ => {
                live.insert(key.clone(), without_directives(value));
            }
        }
        path.pop();
    }
    if let Some(retain) = fields.get("$retainKeys") {
        let keep: Vec<&str> = retain
            .as_array()
            .ok_or_else(|| MergeError::NotAList("$retainKeys".into()))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if let Some(live) = target.as_object_mut() {
            live.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    for (field, order) in orders {
        path.push(field.clone());
        let list_type = semantics.list_type(&as_refs(path));
        path.pop();
        if let Some(list) = target.get_mut(&field).and_then(Value::as_array_mut) {
            reorder(list, &order, &list_type);
        }
    }
    Ok(())
}

fn smp_list(
    target: &mut Value,
    items: &[Value],
    semantics: ListSemantics<'_>,
    path: &mut Vec<String>,
) -> Result<(), MergeError> {
    let live = target.as_array_mut().expect("checked by caller");
    match semantics.list_type(&as_refs(path)) {
        ListType::Atomic => *live = items.iter().map(without_directives).collect(),
        ListType::Set => {
            for item in items {
                if !live.contains(item) {
                    live.push(item.clone());
                }
            }
        }
        ListType::Map(keys) => {
            if items
                .iter()
                .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
            {
                *live = items
                    .iter()
                    .filter(|i| i.get("$patch").is_none())
                    .map(without_directives)
                    .collect();
                return Ok(());
            }
            for item in items {
                let key = item_key(item, &keys).ok_or_else(|| MergeError::MissingMergeKey {
                    item: item.clone(),
                    keys: keys.clone(),
                })?;
                let position = live
                    .iter()
                    .position(|l| item_key(l, &keys).as_ref() == Some(&key));
                match (position, item.get("$patch").and_then(Value::as_str)) {
                    (Some(i), Some("delete")) => {
                        live.remove(i);
                    }
                    (None, Some("delete")) => {}
                    (Some(i), _) => smp_value(&mut live[i], item, semantics, path)?,
                    (None, _) => live.push(without_directives(item)),
                }
            }
        }
    }
    Ok(())
}

/// Put list items in the order `$setElementOrder` gives; items it does not name keep their place after.
fn reorder(list: &mut Vec<Value>, order: &[Value], list_type: &ListType) {
    let position = |item: &Value| -> Option<usize> {
        match list_type {
            ListType::Map(keys) => {
                let key = item_key(item, keys)?;
                order
                    .iter()
                    .position(|o| item_key(o, keys).as_ref() == Some(&key))
            }
            _ => order.iter().position(|o| o == item),
        }
    };
    let mut indexed: Vec<(usize, usize, Value)> = list
        .drain(..)
        .enumerate()
        .map(|(i, v)| (position(&v).unwrap_or(usize::MAX), i, v))
        .collect();
    indexed.sort_by_key(|(p, i, _)| (*p, *i));
    list.extend(indexed.into_iter().map(|(_, _, v)| v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_by_container_name() {
        let mut live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "b:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "a:2", "env": [{"name": "Y", "value": "2"}]},
                           {"name": "b", "$patch": "delete"}]}}}});
        strategic_merge(&mut live, &patch, ListSemantics::builtin()).unwrap();
        let containers = &live["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().unwrap().len(), 1);
        assert_eq!(containers[0]["image"], "a:2");
        assert_eq!(containers[0]["env"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn strategic_merge_directives() {
        let mut live = json!({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1", "y": "2"}},
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "labels": {"y": null}},
            "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        strategic_merge(&mut live, &patch, ListSemantics::builtin()).unwrap();
        assert_eq!(live["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(live["metadata"]["labels"], json!({"x": "1"}));
        assert_eq!(live["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn strategic_merge_requires_merge_keys() {
        let mut live = json!({"spec": {"containers": []}});
        let err = strategic_merge(
            &mut live,
            &json!({"spec": {"containers": [{"image": "x"}]}}),
            ListSemantics::builtin(),
        );
        let err = err.unwrap_err();
        assert_eq!(
            err,
            MergeError::MissingMergeKey {
                item: json!({"image": "x"}),
                keys: vec!["name".into()],
            }
        );
        assert_eq!(
            err.to_string(),
            r#"map: {"image":"x"} does not contain declared merge key: name"#
        );
    }

    #[test]
    fn malformed_directives_are_named() {
        let mut live = json!({"spec": {}});
        let unknown = strategic_merge(
            &mut live,
            &json!({"spec": {"$patch": "frobnicate"}}),
            ListSemantics::builtin(),
        );
        assert_eq!(
            unknown.unwrap_err().to_string(),
            "unknown patch type: frobnicate in map"
        );
        let order = strategic_merge(
            &mut live,
            &json!({"spec": {"$setElementOrder/containers": "a"}}),
            ListSemantics::builtin(),
        );
        assert_eq!(
            order.unwrap_err(),
            MergeError::NotAList("$setElementOrder/containers".into())
        );
        let retain = strategic_merge(
            &mut live,
            &json!({"spec": {"$retainKeys": 1}}),
            ListSemantics::builtin(),
        );
        assert_eq!(
            retain.unwrap_err().to_string(),
            "$retainKeys must be a list"
        );
    }

    #[test]
    fn apply_merge_keeps_other_items_and_replaces_atomic_lists() {
        let mut live =
            json!({"spec": {"containers": [{"name": "a", "args": ["1"]}, {"name": "b"}], "x": 1}});
        apply_merge(
            &mut live,
            &json!({"spec": {"containers": [{"name": "a", "args": ["2", "3"]}]}}),
            ListSemantics::builtin(),
        );
        assert_eq!(live["spec"]["containers"][0]["args"], json!(["2", "3"]));
        assert_eq!(live["spec"]["containers"][1]["name"], "b");
        assert_eq!(live["spec"]["x"], 1);
    }
}
