//! Server-side apply of one phase's objects, concurrently up to a bound, each retried on
//! transient failures; the first error that is not transient stops the phase and names the
//! object with the server's message.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt, stream};
use kube::api::{Patch, PatchParams};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::inventory::{FIELD_MANAGER, INVENTORY_ANNOTATION};
use crate::object_key::ObjectKey;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

/// An object ready to apply.
#[derive(Debug, Clone)]
pub struct Desired {
    pub key: ObjectKey,
    pub pack: String,
    pub source: Option<String>,
    pub object: Value,
}

/// How objects are applied.
#[derive(Debug, Clone, Copy)]
pub struct ApplySettings {
    pub concurrency: usize,
    /// Take over fields other managers own (`--force-conflicts`).
    pub force_conflicts: bool,
    pub retry: RetryPolicy,
}

/// Applies `objects` (all of one phase) with at most `settings.concurrency` requests in flight,
/// and no more than `in_flight` permits across the phases of packs installing at once; answers
/// each object's uid.
pub async fn apply_phase(
    resources: &Resources,
    objects: &[Desired],
    inventory_id: &str,
    settings: ApplySettings,
    in_flight: &Semaphore,
    progress: &ProgressSink,
) -> Result<BTreeMap<ObjectKey, String>, InstallError> {
    stream::iter(objects)
        .map(|desired| async move {
            let _permit = in_flight
                .acquire()
                .await
                .expect("the semaphore is never closed");
            apply_one(resources, desired, inventory_id, settings, progress).await
        })
        .buffer_unordered(settings.concurrency.max(1))
        .try_collect()
        .await
}

async fn apply_one(
    resources: &Resources,
    desired: &Desired,
    inventory_id: &str,
    settings: ApplySettings,
    progress: &ProgressSink,
) -> Result<(ObjectKey, String), InstallError> {
    let api = resources.api_for(&desired.key).await?;
    let mut object = desired.object.clone();
    annotate(&mut object, inventory_id);
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = settings.force_conflicts;
    let patch = Patch::Apply(&object);
    let mut retries = Vec::new();
    let applied = settings
        .retry
        .run(
            || api.patch(&desired.key.name, &params, &patch),
            |attempt, error| retries.push((attempt, error.to_string())),
        )
        .await;
    for (attempt, reason) in retries {
        progress
            .send(Progress::Retrying {
                pack: desired.pack.clone(),
                object: desired.key.clone(),
                attempt,
                reason,
            })
            .await;
    }
    let applied = applied.map_err(|(source, attempts)| InstallError::Apply {
        object: desired.key.clone(),
        attempts,
        source: Box::new(source),
    })?;
    progress
        .send(Progress::Applied {
            pack: desired.pack.clone(),
            object: desired.key.clone(),
        })
        .await;
    Ok((
        desired.key.clone(),
        applied.metadata.uid.clone().unwrap_or_default(),
    ))
}

/// Marks the object as belonging to inventory `id`.
pub(crate) fn annotate(object: &mut Value, id: &str) {
    if let Some(metadata) = object
        .as_object_mut()
        .and_then(|o| o.get_mut("metadata"))
        .and_then(Value::as_object_mut)
    {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(INVENTORY_ANNOTATION.into(), Value::String(id.into()));
        }
    }
}
