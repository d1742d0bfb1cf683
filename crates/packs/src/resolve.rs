//! Dependency resolution: the selected packs plus everything they need, dependencies before dependents,
//! with the reason each pack is in the list; cycles, conflicts and unknown packs are reported, never panicked on.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalog::Catalog;

/// The edges resolution needs, separated from the catalog so it can be tested on any graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackGraph {
    /// Pack -> the packs it depends on (in declared order).
    pub dependencies: BTreeMap<String, Vec<String>>,
    /// Pack -> packs it conflicts with, and why.
    pub conflicts: BTreeMap<String, Vec<(String, String)>>,
}

impl PackGraph {
    pub fn from_catalog(catalog: &Catalog) -> PackGraph {
        let mut graph = PackGraph::default();
        for pack in catalog.packs() {
            let m = &pack.manifest;
            graph
                .dependencies
                .insert(m.name.clone(), m.dependencies.clone());
            graph.conflicts.insert(
                m.name.clone(),
                m.conflicts
                    .iter()
                    .map(|c| (c.pack.clone(), c.reason.clone()))
                    .collect(),
            );
        }
        graph
    }
}

/// Why a pack is in the resolved list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SelectionReason {
    /// The user (or preset) picked it.
    Selected,
    /// Added because these packs depend on it.
    RequiredBy { packs: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPack {
    pub name: String,
    pub reason: SelectionReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("unknown pack `{name}`{}", needed_by.as_ref().map(|p| format!(" (a dependency of `{p}`)")).unwrap_or_default())]
    UnknownPack {
        name: String,
        needed_by: Option<String>,
    },
    #[error("dependency cycle: {}", path.join(" -> "))]
    Cycle { path: Vec<String> },
    #[error("`{a}` conflicts with `{b}`: {reason}; remove one of them")]
    Conflict {
        a: String,
        b: String,
        reason: String,
    },
}

impl ResolveError {
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::UnknownPack { .. } => "pack_unknown",
            ResolveError::Cycle { .. } => "dependency_cycle",
            ResolveError::Conflict { .. } => "pack_conflict",
        }
    }
}

/// Resolve `selection` against `graph`. Returns every problem found.
pub fn resolve(
    graph: &PackGraph,
    selection: &[String],
) -> Result<Vec<ResolvedPack>, Vec<ResolveError>> {
    let mut errors = Vec::new();
    // Closure: which packs are needed, and by whom.
    let mut required_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let selected: BTreeSet<&String> = selection.iter().collect();
    let mut queue: Vec<(String, Option<String>)> =
        selection.iter().map(|s| (s.clone(), None)).collect();
    let mut seen = BTreeSet::new();
    while let Some((name, parent)) = queue.pop() {
        if !graph.dependencies.contains_key(&name) {
            let error = ResolveError::UnknownPack {
                name,
                needed_by: parent,
            };
            if !errors.contains(&error) {
                errors.push(error);
            }
            continue;
        }
        if let Some(parent) = &parent {
            required_by
                .entry(name.clone())
                .or_default()
                .insert(parent.clone());
        }
        if !seen.insert(name.clone()) {
            continue;
        }
        for dep in &graph.dependencies[&name] {
            queue.push((dep.clone(), Some(name.clone())));
        }
    }
    // Conflicts among the packs that would be installed.
    for a in &seen {
        for (b, reason) in graph.conflicts.get(a).into_iter().flatten() {
            if seen.contains(b) {
                let (x, y) = if a <= b { (a, b) } else { (b, a) };
                let error = ResolveError::Conflict {
                    a: x.clone(),
                    b: y.clone(),
                    reason: reason.clone(),
                };
                if !errors
                    .iter()
                    .any(|e| matches!(e, ResolveError::Conflict { a, b, .. } if a == x && b == y))
                {
                    errors.push(error);
                }
            }
        }
    }
    // Depth-first topological order: selection order, then declared dependency order.
    let mut order = Vec::new();
    let mut state: BTreeMap<&str, bool> = BTreeMap::new(); // false = on the stack, true = done
    let mut stack_path: Vec<String> = Vec::new();
    for root in selection {
        visit(
            graph,
            root,
            &mut state,
            &mut stack_path,
            &mut order,
            &mut errors,
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(order
        .into_iter()
        .map(|name| {
            let reason = if selected.contains(&name) {
                SelectionReason::Selected
            } else {
                SelectionReason::RequiredBy {
                    packs: required_by
                        .get(&name)
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect(),
                }
            };
            ResolvedPack { name, reason }
        })
        .collect())
}

fn visit<'g>(
    graph: &'g PackGraph,
    name: &str,
    state: &mut BTreeMap<&'g str, bool>,
    path: &mut Vec<String>,
    order: &mut Vec<String>,
    errors: &mut Vec<ResolveError>,
) {
    let Some((key, deps)) = graph.dependencies.get_key_value(name) else {
        return;
    };
    match state.get(key.as_str()) {
        Some(true) => return,
        Some(false) => {
            let start = path.iter().position(|p| p == name).unwrap_or(0);
            let mut cycle: Vec<String> = path[start..].to_vec();
            cycle.push(name.to_string());
            let error = ResolveError::Cycle { path: cycle };
            if !errors.contains(&error) {
                errors.push(error);
            }
            return;
        }
        None => {}
    }
    state.insert(key.as_str(), false);
    path.push(name.to_string());
    for dep in deps {
        visit(graph, dep, state, path, order, errors);
    }
    path.pop();
    state.insert(key.as_str(), true);
    order.push(name.to_string());
}
