//! What every check reads from: the client, the rendered profile, the catalog, the cluster's
//! version and our inventory (to tell our objects from others'), with listing that retries only
//! transient errors.

use std::fmt::Debug;

use kube::api::{Api, ListParams, ObjectMeta};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde::de::DeserializeOwned;
use serde_json::Value;
use vmdeck_packs::manifest::KubernetesMinor;
use vmdeck_packs::{Catalog, Rendered, RenderedPack};

use super::PreflightOptions;
use super::error::PreflightError;
use crate::apply::Desired;
use crate::install::desired_objects;
use crate::inventory::{INVENTORY_ANNOTATION, Inventory};
use crate::object_key::ObjectKey;

pub(super) struct Context<'a> {
    pub client: kube::Client,
    pub rendered: &'a Rendered,
    pub desired: Vec<Desired>,
    pub catalog: &'a Catalog,
    pub options: &'a PreflightOptions,
    pub git_version: String,
    pub version: Option<KubernetesMinor>,
    pub inventory: Option<Inventory>,
}

impl<'a> Context<'a> {
    pub fn new(
        client: kube::Client,
        rendered: &'a Rendered,
        catalog: &'a Catalog,
        options: &'a PreflightOptions,
        git_version: String,
        inventory: Option<Inventory>,
    ) -> Result<Self, PreflightError> {
        Ok(Self {
            desired: desired_objects(rendered)?,
            version: KubernetesMinor::parse(&git_version),
            client,
            rendered,
            catalog,
            options,
            git_version,
            inventory,
        })
    }

    /// The chosen pack called `name`.
    pub fn chosen(&self, name: &str) -> Option<&RenderedPack> {
        self.rendered.packs.iter().find(|p| p.name == name)
    }

    /// The first rendered object of `pack` with this kind (and name, when given).
    pub fn rendered_object(&self, pack: &str, kind: &str, name: Option<&str>) -> Option<&Value> {
        self.desired
            .iter()
            .find(|d| {
                d.pack == pack && d.key.kind == kind && name.is_none_or(|name| d.key.name == name)
            })
            .map(|d| &d.object)
    }

    /// Every object of `api`, retrying transient errors; `what` names them in errors.
    pub async fn list<K>(&self, api: &Api<K>, what: &str) -> Result<Vec<K>, PreflightError>
    where
        K: Clone + DeserializeOwned + Debug,
    {
        let params = ListParams::default();
        self.options
            .retry
            .run(|| api.list(&params), |_, _| {})
            .await
            .map(|list| list.items)
            .map_err(|(source, _)| PreflightError::read(format!("list {what}"), source))
    }

    /// One object of `api`, or `None`.
    pub async fn get<K>(
        &self,
        api: &Api<K>,
        name: &str,
        what: &str,
    ) -> Result<Option<K>, PreflightError>
    where
        K: Clone + DeserializeOwned + Debug,
    {
        self.options
            .retry
            .run(|| api.get_opt(name), |_, _| {})
            .await
            .map_err(|(source, _)| PreflightError::read(format!("get {what}"), source))
    }

    /// Every object of a custom kind in all namespaces, or `None` when the cluster does not serve it.
    pub async fn list_custom(
        &self,
        gvk: &GroupVersionKind,
        plural: &str,
    ) -> Result<Option<Vec<DynamicObject>>, PreflightError> {
        let resource = ApiResource::from_gvk_with_plural(gvk, plural);
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let params = ListParams::default();
        match self
            .options
            .retry
            .run(|| api.list(&params), |_, _| {})
            .await
        {
            Ok(list) => Ok(Some(list.items)),
            Err((kube::Error::Api(status), _)) if status.code == 404 => Ok(None),
            Err((source, _)) => Err(PreflightError::read(
                format!("list {plural}.{}", gvk.group),
                source,
            )),
        }
    }

    /// Whether VMDeck put this object there: listed in our inventory, or carrying our inventory
    /// annotation (any VMDeck inventory's when none is on this cluster).
    pub fn ours(&self, key: &ObjectKey, meta: &ObjectMeta) -> bool {
        let annotation = meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(INVENTORY_ANNOTATION));
        match &self.inventory {
            Some(inventory) => {
                inventory.contains(key) || annotation.is_some_and(|id| *id == inventory.id)
            }
            None => annotation.is_some(),
        }
    }
}

/// `a, b, c and 4 more` (for lines that name objects).
pub(super) fn some_of(names: &[String], shown: usize) -> String {
    match names.len() {
        0 => "none".into(),
        n if n <= shown => names.join(", "),
        n => format!("{} and {} more", names[..shown].join(", "), n - shown),
    }
}
