//! Preflight of access through the Spectro Proxy, with real parts: simcluster with and without
//! `--tls-san cluster-c1.proxy.test`, behind Debian's haproxy routing that name by SNI (TLS passed
//! through), the client's kubeconfig pointing at haproxy with `tls-server-name`. Through the proxy
//! the certificate names the host (pass) or the report names the SAN to add; a name haproxy does
//! not route is "the proxy does not know this cluster"; against the direct endpoint the
//! certificate is read with the proxy host as SNI. frpc not installed yet is said as such; once
//! installed, its Deployment is available and its ConfigMap names the values' frp server (a
//! profile naming another port is told). With `proxy-url` at tinyproxy in front of haproxy (two
//! hops) the handshake goes through both.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use simcluster::SimCluster;
use vmdeck_installer::preflight::{
    CheckId, PreflightOptions, PreflightReport, TargetEndpoint, Verdict, preflight,
};
use vmdeck_packs::{Catalog, ProfileRequest, Rendered, profile_from_preset, render};
use vmdeck_test_support::eventually;
use vmdeck_test_support::proxy_rig::{Haproxy, Tinyproxy};

const ROUTED: &str = "cluster-c1.proxy.test";

/// The spectro-proxy pack alone, for `clusterId` under server `proxy.test`.
fn rendered(cluster_id: &str) -> Rendered {
    rendered_profile(cluster_id, "443").1
}

/// The profile (spectro-proxy alone, server `proxy.test:port`) and its rendering.
fn rendered_profile(cluster_id: &str, port: &str) -> (vmdeck_packs::Profile, Rendered) {
    let catalog = Catalog::embedded().unwrap();
    let mut profile = profile_from_preset(
        &catalog,
        &ProfileRequest {
            preset: "vm-dashboard-proxied".into(),
            values: BTreeMap::from([
                ("spectro-proxy.server.address".into(), "proxy.test".into()),
                ("spectro-proxy.server.port".into(), port.into()),
                ("spectro-proxy.clusterId".into(), cluster_id.into()),
            ]),
            ..Default::default()
        },
    )
    .unwrap();
    profile.packs.retain(|p| p.name == "spectro-proxy");
    let secrets: vmdeck_packs::Secrets = BTreeMap::from([(
        "spectro-proxy".to_string(),
        BTreeMap::from([("token".to_string(), "frp-test-token".to_string())]),
    )]);
    let rendered = render(&catalog, &profile, &secrets, &Default::default()).unwrap();
    (profile, rendered)
}

fn backend(cluster: &SimCluster) -> SocketAddr {
    cluster
        .url()
        .trim_start_matches("https://")
        .parse()
        .unwrap()
}

/// Preflight as a client of `url` verifying `server_name` would run it.
async fn run(
    cluster: &SimCluster,
    url: &str,
    server_name: Option<&str>,
    rendered: &Rendered,
) -> PreflightReport {
    run_via(cluster, url, server_name, None, rendered).await
}

/// [`run`] with the client's `proxy-url`.
async fn run_via(
    cluster: &SimCluster,
    url: &str,
    server_name: Option<&str>,
    proxy_url: Option<&str>,
    rendered: &Rendered,
) -> PreflightReport {
    let mut config = cluster.client_config("admin").await;
    config.cluster_url = url.parse().unwrap();
    config.tls_server_name = server_name.map(str::to_string);
    // The probe reads the endpoint's proxy-url; the kube client here dials haproxy directly
    // (this crate's kube build has no http-proxy feature; vmdeckctl's does, see cli/tests/proxied.rs).
    let mut with_proxy = config.clone();
    with_proxy.proxy_url = proxy_url.map(|u| u.parse().unwrap());
    let options = PreflightOptions {
        endpoint: TargetEndpoint::from_config(&with_proxy),
        ..PreflightOptions::default()
    };
    let client = kube::Client::try_from(config).unwrap();
    preflight(client, rendered, &Catalog::embedded().unwrap(), options)
        .await
        .unwrap()
}

fn only(report: &PreflightReport, id: CheckId) -> &vmdeck_installer::Check {
    let mut found = report.checks_with(id);
    let check = found
        .next()
        .unwrap_or_else(|| panic!("no {id} check: {report:#?}"));
    assert!(found.next().is_none(), "one {id} check: {report:#?}");
    check
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_proxy_the_certificate_names_the_proxy_host() {
    let cluster = SimCluster::start(simcluster::Options {
        tls_sans: vec![ROUTED.into()],
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let haproxy = Haproxy::start(dir.path(), &[(ROUTED, backend(&cluster))]).await;
    let url = format!("https://127.0.0.1:{}", haproxy.port());
    let report = run(&cluster, &url, Some(ROUTED), &rendered("c1")).await;
    let route = only(&report, CheckId::ProxyRoute);
    assert_eq!(route.verdict, Verdict::Pass, "{report:#?}");
    assert_eq!(
        route.saw,
        format!(
            "the proxy at 127.0.0.1:{} answers for {ROUTED}",
            haproxy.port()
        )
    );
    let certificate = only(&report, CheckId::ProxyCertificate);
    assert_eq!(certificate.verdict, Verdict::Pass, "{certificate:#?}");
    assert!(
        certificate.saw.contains("read through the proxy"),
        "{}",
        certificate.saw
    );
    let agent = only(&report, CheckId::ProxyAgent);
    assert_eq!(agent.verdict, Verdict::Warn);
    assert!(
        agent
            .saw
            .starts_with("not checked yet: frpc is not installed (spectro-proxy/frpc"),
        "{}",
        agent.saw
    );
    assert!(!report.blocks(), "{report:#?}");
    assert_eq!(report.kubernetes_version, simcluster::KUBERNETES_VERSION);
    // haproxy writes its log line as the connection closes: waited for, not assumed.
    eventually("haproxy logs the routed connections", async || {
        (haproxy.routed_to(ROUTED) >= 2).then_some(())
    })
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_san_the_preflight_names_the_san_to_add() {
    let cluster = SimCluster::start(simcluster::Options::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let haproxy = Haproxy::start(dir.path(), &[(ROUTED, backend(&cluster))]).await;
    let url = format!("https://127.0.0.1:{}", haproxy.port());
    // The client refuses the certificate, so the API server does not answer: the report says why.
    let report = run(&cluster, &url, Some(ROUTED), &rendered("c1")).await;
    assert!(report.blocks(), "{report:#?}");
    let certificate = only(&report, CheckId::ProxyCertificate);
    assert_eq!(certificate.verdict, Verdict::Fail);
    assert!(
        certificate.saw.ends_with(&format!(", not {ROUTED}"))
            && certificate.saw.contains("localhost"),
        "{}",
        certificate.saw
    );
    let fix = certificate.fix.as_deref().unwrap();
    assert!(
        fix.starts_with(&format!(
            "Add the SAN {ROUTED} to the API server's serving certificate"
        )) && fix.contains("certSANs"),
        "{fix}"
    );
    assert_eq!(only(&report, CheckId::ProxyRoute).verdict, Verdict::Pass);

    // Against the direct endpoint, the certificate is read with the proxy host as SNI: a warning
    // (the direct endpoint works), naming the SAN all the same.
    let direct = run(&cluster, cluster.url(), None, &rendered("c1")).await;
    let certificate = only(&direct, CheckId::ProxyCertificate);
    assert_eq!(certificate.verdict, Verdict::Warn, "{direct:#?}");
    assert!(
        certificate.saw.contains(&format!("with SNI {ROUTED}")),
        "{}",
        certificate.saw
    );
    assert!(
        certificate
            .fix
            .as_deref()
            .unwrap()
            .contains(&format!("Add the SAN {ROUTED}"))
    );
    assert!(!direct.blocks(), "{direct:#?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_name_is_the_proxy_not_knowing_this_cluster() {
    let cluster = SimCluster::start(simcluster::Options {
        tls_sans: vec![ROUTED.into()],
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let haproxy = Haproxy::start(dir.path(), &[(ROUTED, backend(&cluster))]).await;
    let url = format!("https://127.0.0.1:{}", haproxy.port());
    let unknown = "cluster-c2.proxy.test";
    let report = run(&cluster, &url, Some(unknown), &rendered("c2")).await;
    assert!(report.blocks(), "{report:#?}");
    let route = only(&report, CheckId::ProxyRoute);
    assert_eq!(route.verdict, Verdict::Fail);
    assert!(
        route.saw.starts_with(&format!(
            "the proxy does not know this cluster: 127.0.0.1:{} closed the connection when asked for {unknown}",
            haproxy.port()
        )),
        "{}",
        route.saw
    );
    assert!(
        route.fix.as_deref().unwrap().contains("spectro-proxy/frpc"),
        "{route:?}"
    );
    assert!(
        report.check(CheckId::ProxyCertificate).is_none(),
        "{report:#?}"
    );
    eventually("haproxy logs the refusal", async || {
        (haproxy.refused() >= 1).then_some(())
    })
    .await;
    assert_eq!(haproxy.routed_to(ROUTED), 0);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_install_the_frpc_agent_and_its_config_are_checked() {
    let cluster = SimCluster::start(simcluster::Options {
        tls_sans: vec![ROUTED.into()],
        ready_delay: std::time::Duration::from_millis(50),
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let (profile, installed) = rendered_profile("c1", "443");
    vmdeck_installer::install(
        cluster.client().await,
        &installed,
        profile.to_yaml(),
        vmdeck_installer::InstallOptions::default(),
        &vmdeck_installer::ProgressSink::discard(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let haproxy = Haproxy::start(dir.path(), &[(ROUTED, backend(&cluster))]).await;
    let url = format!("https://127.0.0.1:{}", haproxy.port());
    let report = run(&cluster, &url, Some(ROUTED), &installed).await;
    let agent = only(&report, CheckId::ProxyAgent);
    assert_eq!(agent.verdict, Verdict::Pass, "{report:#?}");
    assert_eq!(
        agent.saw,
        "spectro-proxy/frpc is available and its ConfigMap names the frp server proxy.test:443"
    );
    let (_, other_port) = rendered_profile("c1", "8443");
    let report = run(&cluster, &url, Some(ROUTED), &other_port).await;
    let agent = only(&report, CheckId::ProxyAgent);
    assert_eq!(agent.verdict, Verdict::Warn, "{report:#?}");
    assert_eq!(
        agent.saw,
        "frpc's ConfigMap names the frp server proxy.test:443, the pack's values proxy.test:8443"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_proxy_url_the_handshake_goes_through_both_hops() {
    let cluster = SimCluster::start(simcluster::Options {
        tls_sans: vec![ROUTED.into()],
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let haproxy = Haproxy::start(dir.path(), &[(ROUTED, backend(&cluster))]).await;
    let tinyproxy = Tinyproxy::start(dir.path()).await;
    let url = format!("https://127.0.0.1:{}", haproxy.port());
    let report = run_via(
        &cluster,
        &url,
        Some(ROUTED),
        Some(&tinyproxy.url()),
        &rendered("c1"),
    )
    .await;
    assert_eq!(
        only(&report, CheckId::ProxyRoute).verdict,
        Verdict::Pass,
        "{report:#?}"
    );
    assert_eq!(
        only(&report, CheckId::ProxyCertificate).verdict,
        Verdict::Pass,
        "{report:#?}"
    );
    let authority = format!("127.0.0.1:{}", haproxy.port());
    eventually("tinyproxy logs the CONNECT to haproxy", async || {
        (tinyproxy.connects_to(&authority) >= 1).then_some(())
    })
    .await;
    cluster.shutdown().await;
}
