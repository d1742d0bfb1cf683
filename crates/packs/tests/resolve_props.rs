//! Property tests of dependency resolution on random graphs.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vmdeck_packs::{PackGraph, ResolveError, SelectionReason, resolve};

fn name(i: usize) -> String {
    format!("p{i}")
}

/// Random graphs of up to 12 packs; `acyclic` only adds edges from higher to lower numbers.
fn graph(acyclic: bool) -> impl Strategy<Value = (PackGraph, Vec<String>)> {
    (1usize..12).prop_flat_map(move |n| {
        let edges = prop::collection::vec((0..n, 0..n + 2), 0..n * 3);
        let conflicts = prop::collection::vec((0..n, 0..n), 0..3);
        let selection = prop::collection::vec(0..n + 1, 0..5);
        (Just(n), edges, conflicts, selection).prop_map(move |(n, edges, conflicts, selection)| {
            let mut graph = PackGraph::default();
            for i in 0..n {
                graph.dependencies.insert(name(i), Vec::new());
            }
            for (from, to) in edges {
                if acyclic && to >= from {
                    continue;
                }
                graph
                    .dependencies
                    .get_mut(&name(from))
                    .unwrap()
                    .push(name(to)); // to >= n: unknown pack
            }
            for (a, b) in conflicts {
                if a != b {
                    graph
                        .conflicts
                        .entry(name(a))
                        .or_default()
                        .push((name(b), "test".into()));
                }
            }
            (graph, selection.into_iter().map(name).collect())
        })
    })
}

fn check_order(graph: &PackGraph, selection: &[String]) -> Result<(), TestCaseError> {
    match resolve(graph, selection) {
        Ok(order) => {
            let position: BTreeMap<&str, usize> = order
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.as_str(), i))
                .collect();
            prop_assert_eq!(position.len(), order.len(), "no pack twice");
            for pack in &order {
                for dep in &graph.dependencies[&pack.name] {
                    prop_assert!(
                        position[dep.as_str()] < position[pack.name.as_str()],
                        "{} before {}",
                        dep,
                        pack.name
                    );
                }
                match &pack.reason {
                    SelectionReason::Selected => prop_assert!(selection.contains(&pack.name)),
                    SelectionReason::RequiredBy { packs } => {
                        prop_assert!(!packs.is_empty());
                        for parent in packs {
                            prop_assert!(graph.dependencies[parent].contains(&pack.name));
                        }
                    }
                }
            }
            for s in selection {
                prop_assert!(position.contains_key(s.as_str()));
            }
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            for error in &errors {
                match error {
                    ResolveError::Cycle { path } => {
                        prop_assert!(path.len() >= 2);
                        prop_assert_eq!(path.first(), path.last());
                        for pair in path.windows(2) {
                            prop_assert!(
                                graph.dependencies[&pair[0]].contains(&pair[1]),
                                "cycle edge {:?}",
                                pair
                            );
                        }
                    }
                    ResolveError::Conflict { a, b, .. } => {
                        let declared = |x: &String, y: &String| {
                            graph
                                .conflicts
                                .get(x)
                                .is_some_and(|c| c.iter().any(|(n, _)| n == y))
                        };
                        prop_assert!(declared(a, b) || declared(b, a));
                    }
                    ResolveError::UnknownPack { name, .. } => {
                        prop_assert!(!graph.dependencies.contains_key(name))
                    }
                }
                prop_assert!(!error.to_string().is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_graph_resolves_or_reports_without_panic((graph, selection) in graph(false)) {
        check_order(&graph, &selection)?;
    }

    #[test]
    fn acyclic_graphs_without_conflicts_or_unknowns_always_resolve((mut graph, selection) in graph(true)) {
        graph.conflicts.clear();
        let known: Vec<String> = graph.dependencies.keys().cloned().collect();
        for deps in graph.dependencies.values_mut() {
            deps.retain(|d| known.contains(d));
        }
        let selection: Vec<String> = selection.into_iter().filter(|s| known.contains(s)).collect();
        prop_assert!(resolve(&graph, &selection).is_ok());
        check_order(&graph, &selection)?;
    }
}

#[test]
fn a_cycle_is_named() {
    let mut graph = PackGraph::default();
    graph.dependencies.insert("a".into(), vec!["b".into()]);
    graph.dependencies.insert("b".into(), vec!["a".into()]);
    let errors = resolve(&graph, &["a".into()]).unwrap_err();
    assert_eq!(
        errors,
        vec![ResolveError::Cycle {
            path: vec!["a".into(), "b".into(), "a".into()]
        }]
    );
    assert_eq!(errors[0].to_string(), "dependency cycle: a -> b -> a");
}

#[test]
fn a_conflict_pulled_in_by_a_dependency_is_reported() {
    let mut graph = PackGraph::default();
    graph.dependencies.insert("app".into(), vec!["x".into()]);
    graph.dependencies.insert("x".into(), vec![]);
    graph.dependencies.insert("y".into(), vec![]);
    graph.conflicts.insert(
        "y".into(),
        vec![("x".into(), "both run a snapshot controller".into())],
    );
    let errors = resolve(&graph, &["app".into(), "y".into()]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code(), "pack_conflict");
    assert!(errors[0].to_string().contains("snapshot controller"));
}
