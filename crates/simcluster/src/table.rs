//! Server-side printing: the `meta.k8s.io/v1 Table` that `kubectl get` asks for, with the
//! columns of the common built-in kinds and the printer columns of custom resources.

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// Does the Accept header ask for a Table?
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

struct Column {
    name: &'static str,
    type_: &'static str,
    cell: fn(&Value) -> Value,
    priority: i64,
}

fn text(value: &Value, pointer: &str) -> Value {
    value.pointer(pointer).cloned().unwrap_or(json!("<none>"))
}

fn name_cell(v: &Value) -> Value {
    text(v, "/metadata/name")
}

fn age_cell(v: &Value) -> Value {
    json!(age(v
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)))
}

/// `kubectl`'s short human duration since a timestamp.
pub fn age(timestamp: Option<&str>) -> String {
    let Some(ts) = timestamp.and_then(|t| t.parse::<jiff::Timestamp>().ok()) else {
        return "<unknown>".into();
    };
    let seconds = jiff::Timestamp::now().duration_since(ts).as_secs().max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 8 * 86400 => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
        s if s < 730 * 86400 => format!("{}d", s / 86400),
        s => format!("{}y", s / (365 * 86400)),
    }
}

fn node_status(v: &Value) -> Value {
    let ready = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .map(|c| c["status"] == "True")
        .unwrap_or(false);
    let mut status = if ready {
        "Ready".to_string()
    } else {
        "NotReady".to_string()
    };
    if v.pointer("/spec/unschedulable") == Some(&json!(true)) {
        status.push_str(",SchedulingDisabled");
    }
    json!(status)
}

fn node_roles(v: &Value) -> Value {
    let roles: Vec<&str> = v
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .collect()
        })
        .unwrap_or_default();
    json!(if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    })
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn builtin_columns(rt: &ResourceType) -> Vec<Column> {
    let mut columns = vec![Column {
        name: "Name",
        type_: "string",
        cell: name_cell,
        priority: 0,
    }];
    let extra: Vec<Column> = match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Node") => vec![
            Column {
                name: "Status",
                type_: "string",
                cell: node_status,
                priority: 0,
            },
            Column {
                name: "Roles",
                type_: "string",
                cell: node_roles,
                priority: 0,
            },
        ],
        ("", "Namespace") => vec![Column {
            name: "Status",
            type_: "string",
            cell: |v| text(v, "/status/phase"),
            priority: 0,
        }],
        ("", "Pod") => vec![
            Column {
                name: "Ready",
                type_: "string",
                cell: |v| {
                    let statuses = v
                        .pointer("/status/containerStatuses")
                        .and_then(Value::as_array);
                    let total = v
                        .pointer("/spec/containers")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    let ready =
                        statuses.map_or(0, |s| s.iter().filter(|c| c["ready"] == true).count());
                    json!(format!("{ready}/{total}"))
                },
                priority: 0,
            },
            Column {
                name: "Status",
                type_: "string",
                cell: |v| text(v, "/status/phase"),
                priority: 0,
            },
        ],
        ("", "ConfigMap") => vec![Column {
            name: "Data",
            type_: "integer",
            cell: |v| {
                json!(
                    v.get("data")
                        .and_then(Value::as_object)
                        .map_or(0, |d| d.len())
                        + v.get("binaryData")
                            .and_then(Value::as_object)
                            .map_or(0, |d| d.len())
                )
            },
            priority: 0,
        }],
        ("", "Service") => vec![
            Column {
                name: "Type",
                type_: "string",
                cell: |v| text(v, "/spec/type"),
                priority: 0,
            },
            Column {
                name: "Cluster-IP",
                type_: "string",
                cell: |v| text(v, "/spec/clusterIP"),
                priority: 0,
            },
        ],
        ("apps", "Deployment") => vec![
            Column {
                name: "Ready",
                type_: "string",
                cell: |v| {
                    json!(format!(
                        "{}/{}",
                        int(v, "/status/readyReplicas"),
                        int(v, "/spec/replicas")
                    ))
                },
                priority: 0,
            },
            Column {
                name: "Up-to-date",
                type_: "integer",
                cell: |v| json!(int(v, "/status/updatedReplicas")),
                priority: 0,
            },
            Column {
                name: "Available",
                type_: "integer",
                cell: |v| json!(int(v, "/status/availableReplicas")),
                priority: 0,
            },
        ],
        ("apps", "DaemonSet") => vec![
            Column {
                name: "Desired",
                type_: "integer",
                cell: |v| json!(int(v, "/status/desiredNumberScheduled")),
                priority: 0,
            },
            Column {
                name: "Current",
                type_: "integer",
                cell: |v| json!(int(v, "/status/currentNumberScheduled")),
                priority: 0,
            },
            Column {
                name: "Ready",
                type_: "integer",
                cell: |v| json!(int(v, "/status/numberReady")),
                priority: 0,
            },
        ],
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![Column {
                name: "Created At",
                type_: "date",
                cell: |v| text(v, "/metadata/creationTimestamp"),
                priority: 0,
            }]
        }
        _ => Vec::new(),
    };
    columns.extend(extra);
    if rt.kind != "CustomResourceDefinition" {
        columns.push(Column {
            name: "Age",
            type_: "date",
            cell: age_cell,
            priority: 0,
        });
    }
    if rt.kind == "Node" {
        columns.push(Column {
            name: "Version",
            type_: "string",
            cell: |v| text(v, "/status/nodeInfo/kubeletVersion"),
            priority: 0,
        });
    }
    columns
}

/// Evaluate the simple JSONPath forms printer columns use: `.a.b`, `.a[0].b`, `.a[?(@.type=="X")].b`.
pub fn json_path(value: &Value, path: &str) -> Option<Value> {
    let mut node = value.clone();
    let mut rest = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('$');
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            node = node.get(&r[..end])?.clone();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let selector = &r[..end];
            rest = &r[end + 1..];
            if let Some(filter) = selector
                .strip_prefix("?(@.")
                .and_then(|f| f.strip_suffix(')'))
            {
                let (field, wanted) = filter.split_once("==")?;
                let wanted = wanted.trim().trim_matches(|c| c == '"' || c == '\'');
                node = node
                    .as_array()?
                    .iter()
                    .find(|item| item.get(field.trim()).and_then(Value::as_str) == Some(wanted))?
                    .clone();
            } else if selector == "*" {
                continue;
            } else {
                node = node.get(selector.parse::<usize>().ok()?)?.clone();
            }
        } else {
            return None;
        }
    }
    Some(node)
}

/// A Table of `objects`.
pub fn table(
    rt: &ResourceType,
    objects: &[&Value],
    include: IncludeObject,
    resource_version: &str,
) -> Value {
    let (definitions, rows): (Vec<Value>, Vec<Value>) = if rt.is_custom()
        && !rt.printer_columns.is_empty()
    {
        let mut defs = vec![
            json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
        ];
        defs.extend(rt.printer_columns.iter().map(|c| json!({"name": c.name, "type": c.type_, "format": "", "description": c.description, "priority": c.priority})));
        let rows = objects
            .iter()
            .map(|o| {
                let mut cells = vec![name_cell(o)];
                for c in &rt.printer_columns {
                    let cell = json_path(o, &c.json_path).unwrap_or(Value::Null);
                    cells.push(if c.type_ == "date" {
                        json!(age(cell.as_str()))
                    } else {
                        cell
                    });
                }
                row(o, cells, include)
            })
            .collect();
        (defs, rows)
    } else {
        let columns = builtin_columns(rt);
        let defs = columns
            .iter()
            .map(|c| json!({"name": c.name, "type": if c.type_ == "date" { "string" } else { c.type_ }, "format": if c.name == "Name" { "name" } else { "" }, "description": "", "priority": c.priority}))
            .collect();
        let rows = objects
            .iter()
            .map(|o| row(o, columns.iter().map(|c| (c.cell)(o)).collect(), include))
            .collect();
        (defs, rows)
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

fn row(object: &Value, cells: Vec<Value>, include: IncludeObject) -> Value {
    let mut row = json!({"cells": cells});
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row["object"] = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object.get("metadata").cloned().unwrap_or_default()});
        }
        IncludeObject::Object => row["object"] = object.clone(),
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_path_forms() {
        let v = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}], "items": [{"n": 1}]}});
        assert_eq!(
            json_path(&v, ".status.conditions[?(@.type==\"Ready\")].status"),
            Some(json!("True"))
        );
        assert_eq!(json_path(&v, ".status.items[0].n"), Some(json!(1)));
        assert_eq!(json_path(&v, ".status.missing"), None);
    }

    #[test]
    fn ages_read_like_kubectl() {
        let ts = (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3725)).to_string();
        assert_eq!(age(Some(&ts)), "62m");
        let now = crate::objects::now();
        assert_eq!(now.len(), "2026-01-01T00:00:00Z".len(), "{now}");
        assert!(matches!(age(Some(&now)).as_str(), "0s" | "1s"), "{now}");
        assert_eq!(age(Some("yesterday")), "<unknown>");
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
