//! Applies a pack's named patches to a parsed upstream object (the only place VMDeck alters upstream documents).

use minijinja::Value as Context;
use serde_yaml_ng::Value;

use crate::manifest::{Patch, PatchOperation};
use crate::templating;

/// Whether `patch` targets this object.
pub fn targets(patch: &Patch, object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some(patch.target.kind.as_str())
        && object
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            == Some(patch.target.name.as_str())
}

fn containers_mut(object: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    let Some(pod_spec) = object
        .get_mut("spec")
        .and_then(|s| s.get_mut("template"))
        .and_then(|t| t.get_mut("spec"))
    else {
        return out;
    };
    let Some(map) = pod_spec.as_mapping_mut() else {
        return out;
    };
    for (key, list) in map.iter_mut() {
        if matches!(key.as_str(), Some("containers" | "initContainers"))
            && let Some(items) = list.as_sequence_mut()
        {
            out.extend(items.iter_mut());
        }
    }
    out
}

/// Apply one patch to an object it targets.
pub fn apply(patch: &Patch, object: &mut Value, ctx: &Context) -> Result<(), String> {
    match &patch.operation {
        PatchOperation::ReplaceImage { from, to } => {
            let from = templating::eval_string(from, ctx)?;
            let to = templating::eval_string(to, ctx)?;
            let mut replaced = 0;
            for container in containers_mut(object) {
                if container.get("image").and_then(Value::as_str) == Some(from.as_str())
                    && let Some(map) = container.as_mapping_mut()
                {
                    map.insert("image".into(), Value::String(to.clone()));
                    replaced += 1;
                }
            }
            if replaced == 0 {
                return Err(format!(
                    "no container uses image {from} (has the upstream manifest changed?)"
                ));
            }
            Ok(())
        }
        PatchOperation::SetResources {
            container,
            requests,
            limits,
        } => {
            let target = containers_mut(object)
                .into_iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(container.as_str()))
                .ok_or_else(|| format!("no container named {container}"))?;
            let map = target
                .as_mapping_mut()
                .ok_or("container is not a mapping")?;
            let resources = map
                .entry("resources".into())
                .or_insert_with(|| Value::Mapping(Default::default()));
            for (section, entries) in [("requests", requests), ("limits", limits)] {
                if entries.is_empty() {
                    continue;
                }
                let resources = resources
                    .as_mapping_mut()
                    .ok_or("resources is not a mapping")?;
                let section = resources
                    .entry(section.into())
                    .or_insert_with(|| Value::Mapping(Default::default()));
                let section = section
                    .as_mapping_mut()
                    .ok_or("resources section is not a mapping")?;
                for (resource, expr) in entries {
                    section.insert(
                        resource.as_str().into(),
                        Value::String(templating::eval_string(expr, ctx)?),
                    );
                }
            }
            Ok(())
        }
    }
}
