//! A real VNC server behind the gateway: qemu (no disk, the BIOS's screen on a std VGA) with
//! `-vnc 127.0.0.1:N`, named by simcluster's `simcluster.vmdeck.io/vnc-backend` annotation on
//! dev/web-01. The RFB handshake and a framebuffer update come through the gateway from qemu, not
//! from simcluster's built-in server. qemu (Debian's `qemu-system-x86`) is a test dependency;
//! missing, the test fails saying so.

mod support;

use std::process::Stdio;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use support::{
    Bytes, ORIGIN, Rows, connect, console_client, kubevirt, rfb_full_update, rfb_handshake,
};
use vmdeck_console::gateway::{Gateway, GatewayConfig};
use vmdeck_console::inventory::{Inventory, Scope};
use vmdeck_console::kinds::vm_resource;
use vmdeck_console::upstream::ConsoleTarget;
use vmdeck_test_support::eventually;

const QEMU: &str = "qemu-system-x86_64";

/// A free VNC display number (port 5900 + N) on loopback.
fn free_display() -> u16 {
    (100..1000)
        .find(|n| std::net::TcpListener::bind(("127.0.0.1", 5900 + n)).is_ok())
        .expect("a free port among 6000-6899")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_qemu_vnc_server_through_the_gateway() {
    let display = free_display();
    let port = 5900 + display;
    let _qemu = tokio::process::Command::new(QEMU)
        .args([
            "-nodefaults",
            "-display",
            "none",
            "-vga",
            "std",
            "-machine",
            "accel=tcg",
            "-m",
            "64",
            "-vnc",
            &format!("127.0.0.1:{display}"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{QEMU} is a test dependency (Debian's qemu-system-x86): {e}"));
    eventually("qemu's VNC server listening", async || {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
    })
    .await;

    let cluster = kubevirt(3).await;
    let admin = cluster.client().await;
    let vms: Api<DynamicObject> = Api::namespaced_with(admin.clone(), "dev", &vm_resource());
    vms.patch(
        "web-01",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {
            "simcluster.vmdeck.io/vnc-backend": format!("tcp://127.0.0.1:{port}")}}})),
    )
    .await
    .unwrap();
    let inventory = Inventory::start(admin, Scope::Namespace("dev".into()));
    let mut rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    rows.until("dev/web-01's consoles open", |rows| {
        rows.values().any(|r| r.name == "web-01" && r.consoles)
    })
    .await;

    let client = console_client(&cluster, "admin").await;
    let gateway = Gateway::start(GatewayConfig::new([ORIGIN])).await.unwrap();
    let ticket = gateway
        .open(&client, ConsoleTarget::vnc("dev", "web-01"))
        .await
        .unwrap();
    let mut vnc = Bytes::new(connect(gateway.port(), &ticket.protocol).await);
    let (width, height, name) = rfb_handshake(&mut vnc).await;
    assert!(
        name.starts_with("QEMU"),
        "qemu's server answers, not simcluster's (desktop name {name:?})"
    );
    assert!(width > 0 && height > 0, "{width}x{height}");
    let (area, pixels) = rfb_full_update(&mut vnc, width, height).await;
    assert_eq!(
        area,
        usize::from(width) * usize::from(height),
        "a full update covers qemu's screen"
    );
    assert_eq!(pixels.len(), area * 4, "32 bits per pixel as asked");
    assert_eq!(vnc.text_frames, 0, "binary frames only");
    assert_eq!(gateway.live_sessions(), 1);
}
