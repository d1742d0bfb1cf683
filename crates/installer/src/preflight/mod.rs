//! Preflight: what the cluster must offer, and must not already have, before an install. Checks
//! run concurrently; each reports an id, a verdict (pass, warn, fail), what it saw, how to fix it
//! and, where one exists, an automatic fix (a profile change, skipping a pack, or adoption). A
//! failure blocks the install; nothing is written to the cluster by a preflight.

pub mod change;
mod cni;
mod context;
pub mod error;
mod existing;
mod kvm;
mod permissions;
mod proxy;
mod proxy_access;
pub mod report;
mod snapshot_class;
mod snapshots;
mod storage;
pub mod tls_probe;
mod version;

use std::time::Duration;

use vmdeck_packs::{Catalog, Rendered};

pub use change::{ProfileChange, ProfileChangeError};
pub use error::PreflightError;
pub use kvm::{EMULATION_COST, KVM_RESOURCE};
pub use permissions::VERBS;
pub use report::{AutoFix, Check, CheckId, FixAction, PreflightReport, Verdict, without_packs};
pub use tls_probe::TargetEndpoint;

use crate::inventory::InventoryStore;
use crate::retry::RetryPolicy;
use context::Context;

/// How a preflight runs.
#[derive(Debug, Clone)]
pub struct PreflightOptions {
    pub retry: RetryPolicy,
    /// Access reviews in flight at once.
    pub concurrency: usize,
    /// For resolving and connecting to outside servers (the frp server).
    pub connect_timeout: Duration,
    /// The endpoint the client connects to (its URL's host and port, `tls-server-name`): the
    /// proxy checks dial it. `None`: the certificate is not read.
    pub endpoint: Option<TargetEndpoint>,
}

impl Default for PreflightOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            concurrency: 32,
            connect_timeout: proxy::CONNECT_TIMEOUT,
            endpoint: None,
        }
    }
}

/// A check's result, with a read it was not allowed to make turned into its failure.
fn settle(
    id: CheckId,
    result: Result<Vec<Check>, PreflightError>,
) -> Result<Vec<Check>, PreflightError> {
    match result {
        Err(PreflightError::Forbidden { what, message }) => Ok(vec![Check {
            id,
            pack: None,
            verdict: Verdict::Fail,
            saw: format!("cannot tell: not allowed to {what} ({message})"),
            fix: Some(format!("Run preflight with credentials that may {what}.")),
            auto_fix: None,
        }]),
        other => other,
    }
}

/// When the client goes through the proxy, its handshake first: a proxy that does not know this
/// cluster, or a certificate without the proxy host, is the report at once (the API server
/// could not answer; retrying the client would only take longer).
async fn through_the_proxy_first(
    rendered: &Rendered,
    options: &PreflightOptions,
) -> Option<PreflightReport> {
    let endpoint = options.endpoint.as_ref();
    let plan = proxy_access::plan(rendered, endpoint)?;
    if !proxy_access::is_proxied(&plan, endpoint) {
        return None;
    }
    let checks = proxy_access::probe_checks(&plan, endpoint, options.connect_timeout).await;
    checks
        .iter()
        .any(|c| c.verdict == Verdict::Fail)
        .then(|| PreflightReport {
            kubernetes_version: "unknown (not asked: the proxy checks failed)".into(),
            checks,
        })
}

/// Checks `rendered` (as `packs::render` made it from a profile of `catalog`) against the cluster.
pub async fn preflight(
    client: kube::Client,
    rendered: &Rendered,
    catalog: &Catalog,
    options: PreflightOptions,
) -> Result<PreflightReport, PreflightError> {
    if let Some(report) = through_the_proxy_first(rendered, &options).await {
        return Ok(report);
    }
    let store = InventoryStore::new(client.clone(), options.retry);
    let (info, inventory) = futures::join!(
        options.retry.run(|| client.apiserver_version(), |_, _| {}),
        store.load()
    );
    let info = info.map_err(|(source, _)| PreflightError::Unreachable {
        source: Box::new(source),
    })?;
    let inventory = match inventory {
        Ok(found) => found,
        Err(crate::InstallError::Read { what, source }) => {
            return Err(PreflightError::read(format!("get {what}"), *source));
        }
        Err(other) => return Err(other.into()),
    };
    let ctx = Context::new(
        client,
        rendered,
        catalog,
        &options,
        info.git_version,
        inventory,
    )?;
    let (
        version,
        permissions,
        kvm,
        storage,
        snapshots,
        snapshot_class,
        cni,
        existing,
        proxy,
        access,
    ) = futures::join!(
        version::check(&ctx),
        permissions::check(&ctx),
        kvm::check(&ctx),
        storage::check(&ctx),
        snapshots::check(&ctx),
        snapshot_class::check(&ctx),
        cni::check(&ctx),
        existing::check(&ctx),
        proxy::check(&ctx),
        proxy_access::checks(&ctx),
    );
    let mut checks = Vec::new();
    for (id, result) in [
        (CheckId::KubernetesVersion, version),
        (CheckId::Permissions, permissions),
        (CheckId::Kvm, kvm),
        (CheckId::DefaultStorageClass, storage),
        (CheckId::ExistingSnapshotController, snapshots),
        (CheckId::SnapshotClass, snapshot_class),
        (CheckId::DefaultCni, cni),
        (CheckId::ExistingKubevirt, existing),
        (CheckId::ProxyReachable, proxy),
        (CheckId::ProxyAgent, access),
    ] {
        checks.extend(settle(id, result)?);
    }
    Ok(PreflightReport {
        kubernetes_version: ctx.git_version.clone(),
        checks,
    })
}
