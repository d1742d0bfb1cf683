//! The console bench (prints figures; not a test). On one simcluster VM, each through the vmdeck
//! gateway, through `kubectl.1.33 proxy` (how kubevirt-manager reaches consoles) and straight to
//! simcluster (the limit):
//!   (a) throughput of one `vnc-bench` VNC stream (every update request answered with a full
//!       1024x768x32 frame; the client keeps one request ahead),
//!   (b) serial keystroke-to-echo latency (p50, p99) at the guest's shell;
//! then (c) 64 concurrent VNC consoles through a fresh gateway: its memory per console once all
//! are open and after `--duration` seconds (each console asking for an update every second).
//!
//! simcluster runs in this process; the gateway and kubectl proxy each run as their own child
//! process, so (c) reads the gateway's own RSS. The clients are tokio-tungstenite over plain TCP
//! (gateway, kubectl proxy) or the console crate's dial (direct, TLS), counting bytes only; the
//! throughput client runs on a thread of its own for every path (as a browser is a process of
//! its own), so in the direct path it does not share simcluster's worker threads. (a) also
//! prints the CPU each path costs per GB (this process's and the middle process's), a figure
//! that a loaded machine disturbs less than MB/s.
//!
//! ```text
//! source scripts/lib/common.sh   # puts kubectl.1.33 on PATH
//! cargo run -p vmdeck-console --release --example console_bench [-- --quick] [-- --duration 120]
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::{Sink, SinkExt, Stream, StreamExt};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use vmdeck_console::gateway::{Gateway, GatewayConfig};
use vmdeck_console::inventory::{Inventory, Scope, Update};
use vmdeck_console::kinds::vm_resource;
use vmdeck_console::upstream::{ConsoleKind, ConsoleTarget, client_without_retry, dial};

const ORIGIN: &str = "tauri://localhost";
const BENCH_NS: &str = "dev";
const BENCH_VM: &str = "web-01";
/// 1024x768 at 32 bpp, with the update's 4-byte header and one 12-byte rectangle header.
const FRAME: usize = 16 + 1024 * 768 * 4;
/// Seeded VMs: 5 of every 8 run, so 112 give 70 running VMs for 64 consoles besides the bench VM.
const SEEDED_VMS: usize = 112;
const CONSOLES: usize = 64;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

struct Settings {
    quick: bool,
    /// How long the 64 consoles stay open (c).
    duration: Duration,
    /// Seconds per throughput run, runs per path, echo samples per path.
    seconds: f64,
    rounds: usize,
    samples: usize,
}

impl Settings {
    fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|a| a == "--quick");
        let duration = args
            .iter()
            .position(|a| a == "--duration")
            .and_then(|i| args.get(i + 1))
            .map(|s| s.parse::<u64>().expect("--duration SECONDS"))
            .unwrap_or(if quick { 10 } else { 120 });
        Self {
            quick,
            duration: Duration::from_secs(duration),
            seconds: if quick { 2.0 } else { 4.0 },
            rounds: if quick { 1 } else { 3 },
            samples: if quick { 300 } else { 2000 },
        }
    }
}

fn main() -> Result<(), AnyError> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if let Some(i) = args.iter().position(|a| a == "--gateway-child") {
        let kubeconfig = PathBuf::from(&args[i + 1]);
        return runtime.block_on(gateway_child(&kubeconfig));
    }
    runtime.block_on(bench(Settings::from_args()))
}

// ---------------------------------------------------------------------------------------------
// The gateway as a child process: a line protocol on stdin/stdout.
//   -> "port N" at start;  "open vnc|serial NS NAME" -> "ticket PROTOCOL" | "error MESSAGE";
//   "sessions" -> "sessions N".

async fn gateway_child(kubeconfig: &Path) -> Result<(), AnyError> {
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let options = kube::config::KubeConfigOptions {
        context: Some("admin".into()),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?;
    config.read_timeout = None;
    let client = client_without_retry(config)?;
    let gateway = Gateway::start(GatewayConfig::new([ORIGIN])).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "port {}", gateway.port())?;
    out.flush()?;
    drop(out);
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["open", kind, ns, name] => {
                let target = ConsoleTarget {
                    kind: if *kind == "serial" {
                        ConsoleKind::Serial
                    } else {
                        ConsoleKind::Vnc
                    },
                    takeover: true,
                    ..ConsoleTarget::vnc(ns, name)
                };
                match gateway.open(&client, target).await {
                    Ok(ticket) => format!("ticket {}", ticket.protocol),
                    Err(error) => format!("error {error}"),
                }
            }
            ["sessions"] => format!("sessions {}", gateway.live_sessions()),
            _ => format!("error unknown request {line:?}"),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}

/// The parent's handle on a gateway child.
struct GatewayChild {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    port: u16,
}

impl GatewayChild {
    async fn spawn(kubeconfig: &Path) -> Result<Self, AnyError> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("--gateway-child")
            .arg(kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let first = stdout
            .next_line()
            .await?
            .ok_or("the gateway child said nothing")?;
        let port = first
            .strip_prefix("port ")
            .ok_or_else(|| format!("unexpected {first:?}"))?
            .parse()?;
        Ok(Self {
            child,
            stdin,
            stdout,
            port,
        })
    }

    async fn ask(&mut self, line: &str) -> Result<String, AnyError> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        Ok(self
            .stdout
            .next_line()
            .await?
            .ok_or("the gateway child ended")?)
    }

    /// A ticket's subprotocol for a console.
    async fn open(&mut self, kind: &str, ns: &str, name: &str) -> Result<String, AnyError> {
        let answer = self.ask(&format!("open {kind} {ns} {name}")).await?;
        match answer.strip_prefix("ticket ") {
            Some(protocol) => Ok(protocol.to_string()),
            None => Err(format!("opening {kind} {ns}/{name}: {answer}").into()),
        }
    }

    fn rss(&self) -> u64 {
        self.child.id().map(rss_of).unwrap_or(0)
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// CPU time (user + system, all threads) a process has used so far.
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's closing parenthesis come field 3 (state) onwards: utime and stime
    // (fields 14 and 15) are the 12th and 13th, in clock ticks of 1/100 s (USER_HZ).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// One throughput run: bytes per second, and the CPU time this process (simcluster and the
/// client) and the process in the middle (kubectl proxy, the gateway; none for direct) used.
#[derive(Debug, Clone, Copy)]
struct Run {
    rate: f64,
    bytes: f64,
    here: Duration,
    middle: Duration,
}

impl Run {
    /// CPU seconds per GB moved, (this process, the middle).
    fn cpu_per_gb(&self) -> (f64, f64) {
        let per = |d: Duration| d.as_secs_f64() / (self.bytes / 1e9);
        (per(self.here), per(self.middle))
    }
}

/// Resident memory of a process, bytes.
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

// ---------------------------------------------------------------------------------------------
// Connecting each way.

fn client_ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

/// Through the gateway: the ticket's subprotocol, our Origin.
async fn via_gateway(
    port: u16,
    protocol: &str,
) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, AnyError> {
    let mut request = format!("ws://127.0.0.1:{port}/console").into_client_request()?;
    request
        .headers_mut()
        .insert("Origin", HeaderValue::from_static(ORIGIN));
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&format!("binary, {protocol}"))?,
    );
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(request, tcp, Some(client_ws_config())).await?;
    Ok(socket)
}

/// Through kubectl proxy: plain HTTP to it, the subresource path, `plain.kubevirt.io`.
async fn via_kubectl(
    port: u16,
    target: &ConsoleTarget,
) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, AnyError> {
    let mut request = format!("ws://127.0.0.1:{port}{}", target.path()).into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("plain.kubevirt.io"),
    );
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(request, tcp, Some(client_ws_config())).await?;
    Ok(socket)
}

/// `kubectl.1.33 proxy --port=0`, and the port it serves on.
async fn kubectl_proxy(kubeconfig: &Path) -> Result<(tokio::process::Child, u16), AnyError> {
    let mut child = tokio::process::Command::new("kubectl.1.33")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--context", "admin", "proxy", "--port=0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("kubectl.1.33 (source scripts/lib/common.sh for PATH): {e}"))?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let line = lines
        .next_line()
        .await?
        .ok_or("kubectl proxy said nothing")?;
    // "Starting to serve on 127.0.0.1:PORT"
    let port = line
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| format!("unexpected kubectl proxy output {line:?}"))?;
    Ok((child, port))
}

// ---------------------------------------------------------------------------------------------
// The client: bytes out of binary frames.

struct Reader<S> {
    socket: S,
    buffer: Vec<u8>,
}

impl<S> Reader<S>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    fn new(socket: S) -> Self {
        Self {
            socket,
            buffer: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), AnyError> {
        self.socket.send(Message::binary(bytes.to_vec())).await?;
        Ok(())
    }

    /// One more binary frame into the buffer.
    async fn fill(&mut self) -> Result<(), AnyError> {
        loop {
            match tokio::time::timeout(Duration::from_secs(30), self.socket.next()).await {
                Err(_) => return Err("no frame within 30 s".into()),
                Ok(Some(Ok(Message::Binary(data)))) => {
                    self.buffer.extend_from_slice(&data);
                    return Ok(());
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Err(format!("closed: {frame:?}").into());
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(e.into()),
                Ok(None) => return Err("the socket ended".into()),
            }
        }
    }

    async fn read(&mut self, n: usize) -> Result<Vec<u8>, AnyError> {
        while self.buffer.len() < n {
            self.fill().await?;
        }
        Ok(self.buffer.drain(..n).collect())
    }

    async fn read_until(&mut self, wanted: &str) -> Result<(), AnyError> {
        loop {
            if let Some(at) = find(&self.buffer, wanted.as_bytes()) {
                self.buffer.drain(..at + wanted.len());
                return Ok(());
            }
            if let Err(error) = self.fill().await {
                let seen = String::from_utf8_lossy(&self.buffer).into_owned();
                return Err(format!("waiting for {wanted:?} after {seen:?}: {error}").into());
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// RFB 3.8, security None, shared; returns (width, height).
async fn rfb_handshake<S>(io: &mut Reader<S>) -> Result<(u16, u16), AnyError>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let version = io.read(12).await?;
    if version != b"RFB 003.008\n" {
        return Err(format!("not RFB 3.8: {version:?}").into());
    }
    io.send(b"RFB 003.008\n").await?;
    let count = io.read(1).await?[0];
    io.read(usize::from(count)).await?;
    io.send(&[1]).await?;
    io.read(4).await?;
    io.send(&[1]).await?;
    let init = io.read(24).await?;
    let width = u16::from_be_bytes([init[0], init[1]]);
    let height = u16::from_be_bytes([init[2], init[3]]);
    let name_length = u32::from_be_bytes([init[20], init[21], init[22], init[23]]) as usize;
    io.read(name_length).await?;
    Ok((width, height))
}

fn update_request(incremental: bool, width: u16, height: u16) -> Vec<u8> {
    let mut request = vec![3u8, u8::from(incremental), 0, 0, 0, 0];
    request.extend_from_slice(&width.to_be_bytes());
    request.extend_from_slice(&height.to_be_bytes());
    request
}

/// Run `work` on a thread and runtime of its own, as a browser is a process of its own: the
/// throughput client (its TLS, for the direct path, included) neither takes simcluster's two
/// worker threads nor waits for them, whichever path it measures.
async fn on_client_thread<F, T>(work: F) -> Result<T, AnyError>
where
    F: Future<Output = Result<T, AnyError>> + Send + 'static,
    T: Send + 'static,
{
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let outcome = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(work),
            Err(error) => Err(error.into()),
        };
        let _ = done.send(outcome);
    });
    result.await.map_err(|_| "the client thread panicked")?
}

/// (a) vnc-bench frames for `seconds`, one request kept ahead: the rate, and the CPU used meanwhile
/// by this process and by `middle` (the process between the client and simcluster).
async fn throughput<S>(socket: S, seconds: f64, middle: Option<u32>) -> Result<Run, AnyError>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let mut io = Reader::new(socket);
    let (width, height) = rfb_handshake(&mut io).await?;
    if (width, height) != (1024, 768) {
        return Err(format!("unexpected screen {width}x{height}").into());
    }
    let request = update_request(false, width, height);
    // Warm-up: one frame.
    io.send(&request).await?;
    io.read(FRAME).await?;
    let mut socket = io.socket;
    let (mut requested, mut received) = (0usize, 0usize);
    let here_pid = std::process::id();
    let (here0, middle0) = (cpu_of(here_pid), middle.map(cpu_of).unwrap_or_default());
    let started = Instant::now();
    let mut stopping = false;
    loop {
        while !stopping && requested < received / FRAME + 2 {
            socket.send(Message::binary(request.clone())).await?;
            requested += 1;
        }
        if received >= requested * FRAME {
            break;
        }
        match socket.next().await {
            Some(Ok(Message::Binary(data))) => received += data.len(),
            Some(Ok(Message::Close(frame))) => return Err(format!("closed: {frame:?}").into()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err("the stream ended".into()),
        }
        if started.elapsed().as_secs_f64() >= seconds {
            stopping = true;
        }
    }
    let took = started.elapsed().as_secs_f64();
    let run = Run {
        rate: received as f64 / took,
        bytes: received as f64,
        here: cpu_of(here_pid).saturating_sub(here0),
        middle: middle
            .map(cpu_of)
            .unwrap_or_default()
            .saturating_sub(middle0),
    };
    let _ = socket.send(Message::Close(None)).await;
    Ok(run)
}

/// (b) Keystroke-to-echo at the guest's shell: `samples` single keys, each timed to its echo.
async fn echo_latency<S>(socket: S, samples: usize) -> Result<Vec<Duration>, AnyError>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let mut io = Reader::new(socket);
    // The guest keeps its shell between sessions: clear the line and log out first (Ctrl+U,
    // Ctrl+D; nothing happens at the login prompt), then a fresh login prompt.
    io.send(b"\x15\x04\r").await?;
    io.read_until("login: ").await?;
    io.send(b"root\r").await?;
    io.read_until("Password: ").await?;
    io.send(b"x\r").await?;
    io.read_until("# ").await?;
    let warmup = 50;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples + warmup {
        if i > 0 && i % 60 == 0 {
            // Keep the line short: run it (an unknown command) and wait for the prompt.
            io.send(b"\r").await?;
            io.read_until("# ").await?;
        }
        io.buffer.clear();
        let sent = Instant::now();
        io.send(b"x").await?;
        while !io.buffer.contains(&b'x') {
            if let Err(error) = io.fill().await {
                let seen = String::from_utf8_lossy(&io.buffer).into_owned();
                return Err(format!("key {i}: no echo after {seen:?}: {error}").into());
            }
        }
        if i >= warmup {
            times.push(sent.elapsed());
        }
    }
    let _ = io.socket.send(Message::Close(None)).await;
    Ok(times)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

// ---------------------------------------------------------------------------------------------

async fn bench(settings: Settings) -> Result<(), AnyError> {
    let build = if cfg!(debug_assertions) {
        "debug build (figures are a debug build's)"
    } else {
        "release build"
    };
    println!(
        "console bench, {build}; simcluster in this process, gateway and kubectl proxy as child processes"
    );
    let cluster = simcluster::SimCluster::start(simcluster::Options {
        with_kubevirt: true,
        vms: SEEDED_VMS,
        ready_delay: Duration::from_millis(50),
        ..simcluster::Options::default()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!("vmdeck-console-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig)?;
    let admin = cluster.client().await;
    let vms: Api<DynamicObject> = Api::namespaced_with(admin.clone(), BENCH_NS, &vm_resource());
    vms.patch(
        BENCH_VM,
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"simcluster.vmdeck.io/vnc-bench": "true"}}}),
        ),
    )
    .await?;
    // Wait until enough VMs run.
    let inventory = Inventory::start(admin.clone(), Scope::All);
    let mut subscription = inventory.subscribe().await?;
    let mut running: std::collections::BTreeSet<(String, String)> = Default::default();
    let deadline = Instant::now() + Duration::from_secs(120);
    while running.len() < CONSOLES + 1 {
        if Instant::now() > deadline {
            return Err(format!("only {} VMs run after 120 s", running.len()).into());
        }
        match tokio::time::timeout(Duration::from_secs(30), subscription.next()).await? {
            Some(Update::Snapshot(rows)) => {
                for row in rows {
                    if row.consoles {
                        running.insert((row.namespace, row.name));
                    }
                }
            }
            Some(Update::Changes(changes)) => {
                for change in changes {
                    match change {
                        vmdeck_console::RowChange::Added(row)
                        | vmdeck_console::RowChange::Changed(row) => {
                            let key = (row.namespace.clone(), row.name.clone());
                            if row.consoles {
                                running.insert(key);
                            } else {
                                running.remove(&key);
                            }
                        }
                        vmdeck_console::RowChange::Removed(key) => {
                            running.remove(&(key.namespace, key.name));
                        }
                    }
                }
            }
            None => return Err("the inventory stopped".into()),
        }
    }
    drop(subscription);
    drop(inventory);

    let direct_client = {
        let mut config = cluster.client_config("admin").await;
        config.read_timeout = None;
        client_without_retry(config)?
    };
    let (kubectl_child, kubectl_port) = kubectl_proxy(&kubeconfig).await?;
    let mut gateway = GatewayChild::spawn(&kubeconfig).await?;
    let vnc = ConsoleTarget {
        takeover: true,
        ..ConsoleTarget::vnc(BENCH_NS, BENCH_VM)
    };
    let serial = ConsoleTarget::serial(BENCH_NS, BENCH_VM);

    // (a) throughput.
    let mb = |bytes_per_s: f64| bytes_per_s / 1e6;
    let kubectl_pid = kubectl_child.id();
    let (mut direct, mut proxied, mut through) = (Vec::new(), Vec::new(), Vec::new());
    let seconds = settings.seconds;
    for _ in 0..settings.rounds {
        let (client, target) = (direct_client.clone(), vnc.clone());
        direct.push(
            on_client_thread(async move {
                let socket = dial(&client, &target, client_ws_config()).await?;
                throughput(socket, seconds, None).await
            })
            .await?,
        );
        let target = vnc.clone();
        proxied.push(
            on_client_thread(async move {
                let socket = via_kubectl(kubectl_port, &target).await?;
                throughput(socket, seconds, kubectl_pid).await
            })
            .await?,
        );
        let protocol = gateway.open("vnc", BENCH_NS, BENCH_VM).await?;
        let (port, middle) = (gateway.port, gateway.pid());
        through.push(
            on_client_thread(async move {
                let socket = via_gateway(port, &protocol).await?;
                throughput(socket, seconds, middle).await
            })
            .await?,
        );
    }
    println!(
        "(a) one vnc-bench stream (3 MiB frames, one request ahead), median of {} x {:.0} s;",
        settings.rounds, settings.seconds
    );
    println!(
        "    CPU per GB moved: this process (simcluster and the client) + the one in the middle:"
    );
    let rates = |runs: &[Run]| median(runs.iter().map(|r| r.rate).collect());
    let (direct_rate, kubectl_rate, through_rate) =
        (rates(&direct), rates(&proxied), rates(&through));
    for (label, runs) in [
        ("straight to simcluster", &direct),
        ("kubectl.1.33 proxy", &proxied),
        ("vmdeck gateway", &through),
    ] {
        let (here, middle) = (
            median(runs.iter().map(|r| r.cpu_per_gb().0).collect()),
            median(runs.iter().map(|r| r.cpu_per_gb().1).collect()),
        );
        println!(
            "    {label:<24}  {:8.1} MB/s   CPU {here:.2} + {middle:.2} = {:.2} s/GB",
            mb(rates(runs)),
            here + middle
        );
    }
    println!(
        "    the gateway: {:.2}x kubectl proxy (goal >= 1.00), {:.2} of direct (goal >= 0.90)",
        through_rate / kubectl_rate,
        through_rate / direct_rate
    );

    // (b) serial echo latency.
    let socket = dial(&direct_client, &serial, client_ws_config()).await?;
    let mut direct = echo_latency(socket, settings.samples).await?;
    let socket = via_kubectl(kubectl_port, &serial).await?;
    let mut kubectl = echo_latency(socket, settings.samples).await?;
    let protocol = gateway.open("serial", BENCH_NS, BENCH_VM).await?;
    let socket = via_gateway(gateway.port, &protocol).await?;
    let mut through = echo_latency(socket, settings.samples).await?;
    for times in [&mut direct, &mut kubectl, &mut through] {
        times.sort();
    }
    println!(
        "(b) serial keystroke-to-echo at the shell, {} keys each:",
        settings.samples
    );
    for (label, times) in [
        ("straight to simcluster", &direct),
        ("kubectl.1.33 proxy", &kubectl),
        ("vmdeck gateway", &through),
    ] {
        println!(
            "    {label:<24}  p50 {:.3} ms  p99 {:.3} ms",
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.99))
        );
    }
    let added = ms(percentile(&through, 0.99)) - ms(percentile(&direct, 0.99));
    println!(
        "    the gateway adds {added:.3} ms at p99 over direct (goal < 0.5 ms), {:.3} ms over kubectl proxy",
        ms(percentile(&through, 0.99)) - ms(percentile(&kubectl, 0.99))
    );
    drop(gateway);

    // (c) 64 concurrent consoles through a fresh gateway.
    let mut gateway = GatewayChild::spawn(&kubeconfig).await?;
    let targets: Vec<(String, String)> = running
        .into_iter()
        .filter(|(ns, name)| (ns.as_str(), name.as_str()) != (BENCH_NS, BENCH_VM))
        .take(CONSOLES)
        .collect();
    let baseline = gateway.rss();
    let mut tasks = Vec::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    for (ns, name) in &targets {
        let protocol = gateway.open("vnc", ns, name).await?;
        let socket = via_gateway(gateway.port, &protocol).await?;
        let mut io = Reader::new(socket);
        let (width, height) = rfb_handshake(&mut io).await?;
        io.send(&update_request(false, width, height)).await?;
        // A full update: the header, then at least one rectangle's pixels.
        io.read(4).await?;
        let mut stopped = stopped.clone();
        let (ns, name) = (ns.clone(), name.clone());
        tasks.push(tokio::spawn(async move {
            let mut socket = io.socket;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut bytes = 0usize;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if socket.send(Message::binary(update_request(true, width, height))).await.is_err() {
                            return Err(format!("{ns}/{name}: send failed"));
                        }
                    }
                    message = socket.next() => match message {
                        Some(Ok(Message::Binary(data))) => bytes += data.len(),
                        Some(Ok(Message::Close(frame))) => return Err(format!("{ns}/{name} closed: {frame:?}")),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Err(format!("{ns}/{name}: {e}")),
                        None => return Err(format!("{ns}/{name} ended")),
                    },
                    _ = stopped.changed() => {
                        let _ = socket.send(Message::Close(None)).await;
                        return Ok(bytes);
                    }
                }
            }
        }));
    }
    let sessions = gateway.ask("sessions").await?;
    // Let the first full updates through before the first reading.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_start = gateway.rss();
    tokio::time::sleep(settings.duration).await;
    let after = gateway.rss();
    let still = gateway.ask("sessions").await?;
    let _ = stop.send(true);
    let mut failed = Vec::new();
    for task in tasks {
        if let Err(why) = task.await? {
            failed.push(why);
        }
    }
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    let per = |rss: u64| mib(rss.saturating_sub(baseline)) / CONSOLES as f64;
    println!(
        "(c) {CONSOLES} concurrent VNC consoles through one gateway (its own process), an update asked for every second:"
    );
    println!(
        "    gateway RSS {:.1} MiB before; {} ({})",
        mib(baseline),
        sessions,
        still
    );
    println!(
        "    at start {:.1} MiB = {:.3} MiB per console; after {} s {:.1} MiB = {:.3} MiB per console (goal < 2 MiB, flat: {:+.3} MiB per console)",
        mib(at_start),
        per(at_start),
        settings.duration.as_secs(),
        mib(after),
        per(after),
        per(after) - per(at_start)
    );
    if !failed.is_empty() {
        println!("    {} consoles failed: {:?}", failed.len(), failed);
    }
    if settings.quick {
        println!("(--quick: fewer rounds and samples, and a short (c))");
    }
    drop(gateway);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
