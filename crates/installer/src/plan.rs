//! The plan: every rendered object server-side applied with `dryRun=All` (concurrently), compared
//! with the live object, and the inventory's objects no longer rendered listed for pruning. Each
//! object gets an action, a reviewable diff and the field conflicts with other managers that an
//! apply would have to take over.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde::Serialize;
use serde_json::Value;
use vmdeck_packs::Rendered;

use crate::apply::{Desired, annotate};
use crate::diff::{mask_secrets, reviewable, unified};
use crate::error::InstallError;
use crate::install::desired_objects;
use crate::inventory::{FIELD_MANAGER, Inventory, InventoryStore};
use crate::object_key::ObjectKey;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

/// What an apply will do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    /// In the inventory, no longer rendered: deleted after the apply.
    Prune,
}

/// Fields another field manager owns that the apply would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub manager: String,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedObject {
    pub object: ObjectKey,
    pub pack: String,
    pub action: Action,
    /// Unified diff of the live object against the result (empty when unchanged).
    pub diff: String,
    pub conflicts: Vec<Conflict>,
}

/// Counts per pack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackCounts {
    pub pack: String,
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub prune: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Apply order, then the prunes.
    pub objects: Vec<PlannedObject>,
    /// Install order (dependencies first), packs only pruned last.
    pub packs: Vec<PackCounts>,
    /// Whether an inventory (an earlier install) was found.
    pub upgrade: bool,
}

impl Plan {
    /// Objects with fields another manager owns: an apply needs `--force-conflicts`.
    pub fn conflicts(&self) -> impl Iterator<Item = &PlannedObject> {
        self.objects.iter().filter(|o| !o.conflicts.is_empty())
    }

    /// Whether applying would change anything.
    pub fn changes(&self) -> bool {
        self.objects.iter().any(|o| o.action != Action::Unchanged)
    }

    pub fn count(&self, action: Action) -> usize {
        self.objects.iter().filter(|o| o.action == action).count()
    }

    /// The plan of the same profile without `packs` (those a preflight skipped), so planning need
    /// not wait for the preflight.
    pub fn without_packs(mut self, packs: &[String]) -> Plan {
        let kept = |pack: &String| !packs.contains(pack);
        self.objects.retain(|o| kept(&o.pack));
        self.packs.retain(|p| kept(&p.pack));
        self
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    pub concurrency: usize,
    pub retry: RetryPolicy,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            retry: RetryPolicy::default(),
        }
    }
}

/// Plans applying `rendered` onto the cluster.
pub async fn plan(
    client: kube::Client,
    rendered: &Rendered,
    options: PlanOptions,
) -> Result<Plan, InstallError> {
    let desired = desired_objects(rendered)?;
    let resources = Resources::for_one_reading(client.clone(), options.retry);
    // The inventory, the namespaces and the kinds are read at once: none needs another.
    let store = InventoryStore::new(client.clone(), options.retry);
    let (inventory, new_namespaces, ()) = tokio::join!(
        store.load(),
        missing_namespaces(&client, &desired, options),
        resources.prefetch(desired.iter().map(|d| &d.key), options.concurrency)
    );
    let (inventory, new_namespaces) = (inventory?, new_namespaces?);
    let id = inventory.as_ref().map_or("", |i| i.id.as_str());
    let mut objects: Vec<PlannedObject> =
        concurrently_in_order(&desired, options.concurrency, |d| {
            plan_one(&resources, d, id, &new_namespaces, options.retry)
        })
        .await?;
    if let Some(inventory) = &inventory {
        let rendered: BTreeSet<&ObjectKey> = desired.iter().map(|d| &d.key).collect();
        let stale: Vec<_> = inventory
            .objects
            .iter()
            .filter(|e| !rendered.contains(&e.key))
            .collect();
        let pruned: Vec<Option<PlannedObject>> =
            concurrently_in_order(&stale, options.concurrency, |entry| {
                plan_prune(&resources, &entry.key, &entry.pack, options.retry)
            })
            .await?;
        objects.extend(pruned.into_iter().flatten());
    }
    Ok(Plan {
        packs: counts(rendered, inventory.as_ref(), &objects),
        objects,
        upgrade: inventory.is_some(),
    })
}

/// `plan` of each item, at most `concurrency` at once, answered in the items' order. A slow one
/// (a large CRD) holds only its own slot, not the ones behind it as an in-order stream would.
async fn concurrently_in_order<'i, I, T, F, Fut>(
    items: &'i [I],
    concurrency: usize,
    plan: F,
) -> Result<Vec<T>, InstallError>
where
    F: Fn(&'i I) -> Fut,
    Fut: Future<Output = Result<T, InstallError>>,
{
    let mut answered: Vec<(usize, T)> = stream::iter(items.iter().enumerate())
        .map(|(index, item)| {
            let answer = plan(item);
            async move { answer.await.map(|answer| (index, answer)) }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    answered.sort_unstable_by_key(|(index, _)| *index);
    Ok(answered.into_iter().map(|(_, answer)| answer).collect())
}

fn counts(
    rendered: &Rendered,
    inventory: Option<&Inventory>,
    objects: &[PlannedObject],
) -> Vec<PackCounts> {
    let mut order: Vec<String> = rendered.packs.iter().map(|p| p.name.clone()).collect();
    for pack in inventory.iter().flat_map(|i| &i.packs) {
        if !order.contains(&pack.name) {
            order.push(pack.name.clone());
        }
    }
    let mut by_pack: BTreeMap<&str, PackCounts> = BTreeMap::new();
    for object in objects {
        let counts = by_pack
            .entry(object.pack.as_str())
            .or_insert_with(|| PackCounts {
                pack: object.pack.clone(),
                ..PackCounts::default()
            });
        match object.action {
            Action::Create => counts.create += 1,
            Action::Update => counts.update += 1,
            Action::Unchanged => counts.unchanged += 1,
            Action::Prune => counts.prune += 1,
        }
    }
    let mut listed: Vec<PackCounts> = order
        .iter()
        .filter_map(|name| by_pack.remove(name.as_str()))
        .collect();
    listed.extend(by_pack.into_values());
    listed
}

async fn live(
    api: &Api<DynamicObject>,
    key: &ObjectKey,
    retry: RetryPolicy,
) -> Result<Option<Value>, InstallError> {
    let found = retry
        .run(|| api.get_opt(&key.name), |_, _| {})
        .await
        .map_err(|(source, _)| InstallError::Read {
            what: key.to_string(),
            source: Box::new(source),
        })?;
    Ok(found.map(|o| serde_json::to_value(o).expect("an object serialises")))
}

/// The namespaces the objects live in that the cluster does not have yet. Everything in them is
/// a create (a dry-run there answers 404), so those objects cost no requests. A namespace the
/// user may not read counts as existing: its objects are planned one by one.
async fn missing_namespaces(
    client: &kube::Client,
    desired: &[Desired],
    options: PlanOptions,
) -> Result<BTreeSet<String>, InstallError> {
    let referenced: BTreeSet<&str> = desired
        .iter()
        .filter_map(|d| d.key.namespace.as_deref())
        .collect();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let found: Vec<Option<String>> = stream::iter(referenced)
        .map(|name| {
            let namespaces = &namespaces;
            async move {
                match options
                    .retry
                    .run(|| namespaces.get_metadata_opt(name), |_, _| {})
                    .await
                {
                    Ok(None) => Ok(Some(name.to_string())),
                    Ok(Some(_)) => Ok(None),
                    Err((kube::Error::Api(status), _)) if status.code == 403 => Ok(None),
                    Err((source, _)) => Err(InstallError::Read {
                        what: format!("namespace {name}"),
                        source: Box::new(source),
                    }),
                }
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

async fn plan_one(
    resources: &Resources,
    desired: &Desired,
    inventory_id: &str,
    new_namespaces: &BTreeSet<String>,
    retry: RetryPolicy,
) -> Result<PlannedObject, InstallError> {
    let mut object = desired.object.clone();
    if !inventory_id.is_empty() {
        annotate(&mut object, inventory_id);
    }
    let planned = |action, before: Option<Value>, after: Option<Value>, conflicts| {
        let (mut before, mut after) = (
            before.map(|b| reviewable(&b)),
            after.map(|a| reviewable(&a)),
        );
        mask_secrets(before.as_mut(), after.as_mut());
        PlannedObject {
            object: desired.key.clone(),
            pack: desired.pack.clone(),
            action,
            diff: unified(before.as_ref(), after.as_ref()),
            conflicts,
        }
    };
    // A kind whose CRD is not applied yet: created after its CRD.
    let api = match resources.api_for(&desired.key).await {
        Ok(api) => api,
        Err(InstallError::KindNotServed { .. }) => {
            return Ok(planned(Action::Create, None, Some(object), Vec::new()));
        }
        Err(other) => return Err(other),
    };
    if let Some(namespace) = &desired.key.namespace
        && new_namespaces.contains(namespace)
        && resources.resolve(&desired.key).await?.namespaced
    {
        return Ok(planned(Action::Create, None, Some(object), Vec::new()));
    }
    // The live object and the dry-run are independent: both in flight at once.
    let (before, dry) = tokio::join!(
        live(&api, &desired.key, retry),
        dry_run(&api, &desired.key, &object, false, retry)
    );
    let before = before?;
    let (after, conflicts) = match dry {
        Ok(after) => (after, Vec::new()),
        Err(DryRun::Conflicts(conflicts)) => {
            let after = dry_run(&api, &desired.key, &object, true, retry)
                .await
                .map_err(|e| e.into_error(&desired.key))?;
            (after, conflicts)
        }
        // Its namespace is not created yet.
        Err(DryRun::Failed(kube::Error::Api(status), _)) if status.code == 404 => {
            return Ok(planned(Action::Create, None, Some(object), Vec::new()));
        }
        Err(other) => return Err(other.into_error(&desired.key)),
    };
    let action = match &before {
        None => Action::Create,
        Some(live) if reviewable(live) == reviewable(&after) => Action::Unchanged,
        Some(_) => Action::Update,
    };
    Ok(planned(action, before, Some(after), conflicts))
}

async fn plan_prune(
    resources: &Resources,
    key: &ObjectKey,
    pack: &str,
    retry: RetryPolicy,
) -> Result<Option<PlannedObject>, InstallError> {
    let api = match resources.api_for(key).await {
        Ok(api) => api,
        Err(InstallError::KindNotServed { .. }) => return Ok(None),
        Err(other) => return Err(other),
    };
    let Some(before) = live(&api, key, retry).await? else {
        return Ok(None);
    };
    let mut before = reviewable(&before);
    mask_secrets(Some(&mut before), None);
    Ok(Some(PlannedObject {
        object: key.clone(),
        pack: pack.to_string(),
        action: Action::Prune,
        diff: unified(Some(&before), None),
        conflicts: Vec::new(),
    }))
}

enum DryRun {
    Conflicts(Vec<Conflict>),
    Failed(kube::Error, u32),
}

impl DryRun {
    fn into_error(self, key: &ObjectKey) -> InstallError {
        match self {
            DryRun::Conflicts(conflicts) => InstallError::Conflicts {
                object: key.clone(),
                managers: conflicts.into_iter().map(|c| c.manager).collect(),
            },
            DryRun::Failed(source, attempts) => InstallError::Apply {
                object: key.clone(),
                attempts,
                source: Box::new(source),
            },
        }
    }
}

async fn dry_run(
    api: &Api<DynamicObject>,
    key: &ObjectKey,
    object: &Value,
    force: bool,
    retry: RetryPolicy,
) -> Result<Value, DryRun> {
    let mut params = PatchParams::apply(FIELD_MANAGER).dry_run();
    params.force = force;
    let patch = Patch::Apply(object);
    match retry
        .run(|| api.patch(&key.name, &params, &patch), |_, _| {})
        .await
    {
        Ok(after) => Ok(serde_json::to_value(after).expect("an object serialises")),
        Err((kube::Error::Api(status), _)) if status.code == 409 && !force => {
            Err(DryRun::Conflicts(conflicts_of(&status)))
        }
        Err((source, attempts)) => Err(DryRun::Failed(source, attempts)),
    }
}

/// The conflicts a 409 names, one per manager: causes read `conflict with "manager" ...`.
fn conflicts_of(status: &kube::core::Status) -> Vec<Conflict> {
    let mut by_manager: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for cause in status.details.iter().flat_map(|d| &d.causes) {
        let manager = cause
            .message
            .split('"')
            .nth(1)
            .unwrap_or("another manager")
            .to_string();
        by_manager
            .entry(manager)
            .or_default()
            .push(cause.field.clone());
    }
    if by_manager.is_empty() {
        by_manager.insert("another manager".into(), vec![status.message.clone()]);
    }
    by_manager
        .into_iter()
        .map(|(manager, fields)| Conflict { manager, fields })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_keep_the_items_order_when_they_finish_out_of_order() {
        // Each item waits for the one after it, so they finish last to first.
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..5)
            .map(|_| tokio::sync::oneshot::channel::<()>())
            .unzip();
        let senders = std::sync::Mutex::new(senders.into_iter().map(Some).collect::<Vec<_>>());
        let receivers = std::sync::Mutex::new(receivers.into_iter().map(Some).collect::<Vec<_>>());
        let items: Vec<usize> = (0..5).collect();
        let finished = std::sync::Mutex::new(Vec::new());
        let answers = concurrently_in_order(&items, 8, |&item| {
            let wait = receivers.lock().unwrap()[item].take().unwrap();
            let (senders, finished) = (&senders, &finished);
            async move {
                if item + 1 < 5 {
                    let _ = wait.await;
                }
                finished.lock().unwrap().push(item);
                if let Some(before) = item.checked_sub(1) {
                    let _ = senders.lock().unwrap()[before].take().unwrap().send(());
                }
                Ok::<usize, InstallError>(item * 10)
            }
        })
        .await
        .unwrap();
        assert_eq!(*finished.lock().unwrap(), [4, 3, 2, 1, 0]);
        assert_eq!(answers, [0, 10, 20, 30, 40]);
    }
}
