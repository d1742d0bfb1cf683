//! Deleting what we installed: one object (foreground, waited until gone, a 404 is done), a
//! set of objects in reverse apply order, or a whole pack by its uninstall steps. Shared by
//! uninstall and by an upgrade's prune.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use std::sync::Mutex;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde::Serialize;
use vmdeck_packs::manifest::UninstallStep;

use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::inventory::{Entry, InstalledPack, Inventory};
use crate::object_key::ObjectKey;
use crate::order::Phase;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

/// What to do with an object that outlives the wait (a finalizer nobody removes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenStuck {
    /// Fail the run, naming the object.
    Fail,
    /// Go on, and report it with the command that removes it.
    Report,
    /// Remove its finalizers (the user consented) and wait again.
    RemoveFinalizers,
}

/// An object still there after its delete, and how to remove it by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leftover {
    pub object: ObjectKey,
    pub finalizers: Vec<String>,
    /// A kubectl command that removes it (dropping its finalizers).
    pub remove_with: String,
}

impl Leftover {
    fn of(object: &ObjectKey, finalizers: Vec<String>) -> Self {
        let (group, _) = object.group_version();
        let resource = match group {
            "" => object.kind.to_lowercase(),
            group => format!("{}.{group}", object.kind.to_lowercase()),
        };
        let namespace = object
            .namespace
            .as_ref()
            .map_or(String::new(), |n| format!(" -n {n}"));
        Leftover {
            remove_with: format!(
                "kubectl patch {resource} {}{namespace} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'",
                object.name
            ),
            object: object.clone(),
            finalizers,
        }
    }
}

/// Deletes objects with bounded concurrency, reporting progress.
pub struct Deleter<'a> {
    pub resources: &'a Resources,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// How long an object may take to disappear (finalizers).
    pub gone_timeout: Duration,
    pub when_stuck: WhenStuck,
    pub progress: &'a ProgressSink,
    /// What outlived its delete, with `WhenStuck::Report` (or after removing finalizers).
    pub leftovers: Mutex<Vec<Leftover>>,
}

impl Deleter<'_> {
    /// The objects reported as left over so far.
    pub fn take_leftovers(&self) -> Vec<Leftover> {
        std::mem::take(&mut *self.leftovers.lock().expect("not poisoned"))
    }

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

    /// Deletes entries phase by phase, custom resources first and CRDs, then namespaces, last,
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
        if let (true, Some(uid)) = (wait, uid)
            && !self.gone(&api, key, &uid).await?
        {
            return self.stuck(&api, key, &uid).await;
        }
        self.progress
            .send(Progress::Deleted {
                object: key.clone(),
            })
            .await;
        Ok(true)
    }

    /// Waits until the object with `uid` is gone: `false` when it is still there at the limit.
    async fn gone(
        &self,
        api: &Api<DynamicObject>,
        key: &ObjectKey,
        uid: &str,
    ) -> Result<bool, InstallError> {
        let gone = await_condition(api.clone(), &key.name, conditions::is_deleted(uid));
        match tokio::time::timeout(self.gone_timeout, gone).await {
            Ok(Ok(_)) => Ok(true),
            Ok(Err(error)) => {
                tracing::debug!(%error, object = %key, "watching for deletion failed");
                Err(InstallError::NotReady {
                    what: format!("{key} to be gone"),
                    waited: self.gone_timeout,
                    last_seen: error.to_string(),
                })
            }
            Err(_) => Ok(false),
        }
    }

    /// An object that outlived its delete: fail, report it, or drop its finalizers and wait.
    async fn stuck(
        &self,
        api: &Api<DynamicObject>,
        key: &ObjectKey,
        uid: &str,
    ) -> Result<bool, InstallError> {
        let finalizers = |object: Option<DynamicObject>| {
            object
                .and_then(|o| o.metadata.finalizers)
                .unwrap_or_default()
        };
        let read = |source| InstallError::Read {
            what: key.to_string(),
            source: Box::new(source),
        };
        let still = finalizers(api.get_opt(&key.name).await.map_err(read)?);
        match self.when_stuck {
            WhenStuck::Fail => Err(InstallError::NotReady {
                what: format!("{key} to be gone"),
                waited: self.gone_timeout,
                last_seen: format!("still there, finalizers {still:?}"),
            }),
            WhenStuck::Report => {
                self.report(key, still);
                Ok(false)
            }
            WhenStuck::RemoveFinalizers => {
                let patch = Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}}));
                match api.patch(&key.name, &PatchParams::default(), &patch).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(status)) if status.code == 404 => return Ok(true),
                    Err(source) => {
                        return Err(InstallError::Delete {
                            object: key.clone(),
                            source: Box::new(source),
                        });
                    }
                }
                if self.gone(api, key, uid).await? {
                    self.progress
                        .send(Progress::Deleted {
                            object: key.clone(),
                        })
                        .await;
                    Ok(true)
                } else {
                    let still = finalizers(api.get_opt(&key.name).await.map_err(read)?);
                    self.report(key, still);
                    Ok(false)
                }
            }
        }
    }

    fn report(&self, key: &ObjectKey, finalizers: Vec<String>) {
        self.leftovers
            .lock()
            .expect("not poisoned")
            .push(Leftover::of(key, finalizers));
    }
}
