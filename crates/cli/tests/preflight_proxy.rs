//! `vmdeckctl preflight` of the proxied preset through a real proxy: Debian's haproxy routes
//! `cluster-<uid>.proxy.test` by SNI to simcluster (TLS passed through) and the kubeconfig names
//! only haproxy plus `tls-server-name`. Without `--tls-san` on simcluster the table fails
//! proxy_certificate naming the SAN to add (exit non-zero); with it, proxy_route and
//! proxy_certificate pass and proxy_agent says frpc is not installed yet; a name haproxy does not
//! route fails proxy_route with "the proxy does not know this cluster".

use std::path::Path;

use simcluster::SimCluster;
use vmdeck_test_support::proxy_rig::Haproxy;

mod support;
use support::{args, mirror, text, vmdeckctl};

const CLUSTER_UID: &str = "9d1e";
const ROUTED: &str = "cluster-9d1e.proxy.test";

fn kubeconfig_through(cluster: &SimCluster, haproxy: &Haproxy, name: &str, path: &Path) -> String {
    let mut kubeconfig: serde_json::Value = serde_yaml_ng::from_str(cluster.kubeconfig()).unwrap();
    for entry in kubeconfig["clusters"].as_array_mut().unwrap() {
        entry["cluster"]["server"] = serde_json::json!(format!("https://{}", haproxy.address()));
        entry["cluster"]["tls-server-name"] = serde_json::json!(name);
    }
    std::fs::write(path, serde_yaml_ng::to_string(&kubeconfig).unwrap()).unwrap();
    path.display().to_string()
}

/// The table's row for `check` (`proxy_certificate (spectro-proxy)`), or a panic showing it.
fn row<'t>(table: &'t str, check: &str) -> &'t str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{check} (spectro-proxy) ")))
        .unwrap_or_else(|| panic!("no {check} row:\n{table}"))
}

async fn preflight(
    home: &Path,
    cluster: &SimCluster,
    name: &str,
    cluster_id: &str,
) -> (bool, String) {
    let backend = cluster
        .url()
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    let haproxy = Haproxy::start(home, &[(ROUTED, backend)]).await;
    let kubeconfig = kubeconfig_through(cluster, &haproxy, name, &home.join("kubeconfig"));
    let init = vmdeckctl(
        home,
        args(&[
            "profile",
            "init",
            "--preset",
            "vm-dashboard-proxied",
            "--set",
            "spectro-proxy.server.address=proxy.test",
            "--set",
            &format!("spectro-proxy.clusterId={cluster_id}"),
        ]),
    )
    .await;
    assert!(init.status.success(), "{}", text(&init.stderr));
    let profile = home.join("profile.yaml");
    std::fs::write(&profile, &init.stdout).unwrap();
    let token = home.join("frp-token");
    std::fs::write(&token, "frp-test-token").unwrap();
    let out = vmdeckctl(
        home,
        args(&[
            "preflight",
            &profile.display().to_string(),
            "--kubeconfig",
            &kubeconfig,
            "--mirror",
            &mirror(),
            "--secret",
            &format!("spectro-proxy.token=file:{}", token.display()),
        ]),
    )
    .await;
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_through_the_proxy_names_the_missing_san() {
    let plain = SimCluster::start(simcluster::Options::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (passed, table) = preflight(dir.path(), &plain, ROUTED, CLUSTER_UID).await;
    assert!(!passed, "{table}");
    let certificate = row(&table, "proxy_certificate");
    assert!(certificate.contains(" fail "), "{certificate}");
    assert!(
        certificate.contains(&format!("not {ROUTED}")),
        "{certificate}"
    );
    assert!(
        certificate.contains(&format!("Add the SAN {ROUTED}")),
        "{certificate}"
    );
    plain.shutdown().await;

    let with_san = SimCluster::start(simcluster::Options {
        tls_sans: vec![ROUTED.into()],
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, table) = preflight(dir.path(), &with_san, ROUTED, CLUSTER_UID).await;
    assert!(
        row(&table, "proxy_certificate").contains(" pass "),
        "{table}"
    );
    assert!(row(&table, "proxy_route").contains(" pass "), "{table}");
    assert!(
        row(&table, "proxy_agent").contains("not checked yet: frpc is not installed"),
        "{table}"
    );

    let dir = tempfile::tempdir().unwrap();
    let unknown = "cluster-c77.proxy.test";
    let (passed, table) = preflight(dir.path(), &with_san, unknown, "c77").await;
    assert!(!passed, "{table}");
    let route = row(&table, "proxy_route");
    assert!(route.contains(" fail "), "{route}");
    assert!(
        route.contains("the proxy does not know this cluster"),
        "{route}"
    );
    with_san.shutdown().await;
}
