//! Server-side apply of one release's manifests over another's, by the same field manager, as an
//! upgrade does: what the newer release no longer sets goes away (CDI v1.61.0 -> v1.64.0).

mod support;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

fn cdi_operator(version: &str) -> Vec<Value> {
    let file = support::upstream()
        .join("cdi")
        .join(version)
        .join("cdi-operator.yaml");
    let text =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    support::documents(&text)
}

async fn apply_all(client: &kube::Client, documents: &[Value], params: &PatchParams) {
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    for document in documents {
        let object: DynamicObject = serde_json::from_value(document.clone()).unwrap();
        let gvk = kube::core::GroupVersionKind::try_from(object.types.as_ref().unwrap()).unwrap();
        let (resource, capabilities) = discovery
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("{gvk:?} discovered"));
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Namespaced => Api::namespaced_with(
                client.clone(),
                object.metadata.namespace.as_deref().unwrap_or("default"),
                &resource,
            ),
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        let name = object.metadata.name.clone().unwrap();
        api.patch(&name, params, &Patch::Apply(document))
            .await
            .unwrap_or_else(|e| panic!("apply {gvk:?} {name}: {e}"));
    }
}

fn operator_container(documents: &[Value]) -> Value {
    let deployment = documents
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "cdi-operator")
        .expect("the cdi-operator Deployment");
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cdi-operator")
        .expect("the cdi-operator container")
        .clone()
}

#[tokio::test]
async fn upgrading_cdi_by_apply_leaves_exactly_the_new_release_ports() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let params = PatchParams::apply("vmdeck");
    let old = cdi_operator("v1.61.0");
    let new = cdi_operator("v1.64.0");
    let new_container = operator_container(&new);
    assert_ne!(
        operator_container(&old)["ports"],
        new_container["ports"],
        "the releases differ in the operator's ports"
    );
    apply_all(&client, &old, &params).await;
    apply_all(&client, &new, &params).await;

    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "cdi",
        &kube::discovery::ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&()),
    );
    let live = api.get("cdi-operator").await.unwrap();
    let live = serde_json::to_value(&live).unwrap();
    let live_container = operator_container(&[live]);
    assert_eq!(live_container["ports"], new_container["ports"]);
    // Nothing else of v1.61.0's container is left either: it is v1.64.0's, field for field.
    assert_eq!(live_container, new_container);
}
