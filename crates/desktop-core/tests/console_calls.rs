//! The VM and console calls through the call table against simcluster (KubeVirt installed, four
//! seeded VMs): `watch_vms` and `list_vms` rows, a power action (and KubeVirt's refusal in plain
//! words), RBAC as the `viewer` context, a VNC console opened with `open_console` whose URL and
//! one-time token complete an RFB handshake through the App's gateway (the token refused on
//! reuse, one VNC session per VM with takeover, a foreign Origin refused, the dev server's
//! Origin allowed), serial login, a native viewer listener, and a screenshot.

use std::time::Duration;

use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use simcluster::SimCluster;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use vmdeck_desktop_core::devserver::{Guard, api_router};
use vmdeck_desktop_core::{
    App, AppConfig, ConsoleTicketView, ContextChoice, ImportInput, KubeconfigSource,
    PowerActionView, ScreenshotView, SecretsChoice, SourcesConfig, UiError, Via, ViewerView,
    VmAccessView, VmChangeView, VmRowView, VmUpdateEvent, call, event_queue, stream,
};
use vmdeck_test_support::WAIT_LIMIT;
use vmdeck_vault::AppDirs;

const CLUSTER: &str = "lab";
const VIEWER: &str = "lab-viewer";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type Bytes = vmdeck_test_support::ws::Bytes<Socket>;

/// simcluster with KubeVirt and four VMs: dev/web-01 (Always), staging/web-01, prod/web-01,
/// dev/db-02 (Halted).
async fn sim() -> SimCluster {
    SimCluster::start(simcluster::Options {
        with_kubevirt: true,
        vms: 4,
        ..simcluster::Options::default()
    })
    .await
    .unwrap()
}

/// An app with the simulator's admin saved as `lab` and its viewer as `lab-viewer`.
async fn app_with(dir: &tempfile::TempDir, sim: &SimCluster) -> App {
    let app = App::open(AppConfig {
        dirs: Some(AppDirs::under(dir.path())),
        secrets: SecretsChoice::SessionOnly,
        demo: false,
        check_timeout: Some(Duration::from_secs(5)),
        sources: SourcesConfig::default(),
    })
    .await;
    app.import_clusters(ImportInput {
        source: KubeconfigSource::Text {
            text: sim.kubeconfig().to_string(),
        },
        choices: vec![
            ContextChoice {
                context: "admin".into(),
                name: Some(CLUSTER.into()),
            },
            ContextChoice {
                context: "viewer".into(),
                name: Some(VIEWER.into()),
            },
        ],
        overwrite: false,
        replace: vec![],
    })
    .await
    .unwrap();
    app
}

async fn try_call<T: DeserializeOwned>(
    app: &App,
    method: &str,
    request: Value,
) -> Result<T, UiError> {
    call(app, Via::Ipc, method, request)
        .await
        .map(|answer| serde_json::from_value(answer).unwrap())
}

async fn call_as<T: DeserializeOwned>(app: &App, method: &str, request: Value) -> T {
    try_call(app, method, request)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e:?}"))
}

/// The rows `watch_vms` delivers, applied as they come.
struct Watched {
    events: tokio::sync::mpsc::Receiver<Value>,
    rows: Vec<VmRowView>,
}

impl Watched {
    fn row(&self, namespace: &str, name: &str) -> Option<&VmRowView> {
        self.rows
            .iter()
            .find(|r| r.namespace == namespace && r.name == name)
    }

    fn apply(&mut self, event: VmUpdateEvent) {
        match event {
            VmUpdateEvent::Snapshot { rows } => self.rows = rows,
            VmUpdateEvent::Changes { changes } => {
                assert!(!changes.is_empty(), "an empty batch is never sent");
                for change in changes {
                    match change {
                        VmChangeView::Added { row } | VmChangeView::Changed { row } => {
                            self.rows
                                .retain(|r| (&r.namespace, &r.name) != (&row.namespace, &row.name));
                            self.rows.push(row);
                        }
                        VmChangeView::Removed { namespace, name } => self
                            .rows
                            .retain(|r| (&r.namespace, &r.name) != (&namespace, &name)),
                    }
                }
            }
        }
    }

    /// Apply events until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        while !done(self) {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("{what}: not reached; rows {:#?}", self.rows))
                .expect("watch_vms runs");
            self.apply(serde_json::from_value(event).unwrap());
        }
    }
}

/// Connects to a console ticket with `origin`; Err is the refusal's HTTP status.
async fn connect(ticket: &ConsoleTicketView, origin: &str) -> Result<Socket, u16> {
    let mut request = ticket.url.as_str().into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Origin", HeaderValue::from_str(origin).unwrap());
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&format!("binary, {}", ticket.protocol)).unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => {
            assert_eq!(
                response
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok()),
                Some("binary")
            );
            Ok(socket)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("connecting to {}: {other}", ticket.url),
    }
}

/// RFB 3.8, security None, shared: the ServerInit's width, height and name.
async fn rfb_handshake(io: &mut Bytes) -> (u16, u16, String) {
    assert_eq!(io.read(12).await, b"RFB 003.008\n");
    io.send(b"RFB 003.008\n").await;
    let count = io.u8().await;
    let types = io.read(usize::from(count)).await;
    assert!(types.contains(&1), "security None offered: {types:?}");
    io.send(&[1]).await;
    assert_eq!(io.u32().await, 0, "SecurityResult OK");
    io.send(&[1]).await;
    let width = io.u16().await;
    let height = io.u16().await;
    io.read(16).await;
    let name_length = io.u32().await as usize;
    let name = String::from_utf8(io.read(name_length).await).unwrap();
    (width, height, name)
}

fn open_request(kind: &str, takeover: bool) -> Value {
    json!({"cluster": CLUSTER, "namespace": "dev", "name": "web-01", "kind": kind, "takeover": takeover})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vms_actions_and_consoles_through_the_app() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(&dir, &sim).await;

    // The VM rows: a snapshot, then changes until dev/web-01 runs.
    let (sender, events) = event_queue();
    let watching = stream(
        &app,
        Via::Ipc,
        "watch_vms",
        json!({"cluster": CLUSTER, "namespace": "dev"}),
        sender,
    );
    let checks = async {
        let mut watched = Watched {
            events,
            rows: Vec::new(),
        };
        let first: VmUpdateEvent =
            serde_json::from_value(watched.events.recv().await.expect("a snapshot")).unwrap();
        assert!(
            matches!(first, VmUpdateEvent::Snapshot { .. }),
            "the first event is a snapshot: {first:?}"
        );
        watched.apply(first);
        watched
            .until("dev/web-01 runs with consoles", |w| {
                w.row("dev", "web-01").is_some_and(|r| r.consoles)
            })
            .await;
        assert!(
            watched.rows.iter().all(|r| r.namespace == "dev"),
            "one namespace only: {:?}",
            watched.rows
        );
        let web = watched.row("dev", "web-01").unwrap().clone();
        assert_eq!(web.status, "Running");
        assert!(web.actions.contains(&PowerActionView::Stop), "{web:?}");
        assert!(!web.actions.contains(&PowerActionView::Start), "{web:?}");
        let db = watched
            .row("dev", "db-02")
            .expect("dev/db-02 is listed")
            .clone();
        assert_eq!(db.status, "Stopped");
        assert_eq!(db.actions, [PowerActionView::Start]);
        assert!(!db.consoles);

        // A power action, seen in the stream; starting it again is refused in plain words.
        call_as::<()>(
            &app,
            "power_action",
            json!({"cluster": CLUSTER, "namespace": "dev", "name": "db-02", "action": "start"}),
        )
        .await;
        watched
            .until("dev/db-02 runs after start", |w| {
                w.row("dev", "db-02")
                    .is_some_and(|r| r.status == "Running" && r.consoles)
            })
            .await;
        let again = try_call::<()>(
            &app,
            "power_action",
            json!({"cluster": CLUSTER, "namespace": "dev", "name": "web-01", "action": "start"}),
        )
        .await
        .unwrap_err();
        assert_eq!(again.code, "refused", "{again:?}");
        assert!(
            again.message.contains("does not support manual start"),
            "{again:?}"
        );
        watched
    };
    // The stream runs until the window stops listening: dropping the receiver ends it.
    let (ended, ()) = tokio::join!(
        async {
            tokio::time::timeout(WAIT_LIMIT * 3, watching)
                .await
                .expect("watch_vms ends once nobody listens")
        },
        async { drop(checks.await) }
    );
    assert_eq!(ended.unwrap(), Value::Null, "watch_vms ends without error");

    // The plain list: every namespace.
    let rows: Vec<VmRowView> = call_as(&app, "list_vms", json!({"cluster": CLUSTER})).await;
    let mut names: Vec<String> = rows
        .iter()
        .map(|r| format!("{}/{}", r.namespace, r.name))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["dev/db-02", "dev/web-01", "prod/web-01", "staging/web-01"]
    );
    let web = rows
        .iter()
        .find(|r| r.name == "web-01" && r.namespace == "dev")
        .unwrap();
    assert_eq!(web.cpus, Some(1));
    assert_eq!(web.memory.as_deref(), Some("1Gi"));

    // RBAC: admin may everything; the viewer lists, may nothing, and is told "not allowed".
    let admin: VmAccessView = call_as(
        &app,
        "vm_access",
        json!({"cluster": CLUSTER, "namespace": "dev"}),
    )
    .await;
    assert!(admin.vnc && admin.serial);
    assert_eq!(admin.actions.len(), 9, "{admin:?}");
    let viewer: VmAccessView = call_as(
        &app,
        "vm_access",
        json!({"cluster": VIEWER, "namespace": "dev"}),
    )
    .await;
    assert!(viewer.actions.is_empty(), "{viewer:?}");
    assert!(
        viewer.vnc && viewer.serial,
        "viewers may open consoles (a GET): {viewer:?}"
    );
    let seen: Vec<VmRowView> = call_as(
        &app,
        "list_vms",
        json!({"cluster": VIEWER, "namespace": "dev"}),
    )
    .await;
    assert_eq!(seen.len(), 2, "the viewer lists VMs");
    let refused = try_call::<()>(
        &app,
        "power_action",
        json!({"cluster": VIEWER, "namespace": "dev", "name": "web-01", "action": "stop"}),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code, "not_allowed", "{refused:?}");
    assert!(refused.message.starts_with("not allowed"), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vnc_console_opened_through_the_app_speaks_rfb_and_its_token_is_single_use() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(&dir, &sim).await;
    wait_running(&app).await;

    let ticket: ConsoleTicketView = call_as(&app, "open_console", open_request("vnc", false)).await;
    let port = app.console_gateway().await.unwrap().port();
    assert_eq!(ticket.url, format!("ws://127.0.0.1:{port}/console"));
    assert!(ticket.protocol.starts_with("vmdeck-console."));
    let token = &ticket.protocol["vmdeck-console.".len()..];
    assert_eq!(token.len(), 64, "256 bits in hex");
    assert!(!ticket.url.contains(token), "the token is not in the URL");
    assert_eq!(ticket.expires_in_ms, 60_000);

    let mut vnc = Bytes::new(connect(&ticket, "tauri://localhost").await.unwrap());
    let (width, height, name) = rfb_handshake(&mut vnc).await;
    assert_eq!((width, height, name.as_str()), (1024, 768, "web-01"));
    // A framebuffer update request gets an update (message type 0).
    let mut request = vec![3u8, 0, 0, 0, 0, 0];
    request.extend_from_slice(&width.to_be_bytes());
    request.extend_from_slice(&height.to_be_bytes());
    vnc.send(&request).await;
    assert_eq!(vnc.u8().await, 0, "a FramebufferUpdate");
    assert_eq!(vnc.text_frames, 0, "binary frames only");

    // The token was used up: presenting it again is refused before the upgrade.
    assert_eq!(
        connect(&ticket, "tauri://localhost").await.unwrap_err(),
        401
    );

    // One VNC session per VM: a second one is `session_in_use`, a takeover closes the first.
    let busy = try_call::<ConsoleTicketView>(&app, "open_console", open_request("vnc", false))
        .await
        .unwrap_err();
    assert_eq!(busy.code, "session_in_use", "{busy:?}");
    let second: ConsoleTicketView = call_as(&app, "open_console", open_request("vnc", true)).await;
    vnc.wait_closed().await;
    let reason = vnc.close.clone().flatten().map(|f| f.reason.to_string());
    assert_eq!(reason.as_deref(), Some("taken over by another session"));

    // Origins: a foreign page is refused; the dev server's own address is allowed once it runs.
    assert_eq!(
        connect(&second, "http://evil.example").await.unwrap_err(),
        403
    );
    let devserver: std::net::SocketAddr = "127.0.0.1:47321".parse().unwrap();
    let app = std::sync::Arc::new(app);
    let _router = api_router(app.clone(), Guard::new(devserver, &[]));
    let mut taken = Bytes::new(connect(&second, "http://127.0.0.1:47321").await.unwrap());
    assert_eq!(taken.read(12).await, b"RFB 003.008\n");

    // Serial: the login prompt through the same gateway.
    let serial: ConsoleTicketView =
        call_as(&app, "open_console", open_request("serial", false)).await;
    let mut serial = Bytes::new(connect(&serial, "tauri://localhost").await.unwrap());
    serial.send(b"\r").await;
    serial.read_until("web-01 login: ").await;
}

/// Waits (through `list_vms`) until dev/web-01's consoles can be opened.
async fn wait_running(app: &App) {
    vmdeck_test_support::wait_until("dev/web-01 runs", async || {
        let rows: Vec<VmRowView> = call_as(
            app,
            "list_vms",
            json!({"cluster": CLUSTER, "namespace": "dev"}),
        )
        .await;
        rows.iter().any(|r| r.name == "web-01" && r.consoles)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_viewer_listener_and_a_screenshot() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(&dir, &sim).await;
    wait_running(&app).await;

    let request = json!({"cluster": CLUSTER, "namespace": "dev", "name": "web-01"});
    let viewer: ViewerView = call_as(&app, "start_viewer", request.clone()).await;
    assert_eq!(viewer.address, format!("127.0.0.1:{}", viewer.port));
    assert_eq!(viewer.launched, None, "not asked to launch");
    let again: ViewerView = call_as(&app, "start_viewer", request.clone()).await;
    assert_eq!(again.port, viewer.port, "one listener per VM");
    let listed: Vec<ViewerView> = call_as(&app, "list_viewers", Value::Null).await;
    assert_eq!(listed.as_slice(), std::slice::from_ref(&viewer));
    // A viewer's connection reaches the VM's VNC (each connection dials afresh).
    for _ in 0..2 {
        let mut tcp = tokio::net::TcpStream::connect(&viewer.address)
            .await
            .unwrap();
        let mut greeting = [0u8; 12];
        tokio::time::timeout(WAIT_LIMIT, tcp.read_exact(&mut greeting))
            .await
            .expect("the RFB greeting in time")
            .unwrap();
        assert_eq!(&greeting, b"RFB 003.008\n");
    }
    assert!(call_as::<bool>(&app, "stop_viewer", request.clone()).await);
    assert!(!call_as::<bool>(&app, "stop_viewer", request.clone()).await);
    vmdeck_test_support::wait_until("the viewer listener closed", async || {
        tokio::net::TcpStream::connect(&viewer.address)
            .await
            .is_err()
    })
    .await;

    let shot: ScreenshotView = call_as(&app, "screenshot", request.clone()).await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(&shot.png_base64)
        .unwrap();
    assert_eq!(png.len() as u32, shot.bytes);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

    // Saving by path is for the desktop app only.
    let save = json!({"cluster": CLUSTER, "namespace": "dev", "name": "web-01",
        "path": dir.path().join("shot.png").display().to_string()});
    let over_http = call(&app, Via::Http, "save_screenshot", save.clone())
        .await
        .unwrap_err();
    assert_eq!(over_http.code, "path_not_allowed");
    call(&app, Via::Ipc, "save_screenshot", save).await.unwrap();
    let saved = std::fs::read(dir.path().join("shot.png")).unwrap();
    assert!(saved.starts_with(b"\x89PNG"));

    // A stopped VM has no screen to take.
    let stopped = try_call::<ScreenshotView>(
        &app,
        "screenshot",
        json!({"cluster": CLUSTER, "namespace": "dev", "name": "db-02"}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(stopped.code.as_str(), "not_running" | "not_found"),
        "{stopped:?}"
    );
}
