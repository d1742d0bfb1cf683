//! vmdeckctl's dashboard verbs against simcluster after installing `vm-dashboard-direct`:
//! bad input refused at the field (exit 2, nothing created), the review YAML, a VM from the
//! fedora golden image with the pack's vmdeck-small instancetype (import to 100%, running, a
//! serial console that answers, the VMI sized by the instancetype), delete keeping and with disks.

use std::process::Stdio;

use kube::api::{Api, DynamicObject, ListParams};
use simcluster::SimCluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vmdeck_test_support::{WAIT_LIMIT, eventually};

mod support;
use support::{args, mirror, text, vmdeckctl};

fn resource(group: &str, kind: &str, plural: &str) -> kube::api::ApiResource {
    kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(group, "v1", kind),
        plural,
    )
}

async fn install(dir: &std::path::Path, kubeconfig: &str) {
    let init = vmdeckctl(
        dir,
        args(&["profile", "init", "--preset", "vm-dashboard-direct"]),
    )
    .await;
    assert!(init.status.success(), "{}", text(&init.stderr));
    let profile = dir.join("profile.yaml");
    std::fs::write(&profile, &init.stdout).unwrap();
    let installed = vmdeckctl(
        dir,
        args(&[
            "install",
            &profile.display().to_string(),
            "--kubeconfig",
            kubeconfig,
            "--mirror",
            &mirror(),
            "--yes",
        ]),
    )
    .await;
    assert!(installed.status.success(), "{}", text(&installed.stderr));
}

/// The serial console of `vm` answers with a login prompt.
async fn console_answers(kubeconfig: &str, vm: &str) {
    let mut child = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("vmdeckctl"))
        .args(["console", "--kubeconfig", kubeconfig, vm])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"\r").await.unwrap();
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT_LIMIT, async {
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("login: ") {
            let n = stdout.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "the console ended: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no login prompt: {}", String::from_utf8_lossy(&seen)));
    stdin.write_all(&[0x1d]).await.unwrap();
    assert!(child.wait().await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_from_the_golden_image_console_and_delete() {
    let cluster = SimCluster::start(simcluster::Options {
        ready_delay: std::time::Duration::from_millis(50),
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let k = kubeconfig.display().to_string();
    install(dir.path(), &k).await;
    let client = cluster.client().await;
    let vm_api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("kubevirt.io", "VirtualMachine", "virtualmachines"),
    );
    let vm = |name: &str, more: &[&str]| {
        let mut a = vec!["vms", "create", "--kubeconfig", k.as_str(), name];
        a.extend_from_slice(more);
        args(&a)
    };
    let golden = [
        "--instancetype",
        "vmdeck-small",
        "--preference",
        "vmdeck-linux",
        "--image",
        "vm-dashboard/fedora",
        "--size",
        "10Gi",
    ];

    // Bad input: refused at the field with the fix, nothing created.
    let bad = vmdeckctl(
        dir.path(),
        vm(
            "default/Web_01",
            &[
                "--instancetype",
                "vmdeck-small",
                "--size",
                "10 gigs",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    let errors: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    let fields: Vec<&str> = errors["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "boot_source", "disk_size"], "{errors}");
    assert!(
        errors["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["fix"].as_str().unwrap().is_empty())
    );
    let missing = vmdeckctl(
        dir.path(),
        vm(
            "default/web",
            &[
                "--instancetype",
                "u1.nope",
                "--image",
                "vm-dashboard/fedora",
            ],
        ),
    )
    .await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("instancetype: there is no instancetype u1.nope"),
        "{}",
        text(&missing.stderr)
    );
    assert!(
        vm_api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "nothing created"
    );

    // The review shows the objects and creates nothing.
    let reviewed = vmdeckctl(
        dir.path(),
        vm(
            "default/web",
            &[&golden[..], &["--start", "--review"]].concat(),
        ),
    )
    .await;
    assert!(reviewed.status.success(), "{}", text(&reviewed.stderr));
    let yaml = text(&reviewed.stdout);
    assert!(
        yaml.contains("kind: VirtualMachine") && yaml.contains("sourceRef:"),
        "{yaml}"
    );
    assert!(
        vm_api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Created from the golden image, followed to 100%.
    let created = vmdeckctl(
        dir.path(),
        vm(
            "default/web",
            &[&golden[..], &["--start", "--wait", "-o", "json"]].concat(),
        ),
    )
    .await;
    assert!(
        created.status.success(),
        "{}{}",
        text(&created.stderr),
        text(&created.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let events = report["disk_events"].as_array().unwrap();
    assert_eq!(events.last().unwrap()["event"], "ready", "{events:?}");
    assert!(
        events.iter().any(|e| e["percent"].as_f64() == Some(100.0)),
        "the import reached 100%: {events:?}"
    );
    let yaml_vm: serde_json::Value = serde_yaml_ng::from_str(
        yaml.split("---\n")
            .find(|d| d.contains("kind: VirtualMachine"))
            .unwrap(),
    )
    .unwrap();
    let live = serde_json::to_value(vm_api.get("web").await.unwrap()).unwrap();
    assert_eq!(
        yaml_vm["spec"]["dataVolumeTemplates"], live["spec"]["dataVolumeTemplates"],
        "the review is what was created"
    );

    let vmi_api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource(
            "kubevirt.io",
            "VirtualMachineInstance",
            "virtualmachineinstances",
        ),
    );
    let vmi = eventually("web running", async || {
        let vmi = vmi_api.get_opt("web").await.ok()??;
        (vmi.data.pointer("/status/phase")?.as_str()? == "Running").then_some(vmi)
    })
    .await;
    let domain = &vmi.data["spec"]["domain"];
    let count = |k: &str| domain["cpu"][k].as_u64().unwrap_or(1);
    assert_eq!(
        count("sockets") * count("cores") * count("threads"),
        1,
        "{domain}"
    );
    assert_eq!(domain["memory"]["guest"], "2Gi", "{domain}");
    console_answers(&k, "default/web").await;

    // Delete keeping the disk: the PVC stays. A typo is refused.
    let pvcs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("", "PersistentVolumeClaim", "persistentvolumeclaims"),
    );
    let typo = vmdeckctl(
        dir.path(),
        args(&[
            "vms",
            "delete",
            "--kubeconfig",
            &k,
            "default/web",
            "--confirm",
            "webb",
        ]),
    )
    .await;
    assert!(!typo.status.success());
    assert!(
        text(&typo.stderr).contains("not the VM's"),
        "{}",
        text(&typo.stderr)
    );
    let kept = vmdeckctl(
        dir.path(),
        args(&[
            "vms",
            "delete",
            "--kubeconfig",
            &k,
            "default/web",
            "--keep-disks",
            "--confirm",
            "web",
            "-o",
            "json",
        ]),
    )
    .await;
    assert!(kept.status.success(), "{}", text(&kept.stderr));
    assert!(vm_api.get_opt("web").await.unwrap().is_none());
    eventually("the VMI gone", async || {
        vmi_api.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(
        pvcs.get_opt("web-rootdisk").await.unwrap().is_some(),
        "the kept disk stays"
    );

    // A stopped VM deleted with its disk: the PVC goes.
    let db = vmdeckctl(
        dir.path(),
        vm("default/db", &[&golden[..], &["--wait"]].concat()),
    )
    .await;
    assert!(db.status.success(), "{}", text(&db.stderr));
    assert!(pvcs.get_opt("db-rootdisk").await.unwrap().is_some());
    let gone = vmdeckctl(
        dir.path(),
        args(&[
            "vms",
            "delete",
            "--kubeconfig",
            &k,
            "default/db",
            "--yes-i-typed",
            "db",
        ]),
    )
    .await;
    assert!(gone.status.success(), "{}", text(&gone.stderr));
    eventually("db's disk gone", async || {
        pvcs.get_opt("db-rootdisk")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        pvcs.get_opt("web-rootdisk").await.unwrap().is_some(),
        "the other kept disk still there"
    );
    cluster.shutdown().await;
}
