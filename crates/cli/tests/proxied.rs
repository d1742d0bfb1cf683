//! Remote access through a Spectro-style reverse proxy, end to end with real parts: simcluster
//! serves `cluster-<uid>.proxy.test` (`tls_sans`) and Debian's haproxy routes that SNI to it with
//! TLS passed through (standing in for the frp server and its tunnel). The kubeconfig the commands
//! get names only haproxy's address plus `tls-server-name`, so simcluster's own port is never
//! dialled by them; haproxy's log proves each command went through it. The same again with
//! `proxy-url` at tinyproxy in front of haproxy (two hops), and an unknown SNI refused with the
//! `proxy_unknown_cluster` error. `clusters add/check` use the OS keyring: run under
//! `scripts/with-keyring.sh` (as `scripts/test` does).

use std::path::Path;
use std::process::Stdio;

use kube::api::{Api, DynamicObject};
use simcluster::SimCluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vmdeck_test_support::proxy_rig::{Haproxy, Tinyproxy};
use vmdeck_test_support::{WAIT_LIMIT, eventually};

mod support;
use support::{args, mirror, text, vmdeckctl};

const CLUSTER_UID: &str = "5f3a9c0e";
const PROXY_HOST: &str = "proxy.test";

fn proxied_name() -> String {
    format!("cluster-{CLUSTER_UID}.{PROXY_HOST}")
}

/// The cluster's kubeconfig pointed at `haproxy` with `tls-server-name` (and `proxy-url`).
fn proxied_kubeconfig(
    cluster: &SimCluster,
    haproxy: &Haproxy,
    server_name: &str,
    proxy_url: Option<&str>,
    path: &Path,
) -> String {
    let mut kubeconfig: serde_json::Value = serde_yaml_ng::from_str(cluster.kubeconfig()).unwrap();
    for entry in kubeconfig["clusters"].as_array_mut().unwrap() {
        let server = &mut entry["cluster"];
        server["server"] = serde_json::json!(format!("https://{}", haproxy.address()));
        server["tls-server-name"] = serde_json::json!(server_name);
        if let Some(proxy) = proxy_url {
            server["proxy-url"] = serde_json::json!(proxy);
        }
    }
    std::fs::write(path, serde_yaml_ng::to_string(&kubeconfig).unwrap()).unwrap();
    assert!(
        !std::fs::read_to_string(path)
            .unwrap()
            .contains(cluster.url()),
        "the commands must not know simcluster's own address"
    );
    path.display().to_string()
}

fn vmi_resource() -> kube::api::ApiResource {
    kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("kubevirt.io", "v1", "VirtualMachineInstance"),
        "virtualmachineinstances",
    )
}

/// The test's own observation (in process, not through the proxy): `ns/name` is Running.
async fn running(cluster: &SimCluster, namespace: &str, name: &str) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().await, namespace, &vmi_resource());
    eventually(&format!("{namespace}/{name} running"), async || {
        let vmi = api.get_opt(name).await.ok()??;
        (vmi.data.pointer("/status/phase")?.as_str()? == "Running").then_some(())
    })
    .await;
}

/// Counts what went through the proxies since the last look.
struct Hops<'a> {
    haproxy: &'a Haproxy,
    tinyproxy: Option<&'a Tinyproxy>,
    routed: usize,
    connects: usize,
}

impl<'a> Hops<'a> {
    fn new(haproxy: &'a Haproxy, tinyproxy: Option<&'a Tinyproxy>) -> Self {
        Self {
            haproxy,
            tinyproxy,
            routed: 0,
            connects: 0,
        }
    }

    fn went_through(&mut self, what: &str) {
        let routed = self.haproxy.routed_to(&proxied_name());
        assert!(
            routed > self.routed,
            "{what} did not go through haproxy; its log:\n{}",
            self.haproxy.log_text()
        );
        self.routed = routed;
        if let Some(tinyproxy) = self.tinyproxy {
            let connects = tinyproxy.connects_to(&self.haproxy.address().to_string());
            assert!(
                connects > self.connects,
                "{what} did not go through tinyproxy; its log:\n{}",
                tinyproxy.log_text()
            );
            self.connects = connects;
        }
    }
}

async fn through_the_proxy(two_hops: bool) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let cluster = SimCluster::start(simcluster::Options {
        ready_delay: std::time::Duration::from_millis(50),
        vms: 6,
        tls_sans: vec![proxied_name()],
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let backend = cluster
        .url()
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    let haproxy = Haproxy::start(home, &[(proxied_name().as_str(), backend)]).await;
    let tinyproxy = if two_hops {
        Some(Tinyproxy::start(home).await)
    } else {
        None
    };
    let proxy_url = tinyproxy.as_ref().map(Tinyproxy::url);
    let k = proxied_kubeconfig(
        &cluster,
        &haproxy,
        &proxied_name(),
        proxy_url.as_deref(),
        &home.join("proxied-kubeconfig"),
    );
    let mut hops = Hops::new(&haproxy, tinyproxy.as_ref());

    // The connection check of the saved cluster: reachable through the proxy.
    let add = vmdeckctl(
        home,
        args(&[
            "clusters",
            "add",
            "--from",
            &k,
            "--context",
            "admin",
            "--name",
            "lab",
        ]),
    )
    .await;
    assert!(add.status.success(), "{}", text(&add.stderr));
    let check = vmdeckctl(home, args(&["clusters", "check", "lab", "--json"])).await;
    assert!(check.status.success(), "{}", text(&check.stderr));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["reachable"], true, "{report}");
    hops.went_through("clusters check");

    // Install the proxied preset through the proxy.
    install_proxied_preset(home, &["--kubeconfig", &k]).await;
    hops.went_through("install");
    let status = vmdeckctl(home, args(&["status", "--kubeconfig", &k])).await;
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(
        text(&status.stdout).contains("spectro-proxy"),
        "{}",
        text(&status.stdout)
    );
    hops.went_through("status");

    // VMs: the list, a power action, the serial console, a VNC framebuffer (a screenshot).
    running(&cluster, "dev", "web-01").await;
    let list = vmdeckctl(
        home,
        args(&["vms", "list", "--kubeconfig", &k, "-A", "-o", "json"]),
    )
    .await;
    assert!(list.status.success(), "{}", text(&list.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 6, "{rows}");
    hops.went_through("vms list");

    let start = vmdeckctl(
        home,
        args(&["vms", "start", "--kubeconfig", &k, "dev/db-02"]),
    )
    .await;
    assert!(start.status.success(), "{}", text(&start.stderr));
    hops.went_through("vms start");
    running(&cluster, "dev", "db-02").await;

    serial_login_and_hostname(home, &["--kubeconfig", &k], "dev/web-01", "web-01 login: ").await;
    hops.went_through("console");

    let png = home.join("web-01.png");
    let shot = vmdeckctl(
        home,
        args(&[
            "screenshot",
            "--kubeconfig",
            &k,
            "dev/web-01",
            "-o",
            &png.display().to_string(),
        ]),
    )
    .await;
    assert!(shot.status.success(), "{}", text(&shot.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "a PNG from a framebuffer update"
    );
    hops.went_through("screenshot");
    cluster.shutdown().await;
}

/// `vmdeckctl profile init` of the vm-dashboard-proxied preset for the test's proxy, then
/// `vmdeckctl install` of it onto `target` (with the frp token from a file), which must succeed.
async fn install_proxied_preset(home: &Path, target: &[&str]) {
    let init = vmdeckctl(
        home,
        args(&[
            "profile",
            "init",
            "--preset",
            "vm-dashboard-proxied",
            "--set",
            &format!("spectro-proxy.server.address={PROXY_HOST}"),
            "--set",
            &format!("spectro-proxy.clusterId={CLUSTER_UID}"),
        ]),
    )
    .await;
    assert!(init.status.success(), "{}", text(&init.stderr));
    let profile = home.join("profile.yaml");
    std::fs::write(&profile, &init.stdout).unwrap();
    let token = home.join("frp-token");
    std::fs::write(&token, "frp-test-token").unwrap();
    let mut install_args = vec!["install".to_string(), profile.display().to_string()];
    install_args.extend(target.iter().map(|a| a.to_string()));
    install_args.extend([
        "--mirror".to_string(),
        mirror(),
        "--secret".to_string(),
        format!("spectro-proxy.token=file:{}", token.display()),
        "--yes".to_string(),
    ]);
    let install = vmdeckctl(home, install_args).await;
    assert!(
        install.status.success(),
        "{}\n{}",
        text(&install.stdout),
        text(&install.stderr)
    );
}

/// `vmdeckctl console`: Enter brings the login prompt; logged in, `hostname` answers the VM's
/// name; Ctrl+] leaves.
async fn serial_login_and_hostname(home: &Path, target: &[&str], vm: &str, prompt: &str) {
    let mut child = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("vmdeckctl"))
        .env_remove("VMDECK_PACKS_DIR")
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("VMDECK_HOME", home.join("vmdeck"))
        .arg("console")
        .args(target)
        .arg(vm)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    // Reads until `wanted` comes after what was read so far; answers the text read meanwhile.
    let mut read_until = async |wanted: &str| -> String {
        let from = seen.len();
        while !String::from_utf8_lossy(&seen[from..]).contains(wanted) {
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, stdout.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("{wanted:?} not seen: {:?}", text(&seen)))
                .unwrap();
            assert!(n > 0, "output ended before {wanted:?}: {:?}", text(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen[from..]).into_owned()
    };
    let name = vm.rsplit('/').next().unwrap();
    stdin.write_all(b"\r").await.unwrap();
    read_until(prompt).await;
    stdin.write_all(b"root\r").await.unwrap();
    read_until("Password: ").await;
    stdin.write_all(b"x\r").await.unwrap();
    let shell = format!("root@{name}:~# ");
    read_until(&shell).await;
    stdin.write_all(b"hostname\r").await.unwrap();
    let answer = read_until(&shell).await;
    assert!(
        answer.contains(&format!("\r\n{name}\r\n")),
        "hostname answered {answer:?}"
    );
    stdin.write_all(&[0x1d]).await.unwrap();
    let status = tokio::time::timeout(WAIT_LIMIT, child.wait())
        .await
        .expect("vmdeckctl console leaves on Ctrl+]")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_install_vms_power_console_and_vnc_through_the_sni_proxy() {
    through_the_proxy(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_through_a_proxy_url_in_front_of_the_sni_proxy() {
    through_the_proxy(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_cluster_at_the_proxy_is_named_not_a_raw_tls_error() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let cluster = SimCluster::start(simcluster::Options {
        tls_sans: vec![proxied_name()],
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let backend = cluster
        .url()
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    let haproxy = Haproxy::start(home, &[(proxied_name().as_str(), backend)]).await;
    let k = proxied_kubeconfig(
        &cluster,
        &haproxy,
        "cluster-0000dead.proxy.test",
        None,
        &home.join("unknown-kubeconfig"),
    );
    let add = vmdeckctl(
        home,
        args(&[
            "clusters",
            "add",
            "--from",
            &k,
            "--context",
            "admin",
            "--name",
            "faraway",
        ]),
    )
    .await;
    assert!(add.status.success(), "{}", text(&add.stderr));
    let check = vmdeckctl(home, args(&["clusters", "check", "faraway", "--json"])).await;
    assert!(
        !check.status.success(),
        "an unknown cluster is not reachable"
    );
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(
        report["failure"]["code"], "proxy_unknown_cluster",
        "{report}"
    );
    let message = report["failure"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the proxy does not know this cluster (faraway)"),
        "{message}"
    );
    assert!(haproxy.refused() > 0, "{}", haproxy.log_text());
}

/// A saved cluster gets proxied access next to its direct endpoint: `add-proxied` takes the proxy
/// host and cluster id from the installed spectro-proxy values, `endpoints` shows both answering
/// and the proxied one in use, commands with `--cluster` then go through haproxy, and
/// `use-endpoint direct` switches back (haproxy sees no more connections).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_cluster_gets_proxied_access_shows_both_endpoints_and_switches() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let cluster = SimCluster::start(simcluster::Options {
        ready_delay: std::time::Duration::from_millis(50),
        vms: 6,
        tls_sans: vec![proxied_name()],
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let backend = cluster
        .url()
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    let haproxy = Haproxy::start(home, &[(proxied_name().as_str(), backend)]).await;
    let direct = home.join("kubeconfig");
    cluster.write_kubeconfig(&direct).unwrap();
    let direct = direct.display().to_string();
    let add = vmdeckctl(
        home,
        args(&[
            "clusters",
            "add",
            "--from",
            &direct,
            "--context",
            "admin",
            "--name",
            "lab",
        ]),
    )
    .await;
    assert!(add.status.success(), "{}", text(&add.stderr));

    // Before the pack is installed, the defaults cannot be found: the missing flag is named.
    let early = vmdeckctl(
        home,
        args(&[
            "clusters",
            "add-proxied",
            "lab",
            "--address",
            &haproxy.address().to_string(),
        ]),
    )
    .await;
    assert!(!early.status.success());
    assert!(
        text(&early.stderr).contains("--server is missing"),
        "{}",
        text(&early.stderr)
    );
    let only_direct = vmdeckctl(home, args(&["clusters", "use-endpoint", "lab", "proxied"])).await;
    assert!(!only_direct.status.success());
    assert!(
        text(&only_direct.stderr).contains("[no_proxied_endpoint]"),
        "{}",
        text(&only_direct.stderr)
    );

    install_proxied_preset(home, &["--cluster", "lab"]).await;
    assert_eq!(haproxy.routed_to(&proxied_name()), 0, "direct so far");

    let added = vmdeckctl(
        home,
        args(&[
            "clusters",
            "add-proxied",
            "lab",
            "--address",
            &haproxy.address().to_string(),
        ]),
    )
    .await;
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(
        text(&added.stdout).contains(&format!("tls-server-name {}", proxied_name())),
        "{}",
        text(&added.stdout)
    );

    let shown = vmdeckctl(home, args(&["clusters", "endpoints", "lab", "-o", "json"])).await;
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let view: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(view["in_use"], "proxied", "{view}");
    let endpoints = view["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "{view}");
    assert_eq!(endpoints[0]["kind"], "direct");
    assert_eq!(endpoints[0]["server"], cluster.url());
    assert_eq!(endpoints[0]["answers"], true, "{view}");
    assert_eq!(endpoints[1]["kind"], "proxied");
    assert_eq!(
        endpoints[1]["server"],
        format!("https://{}", haproxy.address())
    );
    assert_eq!(endpoints[1]["tls_server_name"], proxied_name());
    assert_eq!(endpoints[1]["answers"], true, "{view}");
    assert_eq!(endpoints[1]["in_use"], true);
    let table = vmdeckctl(home, args(&["clusters", "endpoints", "lab"])).await;
    assert!(
        text(&table.stdout).starts_with("ENDPOINT"),
        "{}",
        text(&table.stdout)
    );

    let before = haproxy.routed_to(&proxied_name());
    running(&cluster, "dev", "web-01").await;
    let list = vmdeckctl(
        home,
        args(&["vms", "list", "--cluster", "lab", "-A", "-o", "json"]),
    )
    .await;
    assert!(list.status.success(), "{}", text(&list.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 6);
    let listed = haproxy.routed_to(&proxied_name());
    assert!(listed > before, "vms list --cluster went through haproxy");
    serial_login_and_hostname(home, &["--cluster", "lab"], "dev/web-01", "web-01 login: ").await;
    let after = haproxy.routed_to(&proxied_name());
    assert!(after > listed, "console --cluster went through haproxy");

    let switched = vmdeckctl(home, args(&["clusters", "use-endpoint", "lab", "direct"])).await;
    assert!(switched.status.success(), "{}", text(&switched.stderr));
    let list = vmdeckctl(
        home,
        args(&["vms", "list", "--cluster", "lab", "-A", "-o", "json"]),
    )
    .await;
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert_eq!(
        haproxy.routed_to(&proxied_name()),
        after,
        "direct again: not through haproxy"
    );
}
