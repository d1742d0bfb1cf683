//! How the installed packs are doing now, from the inventory: each pack's workloads rolled out
//! and its readiness rules holding (KubeVirt and CDI Available, settled, at the installed
//! version), with the reason for whatever does not.

use futures::future::try_join_all;
use serde::Serialize;

use crate::error::InstallError;
use crate::install::is_workload;
use crate::inventory::{InstalledPack, Inventory};
use crate::object_key::ObjectKey;
use crate::readiness::Readiness;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackHealth {
    pub pack: String,
    pub version: String,
    pub healthy: bool,
    /// What is not right, one line per object ("Deployment kubevirt/virt-api: 1/2 available").
    pub reasons: Vec<String>,
}

/// Judges every installed pack once (no waiting).
pub async fn health(
    client: kube::Client,
    inventory: &Inventory,
    retry: RetryPolicy,
) -> Result<Vec<PackHealth>, InstallError> {
    let resources = Resources::new(client, retry);
    try_join_all(
        inventory
            .packs
            .iter()
            .map(|pack| pack_health(&resources, inventory, pack, retry)),
    )
    .await
}

async fn pack_health(
    resources: &Resources,
    inventory: &Inventory,
    pack: &InstalledPack,
    retry: RetryPolicy,
) -> Result<PackHealth, InstallError> {
    let workloads = inventory
        .objects
        .iter()
        .filter(|e| e.pack == pack.name && is_workload(&e.key))
        .map(|e| (e.key.clone(), Readiness::RolledOut));
    let rules = pack.readiness.iter().map(|rule| {
        (
            ObjectKey {
                api_version: rule.api_version.clone(),
                kind: rule.kind.clone(),
                namespace: rule.namespace.clone(),
                name: rule.name.clone(),
            },
            Readiness::from_rule(&rule.kind, &rule.condition, &pack.version),
        )
    });
    let checks: Vec<(ObjectKey, Readiness)> = workloads.chain(rules).collect();
    let judged = try_join_all(checks.iter().map(|(key, readiness)| async move {
        let live = match resources.api_for(key).await {
            Ok(api) => retry
                .run(|| api.get_opt(&key.name), |_, _| {})
                .await
                .map_err(|(source, _)| InstallError::Read {
                    what: key.to_string(),
                    source: Box::new(source),
                })?
                .map(|o| serde_json::to_value(o).expect("an object serialises")),
            Err(InstallError::KindNotServed { .. }) => None,
            Err(other) => return Err(other),
        };
        let (ready, status) = match &live {
            Some(_) => readiness.judge(&key.kind, live.as_ref()),
            None => (false, "missing".to_string()),
        };
        Ok::<_, InstallError>((!ready).then(|| format!("{key}: {status}")))
    }))
    .await?;
    let reasons: Vec<String> = judged.into_iter().flatten().collect();
    Ok(PackHealth {
        pack: pack.name.clone(),
        version: pack.version.clone(),
        healthy: reasons.is_empty(),
        reasons,
    })
}
