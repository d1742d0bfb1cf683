//! Close reasons told by watching the VMI, through the gateway and simcluster: stopping the VM
//! closes the console with "VM stopped"; after a restart serial re-dials by itself (the client
//! stays connected and logs in again) while VNC closes with "VM restarted"; a migration closes
//! VNC with "VM migrated"; a console taken by a session outside the gateway is "taken over";
//! a cluster that cannot be reached any more is "network lost".

mod support;

use support::{Bytes, ORIGIN, Rows, connect, console_client, kubevirt, rfb_handshake};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use vmdeck_console::actions::{PowerAction, act};
use vmdeck_console::gateway::{Gateway, GatewayConfig};
use vmdeck_console::inventory::{Inventory, Scope};
use vmdeck_console::lifecycle::CloseReason;
use vmdeck_console::upstream::{ConsoleTarget, dial};
use vmdeck_test_support::wait_until;

struct Setup {
    cluster: simcluster::SimCluster,
    client: kube::Client,
    gateway: Gateway,
    rows: Rows,
    _inventory: Inventory,
}

async fn setup() -> Setup {
    let cluster = kubevirt(3).await;
    let inventory = Inventory::start(cluster.client().await, Scope::Namespace("dev".into()));
    let mut rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    rows.until("dev/web-01's consoles open", |rows| {
        rows.values().any(|r| r.name == "web-01" && r.consoles)
    })
    .await;
    let client = console_client(&cluster, "admin").await;
    let gateway = Gateway::start(GatewayConfig::new([ORIGIN])).await.unwrap();
    Setup {
        cluster,
        client,
        gateway,
        rows,
        _inventory: inventory,
    }
}

async fn open(setup: &Setup, target: ConsoleTarget) -> Bytes {
    let ticket = setup.gateway.open(&setup.client, target).await.unwrap();
    Bytes::new(connect(setup.gateway.port(), &ticket.protocol).await)
}

fn reason_of(close: &Option<Option<CloseFrame>>) -> (u16, String) {
    match close {
        Some(Some(frame)) => (u16::from(frame.code), frame.reason.to_string()),
        other => panic!("a close frame with a reason, not {other:?}"),
    }
}

async fn logged_in_prompt(serial: &mut Bytes) {
    serial.send(b"\r").await;
    serial.read_until("web-01 login: ").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_vm_closes_the_console_with_vm_stopped() {
    let setup = setup().await;
    let mut serial = open(&setup, ConsoleTarget::serial("dev", "web-01")).await;
    logged_in_prompt(&mut serial).await;
    act(&setup.client, "dev", "web-01", PowerAction::Stop)
        .await
        .unwrap();
    serial.wait_closed().await;
    assert_eq!(
        reason_of(&serial.close),
        (CloseReason::VmStopped.code(), "VM stopped".into())
    );
    wait_until("the session ended", async || {
        setup.gateway.live_sessions() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_serial_comes_back_and_vnc_is_told() {
    let mut setup = setup().await;
    let mut serial = open(&setup, ConsoleTarget::serial("dev", "web-01")).await;
    logged_in_prompt(&mut serial).await;
    let mut vnc = open(&setup, ConsoleTarget::vnc("dev", "web-01")).await;
    rfb_handshake(&mut vnc).await;

    act(&setup.client, "dev", "web-01", PowerAction::Restart)
        .await
        .unwrap();
    vnc.wait_closed().await;
    assert_eq!(
        reason_of(&vnc.close),
        (CloseReason::VmRestarted.code(), "VM restarted".into())
    );
    // Serial stays connected, says what happens and re-dials once the new VMI runs.
    serial
        .read_until("VM restarted; reconnecting when it runs again")
        .await;
    serial.read_until("[vmdeck: reconnected]").await;
    logged_in_prompt(&mut serial).await;
    assert!(serial.close.is_none());
    wait_until("only serial is live", async || {
        setup.gateway.live_sessions() == 1
    })
    .await;
    setup
        .rows
        .until("web-01 running again", |rows| {
            rows.values()
                .any(|r| r.name == "web-01" && r.status == "Running")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_closes_vnc_with_vm_migrated() {
    let setup = setup().await;
    let mut vnc = open(&setup, ConsoleTarget::vnc("dev", "web-01")).await;
    rfb_handshake(&mut vnc).await;
    act(&setup.client, "dev", "web-01", PowerAction::Migrate)
        .await
        .unwrap();
    vnc.wait_closed().await;
    assert_eq!(
        reason_of(&vnc.close),
        (CloseReason::VmMigrated.code(), "VM migrated".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_elsewhere_is_taken_over() {
    let setup = setup().await;
    let mut serial = open(&setup, ConsoleTarget::serial("dev", "web-01")).await;
    logged_in_prompt(&mut serial).await;
    // Another client (virtctl, say) opens the serial console straight at the cluster.
    let elsewhere = dial(
        &setup.client,
        &ConsoleTarget::serial("dev", "web-01"),
        Default::default(),
    )
    .await
    .unwrap();
    serial.wait_closed().await;
    assert_eq!(
        reason_of(&serial.close),
        (
            CloseReason::TakenOver.code(),
            "taken over by another session".into()
        )
    );
    drop(elsewhere);
}

/// A TCP forwarder to `to` on a loopback port; aborting its task cuts every connection and
/// refuses new ones (the listener goes with it).
async fn forwarder(to: std::net::SocketAddr) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((mut near, _)) = listener.accept().await {
            connections.spawn(async move {
                if let Ok(mut far) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut near, &mut far).await;
                }
            });
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_out_of_reach_is_network_lost() {
    let setup = setup().await;
    let server: std::net::SocketAddr = setup
        .cluster
        .url()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let (port, link) = forwarder(server).await;
    let mut config = setup.cluster.client_config("admin").await;
    config.cluster_url = format!("https://127.0.0.1:{port}").parse().unwrap();
    let far = vmdeck_console::upstream::client_without_retry(config).unwrap();
    let ticket = setup
        .gateway
        .open(&far, ConsoleTarget::serial("dev", "web-01"))
        .await
        .unwrap();
    let mut serial = Bytes::new(connect(setup.gateway.port(), &ticket.protocol).await);
    logged_in_prompt(&mut serial).await;
    // The link to the cluster goes down, for good.
    link.abort();
    serial.wait_closed().await;
    assert_eq!(
        reason_of(&serial.close),
        (CloseReason::NetworkLost.code(), "network lost".into())
    );
}
