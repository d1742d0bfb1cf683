//! Deleting what we installed: one object (foreground, waited until gone, a 404 is done), a
//! set of objects in reverse apply order, or a whole pack by its uninstall steps. Shared by
//! uninstall and by an upgrade's prune.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use kube::api::DeleteParams;
use kube::runtime::wait::{await_condition, conditions};
use vmdeck_packs::manifest::UninstallStep;

use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::inventory::{Entry, InstalledPack, Inventory};
use crate::object_key::ObjectKey;
use crate::order::Phase;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

/// Deletes objects with bounded concurrency, reporting progress.
pub struct Deleter<'a> {
    pub resources: &'a Resources,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// How long an object may take to disappear (finalizers).
    pub gone_timeout: Duration,
    pub progress: &'a ProgressSink,
}

impl Deleter<'_> {
    /// Removes one pack: its uninstall steps in order, then whatever of its objects they did not
    /// name, in reverse apply order; `done` collects what is handled.
    pub async fn remove_pack(
        &self,
        inventory: &Inventory,
        pack: &InstalledPack,
        done: &mut BTreeSet<ObjectKey>,
    ) -> Result<usize, InstallError> {
        let ours: Vec<&Entry> = inventory
            .objects
            .iter()
            .filter(|e| e.pack == pack.name)
            .collect();
        let mut deleted = 0;
        for step in &pack.uninstall {
            match step {
                UninstallStep::Delete {
                    delete,
                    wait_until_gone,
                } => {
                    let key = ObjectKey::from(delete);
                    if done.insert(key.clone()) && self.delete(&key, *wait_until_gone).await? {
                        deleted += 1;
                    }
                }
                UninstallStep::DeleteSource { delete_source } => {
                    let from: Vec<&Entry> = ours
                        .iter()
                        .copied()
                        .filter(|e| e.source.as_deref() == Some(delete_source.as_str()))
                        .collect();
                    deleted += self.delete_in_reverse_order(&from, done).await?;
                }
                UninstallStep::DeleteTemplates { delete_templates } => {
                    if *delete_templates {
                        let from: Vec<&Entry> = ours
                            .iter()
                            .copied()
                            .filter(|e| e.source.is_none())
                            .collect();
                        deleted += self.delete_in_reverse_order(&from, done).await?;
                    }
                }
            }
        }
        // Whatever the steps did not name.
        deleted += self.delete_in_reverse_order(&ours, done).await?;
        Ok(deleted)
    }

    /// Deletes entries phase by phase, custom resources first and namespaces and CRDs last,
    /// concurrently within a phase, each waited until gone; skips what is done already.
    pub async fn delete_in_reverse_order(
        &self,
        entries: &[&Entry],
        done: &mut BTreeSet<ObjectKey>,
    ) -> Result<usize, InstallError> {
        let mut phases: BTreeMap<Phase, Vec<ObjectKey>> = BTreeMap::new();
        for entry in entries {
            if done.insert(entry.key.clone()) {
                phases
                    .entry(Phase::of(&entry.key))
                    .or_default()
                    .push(entry.key.clone());
            }
        }
        let mut deleted = 0;
        for (_, keys) in phases.into_iter().rev() {
            let gone: Vec<bool> = stream::iter(&keys)
                .map(|key| self.delete(key, true))
                .buffer_unordered(self.concurrency.max(1))
                .try_collect()
                .await?;
            deleted += gone.into_iter().filter(|existed| *existed).count();
        }
        Ok(deleted)
    }

    /// Deletes one object (foreground), waiting until it is gone when `wait`; `false` when it was
    /// already gone (or its kind is no longer served).
    pub async fn delete(&self, key: &ObjectKey, wait: bool) -> Result<bool, InstallError> {
        let api = match self.resources.api_for(key).await {
            Ok(api) => api,
            Err(InstallError::KindNotServed { .. }) => return Ok(false),
            Err(other) => return Err(other),
        };
        self.progress
            .send(Progress::Deleting {
                object: key.clone(),
            })
            .await;
        let foreground = DeleteParams::foreground();
        let deleted = self
            .retry
            .run(|| api.delete(&key.name, &foreground), |_, _| {})
            .await;
        let uid = match deleted {
            Ok(either) => either.left().and_then(|o| o.metadata.uid),
            Err((kube::Error::Api(status), _)) if status.code == 404 => return Ok(false),
            Err((source, _)) => {
                return Err(InstallError::Delete {
                    object: key.clone(),
                    source: Box::new(source),
                });
            }
        };
        // An answer without the object (a Status) means it is gone already.
        if let (true, Some(uid)) = (wait, uid) {
            let gone = await_condition(api, &key.name, conditions::is_deleted(&uid));
            match tokio::time::timeout(self.gone_timeout, gone).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::debug!(%error, object = %key, "watching for deletion failed");
                    return Err(InstallError::NotReady {
                        what: format!("{key} to be gone"),
                        waited: self.gone_timeout,
                        last_seen: error.to_string(),
                    });
                }
                Err(_) => {
                    return Err(InstallError::NotReady {
                        what: format!("{key} to be gone"),
                        waited: self.gone_timeout,
                        last_seen: "still there (a finalizer?)".into(),
                    });
                }
            }
        }
        self.progress
            .send(Progress::Deleted {
                object: key.clone(),
            })
            .await;
        Ok(true)
    }
}
