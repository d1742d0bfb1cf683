//! kubectl 1.33, unchanged, installing KubeVirt and CDI from the upstream manifests on simcluster:
//! waits on the CRs, a running VM, upgrade 1.8.2 -> 1.8.4, the documented uninstall order, and the
//! CR stuck Terminating when the operator is deleted first.

mod support;

use support::Kubectl;

fn manifest(relative: &str) -> String {
    support::upstream()
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

async fn start() -> (simcluster::SimCluster, tempfile::TempDir, Kubectl) {
    let cluster = support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let k = Kubectl::new(33, &kubeconfig);
    (cluster, dir, k)
}

async fn install_kubevirt(k: &Kubectl, version: &str) {
    k.ok(&[
        "apply",
        "--server-side",
        "-f",
        &manifest(&format!("kubevirt/{version}/kubevirt-operator.yaml")),
    ])
    .await;
    k.ok(&[
        "apply",
        "--server-side",
        "-f",
        &manifest(&format!("kubevirt/{version}/kubevirt-cr.yaml")),
    ])
    .await;
    k.ok(&[
        "-n",
        "kubevirt",
        "wait",
        "kv",
        "kubevirt",
        "--for",
        "condition=Available",
        "--timeout=60s",
    ])
    .await;
}

const VM: &str = "apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: testvm
  namespace: vms
  annotations:
    simcluster.vmdeck.io/guest-agent: \"true\"
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        devices:
          disks: [{name: rootdisk, disk: {bus: virtio}}]
          interfaces: [{name: default, masquerade: {}}]
        resources: {requests: {memory: 1Gi}}
      networks: [{name: default, pod: {}}]
      volumes: [{name: rootdisk, containerDisk: {image: quay.io/containerdisks/fedora:41}}]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubevirt_install_vm_and_documented_uninstall() {
    let (cluster, dir, k) = start().await;
    install_kubevirt(&k, "v1.8.4").await;
    let kv = k
        .ok(&[
            "-n",
            "kubevirt",
            "get",
            "kv",
            "kubevirt",
            "-o",
            "jsonpath={.status.phase} {.status.observedKubeVirtVersion}",
        ])
        .await;
    assert_eq!(kv, "Deployed v1.8.4");
    let apiservices = k.ok(&["get", "apiservices", "-o", "name"]).await;
    assert!(
        apiservices.contains("v1.subresources.kubevirt.io"),
        "{apiservices}"
    );
    let resources = k.ok(&["api-resources", "--api-group=kubevirt.io"]).await;
    assert!(
        resources.contains("virtualmachines") && resources.contains(" vm,vms "),
        "{resources}"
    );

    k.ok(&["create", "ns", "vms"]).await;
    let file = dir.path().join("vm.yaml");
    std::fs::write(&file, VM).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]).await;
    k.ok(&[
        "-n",
        "vms",
        "wait",
        "vmi",
        "testvm",
        "--for",
        "condition=Ready",
        "--timeout=60s",
    ])
    .await;
    // The VM's status follows its VMI's (the VM controller copies it over): wait for it too.
    k.ok(&[
        "-n",
        "vms",
        "wait",
        "vm",
        "testvm",
        "--for=jsonpath={.status.printableStatus}=Running",
        "--timeout=60s",
    ])
    .await;
    let vms = k.ok(&["-n", "vms", "get", "vm"]).await;
    let header = vms.lines().next().unwrap();
    assert!(
        header.contains("AGE") && header.contains("STATUS") && header.contains("READY"),
        "{vms}"
    );
    assert!(vms.lines().nth(1).unwrap().contains("Running"), "{vms}");
    let vmi = k
        .ok(&["-n", "vms", "get", "vmi", "testvm", "-o", "wide"])
        .await;
    assert!(
        vmi.contains("Running") && vmi.contains("sim-node-") && vmi.contains("10.244."),
        "{vmi}"
    );

    // The documented order: CR (wait until gone), APIService, webhooks, operator manifest.
    k.ok(&[
        "-n",
        "kubevirt",
        "delete",
        "kv",
        "kubevirt",
        "--wait=true",
        "--timeout=60s",
    ])
    .await;
    k.ok(&[
        "delete",
        "apiservices",
        "v1.subresources.kubevirt.io",
        "--ignore-not-found",
    ])
    .await;
    k.ok(&[
        "delete",
        "mutatingwebhookconfigurations",
        "virt-api-mutator",
        "--ignore-not-found",
    ])
    .await;
    k.ok(&[
        "delete",
        "validatingwebhookconfigurations",
        "virt-operator-validator",
        "virt-api-validator",
        "--ignore-not-found",
    ])
    .await;
    k.ok(&[
        "delete",
        "-f",
        &manifest("kubevirt/v1.8.4/kubevirt-operator.yaml"),
        "--wait=true",
        "--timeout=60s",
        "--ignore-not-found",
    ])
    .await;
    k.ok(&[
        "delete",
        "apiservices",
        "v1alpha3.subresources.kubevirt.io",
        "--ignore-not-found",
    ])
    .await;
    let crds = k.ok(&["get", "crd", "-o", "name"]).await;
    assert!(
        !crds.contains("kubevirt.io"),
        "no KubeVirt CRD left: {crds}"
    );
    let namespaces = k.ok(&["get", "ns"]).await;
    assert!(
        !namespaces.contains("Terminating") && !namespaces.contains("kubevirt"),
        "{namespaces}"
    );
    let hooks = k
        .ok(&[
            "get",
            "validatingwebhookconfigurations,mutatingwebhookconfigurations,apiservices",
            "-o",
            "name",
        ])
        .await;
    assert!(
        !hooks.contains("virt-") && !hooks.contains("kubevirt"),
        "{hooks}"
    );
    let pods = k.ok(&["get", "pods", "-A", "-o", "name"]).await;
    assert!(!pods.contains("virt-"), "{pods}");
    let (ok, _, stderr) = k.run(&["get", "vm", "-A"]).await;
    // kubectl's cached discovery may still know the type; the server no longer serves it.
    assert!(
        !ok && (stderr.contains("the server doesn't have a resource type")
            || stderr.contains("could not find the requested resource")),
        "{stderr}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_operator_first_leaves_the_cr_terminating() {
    let (cluster, _dir, k) = start().await;
    install_kubevirt(&k, "v1.8.4").await;
    k.ok(&[
        "delete",
        "-f",
        &manifest("kubevirt/v1.8.4/kubevirt-operator.yaml"),
        "--wait=false",
        "--ignore-not-found",
    ])
    .await;
    // Wait until the operator is gone and the CR is being deleted (its namespace is going):
    // then nothing is left to drop the finalizer.
    support::wait_until(
        "virt-operator is gone and the KubeVirt CR is being deleted",
        async || {
            let (_, operator, _) = k
                .run(&[
                    "-n",
                    "kubevirt",
                    "get",
                    "deployment",
                    "virt-operator",
                    "--ignore-not-found",
                    "-o",
                    "name",
                ])
                .await;
            let (_, deleted_at, _) = k
                .run(&[
                    "-n",
                    "kubevirt",
                    "get",
                    "kv",
                    "kubevirt",
                    "-o",
                    "jsonpath={.metadata.deletionTimestamp}",
                ])
                .await;
            operator.trim().is_empty() && !deleted_at.trim().is_empty()
        },
    )
    .await;
    let kv = k
        .ok(&[
            "-n",
            "kubevirt",
            "get",
            "kv",
            "kubevirt",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}|{.metadata.finalizers}",
        ])
        .await;
    let (deleted_at, finalizers) = kv.split_once('|').unwrap();
    assert!(
        !deleted_at.is_empty(),
        "the CR is marked for deletion: {kv}"
    );
    assert!(
        finalizers.contains("kubevirt.io/foregroundDeleteKubeVirt"),
        "{kv}"
    );
    let ns = k
        .ok(&["get", "ns", "kubevirt", "-o", "jsonpath={.status.phase}"])
        .await;
    assert_eq!(ns, "Terminating");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_reports_the_new_version() {
    let (cluster, _dir, k) = start().await;
    install_kubevirt(&k, "v1.8.2").await;
    let before = k
        .ok(&[
            "-n",
            "kubevirt",
            "get",
            "kv",
            "kubevirt",
            "-o",
            "jsonpath={.status.observedKubeVirtVersion}",
        ])
        .await;
    assert_eq!(before, "v1.8.2");
    k.ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        &manifest("kubevirt/v1.8.4/kubevirt-operator.yaml"),
    ])
    .await;
    k.ok(&[
        "-n",
        "kubevirt",
        "wait",
        "kv",
        "kubevirt",
        "--for=jsonpath={.status.observedKubeVirtVersion}=v1.8.4",
        "--timeout=60s",
    ])
    .await;
    k.ok(&[
        "-n",
        "kubevirt",
        "wait",
        "kv",
        "kubevirt",
        "--for=jsonpath={.status.phase}=Deployed",
        "--timeout=60s",
    ])
    .await;
    let image = k
        .ok(&[
            "-n",
            "kubevirt",
            "get",
            "deploy",
            "virt-api",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, "quay.io/kubevirt/virt-api:v1.8.4");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdi_install_and_uninstall() {
    let (cluster, _dir, k) = start().await;
    k.ok(&[
        "apply",
        "--server-side",
        "-f",
        &manifest("cdi/v1.64.0/cdi-operator.yaml"),
    ])
    .await;
    k.ok(&[
        "apply",
        "--server-side",
        "-f",
        &manifest("cdi/v1.64.0/cdi-cr.yaml"),
    ])
    .await;
    k.ok(&[
        "wait",
        "cdis.cdi.kubevirt.io/cdi",
        "--for=condition=Available",
        "--timeout=60s",
    ])
    .await;
    let cdi = k
        .ok(&[
            "get",
            "cdi",
            "cdi",
            "-o",
            "jsonpath={.status.phase} {.status.observedVersion} {.metadata.finalizers}",
        ])
        .await;
    assert!(
        cdi.starts_with("Deployed v1.64.0") && cdi.contains("operator.cdi.kubevirt.io"),
        "{cdi}"
    );
    k.ok(&["-n", "cdi", "get", "svc", "cdi-uploadproxy"]).await;
    let resources = k
        .ok(&["api-resources", "--api-group=cdi.kubevirt.io"])
        .await;
    assert!(
        resources.contains("datavolumes") && resources.contains("dataimportcrons"),
        "{resources}"
    );
    k.ok(&["delete", "cdi", "cdi", "--wait=false"]).await;
    k.ok(&[
        "wait",
        "cdis.cdi.kubevirt.io/cdi",
        "--for=delete",
        "--timeout=60s",
    ])
    .await;
    k.ok(&[
        "delete",
        "-f",
        &manifest("cdi/v1.64.0/cdi-operator.yaml"),
        "--wait=true",
        "--timeout=60s",
        "--ignore-not-found",
    ])
    .await;
    let crds = k.ok(&["get", "crd", "-o", "name"]).await;
    assert!(!crds.contains("cdi.kubevirt.io"), "{crds}");
    let namespaces = k.ok(&["get", "ns"]).await;
    assert!(!namespaces.contains("Terminating"), "{namespaces}");
    cluster.shutdown().await;
}
