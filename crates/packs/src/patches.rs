//! Applies a pack's named patches to a parsed upstream object (the only place VMDeck alters upstream documents).

use minijinja::Value as Context;
use serde_yaml_ng::Value;

use crate::manifest::{Patch, PatchOperation};
use crate::templating::{self, TemplateError};

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

/// Why a patch could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("no container uses image {image} (has the upstream manifest changed?)")]
    NoSuchImage { image: String },
    #[error("no container named {container}")]
    NoSuchContainer { container: String },
    #[error("{what} is not a mapping")]
    NotAMapping { what: &'static str },
}

/// Apply one patch to an object it targets.
pub fn apply(patch: &Patch, object: &mut Value, ctx: &Context) -> Result<(), PatchError> {
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
                return Err(PatchError::NoSuchImage { image: from });
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
                .ok_or_else(|| PatchError::NoSuchContainer {
                    container: container.clone(),
                })?;
            let map = target
                .as_mapping_mut()
                .ok_or(PatchError::NotAMapping { what: "container" })?;
            let resources = map
                .entry("resources".into())
                .or_insert_with(|| Value::Mapping(Default::default()));
            for (section, entries) in [("requests", requests), ("limits", limits)] {
                if entries.is_empty() {
                    continue;
                }
                let resources = resources
                    .as_mapping_mut()
                    .ok_or(PatchError::NotAMapping { what: "resources" })?;
                let section = resources
                    .entry(section.into())
                    .or_insert_with(|| Value::Mapping(Default::default()));
                let section = section.as_mapping_mut().ok_or(PatchError::NotAMapping {
                    what: "resources section",
                })?;
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
