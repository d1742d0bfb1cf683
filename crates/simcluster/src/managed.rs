//! `metadata.managedFields` bookkeeping: server-side apply with conflict detection, and the
//! ownership changes ordinary updates make.

use serde_json::{Value, json};

use crate::fieldset::{FieldPath, FieldSet, display_path, lookup, remove_at};
use crate::list_types::ListSemantics;
use crate::merge::apply_merge;

/// Which part of an object a write touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource; `skip_status` when the kind has a status subresource.
    Main { skip_status: bool },
    /// The status subresource.
    Status,
}

impl Scope {
    fn subresource(self) -> Option<&'static str> {
        match self {
            Scope::Main { .. } => None,
            Scope::Status => Some("status"),
        }
    }

    fn fields(self, object: &Value, semantics: ListSemantics<'_>) -> FieldSet {
        match self {
            Scope::Main { skip_status } => FieldSet::from_object(object, semantics, skip_status),
            Scope::Status => match object.get("status") {
                Some(status) => FieldSet::from_object(&json!({"status": status}), semantics, false),
                None => FieldSet::default(),
            },
        }
    }
}

/// One managedFields entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

impl Entry {
    fn is(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }
}

pub fn read_entries(object: &Value) -> Vec<Entry> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| {
                    Some(Entry {
                        manager: e.get("manager")?.as_str()?.to_string(),
                        operation: e
                            .get("operation")
                            .and_then(Value::as_str)
                            .unwrap_or("Update")
                            .to_string(),
                        api_version: e
                            .get("apiVersion")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        time: e
                            .get("time")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        subresource: e
                            .get("subresource")
                            .and_then(Value::as_str)
                            .map(String::from),
                        fields: FieldSet::from_json(e.get("fieldsV1").unwrap_or(&Value::Null)),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Store the entries; empty ones are dropped, except the Apply entry of `applier` (a manager that
/// just applied keeps its entry even when it set no fields of its own).
fn write_entries(object: &mut Value, entries: Vec<Entry>, applier: Option<&str>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| {
            !e.fields.is_empty() || (e.operation == "Apply" && Some(e.manager.as_str()) == applier)
        })
        .map(|e| {
            let mut entry = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": e.fields.to_json(),
            });
            if let Some(sub) = e.subresource {
                entry["subresource"] = json!(sub);
            }
            entry
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Who wrote what, and when.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub now: &'a str,
    pub scope: Scope,
    pub semantics: ListSemantics<'a>,
}

/// Server-side apply of `applied` onto `current` (None: the object is being created).
/// Returns the merged object with its managedFields, or the conflicts as (manager, field path).
pub fn apply(
    current: Option<&Value>,
    applied: &Value,
    writer: &Writer<'_>,
    force: bool,
) -> Result<Value, Vec<(String, String)>> {
    let subresource = writer.scope.subresource();
    let new_set = writer.scope.fields(applied, writer.semantics);
    let (mut live, mut entries) = match current {
        Some(current) => (current.clone(), read_entries(current)),
        None => (json!({}), Vec::new()),
    };
    let mut conflicts: Vec<(String, String)> = Vec::new();
    let mut forced: Vec<(usize, Vec<String>)> = Vec::new();
    for leaf in new_set.leaves() {
        for (index, entry) in entries.iter().enumerate() {
            if entry.is(writer.manager, "Apply", subresource) || !entry.fields.owns(&leaf) {
                continue;
            }
            if lookup(&live, &leaf) != lookup(applied, &leaf) {
                let conflict = (entry.manager.clone(), display_path(&leaf));
                if !conflicts.contains(&conflict) {
                    conflicts.push(conflict);
                }
                forced.push((index, leaf.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for (index, leaf) in forced {
        entries[index].fields.remove(&leaf);
    }
    let previous = entries
        .iter()
        .position(|e| e.is(writer.manager, "Apply", subresource))
        .map(|i| entries.remove(i));
    if let Some(previous) = &previous {
        remove_stale(&mut live, &previous.fields, &new_set, &entries);
    }
    apply_merge(&mut live, applied, writer.semantics);
    entries.push(Entry {
        manager: writer.manager.to_string(),
        operation: "Apply".into(),
        api_version: writer.api_version.to_string(),
        time: writer.now.to_string(),
        subresource: subresource.map(String::from),
        fields: new_set,
    });
    write_entries(&mut live, entries, Some(writer.manager));
    Ok(live)
}

/// Remove what the applier owned before and no longer applies, unless another manager owns it.
/// A list item (`k:` of a list-map, `v:` of a set) nobody else owns any field of goes whole;
/// one that stays keeps its key fields, which are its identity.
fn remove_stale(live: &mut Value, previous: &FieldSet, applied: &FieldSet, others: &[Entry]) {
    let mut stale: Vec<FieldPath> = previous
        .owned_paths()
        .into_iter()
        .filter(|p| !applied.touches(p))
        .collect();
    // Items before their fields: an item that goes takes its fields with it.
    stale.sort_by_key(Vec::len);
    let mut removed: Vec<FieldPath> = Vec::new();
    for path in stale {
        if removed.iter().any(|r| path.starts_with(r))
            || is_key_field(&path)
            || others.iter().any(|e| e.fields.touches(&path))
        {
            continue;
        }
        remove_at(live, &path);
        prune_emptied(live, &path, others);
        removed.push(path);
    }
}

/// Maps and lists a removal left empty go too (the real server drops them as null), unless
/// another manager owns them.
fn prune_emptied(live: &mut Value, path: &[String], others: &[Entry]) {
    for end in (1..path.len()).rev() {
        let parent = &path[..end];
        let emptied = match lookup(live, parent) {
            Some(Value::Object(map)) => map.is_empty(),
            Some(Value::Array(items)) => items.is_empty(),
            _ => false,
        };
        if !emptied || others.iter().any(|e| e.fields.touches(parent)) {
            return;
        }
        remove_at(live, parent);
    }
}

/// Is the path a key field of a list-map item (`…/k:{"name":"web"}/f:name`)?
fn is_key_field(path: &[String]) -> bool {
    let [.., item, field] = path else {
        return false;
    };
    let (Some(key), Some(field)) = (item.strip_prefix("k:"), field.strip_prefix("f:")) else {
        return false;
    };
    serde_json::from_str::<serde_json::Map<String, Value>>(key).is_ok_and(|k| k.contains_key(field))
}

/// Record an ordinary write (create, update, non-apply patch): the writer takes ownership of every
/// field it set or changed; fields it removed leave every set.
pub fn record_update(old: Option<&Value>, new: &mut Value, writer: &Writer<'_>) {
    let subresource = writer.scope.subresource();
    let sent = new.pointer("/metadata/managedFields").cloned();
    let previous = old
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .cloned();
    // A client may reset managedFields by sending them; otherwise the stored ones carry on.
    let mut entries = match (&sent, &previous) {
        (Some(s), p) if Some(s) != p.as_ref() && s.as_array().is_some_and(|a| !a.is_empty()) => {
            read_entries(new)
        }
        _ => old.map(read_entries).unwrap_or_default(),
    };
    let new_fields = writer.scope.fields(new, writer.semantics);
    let old_fields = old
        .map(|o| writer.scope.fields(o, writer.semantics))
        .unwrap_or_default();
    let changed: Vec<Vec<String>> = new_fields
        .owned_paths()
        .into_iter()
        .filter(|p| {
            old.is_none_or(|o| {
                // A list item changes only by coming into being; changes inside it are its fields'.
                let item = p.last().is_some_and(|s| s.starts_with("k:"));
                !old_fields.owns(p) || (!item && lookup(o, p) != lookup(new, p))
            })
        })
        .collect();
    let removed: Vec<Vec<String>> = old_fields
        .owned_paths()
        .into_iter()
        .filter(|p| !new_fields.touches(p))
        .collect();
    if changed.is_empty() && removed.is_empty() && old.is_some() {
        write_entries(new, entries, None);
        return;
    }
    for entry in entries.iter_mut() {
        for path in changed.iter().chain(&removed) {
            if entry.is(writer.manager, "Update", subresource) && !removed.contains(path) {
                continue;
            }
            entry.fields.remove(path);
        }
    }
    let own = match entries
        .iter()
        .position(|e| e.is(writer.manager, "Update", subresource))
    {
        Some(i) => i,
        None => {
            entries.push(Entry {
                manager: writer.manager.to_string(),
                operation: "Update".into(),
                api_version: writer.api_version.to_string(),
                time: String::new(),
                subresource: subresource.map(String::from),
                fields: FieldSet::default(),
            });
            entries.len() - 1
        }
    };
    for path in &changed {
        let member = new_fields.owns(path) && lookup(new, path).is_some_and(|v| v.is_object());
        entries[own].fields.insert(
            path,
            member && path.last().is_some_and(|s| s.starts_with("k:")),
        );
    }
    entries[own].time = writer.now.to_string();
    entries[own].api_version = writer.api_version.to_string();
    write_entries(new, entries, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            now: "2026-01-01T00:00:00Z",
            scope: Scope::Main { skip_status: false },
            semantics: ListSemantics::builtin(),
        }
    }

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}, "data": data})
    }

    #[test]
    fn second_manager_conflicts_unless_forced() {
        let first = apply(
            None,
            &cm(json!({"a": "1", "b": "2"})),
            &writer("alice"),
            false,
        )
        .unwrap();
        let err = apply(Some(&first), &cm(json!({"a": "9"})), &writer("bob"), false).unwrap_err();
        assert_eq!(err, vec![("alice".to_string(), ".data.a".to_string())]);
        // Same value: shared ownership, no conflict.
        assert!(apply(Some(&first), &cm(json!({"a": "1"})), &writer("bob"), false).is_ok());
        let forced = apply(Some(&first), &cm(json!({"a": "9"})), &writer("bob"), true).unwrap();
        assert_eq!(forced["data"], json!({"a": "9", "b": "2"}));
        let entries = read_entries(&forced);
        let alice = entries.iter().find(|e| e.manager == "alice").unwrap();
        assert!(!alice.fields.owns(&["f:data".into(), "f:a".into()]));
        assert!(alice.fields.owns(&["f:data".into(), "f:b".into()]));
    }

    #[test]
    fn fields_dropped_from_an_apply_are_removed_unless_someone_else_owns_them() {
        let first = apply(
            None,
            &cm(json!({"a": "1", "b": "2"})),
            &writer("alice"),
            false,
        )
        .unwrap();
        let shared = apply(Some(&first), &cm(json!({"b": "2"})), &writer("bob"), false).unwrap();
        let second = apply(
            Some(&shared),
            &cm(json!({"c": "3"})),
            &writer("alice"),
            false,
        )
        .unwrap();
        assert_eq!(second["data"], json!({"b": "2", "c": "3"}));
    }

    fn deployment(ports: Value, finalizers: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "op", "namespace": "cdi", "finalizers": finalizers},
            "spec": {"template": {"spec": {"containers": [{"name": "op", "ports": ports}]}}}})
    }

    #[test]
    fn list_map_and_set_items_dropped_from_an_apply_go_whole() {
        let first = apply(
            None,
            &deployment(
                json!([{"containerPort": 8080, "name": "metrics", "protocol": "TCP"}]),
                json!(["a", "b"]),
            ),
            &writer("alice"),
            false,
        )
        .unwrap();
        let ports = json!([
            {"containerPort": 8443, "name": "metrics", "protocol": "TCP"},
            {"containerPort": 8444, "name": "health", "protocol": "TCP"}]);
        let second = apply(
            Some(&first),
            &deployment(ports.clone(), json!(["b"])),
            &writer("alice"),
            false,
        )
        .unwrap();
        assert_eq!(
            second["spec"]["template"]["spec"]["containers"][0]["ports"],
            ports
        );
        assert_eq!(second["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn a_dropped_item_another_manager_owns_a_field_of_keeps_that_field_and_its_key() {
        let first = apply(
            None,
            &deployment(json!([{"containerPort": 80, "name": "web"}]), json!(["a"])),
            &writer("alice"),
            false,
        )
        .unwrap();
        let mut edited = first.clone();
        edited["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostPort"] = json!(8080);
        record_update(Some(&first), &mut edited, &writer("editor"));
        let second = apply(
            Some(&edited),
            &deployment(json!([{"containerPort": 81}]), json!(["a"])),
            &writer("alice"),
            false,
        )
        .unwrap();
        assert_eq!(
            second["spec"]["template"]["spec"]["containers"][0]["ports"],
            json!([{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}])
        );
    }

    #[test]
    fn maps_and_lists_an_apply_no_longer_fills_are_dropped() {
        let first = apply(None, &cm(json!({"a": "1"})), &writer("alice"), false).unwrap();
        let mut applied = cm(json!({}));
        applied.as_object_mut().unwrap().remove("data");
        let second = apply(Some(&first), &applied, &writer("alice"), false).unwrap();
        assert!(second.get("data").is_none(), "{second}");
    }

    #[test]
    fn updates_take_ownership_of_changed_fields() {
        let first = apply(None, &cm(json!({"a": "1"})), &writer("alice"), false).unwrap();
        let mut updated = first.clone();
        updated["data"]["a"] = json!("2");
        record_update(Some(&first), &mut updated, &writer("kubectl-edit"));
        let entries = read_entries(&updated);
        assert!(
            entries.iter().all(|e| e.manager != "alice"),
            "alice owned only data.a: {entries:?}"
        );
        let editor = entries
            .iter()
            .find(|e| e.manager == "kubectl-edit")
            .unwrap();
        assert_eq!(editor.operation, "Update");
        // Now alice re-applying a different value conflicts with the editor.
        let err = apply(
            Some(&updated),
            &cm(json!({"a": "1"})),
            &writer("alice"),
            false,
        )
        .unwrap_err();
        assert_eq!(err[0].0, "kubectl-edit");
    }
}
