//! The endpoint calls over the vault: check both endpoints of a cluster, add proxied access
//! (defaults from the spectro-proxy values in the cluster's VMDeck inventory), switch.

use vmdeck_installer::inventory::InventoryStore;
use vmdeck_vault::{CheckReport, EndpointKind, PackProxyValues, ProxiedAccess};

use crate::app::{App, blocking};
use crate::endpoint_views::{AddProxiedInput, EndpointView, EndpointsView, UseEndpointInput};
use crate::requests::ClusterRef;
use crate::ui_error::UiError;
use crate::views::ClusterView;

fn answer(report: &CheckReport) -> (bool, Option<UiError>) {
    (
        report.reachable,
        report
            .failure
            .as_ref()
            .map(|f| UiError::new(&f.code, f.message.clone())),
    )
}

impl App {
    /// Checks both endpoints of a saved cluster at once.
    pub async fn cluster_endpoints(&self, cluster: ClusterRef) -> Result<EndpointsView, UiError> {
        let (vault, _) = self.vault_for(&cluster.name).await?;
        let (saved, direct, proxied) = vault.check_endpoints(&cluster.name).await?;
        let (answers, failure) = answer(&direct);
        let mut endpoints = vec![EndpointView {
            kind: EndpointKind::Direct.into(),
            server: saved.server.clone(),
            tls_server_name: None,
            proxy_url: None,
            answers,
            in_use: saved.endpoint_in_use == EndpointKind::Direct,
            failure,
        }];
        if let (Some(endpoint), Some(report)) = (&saved.proxied, &proxied) {
            let (answers, failure) = answer(report);
            endpoints.push(EndpointView {
                kind: EndpointKind::Proxied.into(),
                server: endpoint.server.clone(),
                tls_server_name: endpoint.tls_server_name.clone(),
                proxy_url: endpoint.proxy_url.clone(),
                answers,
                in_use: saved.endpoint_in_use == EndpointKind::Proxied,
                failure,
            });
        }
        Ok(EndpointsView {
            cluster: saved.name,
            in_use: saved.endpoint_in_use.into(),
            endpoints,
        })
    }

    /// Saves proxied access (the proxy host, port and cluster id default from the installed
    /// spectro-proxy values), then checks both endpoints.
    pub async fn add_proxied_access(
        &self,
        input: AddProxiedInput,
    ) -> Result<EndpointsView, UiError> {
        let (vault, _) = self.vault_for(&input.cluster).await?;
        let mut defaults = PackProxyValues::default();
        if input.proxy_host.is_none() || input.cluster_uid.is_none() {
            let client = vault
                .client_via(&input.cluster, Some(EndpointKind::Direct))
                .await?;
            let inventory = InventoryStore::new(client, Default::default())
                .load()
                .await
                .map_err(|e| UiError::new(e.code(), e.to_string()))?;
            if let Some(inventory) = inventory {
                defaults = PackProxyValues::from_profile(&inventory.profile);
            }
        }
        let missing = |field: &str, what: &str| UiError {
            field: Some(field.to_string()),
            ..UiError::new(
                "proxy_value_missing",
                format!(
                    "{what} is not given and the spectro-proxy pack installed on this cluster does not set it; enter it"
                ),
            )
        };
        let access = ProxiedAccess {
            proxy_host: input
                .proxy_host
                .or(defaults.proxy_host)
                .ok_or_else(|| missing("proxy_host", "the proxy host"))?,
            port: input.port.or(defaults.port).unwrap_or(443),
            cluster_uid: input
                .cluster_uid
                .or(defaults.cluster_uid)
                .ok_or_else(|| missing("cluster_uid", "the cluster id"))?,
            address: input.address,
            ca_pem: input.ca_pem,
            proxy_url: input.proxy_url,
        };
        let endpoint = access.endpoint().map_err(vmdeck_vault::VaultError::from)?;
        let (name, use_it, saver) = (input.cluster.clone(), input.use_it, vault.clone());
        blocking(move || saver.add_proxied(&name, endpoint, use_it)).await?;
        self.cluster_endpoints(ClusterRef {
            name: input.cluster,
        })
        .await
    }

    /// Switches the endpoint a cluster's clients (checks, installs, VMs, consoles) use.
    pub async fn use_endpoint(&self, input: UseEndpointInput) -> Result<ClusterView, UiError> {
        let (vault, simulated) = self.vault_for(&input.cluster).await?;
        let saved =
            blocking(move || vault.use_endpoint(&input.cluster, input.endpoint.into())).await?;
        Ok(ClusterView::from_saved(&saved, simulated))
    }
}
