//! Scaffolding for the console tests: KubeVirt's VMI/VM CRDs and running VMIs created directly,
//! websocket upgrades built by hand (kube-rs `Client::send` + `hyper::upgrade::on`, subprotocol
//! `plain.kubevirt.io`), a byte reader over binary frames and a small RFB client of the tests' own.

#![allow(dead_code)]

pub mod rfb;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use simcluster::SimCluster;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use vmdeck_test_support::retry_expected;

pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

const WAIT: Duration = vmdeck_test_support::WAIT_LIMIT;

/// A KubeVirt kind that is not served yet: its CRD is still being established.
fn not_served_yet(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

fn crd(plural: &str, kind: &str, short: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.kubevirt.io")},
        "spec": {"group": "kubevirt.io", "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind, "listKind": format!("{kind}List"), "shortNames": [short]},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    })
}

fn resource(plural: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("kubevirt.io", "v1", kind), plural)
}

/// Serve VirtualMachineInstance and VirtualMachine (skipped when the simulated virt-operator
/// already serves them).
pub async fn kubevirt_crds(client: &kube::Client) {
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    for (plural, kind, short) in [
        ("virtualmachineinstances", "VirtualMachineInstance", "vmi"),
        ("virtualmachines", "VirtualMachine", "vm"),
    ] {
        let object: DynamicObject = serde_json::from_value(crd(plural, kind, short)).unwrap();
        match crds.create(&PostParams::default(), &object).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => panic!("creating the {kind} CRD: {e}"),
        }
    }
}

/// Create a VMI (retrying while its CRD is being established) with `annotations`, in `phase`.
pub async fn vmi(client: &kube::Client, name: &str, phase: &str, annotations: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("virtualmachineinstances", "VirtualMachineInstance"),
    );
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": {"domain": {"devices": {}}},
    }))
    .unwrap();
    // Only "not served yet" (404 while the KubeVirt CRDs are being established) is waited out.
    retry_expected(
        &format!("creating VMI {name}"),
        not_served_yet,
        async || api.create(&PostParams::default(), &object).await,
    )
    .await;
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": phase}})),
    )
    .await
    .unwrap_or_else(|e| panic!("setting VMI {name}'s phase: {e}"));
}

/// Create a VirtualMachine (the VMI's owner by name) with `annotations`.
pub async fn vm(client: &kube::Client, name: &str, annotations: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("virtualmachines", "VirtualMachine"),
    );
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": {"runStrategy": "Manual", "template": {"spec": {"domain": {"devices": {}}}}},
    }))
    .unwrap();
    retry_expected(&format!("creating VM {name}"), not_served_yet, async || {
        api.create(&PostParams::default(), &object).await
    })
    .await;
}

/// A cluster with the CRDs and one running VMI.
pub async fn cluster_with_vmi(name: &str, annotations: Value) -> (SimCluster, kube::Client) {
    let cluster = simcluster::SimCluster::start(simcluster::Options::default())
        .await
        .expect("simcluster starts");
    let client = cluster.client().await;
    kubevirt_crds(&client).await;
    vmi(&client, name, "Running", annotations).await;
    (cluster, client)
}

/// `/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/{name}/{what}`.
pub fn path(name: &str, what: &str) -> String {
    format!(
        "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/{name}/{what}"
    )
}

/// A refused upgrade: the status code and the body (a metav1.Status).
#[derive(Debug)]
pub struct Refused {
    pub code: u16,
    pub body: Value,
}

/// Open a console websocket as `context` (`admin` or `viewer`).
pub async fn connect(cluster: &SimCluster, context: &str, path: &str) -> Result<Socket, Refused> {
    let mut config = cluster.client_config(context).await;
    // kube-rs retries 503 with backoff by default; the preserveSession answer must come back as is.
    config.default_retry = false;
    let client = kube::Client::try_from(config).unwrap();
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let request = http::Request::get(path)
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "websocket")
        .header(http::header::SEC_WEBSOCKET_VERSION, "13")
        .header(http::header::SEC_WEBSOCKET_KEY, &key)
        .header(http::header::SEC_WEBSOCKET_PROTOCOL, "plain.kubevirt.io")
        .body(kube::client::Body::empty())
        .unwrap();
    let mut response = client.send(request).await.expect("the request is answered");
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        let code = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        return Err(Refused { code, body });
    }
    assert_eq!(
        response
            .headers()
            .get(http::header::SEC_WEBSOCKET_PROTOCOL)
            .map(|v| v.to_str().unwrap()),
        Some("plain.kubevirt.io"),
        "the server picks KubeVirt's subprotocol"
    );
    assert_eq!(
        response
            .headers()
            .get(http::header::SEC_WEBSOCKET_ACCEPT)
            .map(|v| v.to_str().unwrap().to_string()),
        Some(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
    );
    let upgraded = hyper::upgrade::on(&mut response).await.expect("upgraded");
    Ok(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await)
}

/// A plain GET (e.g. the screenshot): status, content type and body bytes.
pub async fn get(cluster: &SimCluster, path: &str) -> (u16, String, Vec<u8>) {
    let client = cluster.client().await;
    let request = http::Request::get(path)
        .body(kube::client::Body::empty())
        .unwrap();
    let response = client.send(request).await.expect("answered");
    let code = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (code, content_type, body)
}

/// Bytes carried by binary frames, read as a stream.
pub struct Bytes {
    pub socket: Socket,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already read.
    start: usize,
    /// Text frames seen (the server must never send any).
    pub text_frames: usize,
    pub closed: bool,
}

impl Bytes {
    pub fn new(socket: Socket) -> Self {
        Self {
            socket,
            buffer: Vec::new(),
            start: 0,
            text_frames: 0,
            closed: false,
        }
    }

    /// Wait for one more frame; false when the socket closed.
    pub async fn fill(&mut self) -> bool {
        match tokio::time::timeout(WAIT, self.socket.next()).await {
            Err(_) => panic!("no frame within {WAIT:?}"),
            Ok(Some(Ok(Message::Binary(data)))) => {
                if self.start > 0 && self.start == self.buffer.len() {
                    self.buffer.clear();
                    self.start = 0;
                }
                self.buffer.extend_from_slice(&data);
                true
            }
            Ok(Some(Ok(Message::Text(_)))) => {
                self.text_frames += 1;
                true
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                self.closed = true;
                false
            }
            Ok(Some(Ok(_))) => true,
        }
    }

    pub async fn read(&mut self, n: usize) -> Vec<u8> {
        while self.buffer.len() - self.start < n {
            assert!(
                self.fill().await,
                "the socket closed while {n} bytes were awaited"
            );
        }
        let out = self.buffer[self.start..self.start + n].to_vec();
        self.start += n;
        out
    }

    pub async fn u8(&mut self) -> u8 {
        self.read(1).await[0]
    }

    pub async fn u16(&mut self) -> u16 {
        let b = self.read(2).await;
        u16::from_be_bytes([b[0], b[1]])
    }

    pub async fn u32(&mut self) -> u32 {
        let b = self.read(4).await;
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.socket
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .expect("sent");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .expect("sent");
    }

    /// Read until the text seen so far contains `wanted`; returns all of it.
    pub async fn read_until(&mut self, wanted: &str) -> String {
        let mut seen = Vec::new();
        loop {
            seen.extend_from_slice(&self.buffer[self.start..]);
            self.start = self.buffer.len();
            let text = String::from_utf8_lossy(&seen).into_owned();
            if text.contains(wanted) {
                return text;
            }
            assert!(
                self.fill().await,
                "closed before {wanted:?} arrived; got {text:?}"
            );
        }
    }

    /// Wait until the server closes the socket (panics after the timeout).
    pub async fn wait_closed(&mut self) {
        while self.fill().await {}
    }
}
