//! The inventory: a ConfigMap in `vmdeck-system` listing the profile (without secrets), the pack
//! versions, every object applied and the objects the operators create that uninstall removes.
//! It is written before the first object is created and grows before each phase, so an install
//! interrupted at any point can still be uninstalled completely; uninstall touches nothing else.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::InstallError;
use crate::object_key::ObjectKey;
use crate::retry::RetryPolicy;

pub const INVENTORY_NAMESPACE: &str = "vmdeck-system";
pub const INVENTORY_NAME: &str = "vmdeck-inventory";
/// Set on every object VMDeck applies: the inventory it belongs to.
pub const INVENTORY_ANNOTATION: &str = "vmdeck.io/inventory";
pub const FIELD_MANAGER: &str = "vmdeck";
const DATA_KEY: &str = "inventory.json";

/// A pack as installed, with the steps that uninstall it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledPack {
    pub name: String,
    pub version: String,
    pub uninstall: Vec<vmdeck_packs::manifest::UninstallStep>,
    /// What must hold for the pack to count as healthy (besides its workloads rolled out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readiness: Vec<vmdeck_packs::manifest::ReadinessRule>,
}

/// One object of ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub key: ObjectKey,
    pub pack: String,
    /// The upstream source it was rendered from, or `None` for the pack's templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Known once applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// What VMDeck installed on a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub id: String,
    /// The profile installed, as YAML, secrets left out.
    pub profile: String,
    /// Install order (dependencies first).
    pub packs: Vec<InstalledPack>,
    /// Apply order; each object once.
    pub objects: Vec<Entry>,
    /// Made by the operators, not by us, yet ours to remove (APIServices, webhooks).
    pub operator_objects: Vec<Entry>,
}

impl Inventory {
    pub fn new(profile: String) -> Self {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the OS random source works");
        Self {
            id: hex::encode(bytes),
            profile,
            packs: Vec::new(),
            objects: Vec::new(),
            operator_objects: Vec::new(),
        }
    }

    /// Adds objects not listed yet (an object is never listed twice).
    pub fn add(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            if !self.objects.iter().any(|e| e.key == entry.key) {
                self.objects.push(entry);
            }
        }
    }

    pub fn add_operator_objects(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            if !self.operator_objects.iter().any(|e| e.key == entry.key) {
                self.operator_objects.push(entry);
            }
        }
    }

    /// Records the uids the cluster gave.
    pub fn set_uids(&mut self, uids: &BTreeMap<ObjectKey, String>) {
        for entry in &mut self.objects {
            if let Some(uid) = uids.get(&entry.key) {
                entry.uid = Some(uid.clone());
            }
        }
    }

    pub fn contains(&self, key: &ObjectKey) -> bool {
        self.objects.iter().any(|e| &e.key == key)
    }
}

/// Reads and writes the inventory in the cluster.
pub struct InventoryStore {
    client: kube::Client,
    retry: RetryPolicy,
    /// Whether this store made sure of the namespace already (saves then cost one request).
    namespace_made: AtomicBool,
}

impl InventoryStore {
    pub fn new(client: kube::Client, retry: RetryPolicy) -> Self {
        Self {
            client,
            retry,
            namespace_made: AtomicBool::new(false),
        }
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), INVENTORY_NAMESPACE)
    }

    fn what() -> String {
        format!("the inventory {INVENTORY_NAMESPACE}/{INVENTORY_NAME}")
    }

    fn key() -> ObjectKey {
        ObjectKey {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(INVENTORY_NAMESPACE.into()),
            name: INVENTORY_NAME.into(),
        }
    }

    /// The inventory, if VMDeck installed anything here.
    pub async fn load(&self) -> Result<Option<Inventory>, InstallError> {
        let api = self.config_maps();
        let found = self
            .retry
            .run(|| api.get_opt(INVENTORY_NAME), |_, _| {})
            .await
            .map_err(|(source, _)| InstallError::Read {
                what: Self::what(),
                source: Box::new(source),
            })?;
        let Some(map) = found else { return Ok(None) };
        // Its namespace exists (a save that finds it gone makes it again).
        self.namespace_made.store(true, Ordering::Release);
        let text = map
            .data
            .as_ref()
            .and_then(|d| d.get(DATA_KEY))
            .map_or("", String::as_str);
        serde_json::from_str(text)
            .map(Some)
            .map_err(|reason| InstallError::InventoryCorrupt {
                namespace: INVENTORY_NAMESPACE.into(),
                name: INVENTORY_NAME.into(),
                reason,
            })
    }

    /// Writes the inventory by server-side apply, making its namespace first (once per store,
    /// and again should it have gone).
    pub async fn save(&self, inventory: &Inventory) -> Result<(), InstallError> {
        if !self.namespace_made.load(Ordering::Acquire) {
            self.make_namespace().await?;
        }
        match self.write(inventory).await {
            Err((kube::Error::Api(status), _)) if status.code == 404 => {
                self.make_namespace().await?;
                self.write(inventory).await
            }
            written => written,
        }
        .map(|_| ())
        .map_err(|(source, attempts)| InstallError::Apply {
            object: Self::key(),
            attempts,
            source: Box::new(source),
        })
    }

    async fn make_namespace(&self) -> Result<(), InstallError> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace = json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": INVENTORY_NAMESPACE,
                "labels": {vmdeck_packs::render::MANAGED_BY_LABEL: vmdeck_packs::render::MANAGED_BY_VALUE}},
        });
        let namespace = Patch::Apply(&namespace);
        self.retry
            .run(
                || namespaces.patch(INVENTORY_NAMESPACE, &params, &namespace),
                |_, _| {},
            )
            .await
            .map_err(|(source, attempts)| InstallError::Apply {
                object: ObjectKey {
                    api_version: "v1".into(),
                    kind: "Namespace".into(),
                    namespace: None,
                    name: INVENTORY_NAMESPACE.into(),
                },
                attempts,
                source: Box::new(source),
            })?;
        self.namespace_made.store(true, Ordering::Release);
        Ok(())
    }

    async fn write(&self, inventory: &Inventory) -> Result<ConfigMap, (kube::Error, u32)> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let text = serde_json::to_string(inventory).expect("an inventory serialises");
        let map = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": INVENTORY_NAME, "namespace": INVENTORY_NAMESPACE,
                "labels": {vmdeck_packs::render::MANAGED_BY_LABEL: vmdeck_packs::render::MANAGED_BY_VALUE},
                "annotations": {INVENTORY_ANNOTATION: inventory.id}},
            "data": {DATA_KEY: text},
        });
        let api = self.config_maps();
        let map = Patch::Apply(&map);
        self.retry
            .run(|| api.patch(INVENTORY_NAME, &params, &map), |_, _| {})
            .await
    }

    /// Removes the inventory and its namespace: the last step of an uninstall.
    pub async fn remove(&self) -> Result<(), InstallError> {
        let api = self.config_maps();
        let params = DeleteParams::default();
        let deleted = self
            .retry
            .run(|| api.delete(INVENTORY_NAME, &params), |_, _| {})
            .await;
        match deleted {
            Ok(_) => {}
            Err((kube::Error::Api(status), _)) if status.code == 404 => {}
            Err((source, _)) => {
                return Err(InstallError::Delete {
                    object: Self::key(),
                    source: Box::new(source),
                });
            }
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        match self
            .retry
            .run(
                || namespaces.delete(INVENTORY_NAMESPACE, &params),
                |_, _| {},
            )
            .await
        {
            Ok(_) => Ok(()),
            Err((kube::Error::Api(status), _)) if status.code == 404 => Ok(()),
            Err((source, _)) => Err(InstallError::Delete {
                object: ObjectKey {
                    api_version: "v1".into(),
                    kind: "Namespace".into(),
                    namespace: None,
                    name: INVENTORY_NAMESPACE.into(),
                },
                source: Box::new(source),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        Entry {
            key: ObjectKey {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("a".into()),
                name: name.into(),
            },
            pack: "p".into(),
            source: None,
            uid: None,
        }
    }

    #[test]
    fn objects_are_listed_once_and_round_trip() {
        let mut inventory = Inventory::new("profile: yes".into());
        inventory.add([entry("one"), entry("two"), entry("one")]);
        inventory.set_uids(&BTreeMap::from([(entry("two").key, "uid-2".to_string())]));
        assert_eq!(inventory.objects.len(), 2);
        assert_eq!(inventory.objects[1].uid.as_deref(), Some("uid-2"));
        assert_eq!(inventory.id.len(), 16);
        let text = serde_json::to_string(&inventory).unwrap();
        assert!(text.contains(r#""kind":"ConfigMap""#), "{text}");
        assert_eq!(serde_json::from_str::<Inventory>(&text).unwrap(), inventory);
    }
}
