//! Properties of server-side apply: what one manager applies last is exactly what it leaves,
//! except for what other managers own.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use simcluster::fieldset::{FieldSet, lookup};
use simcluster::list_types::ListSemantics;
use simcluster::managed::{Scope, Writer, apply, read_entries};

fn writer(manager: &str) -> Writer<'_> {
    Writer {
        manager,
        api_version: "apps/v1",
        now: "2026-01-01T00:00:00Z",
        scope: Scope::Main { skip_status: true },
        semantics: ListSemantics::builtin(),
    }
}

/// Absent, or a non-empty map of some of `keys` to some of `values`.
fn small_map(
    keys: &'static [&'static str],
    values: &'static [&'static str],
) -> BoxedStrategy<Option<Value>> {
    proptest::option::of(
        proptest::collection::btree_map(
            proptest::sample::select(keys),
            proptest::sample::select(values),
            1..=keys.len(),
        )
        .prop_map(|m| {
            Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect(),
            )
        }),
    )
    .boxed()
}

/// Absent, or a non-empty subset of `values` (a set: no duplicates).
fn small_set(values: &'static [&'static str]) -> BoxedStrategy<Option<Value>> {
    proptest::option::of(
        proptest::sample::subsequence(values, 1..=values.len()).prop_map(|v| json!(v)),
    )
    .boxed()
}

/// A container port keyed by (containerPort, protocol). `protocol` is left out for TCP, its
/// default: the real server defaults it into every port, so an explicit "TCP" and none are alike.
fn port() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(&[80, 8080, 8443][..]),
        proptest::sample::select(&[None, Some("UDP")][..]),
        proptest::option::of(proptest::sample::select(&["metrics", "health"][..])),
        proptest::option::of(proptest::sample::select(&[9000, 9001][..])),
    )
        .prop_map(|(number, protocol, name, host)| {
            let mut port = Map::new();
            port.insert("containerPort".into(), json!(number));
            if let Some(protocol) = protocol {
                port.insert("protocol".into(), json!(protocol));
            }
            if let Some(name) = name {
                port.insert("name".into(), json!(name));
            }
            if let Some(host) = host {
                port.insert("hostPort".into(), json!(host));
            }
            Value::Object(port)
        })
}

/// Keep the first item of each key (`protocol` defaults to TCP), as a valid list-map has.
fn unique_by(items: Vec<Value>, key: impl Fn(&Value) -> String) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|i| seen.insert(key(i))).collect()
}

fn port_key(port: &Value) -> String {
    format!(
        "{}/{}",
        port["containerPort"],
        port.get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP")
    )
}

fn container() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(&["web", "side", "init"][..]),
        proptest::option::of(proptest::sample::select(&["x:1", "x:2"][..])),
        small_set(&["--a", "--b"]),
        proptest::option::of(proptest::collection::vec(port(), 1..4)),
        proptest::option::of(proptest::collection::vec(
            (
                proptest::sample::select(&["A", "B", "C"][..]),
                proptest::option::of(proptest::sample::select(&["1", "2"][..])),
            ),
            1..3,
        )),
    )
        .prop_map(|(name, image, args, ports, env)| {
            let mut c = Map::new();
            c.insert("name".into(), json!(name));
            if let Some(image) = image {
                c.insert("image".into(), json!(image));
            }
            if let Some(args) = args {
                c.insert("args".into(), args);
            }
            if let Some(ports) = ports {
                c.insert("ports".into(), json!(unique_by(ports, port_key)));
            }
            if let Some(env) = env {
                let env: Vec<Value> = env
                    .into_iter()
                    .map(|(n, v)| match v {
                        Some(v) => json!({"name": n, "value": v}),
                        None => json!({"name": n}),
                    })
                    .collect();
                c.insert(
                    "env".into(),
                    json!(unique_by(env, |e| e["name"].to_string())),
                );
            }
            Value::Object(c)
        })
}

/// A Deployment-shaped apply configuration: maps, a set (finalizers), list-maps (containers,
/// their ports and env), an atomic list (args) and scalars, each possibly absent.
fn configuration() -> impl Strategy<Value = Value> {
    (
        small_map(&["a", "b", "c"], &["1", "2"]),
        small_set(&["f1", "f2", "f3"]),
        proptest::option::of(0..3u8),
        proptest::option::of(proptest::collection::vec(container(), 1..3)),
    )
        .prop_map(|(labels, finalizers, replicas, containers)| {
            let mut metadata = json!({"name": "d", "namespace": "n"});
            if let Some(labels) = labels {
                metadata["labels"] = labels;
            }
            if let Some(finalizers) = finalizers {
                metadata["finalizers"] = finalizers;
            }
            let mut object =
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata});
            let mut spec = Map::new();
            if let Some(replicas) = replicas {
                spec.insert("replicas".into(), json!(replicas));
            }
            if let Some(containers) = containers {
                let containers = unique_by(containers, |c| c["name"].to_string());
                spec.insert(
                    "template".into(),
                    json!({"spec": {"containers": containers}}),
                );
            }
            if !spec.is_empty() {
                object["spec"] = Value::Object(spec);
            }
            object
        })
}

fn fields(object: &Value) -> FieldSet {
    FieldSet::from_object(object, ListSemantics::builtin(), true)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A then B by one manager leaves exactly B: B's fields with B's values, nothing of A's.
    #[test]
    fn applying_a_then_b_leaves_exactly_b(a in configuration(), b in configuration()) {
        let first = apply(None, &a, &writer("alice"), false).unwrap();
        let second = apply(Some(&first), &b, &writer("alice"), false).unwrap();
        prop_assert_eq!(fields(&second), fields(&b), "A then B gave {}", second);
        for leaf in fields(&b).leaves() {
            prop_assert_eq!(lookup(&second, &leaf), lookup(&b, &leaf), "at {:?}", leaf);
        }
        let entries = read_entries(&second);
        prop_assert_eq!(entries.len(), 1);
        prop_assert_eq!(&entries[0].fields, &fields(&b));
    }

    /// With another manager's fields in the object, A then B (forced) leaves exactly B plus
    /// what the other manager still owns, at the values each of them applied.
    #[test]
    fn fields_another_manager_owns_stay(c in configuration(), a in configuration(), b in configuration()) {
        let zero = apply(None, &c, &writer("bob"), false).unwrap();
        let first = apply(Some(&zero), &a, &writer("alice"), true).unwrap();
        let second = apply(Some(&first), &b, &writer("alice"), true).unwrap();
        let entries = read_entries(&second);
        let bob = entries
            .iter()
            .find(|e| e.manager == "bob")
            .map(|e| e.fields.clone())
            .unwrap_or_default();
        let mut expected = fields(&b);
        expected.union(&bob);
        prop_assert_eq!(fields(&second), expected, "C, A then B gave {}", second);
        for leaf in fields(&b).leaves() {
            prop_assert_eq!(lookup(&second, &leaf), lookup(&b, &leaf), "B's {:?}", leaf);
        }
        for leaf in bob.leaves() {
            prop_assert_eq!(lookup(&second, &leaf), lookup(&c, &leaf), "bob's {:?}", leaf);
        }
    }
}
