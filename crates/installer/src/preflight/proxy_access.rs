//! Access through the Spectro Proxy: the API server's certificate names the proxy host
//! (`cluster-<id>.<server>`, read from a real TLS handshake: through the proxy when the target is
//! the proxied endpoint, else from the API server with that name as SNI); the proxy answers for
//! that name (a close during the handshake is "the proxy does not know this cluster"); and the
//! frpc agent in the cluster is available with a ConfigMap naming the frp server of the values.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use vmdeck_packs::Rendered;

use super::context::Context;
use super::error::PreflightError;
use super::proxy::PROXY_PACK;
use super::report::{Check, CheckId, Verdict};
use super::tls_probe::{ProbeError, TargetEndpoint, name_covers, peer_names};

const CONFIG_MAP: &str = "frpc-config";
const CONFIG_KEY: &str = "frpc.toml";
const DEPLOYMENT: &str = "frpc";

/// What the frpc config says: the frp server and the name it publishes this cluster under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FrpcConfig {
    pub server_addr: String,
    pub server_port: u16,
    /// The `subdomain` of the first proxy that has one.
    pub subdomain: Option<String>,
}

impl FrpcConfig {
    /// `None` when the text is not TOML or names no server.
    pub fn parse(text: &str) -> Option<FrpcConfig> {
        let table: toml::Table = toml::from_str(text).ok()?;
        let subdomain = table
            .get("proxies")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|p| p.get("subdomain").and_then(toml::Value::as_str))
            .map(str::to_string);
        Some(FrpcConfig {
            server_addr: table.get("serverAddr")?.as_str()?.to_string(),
            // frp's default when serverPort is not set.
            server_port: table
                .get("serverPort")
                .and_then(toml::Value::as_integer)
                .map_or(Some(7000), |p| u16::try_from(p).ok())?,
            subdomain,
        })
    }

    /// `cluster-<id>.<serverAddr>`.
    pub fn proxy_host(&self) -> Option<String> {
        let sub = self.subdomain.as_deref().filter(|s| !s.is_empty())?;
        (!self.server_addr.is_empty()).then(|| format!("{sub}.{}", self.server_addr))
    }
}

/// The proxy as the profile (or else the target) names it.
#[derive(Debug, Clone)]
pub(super) struct ProxyPlan {
    pub host: String,
    /// From the rendered pack, when the profile includes it.
    pub config: Option<FrpcConfig>,
    pub namespace: Option<String>,
}

fn rendered_object<'r>(
    rendered: &'r Rendered,
    kind: &str,
    name: &str,
) -> Option<&'r serde_yaml_ng::Value> {
    rendered
        .objects
        .iter()
        .find(|o| o.pack == PROXY_PACK && o.kind() == kind && o.name() == name)
        .map(|o| &o.object)
}

/// The plan from the rendered spectro-proxy pack, or, without it, from a target whose name looks
/// like a proxied endpoint (`cluster-...`).
pub(super) fn plan(rendered: &Rendered, endpoint: Option<&TargetEndpoint>) -> Option<ProxyPlan> {
    if rendered.packs.iter().any(|p| p.name == PROXY_PACK) {
        let text = rendered_object(rendered, "ConfigMap", CONFIG_MAP)
            .and_then(|cm| cm.get("data"))
            .and_then(|data| data.get(CONFIG_KEY))
            .and_then(serde_yaml_ng::Value::as_str)?;
        let config = FrpcConfig::parse(text)?;
        let namespace = rendered_object(rendered, "Deployment", DEPLOYMENT)
            .and_then(|d| d.get("metadata"))
            .and_then(|m| m.get("namespace"))
            .and_then(serde_yaml_ng::Value::as_str)
            .map(str::to_string);
        return Some(ProxyPlan {
            host: config.proxy_host()?,
            config: Some(config),
            namespace,
        });
    }
    let name = endpoint?.server_name();
    (name.starts_with("cluster-") && name.contains('.')).then(|| ProxyPlan {
        host: name.to_string(),
        config: None,
        namespace: None,
    })
}

/// Whether the client talks to the API server through the proxy.
pub(super) fn is_proxied(plan: &ProxyPlan, endpoint: Option<&TargetEndpoint>) -> bool {
    endpoint.is_some_and(|e| e.server_name().eq_ignore_ascii_case(&plan.host))
}

fn check(id: CheckId, verdict: Verdict, saw: String, fix: Option<String>) -> Check {
    Check {
        id,
        pack: Some(PROXY_PACK.into()),
        verdict,
        saw,
        fix,
        auto_fix: None,
    }
}

fn certificate_check(host: &str, names: &[String], how: &str, proxied: bool) -> Check {
    if names.iter().any(|name| name_covers(name, host)) {
        return check(
            CheckId::ProxyCertificate,
            Verdict::Pass,
            format!("the API server's certificate ({how}) names {host}"),
            None,
        );
    }
    let listed = if names.is_empty() {
        "no names".to_string()
    } else {
        names.join(", ")
    };
    check(
        CheckId::ProxyCertificate,
        if proxied {
            Verdict::Fail
        } else {
            Verdict::Warn
        },
        format!("the API server's certificate ({how}) names {listed}, not {host}"),
        Some(format!(
            "Add the SAN {host} to the API server's serving certificate: list it in the API server's \
             certSANs (kubeadm: ClusterConfiguration apiServer.certSANs, then renew the apiserver \
             certificate; simcluster: --tls-san {host}). Until then clients of the proxied endpoint \
             refuse the certificate."
        )),
    )
}

fn refused_fix(plan: &ProxyPlan) -> String {
    let namespace = plan.namespace.as_deref().unwrap_or("spectro-proxy");
    format!(
        "The proxy routes by name: check that the frpc agent runs in the cluster (Deployment \
         {namespace}/{DEPLOYMENT}) and is connected to the frp server, and that the pack's clusterId or \
         subdomain gives {}.",
        plan.host
    )
}

/// The certificate and route checks, from one handshake when the target is the proxied endpoint.
pub(super) async fn probe_checks(
    plan: &ProxyPlan,
    endpoint: Option<&TargetEndpoint>,
    limit: Duration,
) -> Vec<Check> {
    let host = plan.host.as_str();
    if is_proxied(plan, endpoint) {
        let Some(target) = endpoint else {
            return Vec::new();
        };
        return match peer_names(
            &target.host,
            target.port,
            target.proxy_url.as_deref(),
            host,
            limit,
        )
        .await
        {
            Ok(names) => vec![
                check(
                    CheckId::ProxyRoute,
                    Verdict::Pass,
                    format!(
                        "the proxy at {}:{} answers for {host}",
                        target.host, target.port
                    ),
                    None,
                ),
                certificate_check(
                    host,
                    &names,
                    &format!("read through the proxy at {}:{}", target.host, target.port),
                    true,
                ),
            ],
            Err(ProbeError::NameRefused { detail, .. }) => vec![check(
                CheckId::ProxyRoute,
                Verdict::Fail,
                format!(
                    "the proxy does not know this cluster: {}:{} closed the connection when asked for {host} ({detail})",
                    target.host, target.port
                ),
                Some(refused_fix(plan)),
            )],
            Err(error) => vec![check(
                CheckId::ProxyRoute,
                Verdict::Fail,
                format!("the proxy does not answer: {error}"),
                Some(format!(
                    "Check the proxied endpoint's address ({}) and that the proxy runs and may be reached from this machine.",
                    target.describe()
                )),
            )],
        };
    }
    let certificate = async {
        let Some(target) = endpoint else {
            return check(
                CheckId::ProxyCertificate,
                Verdict::Warn,
                "not checked: preflight was not given the API server's address".into(),
                Some("Run preflight through vmdeckctl or the app, which pass the cluster's endpoint.".into()),
            );
        };
        let how = format!("read from {}:{} with SNI {host}", target.host, target.port);
        match peer_names(
            &target.host,
            target.port,
            target.proxy_url.as_deref(),
            host,
            limit,
        )
        .await
        {
            Ok(names) => certificate_check(host, &names, &how, false),
            Err(error) => check(
                CheckId::ProxyCertificate,
                Verdict::Warn,
                format!("could not read the API server's certificate: {error}"),
                Some("Check that the API server may be reached from this machine.".into()),
            ),
        }
    };
    let route = async {
        let Some(config) = &plan.config else {
            return None;
        };
        let port = config.server_port;
        Some(
            match peer_names(
                host,
                port,
                endpoint.and_then(|e| e.proxy_url.as_deref()),
                host,
                limit,
            )
            .await
            {
                Ok(_) => check(
                    CheckId::ProxyRoute,
                    Verdict::Pass,
                    format!("the proxy at {host}:{port} answers for {host}"),
                    None,
                ),
                Err(ProbeError::NameRefused { detail, .. }) => check(
                    CheckId::ProxyRoute,
                    Verdict::Warn,
                    format!(
                        "the proxy does not know this cluster (yet): {host}:{port} closed the connection ({detail}); \
                     expected until frpc is installed and connected"
                    ),
                    Some(refused_fix(plan)),
                ),
                Err(error) => check(
                    CheckId::ProxyRoute,
                    Verdict::Warn,
                    format!("the proxy does not answer: {error}"),
                    Some(format!(
                        "Check that {host} resolves to the frp server and that this network may reach port {port}."
                    )),
                ),
            },
        )
    };
    let (certificate, route) = futures::join!(certificate, route);
    let mut checks = vec![certificate];
    checks.extend(route);
    checks
}

fn available(deployment: &Deployment) -> bool {
    deployment
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Available" && c.status == "True")
}

/// The frpc agent: its Deployment available, its live ConfigMap naming the server of the values.
async fn agent_check(ctx: &Context<'_>, plan: &ProxyPlan) -> Result<Option<Check>, PreflightError> {
    let (Some(expected), Some(namespace)) = (&plan.config, &plan.namespace) else {
        return Ok(None);
    };
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), namespace);
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    let (what_deployments, what_maps) = (
        format!("deployments in {namespace}"),
        format!("configmaps in {namespace}"),
    );
    let (deployment, map) = futures::join!(
        ctx.get(&deployments, DEPLOYMENT, &what_deployments),
        ctx.get(&maps, CONFIG_MAP, &what_maps)
    );
    let Some(deployment) = deployment? else {
        return Ok(Some(check(
            CheckId::ProxyAgent,
            Verdict::Warn,
            format!(
                "not checked yet: frpc is not installed ({namespace}/{DEPLOYMENT} does not exist); it is checked after install"
            ),
            Some("Run preflight again after the install.".into()),
        )));
    };
    let live = map?
        .and_then(|m| m.data)
        .and_then(|data| data.get(CONFIG_KEY).cloned())
        .and_then(|text| FrpcConfig::parse(&text));
    let want = format!("{}:{}", expected.server_addr, expected.server_port);
    let (verdict, saw, fix) = match (available(&deployment), live) {
        (_, None) => (
            Verdict::Warn,
            format!("{namespace}/{CONFIG_MAP} has no readable {CONFIG_KEY}"),
            Some("Install the pack again: it writes the ConfigMap.".to_string()),
        ),
        (_, Some(live)) if live.server_addr != expected.server_addr || live.server_port != expected.server_port => (
            Verdict::Warn,
            format!(
                "frpc's ConfigMap names the frp server {}:{}, the pack's values {want}",
                live.server_addr, live.server_port
            ),
            Some("Install the pack to update the ConfigMap, or set server.address and server.port to the server frpc dials.".to_string()),
        ),
        (false, Some(_)) => (
            Verdict::Warn,
            format!("{namespace}/{DEPLOYMENT} is not available; its ConfigMap names {want}"),
            Some(format!("Look at the frpc pod's log: kubectl -n {namespace} logs deploy/{DEPLOYMENT}")),
        ),
        (true, Some(_)) => (
            Verdict::Pass,
            format!("{namespace}/{DEPLOYMENT} is available and its ConfigMap names the frp server {want}"),
            None,
        ),
    };
    Ok(Some(check(CheckId::ProxyAgent, verdict, saw, fix)))
}

pub(super) async fn checks(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    let endpoint = ctx.options.endpoint.as_ref();
    let Some(plan) = plan(ctx.rendered, endpoint) else {
        return Ok(Vec::new());
    };
    let (mut out, agent) = futures::join!(
        probe_checks(&plan, endpoint, ctx.options.connect_timeout),
        agent_check(ctx, &plan)
    );
    out.extend(agent?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_host_comes_from_the_frpc_config() {
        let config = FrpcConfig::parse(
            "serverAddr = \"proxy.test\"\nserverPort = 443\n[[proxies]]\nname = \"k\"\nsubdomain = \"cluster-c1\"\n",
        )
        .unwrap();
        assert_eq!(config.server_port, 443);
        assert_eq!(
            config.proxy_host().as_deref(),
            Some("cluster-c1.proxy.test")
        );
        assert_eq!(
            FrpcConfig::parse("serverAddr = \"p\"\n")
                .unwrap()
                .server_port,
            7000
        );
        assert!(FrpcConfig::parse("serverAddr = \n").is_none());
    }

    #[test]
    fn a_certificate_without_the_name_says_which_san_to_add() {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let failed = certificate_check(
            "cluster-c1.proxy.test",
            &names,
            "read through the proxy",
            true,
        );
        assert_eq!(failed.verdict, Verdict::Fail);
        assert!(
            failed
                .saw
                .contains("names localhost, 127.0.0.1, not cluster-c1.proxy.test"),
            "{}",
            failed.saw
        );
        let fix = failed.fix.unwrap();
        assert!(
            fix.contains("Add the SAN cluster-c1.proxy.test") && fix.contains("certSANs"),
            "{fix}"
        );
        let direct = certificate_check("cluster-c1.proxy.test", &names, "read directly", false);
        assert_eq!(direct.verdict, Verdict::Warn);
        let wildcard = vec!["*.proxy.test".to_string()];
        assert_eq!(
            certificate_check("cluster-c1.proxy.test", &wildcard, "x", true).verdict,
            Verdict::Pass
        );
    }
}
