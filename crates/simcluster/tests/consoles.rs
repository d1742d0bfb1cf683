//! KubeVirt's console subresources as clients see them through the API server: RFB over the
//! `vnc` websocket (handshake, full and incremental updates, typed keys, screenshots), the
//! serial `console`, one session per VMI, the pre-checks, RBAC, bench mode, and bridging to a
//! real VNC server (qemu) or a TCP serial endpoint named by annotations.

mod console_support;

use std::time::{Duration, Instant};

use console_support::rfb::Client;
use console_support::{Bytes, Refused, cluster_with_vmi, connect, get, path};
use serde_json::json;
use vmdeck_test_support::{retry_expected, retry_expected_within, wait_until};

/// The banner's background (what the built-in guest draws behind the VM's name).
const BANNER_BG: u32 = 0x001f_3a5f;

async fn rfb(cluster: &simcluster::SimCluster, context: &str, vm: &str) -> Client {
    let socket = connect(cluster, context, &path(vm, "vnc"))
        .await
        .unwrap_or_else(|r| panic!("vnc refused: {r:?}"));
    Client::handshake(Bytes::new(socket)).await
}

#[tokio::test]
async fn vnc_serves_the_boot_screen_and_shows_typed_keys() {
    let (cluster, _client) = cluster_with_vmi("web-1", json!({})).await;
    let mut vnc = rfb(&cluster, "admin", "web-1").await;
    assert_eq!((vnc.width, vnc.height), (1024, 768));
    assert_eq!(vnc.name, "web-1");
    assert_eq!(vnc.server_format[0], 32, "32 bits per pixel");
    assert_eq!(vnc.server_format[3], 1, "true colour");

    vnc.request(false).await;
    let pieces = vnc.read_update().await;
    let covered: usize = pieces.iter().map(|p| p.w * p.h).sum();
    assert_eq!(
        covered,
        1024 * 768,
        "a full update covers the screen: {pieces:?}"
    );
    assert_eq!(vnc.pixel(2, 2), BANNER_BG);
    let name_pixels = (34..66)
        .flat_map(|y| (16..16 + 5 * 32).map(move |x| (x, y)))
        .filter(|&(x, y)| vnc.pixel(x, y) == 0x00ff_ffff)
        .count();
    assert!(
        name_pixels > 200,
        "the VM's name is drawn large in the banner ({name_pixels} pixels)"
    );

    let before = vnc.pixels.clone();
    vnc.request(true).await;
    vnc.type_text("root").await;
    let mut changed_area = 0;
    let mut updates = 0;
    while vnc.pixels == before || updates == 0 {
        let pieces = vnc.read_update().await;
        changed_area += pieces.iter().map(|p| p.w * p.h).sum::<usize>();
        updates += 1;
        vnc.request(true).await;
    }
    assert!(
        changed_area < 1024 * 768 / 4,
        "incremental updates carry only the changed region ({changed_area} pixels)"
    );
    let banner_unchanged = (0..108).all(|y| {
        let row = y * 1024;
        vnc.pixels[row..row + 1024] == before[row..row + 1024]
    });
    assert!(
        banner_unchanged,
        "typing changes the console line, not the banner"
    );

    // The screenshot is the same frame.
    assert_screenshot_matches(&mut vnc, &cluster, "web-1").await;
}

/// The VMI's screenshot equals the frame `vnc` holds. Call with one incremental request
/// outstanding: while keystrokes are still landing, the client catches up and compares again.
async fn assert_screenshot_matches(vnc: &mut Client, cluster: &simcluster::SimCluster, vm: &str) {
    for _ in 0..50 {
        let (code, content_type, png) = get(cluster, &path(vm, "vnc/screenshot")).await;
        assert_eq!((code, content_type.as_str()), (200, "image/png"));
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut data = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut data).unwrap();
        assert_eq!((info.width, info.height), (1024, 768));
        let shot: Vec<u32> = data
            .chunks(3)
            .map(|c| u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]))
            .collect();
        if shot == vnc.pixels {
            return;
        }
        // The screen moved on since the client's last update: the outstanding request answers.
        vnc.read_update().await;
        vnc.request(true).await;
    }
    panic!("the screenshot never matched the frame the VNC client holds");
}

#[tokio::test]
async fn vnc_sends_copyrect_when_the_console_scrolls() {
    let (cluster, _client) = cluster_with_vmi("scroller", json!({})).await;
    let mut vnc = rfb(&cluster, "admin", "scroller").await;
    vnc.request(false).await;
    vnc.read_update().await;
    // 45 empty logins scroll the 40-row console.
    vnc.type_text(&"\r".repeat(45)).await;
    let mut encodings = Vec::new();
    for _ in 0..200 {
        vnc.request(true).await;
        let pieces = vnc.read_update().await;
        encodings.extend(pieces.iter().map(|p| p.encoding));
        if encodings.contains(&1) {
            break;
        }
    }
    assert!(
        encodings.contains(&1),
        "scrolling is sent as CopyRect: {encodings:?}"
    );
    // The client's copy, CopyRects applied, is the server's frame.
    vnc.request(true).await;
    assert_screenshot_matches(&mut vnc, &cluster, "scroller").await;
}

#[tokio::test]
async fn serial_console_logs_in_and_runs_commands() {
    let (cluster, _client) = cluster_with_vmi("db-0", json!({})).await;
    let socket = connect(&cluster, "admin", &path("db-0", "console"))
        .await
        .unwrap();
    let mut serial = Bytes::new(socket);
    serial.read_until("db-0 login: ").await;
    serial.send_text("ignored\r").await;
    serial.send(b"root\r").await;
    let text = serial.read_until("Password: ").await;
    assert!(
        !text.contains("ignored"),
        "text frames are dropped: {text:?}"
    );
    serial.send(b"any-password\r").await;
    let text = serial.read_until("root@db-0:~# ").await;
    assert!(!text.contains("any-password"), "passwords are not echoed");
    serial.send(b"hostname\r").await;
    assert!(
        serial
            .read_until("root@db-0:~# ")
            .await
            .contains("\r\ndb-0\r\n")
    );
    serial.send(b"uname -a\r").await;
    assert!(serial.read_until("GNU/Linux").await.contains("Linux db-0 "));
    serial.send(b"cat /etc/os-release\r").await;
    assert!(
        serial
            .read_until("VERSION_CODENAME=bookworm")
            .await
            .contains("ID=debian")
    );
    serial.send(b"echo hello serial\r").await;
    assert!(
        serial
            .read_until("hello serial\r\nroot@db-0")
            .await
            .contains("hello serial")
    );
    serial.send(b"kubectl\r").await;
    assert!(
        serial
            .read_until("command not found")
            .await
            .contains("kubectl: command not found")
    );
    assert_eq!(serial.text_frames, 0, "the server sends binary frames only");
}

#[tokio::test]
async fn one_session_per_vmi_and_preserve_session_is_refused() {
    let (cluster, _client) = cluster_with_vmi("solo", json!({})).await;
    let mut first = rfb(&cluster, "admin", "solo").await;

    let refused = connect(
        &cluster,
        "admin",
        &format!("{}?preserveSession=true", path("solo", "vnc")),
    )
    .await
    .expect_err("preserveSession with a live session is refused");
    assert_eq!(refused.code, 503);
    assert_eq!(
        refused.body["message"],
        "Active VNC connection. Request denied."
    );
    assert_eq!(refused.body["kind"], "Status");

    // The serial console is a separate stream.
    let serial = connect(
        &cluster,
        "admin",
        &format!("{}?preserveSession=true", path("solo", "console")),
    )
    .await;
    assert!(serial.is_ok(), "a console session does not block VNC's");

    let mut second = rfb(&cluster, "admin", "solo").await;
    first.io.wait_closed().await;
    assert!(first.io.closed);
    second.request(false).await;
    assert_eq!(second.read_update().await.len(), 1);

    // Once the last session is gone, preserveSession connects.
    drop(second);
    retry_expected(
        "a preserveSession connection after the session ended",
        |refused: &Refused| refused.code == 503,
        async || {
            connect(
                &cluster,
                "admin",
                &format!("{}?preserveSession=true", path("solo", "vnc")),
            )
            .await
        },
    )
    .await;
}

#[tokio::test]
async fn consoles_need_a_running_vmi_that_exists() {
    let (cluster, client) = cluster_with_vmi("up", json!({})).await;
    console_support::vmi(&client, "booting", "Scheduling", json!({})).await;
    for what in ["vnc", "console"] {
        let refused = connect(&cluster, "admin", &path("booting", what))
            .await
            .err()
            .unwrap();
        assert_eq!(refused.code, 400, "{what}: {:?}", refused.body);
        assert!(
            refused.body["message"]
                .as_str()
                .unwrap()
                .contains("phase is Scheduling instead of Running"),
            "{:?}",
            refused.body
        );
        let missing = connect(&cluster, "admin", &path("nowhere", what))
            .await
            .err()
            .unwrap();
        assert_eq!(missing.code, 404, "{what}: {:?}", missing.body);
        assert_eq!(missing.body["reason"], "NotFound");
    }
    let (code, _, _) = get(&cluster, &path("booting", "vnc/screenshot")).await;
    assert_eq!(code, 400);
    // v1alpha3 is served too.
    let alpha = "/apis/subresources.kubevirt.io/v1alpha3/namespaces/default/virtualmachineinstances/up/console";
    let mut serial = Bytes::new(connect(&cluster, "admin", alpha).await.unwrap());
    serial.read_until("up login:").await;
}

#[tokio::test]
async fn a_viewer_may_open_consoles() {
    let (cluster, _client) = cluster_with_vmi("shared", json!({})).await;
    let mut vnc = rfb(&cluster, "viewer", "shared").await;
    vnc.request(false).await;
    assert!(!vnc.read_update().await.is_empty());
    let socket = connect(&cluster, "viewer", &path("shared", "console"))
        .await
        .unwrap();
    Bytes::new(socket).read_until("shared login:").await;
}

#[tokio::test]
async fn vnc_bench_mode_streams_full_changing_frames() {
    let (cluster, _client) =
        cluster_with_vmi("bench", json!({"simcluster.vmdeck.io/vnc-bench": "true"})).await;
    let mut vnc = rfb(&cluster, "admin", "bench").await;
    vnc.request(false).await;
    vnc.read_update().await;
    let frames = 60;
    let mut previous = vnc.pixels.clone();
    let started = Instant::now();
    for _ in 0..frames {
        vnc.request(true).await;
        let pieces = vnc.read_update().await;
        assert_eq!(pieces.len(), 1);
        assert_eq!(
            (pieces[0].w, pieces[0].h),
            (1024, 768),
            "every answer is a full frame"
        );
        assert_ne!(vnc.pixels, previous, "every frame changes");
        previous = vnc.pixels.clone();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let megabytes = (frames * 1024 * 768 * 4) as f64 / 1e6;
    println!(
        "vnc bench through the websocket (debug build, in-process client): {frames} full 1024x768x32 frames in {elapsed:.2} s = {:.1} frames/s, {:.0} MB/s",
        frames as f64 / elapsed,
        megabytes / elapsed
    );
}

#[tokio::test]
async fn serial_backend_annotation_on_the_vm_bridges_to_tcp() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let backend = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        tcp.write_all(b"real serial port\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let n = tcp.read(&mut buf).await.unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]).to_uppercase();
        tcp.write_all(answer.as_bytes()).await.unwrap();
        tcp.flush().await.unwrap();
        // Stay connected until the bridge hangs up.
        while tcp.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    let (cluster, client) = cluster_with_vmi("bridged", json!({})).await;
    console_support::vm(
        &client,
        "bridged",
        json!({"simcluster.vmdeck.io/serial-backend": format!("tcp://{address}")}),
    )
    .await;
    let mut serial = Bytes::new(
        connect(&cluster, "admin", &path("bridged", "console"))
            .await
            .unwrap(),
    );
    serial.read_until("real serial port").await;
    serial.send(b"ping").await;
    serial.read_until("PING").await;
    backend.abort();
}

#[tokio::test]
async fn backends_off_loopback_are_refused_with_a_clear_error() {
    let (cluster, _client) = cluster_with_vmi(
        "far",
        json!({"simcluster.vmdeck.io/vnc-backend": "tcp://192.0.2.10:5900",
               "simcluster.vmdeck.io/serial-backend": "ssh://127.0.0.1:22"}),
    )
    .await;
    let vnc = connect(&cluster, "admin", &path("far", "vnc"))
        .await
        .err()
        .unwrap();
    assert_eq!(vnc.code, 400);
    let message = vnc.body["message"].as_str().unwrap();
    assert!(
        message.contains("192.0.2.10") && message.contains("not a loopback address"),
        "{message}"
    );
    let serial = connect(&cluster, "admin", &path("far", "console"))
        .await
        .err()
        .unwrap();
    assert_eq!(serial.code, 400);
    assert!(
        serial.body["message"].as_str().unwrap().contains("tcp://"),
        "{:?}",
        serial.body
    );
}

/// qemu's own VNC server behind the vnc-backend annotation.
#[tokio::test]
async fn vnc_backend_bridges_to_qemu() {
    let Some(qemu) = find_on_path("qemu-system-x86_64") else {
        eprintln!(
            "\n\n*** SKIPPED vnc_backend_bridges_to_qemu: qemu-system-x86_64 is not installed \
             (Debian package qemu-system-x86) ***\n\n"
        );
        return;
    };
    let display = free_vnc_display();
    let mut child = tokio::process::Command::new(qemu)
        .args([
            "-nodefaults",
            "-vga",
            "std",
            "-display",
            "none",
            "-m",
            "64",
            "-no-reboot",
        ])
        .args(["-vnc", &format!("127.0.0.1:{display}")])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("qemu starts");
    let port = 5900 + display;
    let (cluster, _client) = cluster_with_vmi(
        "real-vm",
        json!({"simcluster.vmdeck.io/vnc-backend": format!("tcp://127.0.0.1:{port}")}),
    )
    .await;
    // 500 while qemu's VNC server is not listening yet; qemu exiting fails at once.
    let socket = retry_expected_within(
        Duration::from_secs(30),
        "connecting to qemu through simcluster",
        |refused: &Refused| refused.code == 500,
        async || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("qemu exited early: {status}");
            }
            connect(&cluster, "admin", &path("real-vm", "vnc")).await
        },
    )
    .await;
    let mut vnc = Client::handshake(Bytes::new(socket)).await;
    assert_eq!(vnc.name, "QEMU");
    assert!(
        vnc.width >= 320 && vnc.height >= 200,
        "{}x{}",
        vnc.width,
        vnc.height
    );
    vnc.request(false).await;
    let pieces = vnc.read_update().await;
    assert!(!pieces.is_empty());
    assert!(pieces.iter().all(|p| p.encoding == 0 || p.encoding == 1));
    // SeaBIOS draws text soon after start: wait until something is not black.
    let deadline = Instant::now() + Duration::from_secs(60);
    while vnc.pixels.iter().all(|p| *p == 0) {
        assert!(Instant::now() < deadline, "qemu's screen stayed black");
        vnc.request(true).await;
        vnc.read_update().await;
    }
    // The screenshot of a bridged VMI is qemu's frame.
    let (code, content_type, png) = get(&cluster, &path("real-vm", "vnc/screenshot")).await;
    assert_eq!(
        (code, content_type.as_str()),
        (200, "image/png"),
        "{}",
        String::from_utf8_lossy(&png)
    );
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap()
        .info()
        .clone();
    // (Compared loosely: the guest may switch video modes between the two connections.)
    assert!(
        (320..=2560).contains(&info.width) && (200..=1600).contains(&info.height),
        "{}x{}",
        info.width,
        info.height
    );
    let _ = child.kill().await;
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// A VNC display number whose port (5900 + N) is free now.
fn free_vnc_display() -> u16 {
    (40..400)
        .find(|n| std::net::TcpListener::bind(("127.0.0.1", 5900 + n)).is_ok())
        .expect("a free VNC port")
}

/// With the simulated KubeVirt: a VM started by its controller gets consoles, and
/// `subresources.kubevirt.io` discovery lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consoles_of_a_vm_started_by_simulated_kubevirt() {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
    let cluster = simcluster::SimCluster::start(simcluster::Options {
        with_kubevirt: true,
        ..simcluster::Options::default()
    })
    .await
    .expect("simcluster starts");
    let client = cluster.client().await;
    let resource = |kind: &str, plural: &str| {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("kubevirt.io", "v1", kind), plural)
    };
    let vms: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("VirtualMachine", "virtualmachines"),
    );
    let vm = json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "fedora"},
        "spec": {"runStrategy": "Always", "template": {"spec": {"domain": {"devices": {}}}}}});
    vms.create(&PostParams::default(), &serde_json::from_value(vm).unwrap())
        .await
        .unwrap();
    let vmis: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("VirtualMachineInstance", "virtualmachineinstances"),
    );
    wait_until("the VMI fedora to run", async || {
        let phase = vmis
            .get_opt("fedora")
            .await
            .unwrap()
            .map(|v| serde_json::to_value(v).unwrap()["status"]["phase"].clone());
        phase == Some(json!("Running"))
    })
    .await;

    let (code, _, body) = get(&cluster, "/apis/subresources.kubevirt.io/v1").await;
    assert_eq!(code, 200);
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for wanted in [
        "virtualmachineinstances/vnc",
        "virtualmachineinstances/console",
    ] {
        assert!(names.contains(&wanted), "{wanted} in discovery: {names:?}");
    }

    let mut serial = Bytes::new(
        connect(&cluster, "admin", &path("fedora", "console"))
            .await
            .unwrap(),
    );
    serial.read_until("fedora login: ").await;
    let mut vnc = rfb(&cluster, "admin", "fedora").await;
    assert_eq!(
        (vnc.width, vnc.height, vnc.name.as_str()),
        (1024, 768, "fedora")
    );
    vnc.request(false).await;
    vnc.read_update().await;
    assert_eq!(vnc.pixel(2, 2), BANNER_BG);
}
