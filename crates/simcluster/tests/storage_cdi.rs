//! Storage and CDI, simulated, through kube-rs: claims get the default StorageClass and bind once
//! consumed, DataVolumes import with progress (and fail in words), DataImportCrons publish Ready
//! DataSources that DataVolumes clone from.

mod support;

use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};
use simcluster::{Options, SimCluster};
use support::eventually;

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn api(client: &kube::Client, ns: &str, ar: &ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, ar)
}

fn dvs() -> ApiResource {
    resource("cdi.kubevirt.io", "v1beta1", "DataVolume", "datavolumes")
}

fn pvcs() -> ApiResource {
    resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims")
}

async fn create(api: &Api<DynamicObject>, object: Value) {
    api.create(
        &PostParams::default(),
        &serde_json::from_value(object).unwrap(),
    )
    .await
    .unwrap();
}

async fn get(api: &Api<DynamicObject>, name: &str) -> Option<Value> {
    api.get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

fn condition<'v>(object: &'v Value, kind: &str) -> Option<&'v Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

async fn with_cdi(bare: bool) -> SimCluster {
    support::start_with(Options {
        with_kubevirt: true,
        bare,
        ready_delay: Duration::from_millis(400),
        ..Options::default()
    })
    .await
}

/// Waits for the DataVolume to succeed; returns the phases and progress values seen on the way.
async fn phases_until_succeeded(
    dvs: &Api<DynamicObject>,
    name: &str,
) -> (Vec<String>, Vec<String>) {
    let (mut phases, mut progress) = (Vec::<String>::new(), Vec::<String>::new());
    eventually("the DataVolume succeeds", async || {
        let dv = get(dvs, name).await?;
        let phase = dv["status"]["phase"].as_str()?.to_string();
        if phases.last() != Some(&phase) {
            phases.push(phase.clone());
        }
        if let Some(p) = dv["status"]["progress"].as_str()
            && progress.last().map(String::as_str) != Some(p)
        {
            progress.push(p.to_string());
        }
        (phase == "Succeeded").then_some(())
    })
    .await;
    (phases, progress)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_gets_the_default_class_and_binds_once_a_pod_uses_it() {
    let cluster = support::start_with(Options {
        ready_delay: Duration::from_millis(100),
        ..Options::default()
    })
    .await;
    let client = cluster.client().await;
    let claims = api(&client, "default", &pvcs());
    create(
        &claims,
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}),
    )
    .await;
    let claim = eventually("the default class is assigned", async || {
        get(&claims, "data")
            .await
            .filter(|c| c["spec"]["storageClassName"] == "standard")
    })
    .await;
    assert_ne!(
        claim["status"]["phase"], "Bound",
        "WaitForFirstConsumer: nothing uses it yet"
    );
    let events = Api::<k8s_openapi::api::core::v1::Event>::namespaced(client.clone(), "default");
    eventually("the binder says it waits for a consumer", async || {
        let list = events.list(&Default::default()).await.unwrap();
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("WaitForFirstConsumer"))
            .then_some(())
    })
    .await;
    let pods = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "user"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}))
        .unwrap(),
    )
    .await
    .unwrap();
    let claim = eventually("the claim binds", async || {
        get(&claims, "data")
            .await
            .filter(|c| c["status"]["phase"] == "Bound")
    })
    .await;
    assert_eq!(claim["status"]["capacity"]["storage"], "2Gi");
    let pv_name = claim["spec"]["volumeName"].as_str().unwrap().to_string();
    let pvs = Api::<k8s_openapi::api::core::v1::PersistentVolume>::all(client.clone());
    let pv = pvs.get(&pv_name).await.unwrap();
    let spec = pv.spec.unwrap();
    assert_eq!(spec.storage_class_name.as_deref(), Some("standard"));
    assert_eq!(spec.claim_ref.unwrap().name.as_deref(), Some("data"));
    assert_eq!(pv.status.unwrap().phase.as_deref(), Some("Bound"));
    // Deleting the claim deletes its volume (reclaim policy Delete).
    pods.delete("user", &Default::default()).await.unwrap();
    claims.delete("data", &Default::default()).await.unwrap();
    eventually("the PV goes with its claim", async || {
        pvs.get_opt(&pv_name).await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_datavolume_imports_with_progress_and_a_bad_host_fails_in_words() {
    let cluster = with_cdi(false).await;
    let client = cluster.client().await;
    let dvs = api(&client, "default", &dvs());
    create(&dvs, json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "disk"},
        "spec": {"source": {"registry": {"url": "docker://quay.io/containerdisks/fedora:41"}},
            "storage": {"resources": {"requests": {"storage": "8Gi"}}}}}))
    .await;
    let (phases, progress) = phases_until_succeeded(&dvs, "disk").await;
    assert!(
        phases.contains(&"ImportScheduled".to_string()),
        "{phases:?}"
    );
    assert!(
        phases.contains(&"ImportInProgress".to_string()),
        "{phases:?}"
    );
    assert!(
        progress.iter().any(|p| p.ends_with('%') && p != "100.0%"),
        "progress advanced: {progress:?}"
    );
    let dv = get(&dvs, "disk").await.unwrap();
    assert_eq!(dv["status"]["progress"], "100.0%");
    assert_eq!(dv["status"]["claimName"], "disk");
    assert_eq!(condition(&dv, "Ready").unwrap()["status"], "True");
    let claim = get(&api(&client, "default", &pvcs()), "disk")
        .await
        .unwrap();
    assert_eq!(claim["status"]["phase"], "Bound");
    assert_eq!(claim["spec"]["storageClassName"], "standard");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "8Gi");
    assert_eq!(
        claim["metadata"]["ownerReferences"][0]["kind"],
        "DataVolume"
    );

    create(&dvs, json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "broken"},
        "spec": {"source": {"http": {"url": "https://fail.invalid/disk.qcow2"}},
            "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}))
    .await;
    let dv = eventually("the failing import says why", async || {
        get(&dvs, "broken")
            .await
            .filter(|dv| condition(dv, "Running").is_some_and(|c| c["reason"] == "Error"))
    })
    .await;
    let message = condition(&dv, "Running").unwrap()["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("no such host"), "{message}");
    assert_ne!(dv["status"]["phase"], "Succeeded");
    assert!(dv["status"]["restartCount"].as_i64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_default_class_a_datavolume_waits_and_says_so() {
    let cluster = with_cdi(true).await;
    let client = cluster.client().await;
    let dvs = api(&client, "default", &dvs());
    create(&dvs, json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "disk"},
        "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}))
    .await;
    let dv = eventually("the DataVolume explains the wait", async || {
        get(&dvs, "disk").await.filter(|dv| {
            condition(dv, "Bound").is_some_and(|c| {
                c["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("no storage class is set")
            })
        })
    })
    .await;
    assert_eq!(dv["status"]["phase"], "Pending");
    assert_eq!(condition(&dv, "Bound").unwrap()["status"], "False");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_golden_image_cron_publishes_a_ready_datasource_to_clone_from() {
    let cluster = with_cdi(false).await;
    let client = cluster.client().await;
    let namespaces = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "vm-dashboard"}})).unwrap(),
        )
        .await
        .unwrap();
    // What the vm-dashboard pack applies for one golden image.
    let sources = api(
        &client,
        "vm-dashboard",
        &resource("cdi.kubevirt.io", "v1beta1", "DataSource", "datasources"),
    );
    create(&sources, json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataSource",
        "metadata": {"name": "fedora"}, "spec": {"source": {"pvc": {"name": "fedora", "namespace": "vm-dashboard"}}}}))
    .await;
    let crons = api(
        &client,
        "vm-dashboard",
        &resource(
            "cdi.kubevirt.io",
            "v1beta1",
            "DataImportCron",
            "dataimportcrons",
        ),
    );
    create(&crons, json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataImportCron",
        "metadata": {"name": "fedora-image-cron"},
        "spec": {"schedule": "0 3 * * 0", "garbageCollect": "Outdated", "importsToKeep": 2, "managedDataSource": "fedora",
            "template": {"spec": {"source": {"registry": {"url": "docker://quay.io/containerdisks/fedora:latest"}},
                "storage": {"resources": {"requests": {"storage": "8Gi"}}}}}}}))
    .await;
    let source = eventually("the DataSource becomes Ready", async || {
        get(&sources, "fedora")
            .await
            .filter(|ds| condition(ds, "Ready").is_some_and(|c| c["status"] == "True"))
    })
    .await;
    let imported = source["spec"]["source"]["pvc"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(imported.starts_with("fedora-"), "{imported}");
    assert_eq!(source["status"]["source"]["pvc"]["name"], imported.as_str());
    let import = get(&api(&client, "vm-dashboard", &dvs()), &imported)
        .await
        .unwrap();
    assert_eq!(
        import["metadata"]["labels"]["cdi.kubevirt.io/dataImportCron"],
        "fedora-image-cron"
    );
    let cron = eventually("the cron is up to date", async || {
        get(&crons, "fedora-image-cron")
            .await
            .filter(|c| condition(c, "UpToDate").is_some_and(|c| c["status"] == "True"))
    })
    .await;
    assert_eq!(cron["status"]["lastImportedPVC"]["name"], imported.as_str());

    let dvs = api(&client, "default", &dvs());
    create(&dvs, json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "root"},
        "spec": {"sourceRef": {"kind": "DataSource", "name": "fedora", "namespace": "vm-dashboard"},
            "storage": {"resources": {"requests": {"storage": "10Gi"}}}}}))
    .await;
    let (phases, _) = phases_until_succeeded(&dvs, "root").await;
    assert!(
        phases.contains(&"CloneInProgress".to_string()),
        "{phases:?}"
    );
    let claim = get(&api(&client, "default", &pvcs()), "root")
        .await
        .unwrap();
    assert_eq!(
        claim["metadata"]["annotations"]["k8s.io/CloneRequest"],
        format!("vm-dashboard/{imported}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_shows_datavolume_progress_and_waits_for_it() {
    let cluster = with_cdi(false).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let k = support::Kubectl::new(33, &kubeconfig);
    let manifest = dir.path().join("dv.yaml");
    std::fs::write(&manifest, "apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata:\n  name: disk\nspec:\n  source:\n    http:\n      url: https://example.com/disk.qcow2\n  storage:\n    resources:\n      requests:\n        storage: 1Gi\n").unwrap();
    k.ok(&["apply", "-f", manifest.to_str().unwrap()]).await;
    k.ok(&["wait", "dv/disk", "--for=condition=Ready", "--timeout=20s"])
        .await;
    let table = k.ok(&["get", "dv", "disk"]).await;
    let row = table.lines().nth(1).unwrap_or("");
    assert!(
        row.contains("Succeeded") && row.contains("100.0%"),
        "{table}"
    );
    let pvc = k
        .ok(&["get", "pvc", "disk", "-o", "jsonpath={.status.phase}"])
        .await;
    assert_eq!(pvc, "Bound");
}
