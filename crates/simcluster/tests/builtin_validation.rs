//! Built-in kinds validated as kube-apiserver validates them, through kube-rs and kubectl:
//! required fields (422 naming the field), types (400), enums, unknown fields per
//! `fieldValidation`; and `kubectl explain` on built-ins from the served OpenAPI schemas.

mod support;

use http_body_util::BodyExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::Kubectl;

const MISSING_PORT: &str = "Deployment.apps \"x\" is invalid: spec.template.spec.containers[0].ports[0].containerPort: Required value";

fn deployment(port: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "x", "image": "nginx", "ports": [port]}]}}}})
}

/// Send a raw request; (status, Warning headers, body).
async fn send(client: &kube::Client, path: &str, body: &Value) -> (u16, Vec<String>, Value) {
    let request = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(kube::client::Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap();
    let response = client.send(request).await.unwrap();
    let status = response.status().as_u16();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, warnings, serde_json::from_slice(&bytes).unwrap())
}

fn api_error(result: Result<Deployment, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_deployment_without_container_port_is_refused_with_422_through_kube_rs() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let object: Deployment =
        serde_json::from_value(deployment(json!({"name": "http", "protocol": "TCP"}))).unwrap();

    let created = api_error(api.create(&PostParams::default(), &object).await);
    assert_eq!(created.code, 422);
    assert_eq!(created.reason, "Invalid");
    assert_eq!(created.message, MISSING_PORT);

    let applied = api_error(
        api.patch("x", &PatchParams::apply("vmdeck"), &Patch::Apply(&object))
            .await,
    );
    assert_eq!(
        (applied.code, applied.message.as_str()),
        (422, MISSING_PORT)
    );
    assert!(
        api.get_opt("x").await.unwrap().is_none(),
        "nothing was stored"
    );

    // With the port, the same Deployment is taken.
    let fixed: Deployment =
        serde_json::from_value(deployment(json!({"name": "http", "containerPort": 80}))).unwrap();
    api.create(&PostParams::default(), &fixed).await.unwrap();
}

#[tokio::test]
async fn types_enums_and_unknown_fields_are_answered_as_the_real_server_does() {
    let cluster = support::start().await;
    let client = cluster.client().await;
    let path = "/apis/apps/v1/namespaces/default/deployments";

    let (status, _, body) = send(&client, path, &deployment(json!({"containerPort": "80"}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"
    );

    let (status, _, body) = send(
        &client,
        path,
        &deployment(json!({"containerPort": 80, "protocol": "XYZ"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        "Deployment.apps \"x\" is invalid: spec.template.spec.containers[0].ports[0].protocol: Unsupported value: \"XYZ\": supported values: \"SCTP\", \"TCP\", \"UDP\""
    );
    assert_eq!(
        body["details"]["causes"][0]["field"],
        "spec.template.spec.containers[0].ports[0].protocol"
    );

    let unknown = deployment(json!({"containerPort": 80, "bogus": 1}));
    let (status, _, body) =
        send(&client, &format!("{path}?fieldValidation=Strict"), &unknown).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.template.spec.containers[0].ports[0].bogus\""
    );

    let (status, warnings, body) =
        send(&client, &format!("{path}?fieldValidation=Warn"), &unknown).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        warnings,
        vec![
            "299 - \"unknown field 'spec.template.spec.containers[0].ports[0].bogus'\"".to_string()
        ]
    );
    assert_eq!(
        body["spec"]["template"]["spec"]["containers"][0]["ports"][0],
        json!({"containerPort": 80}),
        "the unknown field is dropped"
    );

    let mut other = unknown.clone();
    other["metadata"]["name"] = json!("y");
    let (status, warnings, body) =
        send(&client, &format!("{path}?fieldValidation=Ignore"), &other).await;
    assert_eq!(status, 201, "{body}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

async fn kubectl_refuses_and_explains(minor: u32) {
    let cluster = support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let k = Kubectl::new(minor, &kubeconfig);
    let manifest = dir.path().join("deployment.yaml");
    std::fs::write(
        &manifest,
        serde_json::to_string(&deployment(json!({"name": "http"}))).unwrap(),
    )
    .unwrap();
    let file = manifest.to_str().unwrap();
    let expected = "The Deployment \"x\" is invalid: spec.template.spec.containers[0].ports[0].containerPort: Required value";
    for args in [
        vec!["create", "-f", file],
        vec!["apply", "-f", file],
        vec!["apply", "--server-side", "-f", file],
    ] {
        let (ok, stdout, stderr) = k.run(&args).await;
        assert!(!ok, "kubectl {args:?} succeeded: {stdout}");
        assert!(
            stderr.contains(expected),
            "kubectl 1.{minor} {args:?}:\n{stderr}"
        );
    }
    let (ok, stdout, stderr) = k.run(&["get", "deployment", "x"]).await;
    assert!(!ok && stderr.contains("NotFound"), "{stdout}{stderr}");

    let spec = k.ok(&["explain", "deployment.spec"]).await;
    assert!(
        spec.contains("KIND:       Deployment") || spec.contains("KIND:     Deployment"),
        "{spec}"
    );
    assert!(spec.contains("DeploymentSpec"), "{spec}");
    assert!(
        spec.contains("Template describes the pods that will be created"),
        "{spec}"
    );
    assert!(spec.contains("selector"), "{spec}");
    let ports = k
        .ok(&["explain", "deployment.spec.template.spec.containers.ports"])
        .await;
    assert!(
        ports.lines().any(|l| l.contains("containerPort")
            && l.contains("<integer>")
            && l.contains("-required-")),
        "{ports}"
    );
    assert!(
        ports.contains("ContainerPort represents a network port"),
        "{ports}"
    );
    let port = k
        .ok(&[
            "explain",
            "deployment.spec.template.spec.containers.ports.containerPort",
        ])
        .await;
    assert!(port.contains("FIELD: containerPort <integer>"), "{port}");
    assert!(
        port.contains("Number of port to expose on the pod's IP address"),
        "{port}"
    );
}

#[tokio::test]
async fn kubectl_1_33_refuses_a_deployment_without_container_port_and_explains_built_ins() {
    kubectl_refuses_and_explains(33).await;
}

#[tokio::test]
async fn kubectl_1_27_refuses_a_deployment_without_container_port_and_explains_built_ins() {
    kubectl_refuses_and_explains(27).await;
}
