//! A slow reader through the gateway: simcluster's `vnc-bench` VM answers each update request
//! with a full 1024x768x32 frame (3 MiB); the client asks for 200 frames (600 MiB if anything
//! buffered them) and reads slowly (12.5 MiB/s for 4 s; 1 KiB/s for 60 s). The process's memory
//! must stay flat: the gateway only reads upstream as fast as the client takes. The reader's pace
//! is the scenario, not a wait.

mod support;

use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use support::{Bytes, ORIGIN, Rows, connect, console_client, kubevirt, rfb_handshake, rss};
use vmdeck_console::gateway::{Gateway, GatewayConfig};
use vmdeck_console::inventory::{Inventory, Scope};
use vmdeck_console::kinds::vm_resource;
use vmdeck_console::upstream::ConsoleTarget;

/// A VNC session through the gateway to simcluster's `vnc-bench` VM, after one frame read at
/// full speed (so buffers that stay are counted in the baseline): the gateway (kept alive), the
/// client and its full-screen update request.
async fn bench_session(cluster: &simcluster::SimCluster) -> (Gateway, Bytes, Vec<u8>) {
    let admin = cluster.client().await;
    let vms: Api<DynamicObject> = Api::namespaced_with(admin.clone(), "dev", &vm_resource());
    vms.patch(
        "web-01",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"simcluster.vmdeck.io/vnc-bench": "true"}}}),
        ),
    )
    .await
    .unwrap();
    let inventory = Inventory::start(admin, Scope::Namespace("dev".into()));
    let mut rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    rows.until("web-01 consoles", |rows| {
        rows.values().any(|r| r.name == "web-01" && r.consoles)
    })
    .await;
    let client = console_client(cluster, "admin").await;
    let gateway = Gateway::start(GatewayConfig::new([ORIGIN])).await.unwrap();
    let ticket = gateway
        .open(&client, ConsoleTarget::vnc("dev", "web-01"))
        .await
        .unwrap();
    let mut vnc = Bytes::new(connect(gateway.port(), &ticket.protocol).await);
    let (width, height, _) = rfb_handshake(&mut vnc).await;
    let frame = usize::from(width) * usize::from(height) * 4;
    let mut request = vec![3u8, 0, 0, 0, 0, 0];
    request.extend_from_slice(&width.to_be_bytes());
    request.extend_from_slice(&height.to_be_bytes());
    vnc.send(&request).await;
    vnc.read(4 + 12 + frame).await;
    (gateway, vnc, request)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_keeps_memory_flat() {
    let cluster = kubevirt(3).await;
    let (gateway, mut vnc, request) = bench_session(&cluster).await;
    let baseline = rss();
    for _ in 0..200 {
        vnc.send(&request).await;
    }
    // Read 256 KiB every 20 ms (12.5 MiB/s, far below the bench's pace) for 4 s. The first
    // second fills every buffer on the way (simcluster renders a 3 MiB frame, socket buffers,
    // one chunk in flight per hop); after that, memory must not grow at all.
    let mut pace = tokio::time::interval(Duration::from_millis(20));
    let mut settled = baseline;
    let mut peak = baseline;
    let mut read = 0usize;
    for round in 0..200 {
        pace.tick().await;
        vnc.read(256 * 1024).await;
        read += 256 * 1024;
        if round == 49 {
            settled = rss();
        }
        peak = peak.max(rss());
    }
    let mib = |b: u64| b as f64 / 1048576.0;
    let filling = settled.saturating_sub(baseline);
    let growth = peak.saturating_sub(settled);
    println!(
        "slow reader through the gateway: read {} MiB of 600 MiB asked for; process RSS {:.1} MiB at start, \
         +{:.2} MiB while the pipeline filled (simcluster included), +{:.2} MiB over the last 3 s",
        read >> 20,
        mib(baseline),
        mib(filling),
        mib(growth)
    );
    // The whole process counts here (simcluster renders 3 MiB frames and the allocator keeps
    // what it freed); anything that buffered the 600 MiB asked for would be far past this.
    let total = peak - baseline;
    assert!(
        total < 16 << 20,
        "memory grew by {total} bytes under a slow reader"
    );
    assert!(
        growth < 8 << 20,
        "memory kept growing once the pipeline was full: {growth} bytes"
    );
    assert_eq!(gateway.live_sessions(), 1, "the session is still bridging");
}

/// The figure: a client reading 1 KiB/s for 60 s while 200 full frames (600 MiB) are
/// asked for; the process (gateway and simcluster) grows by less than 8 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reading_1_kib_per_second_for_a_minute_stays_under_8_mib() {
    let cluster = kubevirt(3).await;
    let (gateway, mut vnc, request) = bench_session(&cluster).await;
    let baseline = rss();
    for _ in 0..200 {
        vnc.send(&request).await;
    }
    // 128 bytes every 125 ms: 1 KiB/s for 60 s.
    let mut pace = tokio::time::interval(Duration::from_millis(125));
    let mut peak = baseline;
    for _ in 0..480 {
        pace.tick().await;
        vnc.read(128).await;
        peak = peak.max(rss());
    }
    let growth = peak.saturating_sub(baseline);
    println!(
        "1 KiB/s reader for 60 s through the gateway: process RSS {:.1} MiB at start, peak +{:.2} MiB",
        baseline as f64 / 1048576.0,
        growth as f64 / 1048576.0
    );
    assert!(
        growth < 8 << 20,
        "memory grew by {growth} bytes under a 1 KiB/s reader"
    );
    assert_eq!(gateway.live_sessions(), 1, "the session is still bridging");
}
