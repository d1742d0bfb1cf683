//! The installer benchmark, in one run on simcluster with 25 ms of latency per request, each
//! tool on a fresh cluster and on the same objects:
//! (a) a synthetic bundle of 2,000 objects (namespaces, ConfigMaps, Secrets, Services,
//!     Deployments, a CRD and ~500 of its CRs), installed by `vmdeckctl install` as a user pack
//!     (`--packs-dir`), by `kubectl.1.33 apply --server-side` (CRDs and namespaces first, then the
//!     rest) and by `kpt live apply --server-side`;
//! (b) the full `vm-dashboard-direct` stack from the upstream mirror, the same three ways.
//! Prints wall time, requests the cluster answered and the tool's peak RSS (GNU time), and the
//! ratios. vmdeck's time includes preflight, the dry-run plan and waiting until Ready; the others
//! only send. Run (vmdeckctl of the same profile must be built):
//! `cargo build --release -p vmdeck-cli && cargo run --release -p vmdeck-installer --example
//! install_bench [-- OBJECTS]`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use simcluster::SimCluster;

fn bundle(total: usize) -> Vec<Value> {
    let namespaces = 20;
    let crs = total / 4;
    let mut objects = vec![json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.bench.vmdeck.io"},
        "spec": {"group": "bench.vmdeck.io", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    })];
    for n in 0..namespaces {
        objects.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("bench-{n}")}}));
    }
    let mut i = 0;
    while objects.len() < total - crs {
        let ns = format!("bench-{}", i % namespaces);
        let name = format!("item-{i}");
        objects.push(match i % 10 {
            0..=4 => json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"index": i.to_string()}}),
            5..=7 => json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "stringData": {"index": i.to_string()}}),
            8 => json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}}),
            _ => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1", "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]}}}}),
        });
        i += 1;
    }
    for c in 0..crs {
        objects.push(json!({"apiVersion": "bench.vmdeck.io/v1", "kind": "Widget",
            "metadata": {"name": format!("widget-{c}"), "namespace": format!("bench-{}", c % namespaces)},
            "spec": {"size": c}}));
    }
    objects
}

/// One tool's run: wall time, requests the cluster answered, peak RSS in MiB.
struct Figures {
    took: Duration,
    /// What the tool printed.
    output: String,
    requests: u64,
    rss_mib: f64,
}

async fn cluster(ready_delay: Duration) -> SimCluster {
    SimCluster::start(simcluster::Options {
        latency_ms: 25,
        ready_delay,
        // Every workload takes exactly the delay, so the ideal below is exact.
        ready_jitter: false,
        ..simcluster::Options::default()
    })
    .await
    .expect("simcluster starts")
}

fn vmdeckctl() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench knows where it is");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/examples");
    let binary = dir.join("vmdeckctl");
    assert!(
        binary.exists(),
        "{} is missing: build it first (cargo build [--release] -p vmdeck-cli)",
        binary.display()
    );
    binary
}

/// Runs `program args` under GNU time against `cluster`, answering its figures.
async fn measured(cluster: &SimCluster, dir: &Path, program: &Path, args: &[String]) -> Figures {
    measured_or_not(cluster, dir, program, args, false).await
}

/// As [`measured`]; with `may_fail`, a failing run is counted, not fatal.
async fn measured_or_not(
    cluster: &SimCluster,
    dir: &Path,
    program: &Path,
    args: &[String],
    may_fail: bool,
) -> Figures {
    let rss_file = dir.join(format!("rss-{}", fastrand::u64(..)));
    let before = cluster.cluster().faults.requests();
    let started = Instant::now();
    let output = tokio::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("VMDECK_HOME", dir.join("vmdeck"))
        .output()
        .await
        .expect("GNU time runs (apt install time)");
    let took = started.elapsed();
    assert!(
        may_fail || output.status.success(),
        "{} {}: {}",
        program.display(),
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let kib: f64 = std::fs::read_to_string(&rss_file)
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    Figures {
        took,
        output: String::from_utf8_lossy(&output.stdout).into_owned(),
        requests: cluster.cluster().faults.requests() - before,
        rss_mib: kib / 1024.0,
    }
}

fn add(total: &mut Figures, more: Figures) {
    total.took += more.took;
    total.requests += more.requests;
    total.rss_mib = total.rss_mib.max(more.rss_mib);
}

fn write_yaml(path: &Path, objects: &[&Value]) {
    let text: String = objects
        .iter()
        .map(|o| format!("---\n{}", serde_yaml_ng::to_string(o).unwrap()))
        .collect();
    std::fs::write(path, text).unwrap();
}

/// The bundle as a user pack in `dir/packs/bench`, and a profile choosing it.
fn bench_pack(dir: &Path, objects: &[Value]) -> PathBuf {
    let pack = dir.join("packs/bench");
    std::fs::create_dir_all(pack.join("templates")).unwrap();
    std::fs::write(
        pack.join("pack.yaml"),
        "name: bench\ndisplayName: Bench\ndescription: The installer benchmark's synthetic bundle.\n\
         category: other\ndefaultVersion: 1.0.0\nversions:\n  - version: 1.0.0\n    \
         kubernetes: {min: \"1.16\"}\n    sources: []\ndependencies: []\nconflicts: []\n\
         preflight: []\ntemplates:\n  - file: templates/bundle.yaml.j2\nreadiness: []\n\
         uninstall:\n  - deleteTemplates: true\n",
    )
    .unwrap();
    std::fs::write(pack.join("values.yaml"), "{}\n").unwrap();
    std::fs::write(pack.join("values.schema.json"), r#"{"type": "object"}"#).unwrap();
    write_yaml(
        &pack.join("templates/bundle.yaml.j2"),
        &objects.iter().collect::<Vec<_>>(),
    );
    let profile = dir.join("bench-profile.yaml");
    std::fs::write(
        &profile,
        "apiVersion: vmdeck.io/v1alpha1\nkind: Profile\nmetadata: {name: bench}\npacks:\n  \
         - {name: bench, version: 1.0.0}\n",
    )
    .unwrap();
    profile
}

async fn with_vmdeck(cluster: &SimCluster, dir: &Path, args: Vec<String>) -> Figures {
    let kubeconfig = dir.join("vmdeck.kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let mut args = args;
    args.extend([
        "--kubeconfig".to_string(),
        kubeconfig.display().to_string(),
        "--yes".to_string(),
    ]);
    measured(cluster, dir, &vmdeckctl(), &args).await
}

/// kubectl as a script would drive it: CRDs and namespaces, wait Established, the rest; then,
/// when `operators` names objects to wait for (CRs whose operators make further CRDs), wait for
/// them Available and apply the rest again for what could not be mapped the first time.
async fn with_kubectl(
    cluster: &SimCluster,
    dir: &Path,
    objects: &[Value],
    operators: &[&str],
) -> Figures {
    let kubeconfig = dir.join("kubectl.kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let (first, rest): (Vec<&Value>, Vec<&Value>) = objects
        .iter()
        .partition(|o| o["kind"] == "CustomResourceDefinition" || o["kind"] == "Namespace");
    write_yaml(&dir.join("first.yaml"), &first);
    write_yaml(&dir.join("second.yaml"), &rest);
    let kubectl = PathBuf::from("kubectl.1.33");
    let run = |args: Vec<String>| async {
        let mut full = vec!["--kubeconfig".to_string(), kubeconfig.display().to_string()];
        full.extend(args);
        measured(cluster, dir, &which(&kubectl), &full).await
    };
    let mut total = run(strings(&["apply", "--server-side", "-f", "first.yaml"])).await;
    add(
        &mut total,
        run(strings(&[
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
        ]))
        .await,
    );
    let mut full = vec!["--kubeconfig".to_string(), kubeconfig.display().to_string()];
    full.extend(strings(&["apply", "--server-side", "-f", "second.yaml"]));
    let second =
        measured_or_not(cluster, dir, &which(&kubectl), &full, !operators.is_empty()).await;
    add(&mut total, second);
    if !operators.is_empty() {
        for operator in operators {
            let (namespace, object) = operator.split_once(' ').expect("NAMESPACE KIND/NAME");
            add(
                &mut total,
                run(strings(&[
                    "wait",
                    "--for=condition=Available",
                    "--timeout=600s",
                    "-n",
                    namespace,
                    object,
                ]))
                .await,
            );
        }
        add(
            &mut total,
            run(strings(&[
                "wait",
                "--for=condition=Established",
                "crd",
                "--all",
            ]))
            .await,
        );
        add(
            &mut total,
            run(strings(&["apply", "--server-side", "-f", "second.yaml"])).await,
        );
    }
    total
}

async fn with_kpt(cluster: &SimCluster, dir: &Path, objects: &[Value]) -> Figures {
    let kubeconfig = dir.join("kpt.kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let package = dir.join("kpt-package");
    std::fs::create_dir_all(&package).unwrap();
    write_yaml(
        &package.join("objects.yaml"),
        &objects.iter().collect::<Vec<_>>(),
    );
    let kpt = which(Path::new("kpt"));
    let run = |args: Vec<String>| async {
        let mut full = args;
        full.extend(["--kubeconfig".to_string(), kubeconfig.display().to_string()]);
        measured(cluster, dir, &kpt, &full).await
    };
    let mut total = run(strings(&["live", "init", "kpt-package"])).await;
    add(
        &mut total,
        run(strings(&["live", "install-resource-group"])).await,
    );
    add(
        &mut total,
        run(strings(&["live", "apply", "--server-side", "kpt-package"])).await,
    );
    total
}

fn which(program: &Path) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{} is not on PATH", program.display()))
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn row(tool: &str, figures: &Figures) {
    println!(
        "  {tool:<34} {:>8.1} s {:>8} requests {:>8.1} MiB peak RSS",
        figures.took.as_secs_f64(),
        figures.requests,
        figures.rss_mib
    );
}

fn ratios(vmdeck: &Figures, others: &[(&str, &Figures)]) {
    for (tool, other) in others {
        println!(
            "  ratio {tool} / vmdeck: {:.1}x time, {:.2}x requests, {:.2}x RSS",
            other.took.as_secs_f64() / vmdeck.took.as_secs_f64(),
            other.requests as f64 / vmdeck.requests.max(1) as f64,
            other.rss_mib / vmdeck.rss_mib
        );
    }
}

/// The packs of a `profile render -o yaml` text that bring workloads (each document follows a
/// `# pack: NAME VERSION` line).
fn packs_with_workloads(rendered: &str) -> BTreeSet<String> {
    rendered
        .split("\n---")
        .filter(|document| {
            document.lines().any(|line| {
                matches!(
                    line.trim_end(),
                    "kind: Deployment" | "kind: DaemonSet" | "kind: StatefulSet"
                )
            })
        })
        .filter_map(|document| {
            document
                .lines()
                .find_map(|line| line.strip_prefix("# pack: "))
                .and_then(|pack| pack.split_whitespace().next())
                .map(str::to_string)
        })
        .collect()
}

/// The readiness delays an ideal installer must wait through on simcluster for `preset`, and the
/// chain that needs them: along the longest chain of pack dependencies, two for an operator pack
/// (its Deployment, then the components its CR makes), one for another pack with workloads, none
/// for a pack without (the ready delay is the workloads').
fn ideal_delays(preset: &str, with_workloads: &BTreeSet<String>) -> (u32, Vec<String>) {
    let catalog = vmdeck_packs::Catalog::embedded().expect("the embedded catalog loads");
    let picked = &catalog.preset(preset).expect("the preset exists").packs;
    fn chain(
        catalog: &vmdeck_packs::Catalog,
        with_workloads: &BTreeSet<String>,
        name: &str,
    ) -> (u32, Vec<String>) {
        let manifest = &catalog.get(name).expect("a catalog pack").manifest;
        let own = if manifest
            .readiness
            .iter()
            .any(|r| matches!(r.kind.as_str(), "KubeVirt" | "CDI"))
        {
            2
        } else {
            u32::from(with_workloads.contains(name))
        };
        let (before, mut path) = manifest
            .dependencies
            .iter()
            .map(|d| chain(catalog, with_workloads, d))
            .max_by_key(|(delays, _)| *delays)
            .unwrap_or_default();
        path.push(name.to_string());
        (before + own, path)
    }
    picked
        .iter()
        .map(|p| chain(&catalog, with_workloads, p))
        .max_by_key(|(delays, _)| *delays)
        .unwrap_or_default()
}

/// The seconds `vmdeckctl install` says it took from the go-ahead to Ready.
fn seconds_to_ready(output: &str) -> Option<f64> {
    let (before, _) = output.split_once(" s from the go-ahead to Ready")?;
    before.rsplit(' ').next()?.parse().ok()
}

fn mirror() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/upstream")
        .display()
        .to_string()
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .map_or(2000, |n| n.parse().expect("OBJECTS is a number"));
    let objects = bundle(total);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    println!(
        "(a) synthetic bundle: {} objects, simcluster latency 25 ms per request",
        objects.len()
    );
    let profile = bench_pack(dir, &objects);
    let packs = dir.join("packs");
    let sim = cluster(Duration::from_millis(50)).await;
    let vmdeck = with_vmdeck(
        &sim,
        dir,
        vec![
            "--packs-dir".into(),
            packs.display().to_string(),
            "install".into(),
            profile.display().to_string(),
        ],
    )
    .await;
    sim.shutdown().await;
    row("vmdeckctl install (to Ready)", &vmdeck);
    let sim = cluster(Duration::from_millis(50)).await;
    let kubectl = with_kubectl(&sim, dir, &objects, &[]).await;
    sim.shutdown().await;
    row("kubectl.1.33 apply --server-side", &kubectl);
    let sim = cluster(Duration::from_millis(50)).await;
    let kpt = with_kpt(&sim, dir, &objects).await;
    sim.shutdown().await;
    row("kpt live apply --server-side", &kpt);
    ratios(&vmdeck, &[("kubectl", &kubectl), ("kpt", &kpt)]);

    // (b) The full stack, rendered once from the mirror for kubectl and kpt.
    let ready_delay = Duration::from_millis(500);
    println!(
        "(b) vm-dashboard-direct from the mirror, ready delay {} ms per workload",
        ready_delay.as_millis()
    );
    let stack = dir.join("stack.yaml");
    let init = tokio::process::Command::new(vmdeckctl())
        .args(["profile", "init", "--preset", "vm-dashboard-direct"])
        .output()
        .await
        .unwrap();
    std::fs::write(&stack, &init.stdout).unwrap();
    let render = tokio::process::Command::new(vmdeckctl())
        .args([
            "profile",
            "render",
            "-o",
            "yaml",
            "--show-secrets",
            "--mirror",
        ])
        .arg(mirror())
        .arg(&stack)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .await
        .unwrap();
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
    let rendered: Vec<Value> =
        serde_yaml_ng::Deserializer::from_str(&String::from_utf8_lossy(&render.stdout))
            .filter_map(|document| serde::Deserialize::deserialize(document).ok())
            .filter(|v: &Value| v.is_object())
            .collect();
    let sim = cluster(ready_delay).await;
    let vmdeck = with_vmdeck(
        &sim,
        dir,
        vec![
            "install".into(),
            stack.display().to_string(),
            "--mirror".into(),
            mirror(),
        ],
    )
    .await;
    sim.shutdown().await;
    row("vmdeckctl install (to Ready)", &vmdeck);
    let (delays, path) = ideal_delays(
        "vm-dashboard-direct",
        &packs_with_workloads(&String::from_utf8_lossy(&render.stdout)),
    );
    let ideal = ready_delay * delays;
    println!(
        "  readiness delays on the critical path: {delays} x {} ms = {:.1} s ({}); vmdeck to Ready: \
         {:.2}x of that (goal: at most 1.2x)",
        ready_delay.as_millis(),
        ideal.as_secs_f64(),
        path.join(" -> "),
        vmdeck.took.as_secs_f64() / ideal.as_secs_f64()
    );
    // The app shows the preflight and the plan before the person says go: that part alone.
    if let Some(install) = seconds_to_ready(&vmdeck.output) {
        println!(
            "  of which from the go-ahead (after render, preflight and plan) to Ready: {install:.2} s, \
             {:.2}x",
            install / ideal.as_secs_f64()
        );
    }
    let sim = cluster(ready_delay).await;
    let kubectl = with_kubectl(
        &sim,
        dir,
        &rendered,
        &["kubevirt kubevirt/kubevirt", "cdi cdi/cdi"],
    )
    .await;
    sim.shutdown().await;
    row("kubectl.1.33 (apply, wait operators, apply)", &kubectl);
    // kpt live apply refuses a package with kinds the cluster does not serve yet (the CRDs
    // KubeVirt's and CDI's operators create), and one package is one inventory: no fair run.
    println!("  kpt live apply: not run on (b): it cannot apply CRs of operator-made CRDs");
    ratios(&vmdeck, &[("kubectl", &kubectl)]);
}
