//! The console gateway end to end: simcluster's VNC and serial consoles through the gateway,
//! one VNC session per VMI with explicit takeover, and every refusal before the upgrade.

mod support;

use std::time::Duration;

use futures::SinkExt;
use support::{
    Bytes, ORIGIN, Rows, connect, console_client, kubevirt, rfb_full_update, rfb_handshake, upgrade,
};
use tokio_tungstenite::tungstenite::Message;
use vmdeck_console::gateway::{Gateway, GatewayConfig, OpenError, TAKEN_OVER, TAKEN_OVER_CODE};
use vmdeck_console::inventory::{Inventory, Scope};
use vmdeck_console::upstream::{ConsoleTarget, DialError};

/// simcluster with dev/web-01 running, and a gateway allowing [`ORIGIN`].
async fn setup(config: GatewayConfig) -> (simcluster::SimCluster, kube::Client, Gateway) {
    let cluster = kubevirt(3).await;
    let inventory = Inventory::start(cluster.client().await, Scope::Namespace("dev".into()));
    let mut rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    rows.until("dev/web-01's consoles open", |rows| {
        rows.values().any(|r| r.name == "web-01" && r.consoles)
    })
    .await;
    let client = console_client(&cluster, "admin").await;
    let gateway = Gateway::start(config).await.unwrap();
    (cluster, client, gateway)
}

fn config() -> GatewayConfig {
    GatewayConfig::new([ORIGIN, "http://127.0.0.1:5173"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vnc_through_the_gateway_shakes_hands_and_updates_the_framebuffer() {
    let (_cluster, client, gateway) = setup(config()).await;
    let ticket = gateway
        .open(&client, ConsoleTarget::vnc("dev", "web-01"))
        .await
        .unwrap();
    assert_eq!(
        ticket.url,
        format!("ws://127.0.0.1:{}/console", gateway.port())
    );
    assert!(
        !ticket.url.contains(&ticket.protocol[15..]),
        "the token is not in the URL"
    );
    assert_eq!(ticket.expires_in_ms, 60_000);
    let mut vnc = Bytes::new(connect(gateway.port(), &ticket.protocol).await);
    let (width, height, name) = rfb_handshake(&mut vnc).await;
    assert_eq!((width, height, name.as_str()), (1024, 768, "web-01"));
    let (area, pixels) = rfb_full_update(&mut vnc, width, height).await;
    assert_eq!(area, 1024 * 768, "a full update covers the screen");
    assert!(
        pixels.iter().any(|b| *b != 0),
        "the boot screen is not blank"
    );
    assert_eq!(gateway.live_sessions(), 1);
    assert_eq!(gateway.outstanding_tokens(), 0, "the token was used up");

    // Pings are answered.
    vnc.socket
        .send(Message::Ping(b"hi".to_vec().into()))
        .await
        .unwrap();
    while vnc.pongs == 0 {
        assert!(vnc.fill().await, "closed before the pong");
    }
    assert_eq!(vnc.text_frames, 0, "binary frames only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_through_the_gateway_logs_in() {
    let (_cluster, client, gateway) = setup(config()).await;
    let ticket = gateway
        .open(&client, ConsoleTarget::serial("dev", "web-01"))
        .await
        .unwrap();
    let mut serial = Bytes::new(connect(gateway.port(), &ticket.protocol).await);
    serial.send(b"\r").await;
    serial.read_until("web-01 login: ").await;
    serial.send(b"root\r").await;
    serial.read_until("Password: ").await;
    serial.send(b"x\r").await;
    serial.read_until("root@web-01:~# ").await;
    // A text frame (xterm.js's attach addon sends text) reaches the guest as bytes.
    serial
        .socket
        .send(Message::text("hostname\r"))
        .await
        .unwrap();
    let text = serial.read_until("root@web-01:~# ").await;
    assert!(text.contains("\r\nweb-01\r\n"), "{text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_vnc_is_session_in_use_until_taken_over() {
    let (_cluster, client, gateway) = setup(config()).await;
    let first = gateway
        .open(&client, ConsoleTarget::vnc("dev", "web-01"))
        .await
        .unwrap();
    let mut first = Bytes::new(connect(gateway.port(), &first.protocol).await);
    rfb_handshake(&mut first).await;

    let busy = gateway
        .open(&client, ConsoleTarget::vnc("dev", "web-01"))
        .await
        .unwrap_err();
    assert_eq!(
        busy,
        OpenError::Dial(DialError::SessionInUse {
            name: "web-01".into()
        })
    );
    assert_eq!(busy.code(), "session_in_use");

    let mut takeover = ConsoleTarget::vnc("dev", "web-01");
    takeover.takeover = true;
    let second = gateway.open(&client, takeover).await.unwrap();
    first.wait_closed().await;
    let frame = first
        .close
        .clone()
        .flatten()
        .expect("a close frame, not a dropped connection");
    assert_eq!(
        frame.reason.as_str(),
        TAKEN_OVER,
        "the first session is told why"
    );
    assert_eq!(u16::from(frame.code), TAKEN_OVER_CODE);
    let mut second = Bytes::new(connect(gateway.port(), &second.protocol).await);
    let (width, height, _) = rfb_handshake(&mut second).await;
    assert_eq!(
        rfb_full_update(&mut second, width, height).await.0,
        1024 * 768
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consoles_of_missing_or_stopped_vms_are_typed_errors() {
    let (_cluster, client, gateway) = setup(config()).await;
    let missing = gateway
        .open(&client, ConsoleTarget::serial("dev", "nowhere"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "not_found", "{missing}");
    // dev/db-02 is Halted: no VMI.
    let stopped = gateway
        .open(&client, ConsoleTarget::vnc("dev", "db-02"))
        .await
        .unwrap_err();
    assert_eq!(stopped.code(), "not_found", "{stopped}");
    assert_eq!(gateway.outstanding_tokens(), 0);
}

async fn ticket(gateway: &Gateway, client: &kube::Client) -> String {
    gateway
        .open(client, ConsoleTarget::serial("dev", "web-01"))
        .await
        .unwrap()
        .protocol
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_the_upgrade() {
    let (_cluster, client, gateway) = setup(config()).await;
    let port = gateway.port();
    let host = format!("127.0.0.1:{port}");
    let status = |r: Result<_, (u16, String)>| match r {
        Ok(_) => panic!("upgraded where a refusal was due"),
        Err((status, body)) => (status, body),
    };

    // No token.
    let (code, body) = status(upgrade(port, Some(&host), Some(ORIGIN), &["binary"]).await);
    assert_eq!(code, 401, "{body}");
    // A wrong token.
    let wrong = format!("vmdeck-console.{}", "ab".repeat(32));
    assert_eq!(
        status(upgrade(port, Some(&host), Some(ORIGIN), &["binary", &wrong]).await).0,
        401
    );

    // A used token: the first use upgrades, the second is refused.
    let protocol = ticket(&gateway, &client).await;
    let used = connect(port, &protocol).await;
    assert_eq!(
        status(upgrade(port, Some(&host), Some(ORIGIN), &["binary", &protocol]).await).0,
        401
    );
    drop(used);

    // A wrong Origin, or none, with a valid token: refused, and the token stays unused...
    let protocol = ticket(&gateway, &client).await;
    for origin in [Some("http://evil.example"), Some("null"), None] {
        let (code, body) = status(upgrade(port, Some(&host), origin, &["binary", &protocol]).await);
        assert_eq!(code, 403, "{origin:?}: {body}");
    }
    // ...as with a non-loopback Host (DNS rebinding) or none.
    for bad_host in [
        Some(format!("evil.example:{port}")),
        Some(format!("192.168.1.5:{port}")),
        None,
    ] {
        let (code, _) = status(
            upgrade(
                port,
                bad_host.as_deref(),
                Some(ORIGIN),
                &["binary", &protocol],
            )
            .await,
        );
        assert_eq!(code, 403, "{bad_host:?}");
    }
    // The same token from the app's origin and host still works: the refusals were the checks'.
    let mut serial = Bytes::new(connect(port, &protocol).await);
    serial.send(b"\r").await;
    serial.read_until("login: ").await;
    // Another allowed origin, with localhost as Host; a token alone as the subprotocol is echoed.
    let protocol = ticket(&gateway, &client).await;
    let (_socket, picked) = upgrade(
        port,
        Some(&format!("localhost:{port}")),
        Some("http://127.0.0.1:5173"),
        &[&protocol],
    )
    .await
    .unwrap_or_else(|r| panic!("{r:?}"));
    assert_eq!(picked.as_deref(), Some(protocol.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused() {
    let mut short = config();
    short.token_ttl = Duration::ZERO;
    let (_cluster, client, gateway) = setup(short).await;
    let ticket = gateway
        .open(&client, ConsoleTarget::serial("dev", "web-01"))
        .await
        .unwrap();
    assert_eq!(ticket.expires_in_ms, 0);
    let host = format!("127.0.0.1:{}", gateway.port());
    let refused = upgrade(
        gateway.port(),
        Some(&host),
        Some(ORIGIN),
        &["binary", &ticket.protocol],
    )
    .await;
    let Err((code, body)) = refused else {
        panic!("an expired token upgraded")
    };
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("expired"), "{body}");
}
