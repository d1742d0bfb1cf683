//! Scaffolding for the console crate's tests: simcluster with KubeVirt and seeded VMs, waiting
//! on inventory rows, raw websocket handshakes with the gateway (so refusals are seen as HTTP
//! statuses); the byte reader over binary frames is vmdeck-test-support's.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use simcluster::SimCluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use vmdeck_console::inventory::{RowChange, RowKey, Subscription, Update, VmRow};

/// How long any condition may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

pub const ORIGIN: &str = "tauri://localhost";

/// simcluster with KubeVirt installed and `vms` seeded VMs (see simcluster's `seed::vm`):
/// dev/web-01 Always (guest agent), staging/web-01 Always, prod/web-01 Always (agent),
/// dev/db-02 Halted, staging/db-02 Always (agent), prod/db-02 Manual, ...
pub async fn kubevirt(vms: usize) -> SimCluster {
    SimCluster::start(simcluster::Options {
        with_kubevirt: true,
        vms,
        ..simcluster::Options::default()
    })
    .await
    .expect("simcluster starts")
}

/// A console client (no retries) as `context`.
pub async fn console_client(cluster: &SimCluster, context: &str) -> kube::Client {
    vmdeck_console::upstream::client_without_retry(cluster.client_config(context).await).unwrap()
}

/// The rows a subscription has delivered so far.
pub struct Rows {
    pub sub: Subscription,
    pub rows: BTreeMap<RowKey, VmRow>,
    pub updates: usize,
    /// Row changes received (after the snapshot), and the most in one batch.
    pub changes: usize,
    pub largest_batch: usize,
}

impl Rows {
    /// Wait for the snapshot.
    pub async fn new(mut sub: Subscription) -> Self {
        let first = tokio::time::timeout(WAIT, sub.next())
            .await
            .expect("a snapshot in time")
            .expect("the inventory runs");
        let Update::Snapshot(rows) = first else {
            panic!("the first update is a snapshot: {first:?}")
        };
        Self {
            sub,
            rows: rows
                .into_iter()
                .map(|r| (RowKey::new(&r.namespace, &r.name), r))
                .collect(),
            updates: 1,
            changes: 0,
            largest_batch: 0,
        }
    }

    /// Apply updates until `done` holds for the rows.
    pub async fn until(&mut self, what: &str, done: impl Fn(&BTreeMap<RowKey, VmRow>) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&self.rows) {
            let update = tokio::time::timeout_at(deadline, self.sub.next())
                .await
                .unwrap_or_else(|_| {
                    if self.rows.len() <= 50 {
                        panic!("{what}: not reached; rows: {:#?}", self.rows)
                    }
                    panic!("{what}: not reached; {} rows", self.rows.len())
                })
                .expect("the inventory runs");
            self.apply(update);
        }
    }

    /// Apply one update after the snapshot: a batch of changes, each row at most once.
    pub fn apply(&mut self, update: Update) {
        self.updates += 1;
        let Update::Changes(changes) = update else {
            panic!("only one snapshot: {update:?}")
        };
        assert!(!changes.is_empty(), "an empty batch is never sent");
        self.changes += changes.len();
        self.largest_batch = self.largest_batch.max(changes.len());
        let mut in_batch = std::collections::HashSet::new();
        for change in changes {
            match change {
                RowChange::Added(row) => {
                    let key = RowKey::new(&row.namespace, &row.name);
                    assert!(in_batch.insert(key.clone()), "{key:?} twice in one batch");
                    assert!(!self.rows.contains_key(&key), "added twice: {key:?}");
                    self.rows.insert(key, row);
                }
                RowChange::Changed(row) => {
                    let key = RowKey::new(&row.namespace, &row.name);
                    assert!(in_batch.insert(key.clone()), "{key:?} twice in one batch");
                    assert!(
                        self.rows.contains_key(&key),
                        "changed before added: {key:?}"
                    );
                    self.rows.insert(key, row);
                }
                RowChange::Removed(key) => {
                    assert!(in_batch.insert(key.clone()), "{key:?} twice in one batch");
                    assert!(self.rows.remove(&key).is_some(), "removed unknown {key:?}");
                }
            }
        }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&VmRow> {
        self.rows.get(&RowKey::new(namespace, name))
    }
}

/// Resident memory of this process, bytes (`VmRSS` in /proc/self/status).
pub fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

pub type Socket = WebSocketStream<TcpStream>;

/// An upgrade request to the gateway with the given Host, Origin and subprotocols (`None`
/// leaves the header out). Ok: the socket and the picked subprotocol; Err: status and body.
pub async fn upgrade(
    port: u16,
    host: Option<&str>,
    origin: Option<&str>,
    protocols: &[&str],
) -> Result<(Socket, Option<String>), (u16, String)> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let mut head = format!(
        "GET /console HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
    );
    if let Some(host) = host {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    if let Some(origin) = origin {
        head.push_str(&format!("Origin: {origin}\r\n"));
    }
    if !protocols.is_empty() {
        head.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            protocols.join(", ")
        ));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    // Read the response head byte by byte: nothing after it may be consumed.
    let mut response = Vec::new();
    while !response.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        let n = tokio::time::timeout(WAIT, tcp.read(&mut byte))
            .await
            .expect("an answer in time")
            .unwrap();
        assert_eq!(
            n,
            1,
            "the gateway hung up mid-answer: {:?}",
            String::from_utf8_lossy(&response)
        );
        response.push(byte[0]);
    }
    let text = String::from_utf8(response).unwrap();
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        text.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    if status != 101 {
        let length: usize = header("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        tcp.read_exact(&mut body).await.unwrap();
        return Err((status, String::from_utf8_lossy(&body).into_owned()));
    }
    assert_eq!(
        header("sec-websocket-accept"),
        Some(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
    );
    let socket = WebSocketStream::from_raw_socket(tcp, Role::Client, None).await;
    Ok((socket, header("sec-websocket-protocol")))
}

/// A proper request from the app: loopback Host, allowed Origin, the ticket's subprotocol.
pub async fn connect(port: u16, protocol: &str) -> Socket {
    let host = format!("127.0.0.1:{port}");
    let (socket, picked) = upgrade(port, Some(&host), Some(ORIGIN), &["binary", protocol])
        .await
        .unwrap_or_else(|refusal| panic!("refused: {refusal:?}"));
    assert_eq!(picked.as_deref(), Some("binary"));
    socket
}

/// Bytes carried by the gateway's binary frames (the reader every console suite shares).
pub type Bytes = vmdeck_test_support::ws::Bytes<Socket>;

/// RFB 3.8 with security None, 32 bpp, Raw only: returns (width, height, name).
pub async fn rfb_handshake(io: &mut Bytes) -> (u16, u16, String) {
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
    let mut set_format = vec![0u8, 0, 0, 0];
    set_format.extend_from_slice(&[32u8, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    io.send(&set_format).await;
    io.send(&[2, 0, 0, 1, 0, 0, 0, 0]).await;
    (width, height, name)
}

/// Ask for the whole screen and read one FramebufferUpdate (Raw): the area covered and the
/// pixels' bytes.
pub async fn rfb_full_update(io: &mut Bytes, width: u16, height: u16) -> (usize, Vec<u8>) {
    let mut request = vec![3u8, 0, 0, 0, 0, 0];
    request.extend_from_slice(&width.to_be_bytes());
    request.extend_from_slice(&height.to_be_bytes());
    io.send(&request).await;
    loop {
        match io.u8().await {
            0 => break,
            2 => {}
            other => panic!("unexpected server message {other}"),
        }
    }
    io.read(1).await;
    let rects = io.u16().await;
    let mut area = 0;
    let mut pixels = Vec::new();
    for _ in 0..rects {
        let _x = io.u16().await;
        let _y = io.u16().await;
        let w = usize::from(io.u16().await);
        let h = usize::from(io.u16().await);
        assert_eq!(io.u32().await, 0, "Raw encoding");
        pixels.extend(io.read(w * h * 4).await);
        area += w * h;
    }
    (area, pixels)
}
