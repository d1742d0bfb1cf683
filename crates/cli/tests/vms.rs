//! vmdeckctl vms / console / vnc / screenshot against simcluster's KubeVirt (in process): the
//! list as a table and as JSON, a power action and its plain error, the viewer context refused,
//! the serial console with piped stdin, the VNC proxy serving a viewer twice, a busy VNC refused
//! after one dial (no retry), a PNG screenshot.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use kube::api::{Api, DynamicObject};
use simcluster::SimCluster;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use vmdeck_test_support::{WAIT_LIMIT, eventually};

fn vmi_resource() -> kube::api::ApiResource {
    kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("kubevirt.io", "v1", "VirtualMachineInstance"),
        "virtualmachineinstances",
    )
}

/// simcluster with KubeVirt and six seeded VMs (dev/web-01 Always, prod/db-02 Manual, ...), its
/// kubeconfig (contexts `admin` and `viewer`) written to `dir`; dev/web-01 runs.
async fn cluster(dir: &Path) -> (SimCluster, String) {
    let cluster = SimCluster::start(simcluster::Options {
        with_kubevirt: true,
        vms: 6,
        ..simcluster::Options::default()
    })
    .await
    .expect("simcluster starts");
    let kubeconfig = dir.join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    running(&cluster, "dev", "web-01").await;
    (cluster, kubeconfig.display().to_string())
}

/// Wait until the VMI `ns/name` is Running.
async fn running(cluster: &SimCluster, namespace: &str, name: &str) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().await, namespace, &vmi_resource());
    eventually(&format!("{namespace}/{name} running"), async || {
        let vmi = api.get_opt(name).await.ok()??;
        (vmi.data.pointer("/status/phase")?.as_str()? == "Running").then_some(())
    })
    .await;
}

fn vmdeckctl_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("vmdeckctl")
}

/// Runs vmdeckctl to its end, off the async threads (simcluster serves on them meanwhile).
async fn vmdeckctl(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(vmdeckctl_path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_act_refuse_and_screenshot() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let k = kubeconfig.as_str();

    let table = vmdeckctl(&["vms", "list", "--kubeconfig", k, "-n", "dev"]).await;
    assert!(table.status.success(), "{}", text(&table.stderr));
    let out = text(&table.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE  NAME"), "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("dev") && l.contains("web-01") && l.contains("Running")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("NAMESPACE") || l.starts_with("dev")),
        "{out}"
    );

    let json = vmdeckctl(&["vms", "list", "--kubeconfig", k, "-A", "-o", "json"]).await;
    assert!(json.status.success(), "{}", text(&json.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 6, "{rows:?}");
    let web = rows
        .iter()
        .find(|r| r["namespace"] == "dev" && r["name"] == "web-01")
        .unwrap();
    assert_eq!(web["status"], "Running");
    assert!(
        web["actions"].as_array().unwrap().contains(&"stop".into()),
        "{web}"
    );

    // prod/db-02 is Manual: started, then "already running".
    let start = vmdeckctl(&["vms", "start", "--kubeconfig", k, "prod/db-02"]).await;
    assert!(start.status.success(), "{}", text(&start.stderr));
    running(&cluster, "prod", "db-02").await;
    let again = vmdeckctl(&["vms", "start", "--kubeconfig", k, "prod/db-02"]).await;
    assert!(!again.status.success());
    assert_eq!(
        text(&again.stderr).trim(),
        "error: db-02 is already running"
    );

    // The viewer lists but may not act.
    let viewer = ["--kubeconfig", k, "--context", "viewer"];
    let listed = vmdeckctl(&[&["vms", "list"][..], &viewer, &["-A"]].concat()).await;
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let stop = vmdeckctl(&[&["vms", "stop"][..], &viewer, &["dev/web-01"]].concat()).await;
    assert!(!stop.status.success());
    assert!(
        text(&stop.stderr).starts_with("error: not allowed"),
        "{}",
        text(&stop.stderr)
    );

    let png = dir.path().join("web-01.png");
    let shot = vmdeckctl(&[
        "screenshot",
        "--kubeconfig",
        k,
        "dev/web-01",
        "-o",
        &png.display().to_string(),
    ])
    .await;
    assert!(shot.status.success(), "{}", text(&shot.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(&[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n']));
    assert!(bytes.len() > 1000, "{} bytes", bytes.len());

    let missing = vmdeckctl(&[
        "screenshot",
        "--kubeconfig",
        k,
        "dev/nowhere",
        "-o",
        "x.png",
    ])
    .await;
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("not found"),
        "{}",
        text(&missing.stderr)
    );
    cluster.shutdown().await;
}

/// A child's output, read as it comes.
struct Output<R = tokio::process::ChildStdout> {
    reader: BufReader<R>,
    seen: Vec<u8>,
}

impl<R: tokio::io::AsyncRead + Unpin> Output<R> {
    async fn until(&mut self, wanted: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            let text = String::from_utf8_lossy(&self.seen).into_owned();
            if text.contains(wanted) {
                return text;
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.reader.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("{wanted:?} not seen; got {text:?}"))
                .unwrap();
            assert!(n > 0, "output ended before {wanted:?}; got {text:?}");
            self.seen.extend_from_slice(&buf[..n]);
        }
    }
}

fn spawn(args: &[&str]) -> (tokio::process::Child, Output) {
    let mut child = tokio::process::Command::new(vmdeckctl_path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    (
        child,
        Output {
            reader: BufReader::new(stdout),
            seen: Vec::new(),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serial_console_with_piped_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let (mut child, mut output) = spawn(&["console", "--kubeconfig", &kubeconfig, "dev/web-01"]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\r").await.unwrap();
    output.until("web-01 login: ").await;
    stdin.write_all(b"root\r").await.unwrap();
    output.until("Password: ").await;
    // Ctrl+] leaves.
    stdin.write_all(&[0x1d]).await.unwrap();
    let status = tokio::time::timeout(WAIT_LIMIT, child.wait())
        .await
        .expect("vmdeckctl console leaves on Ctrl+]")
        .unwrap();
    assert!(status.success(), "{status}");
    cluster.shutdown().await;
}

async fn rfb_version(port: u16) -> Vec<u8> {
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut version = vec![0u8; 12];
    tokio::time::timeout(WAIT_LIMIT, tcp.read_exact(&mut version))
        .await
        .expect("the RFB greeting in time")
        .unwrap();
    // Answer it, so the server goes on to its security types: the stream really flows both ways.
    tcp.write_all(b"RFB 003.008\n").await.unwrap();
    let mut count = [0u8];
    tcp.read_exact(&mut count).await.unwrap();
    assert!(count[0] > 0, "security types offered");
    version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vnc_proxy_serves_a_viewer_again_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let (mut child, mut output) = spawn(&[
        "vnc",
        "--kubeconfig",
        &kubeconfig,
        "dev/web-01",
        "--proxy-only",
    ]);
    let mut line = String::new();
    tokio::time::timeout(WAIT_LIMIT, output.reader.read_line(&mut line))
        .await
        .expect("the port in time")
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
    let port = u16::try_from(answer["port"].as_u64().unwrap()).unwrap();
    assert!(port > 0);
    assert_eq!(rfb_version(port).await, b"RFB 003.008\n");
    // The viewer reconnects: a fresh dial, the same greeting.
    assert_eq!(rfb_version(port).await, b"RFB 003.008\n");
    assert!(child.try_wait().unwrap().is_none(), "still serving");
    child.kill().await.unwrap();

    // Only loopback is served.
    let refused = vmdeckctl(&[
        "vnc",
        "--kubeconfig",
        &kubeconfig,
        "dev/web-01",
        "--listen",
        "0.0.0.0:0",
        "--proxy-only",
    ])
    .await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("not a loopback address"),
        "{}",
        text(&refused.stderr)
    );
    cluster.shutdown().await;
}

/// The port `vmdeckctl vnc --proxy-only` prints.
async fn proxy_port(output: &mut Output) -> u16 {
    let mut line = String::new();
    tokio::time::timeout(WAIT_LIMIT, output.reader.read_line(&mut line))
        .await
        .expect("the port in time")
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
    u16::try_from(answer["port"].as_u64().unwrap()).unwrap()
}

/// A busy VNC is refused at once: the proxy's dial is answered 503 ("Active VNC connection")
/// and not sent again (kube's default retry layer would re-send it with backoff for minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_vnc_is_refused_once_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    // A first viewer holds dev/web-01's VNC session.
    let (_holder, mut holder_out) = spawn(&[
        "vnc",
        "--kubeconfig",
        &kubeconfig,
        "dev/web-01",
        "--proxy-only",
    ]);
    let holder_port = proxy_port(&mut holder_out).await;
    let mut held = tokio::net::TcpStream::connect(("127.0.0.1", holder_port))
        .await
        .unwrap();
    let mut greeting = [0u8; 12];
    tokio::time::timeout(WAIT_LIMIT, held.read_exact(&mut greeting))
        .await
        .expect("the first viewer's greeting in time")
        .unwrap();
    assert_eq!(&greeting, b"RFB 003.008\n");

    // A second proxy for the same VM: its viewer is refused, after exactly one dial.
    let mut second = tokio::process::Command::new(vmdeckctl_path())
        .args([
            "vnc",
            "--kubeconfig",
            &kubeconfig,
            "dev/web-01",
            "--proxy-only",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = Output {
        reader: BufReader::new(second.stdout.take().unwrap()),
        seen: Vec::new(),
    };
    let mut stderr = Output {
        reader: BufReader::new(second.stderr.take().unwrap()),
        seen: Vec::new(),
    };
    let port = proxy_port(&mut stdout).await;
    let before = cluster.cluster().faults.requests();
    let mut refused = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT_LIMIT, refused.read_to_end(&mut rest))
        .await
        .expect("the refused viewer is closed in time")
        .unwrap();
    assert!(
        rest.is_empty(),
        "nothing reaches a refused viewer: {rest:?}"
    );
    stderr
        .until("the console was not opened: another VNC session is open on web-01")
        .await;
    assert_eq!(
        cluster.cluster().faults.requests() - before,
        1,
        "the refused upgrade was sent once"
    );
    // The first viewer's session is untouched.
    held.write_all(b"RFB 003.008\n").await.unwrap();
    let mut count = [0u8];
    held.read_exact(&mut count).await.unwrap();
    assert!(count[0] > 0, "security types offered");
    cluster.shutdown().await;
}

/// A real HTTP CONNECT proxy (Debian's tinyproxy) on loopback, logging each request.
struct Tinyproxy {
    child: tokio::process::Child,
    port: u16,
    log: PathBuf,
}

impl Tinyproxy {
    async fn start(dir: &Path) -> Self {
        let program = std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join("tinyproxy"))
                    .find(|p| p.is_file())
            })
            .unwrap_or_else(|| {
                panic!(
                    "tinyproxy is not installed: the proxy-url test needs Debian's tinyproxy \
                     (scripts/test installs it; by hand: apt-get install tinyproxy)"
                )
            });
        // A free port for its config (tinyproxy cannot be asked to pick one).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("tinyproxy.conf");
        let log = dir.join("tinyproxy.log");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 600\nLogLevel Connect\nLogFile \"{}\"\n\
                 MaxClients 64\nAllow 127.0.0.1\nDisableViaHeader Yes\n",
                log.display()
            ),
        )
        .unwrap();
        let child = tokio::process::Command::new(program)
            .arg("-d")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("tinyproxy starts");
        eventually("tinyproxy listening", async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
        })
        .await;
        Self { child, port, log }
    }

    /// CONNECT requests to `authority` seen so far.
    fn connects_to(&self, authority: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches(&format!("CONNECT {authority} "))
            .count()
    }
}

/// `vms list`, a power action, `console` and `vnc` with the kubeconfig's `proxy-url` pointing
/// at tinyproxy: each works, and each went through the proxy (its log counts the CONNECTs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_goes_through_a_proxy_url() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = Tinyproxy::start(dir.path()).await;
    let (cluster, _) = cluster(dir.path()).await;
    let mut kubeconfig: serde_json::Value = serde_yaml_ng::from_str(cluster.kubeconfig()).unwrap();
    let server = kubeconfig["clusters"][0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .to_string();
    let authority = server
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    kubeconfig["clusters"][0]["cluster"]["proxy-url"] =
        serde_json::json!(format!("http://127.0.0.1:{}", proxy.port));
    let proxied = dir.path().join("proxied-kubeconfig");
    std::fs::write(&proxied, serde_yaml_ng::to_string(&kubeconfig).unwrap()).unwrap();
    let k = proxied.display().to_string();
    let mut seen = proxy.connects_to(&authority);
    let mut went_through = |what: &str| {
        let now = proxy.connects_to(&authority);
        assert!(
            now > seen,
            "{what} did not go through the proxy (CONNECT {authority}); its log:\n{}",
            std::fs::read_to_string(&proxy.log).unwrap_or_default()
        );
        seen = now;
    };

    let json = vmdeckctl(&["vms", "list", "--kubeconfig", &k, "-A", "-o", "json"]).await;
    assert!(json.status.success(), "{}", text(&json.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 6);
    went_through("vms list");

    let start = vmdeckctl(&["vms", "start", "--kubeconfig", &k, "dev/db-02"]).await;
    assert!(start.status.success(), "{}", text(&start.stderr));
    went_through("vms start");
    running(&cluster, "dev", "db-02").await;

    let (mut child, mut output) = spawn(&["console", "--kubeconfig", &k, "dev/web-01"]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\r").await.unwrap();
    output.until("web-01 login: ").await;
    stdin.write_all(&[0x1d]).await.unwrap();
    assert!(child.wait().await.unwrap().success());
    went_through("console");

    let (mut child, mut output) = spawn(&["vnc", "--kubeconfig", &k, "dev/web-01", "--proxy-only"]);
    let mut line = String::new();
    tokio::time::timeout(WAIT_LIMIT, output.reader.read_line(&mut line))
        .await
        .expect("the port in time")
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
    let port = u16::try_from(answer["port"].as_u64().unwrap()).unwrap();
    assert_eq!(rfb_version(port).await, b"RFB 003.008\n");
    child.kill().await.unwrap();
    went_through("vnc");
    drop(proxy.child);
    cluster.shutdown().await;
}

/// `vms list --watch -o json`: the snapshot line, then a change line when a VM stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_watches_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let (mut child, mut output) = spawn(&[
        "vms",
        "list",
        "--kubeconfig",
        &kubeconfig,
        "-n",
        "dev",
        "-o",
        "json",
        "--watch",
    ]);
    let mut line = String::new();
    tokio::time::timeout(WAIT_LIMIT, output.reader.read_line(&mut line))
        .await
        .expect("the snapshot in time")
        .unwrap();
    let snapshot: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(snapshot["kind"], "snapshot", "{line}");
    assert!(!snapshot["rows"].as_array().unwrap().is_empty());
    let stop = vmdeckctl(&["vms", "stop", "--kubeconfig", &kubeconfig, "dev/web-01"]).await;
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    loop {
        line.clear();
        let n = tokio::time::timeout_at(deadline, output.reader.read_line(&mut line))
            .await
            .expect("web-01 stopped, as a change line")
            .unwrap();
        assert!(n > 0, "the watch ended");
        let change: serde_json::Value = serde_json::from_str(&line).unwrap();
        if change["change"] == "changed"
            && change["name"] == "web-01"
            && change["status"] == "Stopped"
        {
            break;
        }
    }
    child.kill().await.unwrap();
    cluster.shutdown().await;
}

/// Without `--proxy-only` the installed viewer is launched at the proxy's port: a stand-in
/// `remote-viewer` (bash) reads the RFB greeting through it and records it; when it exits,
/// vmdeckctl does too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_viewer_is_launched_at_the_port() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let seen = dir.path().join("seen");
    let viewer = bin.join("remote-viewer");
    std::fs::write(
        &viewer,
        format!(
            "#!/bin/bash\nset -e\nurl=\"$1\"\nhostport=\"${{url#vnc://}}\"\n\
             exec 3<>\"/dev/tcp/${{hostport%:*}}/${{hostport##*:}}\"\n\
             head -c 12 <&3 > '{seen}.part'\necho \"$url\" >> '{seen}.part'\nmv '{seen}.part' '{seen}'\n",
            seen = seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&viewer, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let k = kubeconfig.clone();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(vmdeckctl_path())
            .args(["vnc", "--kubeconfig", &k, "dev/web-01"])
            .env("PATH", path)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    });
    let run = tokio::time::timeout(WAIT_LIMIT, run)
        .await
        .expect("vmdeckctl vnc ends with its viewer")
        .unwrap();
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("starting"), "{stderr}");
    let seen = std::fs::read_to_string(&seen).unwrap();
    let (greeting, url) = seen.split_at(12);
    assert_eq!(greeting, "RFB 003.008\n");
    assert!(url.trim().starts_with("vnc://127.0.0.1:"), "{url}");
    cluster.shutdown().await;
}

/// On a terminal (a pty from util-linux `script`) the console is raw: Ctrl+C goes to the guest
/// instead of interrupting vmdeckctl, and Ctrl+] leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_console_is_raw() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let command = format!(
        "'{}' console --kubeconfig '{kubeconfig}' dev/web-01",
        vmdeckctl_path().display()
    );
    let mut child = tokio::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("util-linux script runs");
    let mut output = Output {
        reader: BufReader::new(child.stdout.take().unwrap()),
        seen: Vec::new(),
    };
    let mut stdin = child.stdin.take().unwrap();
    output.until("Ctrl+] leaves.").await;
    stdin.write_all(&[0x03]).await.unwrap();
    stdin.write_all(b"\r").await.unwrap();
    output.until("web-01 login: ").await;
    stdin.write_all(&[0x1d]).await.unwrap();
    let status = tokio::time::timeout(WAIT_LIMIT, child.wait())
        .await
        .expect("vmdeckctl console leaves on Ctrl+]")
        .unwrap();
    assert!(status.success(), "Ctrl+C did not interrupt it: {status}");
    cluster.shutdown().await;
}

/// The console follows its VM: after a restart it says so and comes back by itself (the guest
/// answers again); a stop ends it with "console closed: VM stopped".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_follows_a_restart_and_ends_with_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let mut child = tokio::process::Command::new(vmdeckctl_path())
        .args(["console", "--kubeconfig", &kubeconfig, "dev/web-01"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut output = Output {
        reader: BufReader::new(child.stdout.take().unwrap()),
        seen: Vec::new(),
    };
    let mut errors = Output {
        reader: BufReader::new(child.stderr.take().unwrap()),
        seen: Vec::new(),
    };
    stdin.write_all(b"\r").await.unwrap();
    output.until("web-01 login: ").await;
    output.seen.clear();
    let restart = vmdeckctl(&["vms", "restart", "--kubeconfig", &kubeconfig, "dev/web-01"]).await;
    assert!(restart.status.success(), "{}", text(&restart.stderr));
    errors
        .until("[VM restarted; reconnecting when it runs again]")
        .await;
    errors.until("[reconnected]").await;
    stdin.write_all(b"\r").await.unwrap();
    output.until("web-01 login: ").await;
    let stop = vmdeckctl(&["vms", "stop", "--kubeconfig", &kubeconfig, "dev/web-01"]).await;
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    errors.until("console closed: VM stopped").await;
    let status = tokio::time::timeout(WAIT_LIMIT, child.wait())
        .await
        .expect("the console ends with the VM")
        .unwrap();
    assert!(!status.success());
    cluster.shutdown().await;
}
