//! The installer benchmark: one synthetic bundle of 2,000 objects (namespaces, ConfigMaps,
//! Secrets, Services, Deployments, a CRD and ~500 of its CRs) onto simcluster with 25 ms of
//! latency per request, applied by vmdeck-installer and by `kubectl apply --server-side` (CRDs
//! first, then the rest), each on a fresh cluster, in one run. Prints wall time and the ratio.
//! Run: `cargo run --release -p vmdeck-installer --example install_bench [-- OBJECTS]`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use simcluster::SimCluster;
use vmdeck_installer::{InstallOptions, ProgressSink, install};
use vmdeck_packs::{ObjectOrigin, Rendered, RenderedObject, RenderedPack};

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

async fn cluster() -> SimCluster {
    SimCluster::start(simcluster::Options {
        latency_ms: 25,
        ready_delay: Duration::from_millis(50),
        ..simcluster::Options::default()
    })
    .await
    .expect("simcluster starts")
}

async fn with_vmdeck(objects: &[Value]) -> Duration {
    let cluster = cluster().await;
    let client = kube::Client::try_from(cluster.client_config("admin").await).unwrap();
    let rendered = Rendered {
        packs: vec![RenderedPack {
            name: "bench".into(),
            version: "1".into(),
            readiness: Vec::new(),
            uninstall: Vec::new(),
            preflight: Vec::new(),
            warnings: Vec::new(),
            catalog_versions: vec!["1".into()],
        }],
        objects: objects
            .iter()
            .map(|object| RenderedObject {
                pack: "bench".into(),
                origin: ObjectOrigin::Template {
                    file: "bench.yaml".into(),
                },
                object: serde_yaml_ng::to_value(object).unwrap(),
            })
            .collect(),
    };
    let started = Instant::now();
    let report = install(
        client,
        &rendered,
        "bench".into(),
        InstallOptions::default(),
        &ProgressSink::discard(),
    )
    .await
    .expect("vmdeck installs the bundle");
    let took = started.elapsed();
    assert_eq!(report.applied, objects.len());
    cluster.shutdown().await;
    took
}

async fn with_kubectl(objects: &[Value]) -> Duration {
    let cluster = cluster().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let (crds, rest): (Vec<&Value>, Vec<&Value>) = objects
        .iter()
        .partition(|o| o["kind"] == "CustomResourceDefinition" || o["kind"] == "Namespace");
    let write = |name: &str, list: &[&Value]| {
        let path = dir.path().join(name);
        let text: String = list
            .iter()
            .map(|o| format!("---\n{}", serde_yaml_ng::to_string(o).unwrap()))
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    let first = write("first.yaml", &crds);
    let second = write("second.yaml", &rest);
    let started = Instant::now();
    for file in [&first, &second] {
        let status = tokio::process::Command::new("kubectl.1.33")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["apply", "--server-side", "-f"])
            .arg(file)
            .stdout(std::process::Stdio::null())
            .status()
            .await
            .expect("kubectl.1.33 runs");
        assert!(status.success(), "kubectl apply {}", file.display());
        if file == &first {
            let status = tokio::process::Command::new("kubectl.1.33")
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args([
                    "wait",
                    "--for=condition=Established",
                    "crd/widgets.bench.vmdeck.io",
                ])
                .stdout(std::process::Stdio::null())
                .status()
                .await
                .unwrap();
            assert!(status.success());
        }
    }
    let took = started.elapsed();
    cluster.shutdown().await;
    took
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .map_or(2000, |n| n.parse().expect("OBJECTS is a number"));
    let objects = bundle(total);
    println!(
        "install bench: {} objects, simcluster latency 25 ms per request",
        objects.len()
    );
    let vmdeck = with_vmdeck(&objects).await;
    println!(
        "vmdeck (concurrency 32)       {:>8.1} s",
        vmdeck.as_secs_f64()
    );
    let kubectl = with_kubectl(&objects).await;
    println!(
        "kubectl.1.33 apply --server-side {:>5.1} s",
        kubectl.as_secs_f64()
    );
    println!(
        "ratio kubectl / vmdeck        {:>8.1}x",
        kubectl.as_secs_f64() / vmdeck.as_secs_f64()
    );
}
