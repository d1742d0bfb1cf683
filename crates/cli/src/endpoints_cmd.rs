//! `vmdeckctl clusters endpoints | use-endpoint | add-proxied`: a saved cluster's direct and
//! proxied (Spectro-style reverse proxy) endpoints, which answers, which is in use, switching,
//! and adding proxied access with defaults from the cluster's installed spectro-proxy values.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::{Args, ValueEnum};
use serde::Serialize;
use vmdeck_installer::inventory::InventoryStore;
use vmdeck_vault::{CheckReport, EndpointKind, PackProxyValues, ProxiedAccess, Vault};

use crate::clusters_cmd::ListFormat;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EndpointArg {
    Direct,
    Proxied,
}

impl From<EndpointArg> for EndpointKind {
    fn from(arg: EndpointArg) -> Self {
        match arg {
            EndpointArg::Direct => EndpointKind::Direct,
            EndpointArg::Proxied => EndpointKind::Proxied,
        }
    }
}

/// What `add-proxied` takes; what is left out comes from the installed spectro-proxy values.
#[derive(Debug, Clone, Args)]
pub struct AddProxiedArgs {
    /// The frp server's host (the pack's server.address), e.g. proxy.example.com
    #[arg(long, value_name = "HOST")]
    pub server: Option<String>,
    /// The proxy's HTTPS port (default: the pack's server.port, else 443)
    #[arg(long)]
    pub port: Option<u16>,
    /// The cluster's id (the pack's clusterId): the host is cluster-<id>.<server>
    #[arg(long, value_name = "UID")]
    pub cluster_uid: Option<String>,
    /// Dial this address (host or host:port) instead of the proxied host name, which is then
    /// verified as tls-server-name (no DNS entry needed)
    #[arg(long, value_name = "HOST[:PORT]")]
    pub address: Option<String>,
    /// The name to verify in the API server's certificate (default: the proxied host name when
    /// --address is given)
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// PEM file of the CA that signed the API server's certificate (default: the direct one's)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// An HTTP CONNECT proxy to reach the reverse proxy through (no credentials)
    #[arg(long, value_name = "URL")]
    pub proxy_url: Option<String>,
    /// Keep using the direct endpoint (default: switch to the proxied one)
    #[arg(long)]
    pub keep_direct: bool,
}

#[derive(Serialize)]
struct EndpointView {
    kind: EndpointKind,
    server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy_url: Option<String>,
    answers: bool,
    in_use: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<vmdeck_vault::CheckFailure>,
}

#[derive(Serialize)]
struct EndpointsView {
    cluster: String,
    in_use: EndpointKind,
    endpoints: Vec<EndpointView>,
}

/// Checks both endpoints and prints them.
pub async fn endpoints(vault: &Vault, name: &str, output: ListFormat) -> Result<()> {
    let (cluster, direct, proxied) = vault
        .check_endpoints(name)
        .await
        .map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    let answer = |report: &CheckReport| (report.reachable, report.failure.clone());
    let mut views = Vec::new();
    let (answers, failure) = answer(&direct);
    views.push(EndpointView {
        kind: EndpointKind::Direct,
        server: cluster.server.clone(),
        tls_server_name: None,
        proxy_url: None,
        answers,
        in_use: cluster.endpoint_in_use == EndpointKind::Direct,
        failure,
    });
    if let (Some(endpoint), Some(report)) = (&cluster.proxied, &proxied) {
        let (answers, failure) = answer(report);
        views.push(EndpointView {
            kind: EndpointKind::Proxied,
            server: endpoint.server.clone(),
            tls_server_name: endpoint.tls_server_name.clone(),
            proxy_url: endpoint.proxy_url.clone(),
            answers,
            in_use: cluster.endpoint_in_use == EndpointKind::Proxied,
            failure,
        });
    }
    let view = EndpointsView {
        cluster: cluster.name.clone(),
        in_use: cluster.endpoint_in_use,
        endpoints: views,
    };
    match output {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&view)?),
        ListFormat::Table => {
            println!(
                "{:<8}  {:<7}  {:<6}  {:<44}  VIA",
                "ENDPOINT", "ANSWERS", "IN USE", "SERVER"
            );
            for endpoint in &view.endpoints {
                let mut via = Vec::new();
                if let Some(name) = &endpoint.tls_server_name {
                    via.push(format!("tls-server-name {name}"));
                }
                if let Some(proxy) = &endpoint.proxy_url {
                    via.push(format!("proxy-url {proxy}"));
                }
                println!(
                    "{:<8}  {:<7}  {:<6}  {:<44}  {}",
                    endpoint.kind.as_str(),
                    if endpoint.answers { "yes" } else { "no" },
                    if endpoint.in_use { "*" } else { "" },
                    endpoint.server,
                    if via.is_empty() {
                        "-".into()
                    } else {
                        via.join(", ")
                    }
                );
                if let Some(failure) = &endpoint.failure {
                    println!("          [{}] {}", failure.code, failure.message);
                }
            }
            if view.endpoints.len() == 1 {
                println!(
                    "no proxied endpoint: vmdeckctl clusters add-proxied {} --server PROXY_HOST --cluster-uid UID",
                    view.cluster
                );
            }
        }
    }
    Ok(())
}

/// The installed spectro-proxy pack's (server.address, server.port, clusterId), if any.
async fn installed_proxy_values(
    vault: &Vault,
    name: &str,
) -> Result<(Option<String>, Option<u16>, Option<String>)> {
    let client = vault
        .client_via(name, Some(EndpointKind::Direct))
        .await
        .map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    let inventory = InventoryStore::new(client, Default::default())
        .load()
        .await
        .map_err(|e| anyhow!("reading the cluster's VMDeck inventory: {e}"))?;
    let Some(inventory) = inventory else {
        return Ok((None, None, None));
    };
    let values = PackProxyValues::from_profile(&inventory.profile);
    Ok((values.proxy_host, values.port, values.cluster_uid))
}

/// Adds (or replaces) proxied access; prints the endpoint saved.
pub async fn add_proxied(vault: &Vault, name: &str, args: AddProxiedArgs) -> Result<()> {
    vault.get(name).map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    let (mut server, mut port, mut uid) =
        (args.server.clone(), args.port, args.cluster_uid.clone());
    if server.is_none() || uid.is_none() {
        let (pack_server, pack_port, pack_uid) = installed_proxy_values(vault, name)
            .await
            .with_context(|| {
                "--server and --cluster-uid were not both given, and the cluster's spectro-proxy values could not be read"
            })?;
        server = server.or(pack_server);
        port = port.or(pack_port);
        uid = uid.or(pack_uid);
    }
    let server = server.ok_or_else(|| {
        anyhow!("--server is missing and the spectro-proxy pack is not installed on {name} (give --server PROXY_HOST)")
    })?;
    let uid = uid.ok_or_else(|| {
        anyhow!("--cluster-uid is missing and the installed spectro-proxy pack has no clusterId (give --cluster-uid UID)")
    })?;
    let ca_pem = match &args.ca_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("--ca-file {}: cannot read it", path.display()))?,
        ),
        None => None,
    };
    let access = ProxiedAccess {
        proxy_host: server,
        port: port.unwrap_or(443),
        cluster_uid: uid,
        address: args.address.clone(),
        ca_pem,
        proxy_url: args.proxy_url.clone(),
    };
    let mut endpoint = access
        .endpoint()
        .map_err(|e| anyhow!("[{}] --{}: {e}", e.code(), e.field().replace('_', "-")))?;
    if let Some(tls_name) = args.tls_server_name.as_deref().map(str::trim) {
        if tls_name.is_empty() {
            return Err(anyhow!(
                "--tls-server-name: empty; give the name in the API server's certificate"
            ));
        }
        endpoint.tls_server_name = Some(tls_name.to_string());
    }
    let saved = vault
        .add_proxied(name, endpoint, !args.keep_direct)
        .map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    let proxied = saved.proxied.as_ref().expect("just saved");
    println!(
        "{name}: proxied endpoint {}{} saved; in use: {}",
        proxied.server,
        proxied
            .tls_server_name
            .as_deref()
            .map(|n| format!(" (tls-server-name {n})"))
            .unwrap_or_default(),
        saved.endpoint_in_use.as_str()
    );
    Ok(())
}

/// Switches the endpoint in use.
pub fn use_endpoint(vault: &Vault, name: &str, endpoint: EndpointArg) -> Result<()> {
    let saved = vault
        .use_endpoint(name, endpoint.into())
        .map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    println!(
        "{name}: using the {} endpoint",
        saved.endpoint_in_use.as_str()
    );
    Ok(())
}
