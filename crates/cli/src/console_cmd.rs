//! `vmdeckctl console | vnc | screenshot`: a VMI's serial console on this terminal (raw mode when
//! stdin is a terminal, Ctrl+] leaves; piped stdin works too), its VNC handed to a native viewer
//! through a loopback proxy (`--proxy-only` prints the port as JSON), and a PNG screenshot.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use vmdeck_console::iobridge::{ESCAPE, IoEnded, bridge_io};
use vmdeck_console::upstream::{ConsoleTarget, WebSocketConfig, dial};
use vmdeck_console::viewer::{ProxyEvent, VncProxy, find_viewer};

use crate::target::TargetArgs;
use crate::vms_cmd::{parse_vm, runtime};

#[derive(Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The VM: NAMESPACE/NAME, or NAME in the context's namespace.
    vm: String,
}

#[derive(Args)]
pub struct VncArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The VM: NAMESPACE/NAME, or NAME in the context's namespace.
    vm: String,
    /// Where the proxy listens (loopback only; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Do not launch a viewer: print `{"port": N}` and serve until interrupted.
    #[arg(long)]
    proxy_only: bool,
}

#[derive(Args)]
pub struct ScreenshotArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The VM: NAMESPACE/NAME, or NAME in the context's namespace.
    vm: String,
    /// The PNG file to write.
    #[arg(short, long, value_name = "FILE.png")]
    output: PathBuf,
}

/// The terminal in raw mode for as long as this lives.
struct RawTerminal {
    saved: nix::sys::termios::Termios,
}

impl RawTerminal {
    fn enter() -> anyhow::Result<Self> {
        use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).context("reading the terminal's settings")?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSANOW, &raw).context("switching the terminal to raw mode")?;
        Ok(Self { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin(),
            nix::sys::termios::SetArg::TCSANOW,
            &self.saved,
        );
    }
}

pub fn run_console(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let result = runtime.block_on(console(args));
    // tokio's stdin reads on a blocking thread that may still wait for a key: do not wait for it.
    runtime.shutdown_background();
    result
}

async fn console(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let client = args.target.client().await?;
    let (namespace, name) = parse_vm(&args.vm, client.default_namespace())?;
    let target = ConsoleTarget::serial(&namespace, &name);
    let upstream = dial(&client, &target, WebSocketConfig::default())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let terminal = std::io::stdin().is_terminal();
    let raw = if terminal {
        eprint!("Connected to {namespace}/{name}; Ctrl+] leaves.\r\n");
        Some(RawTerminal::enter()?)
    } else {
        None
    };
    let ended = bridge_io(
        upstream,
        tokio::io::stdin(),
        tokio::io::stdout(),
        Some(ESCAPE),
    )
    .await;
    drop(raw);
    let eol = if terminal { "\r\n" } else { "\n" };
    match ended.map_err(|e| anyhow!("{e}"))? {
        IoEnded::Escaped | IoEnded::InputClosed => Ok(ExitCode::SUCCESS),
        IoEnded::UpstreamClosed(Some(frame)) if !frame.reason.is_empty() => {
            eprint!("{eol}console closed: {}{eol}", frame.reason);
            Ok(ExitCode::FAILURE)
        }
        IoEnded::UpstreamClosed(_) | IoEnded::UpstreamGone => {
            eprint!("{eol}console closed by the cluster{eol}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_event(event: &ProxyEvent) {
    match event {
        ProxyEvent::Connected { peer } => eprintln!("viewer {peer} connected"),
        ProxyEvent::Refused { peer, error } => {
            eprintln!("viewer {peer}: the console was not opened: {error}")
        }
        ProxyEvent::Replaced { peer } => {
            eprintln!("viewer {peer} replaced by a new connection")
        }
        ProxyEvent::Closed { peer, why } => eprintln!("viewer {peer} disconnected: {why}"),
    }
}

pub fn run_vnc(args: VncArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(vnc(args))
}

async fn vnc(args: VncArgs) -> anyhow::Result<ExitCode> {
    let client = args.target.client().await?;
    let (namespace, name) = parse_vm(&args.vm, client.default_namespace())?;
    let mut proxy = VncProxy::start(client, ConsoleTarget::vnc(&namespace, &name), args.listen)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let addr = proxy.addr();
    let viewer = if args.proxy_only {
        crate::output_format::emit(&format!("{}\n", serde_json::json!({"port": addr.port()})));
        None
    } else {
        match find_viewer() {
            Some(viewer) => {
                eprintln!(
                    "VNC of {namespace}/{name} on {addr}; starting {}",
                    viewer.program.display()
                );
                let child = tokio::process::Command::new(&viewer.program)
                    .args(viewer.args(addr))
                    .kill_on_drop(true)
                    .spawn()
                    .with_context(|| format!("starting {}", viewer.program.display()))?;
                Some(child)
            }
            None => {
                eprintln!(
                    "no VNC viewer found (remote-viewer, vncviewer or remmina on PATH); point one at {addr}"
                );
                println!("{}", serde_json::json!({"port": addr.port()}));
                None
            }
        }
    };
    let _ = std::io::stdout().flush();
    let viewer_exit = async {
        match viewer {
            Some(mut child) => child.wait().await.map(Some),
            None => std::future::pending().await,
        }
    };
    let mut viewer_exit = std::pin::pin!(viewer_exit);
    loop {
        tokio::select! {
            event = proxy.next_event() => match event {
                Some(event) => print_event(&event),
                None => bail!("the VNC proxy stopped"),
            },
            exited = &mut viewer_exit => {
                let status = exited.context("waiting for the viewer")?;
                eprintln!("the viewer exited ({})", status.map(|s| s.to_string()).unwrap_or_default());
                return Ok(ExitCode::SUCCESS);
            }
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}

pub fn run_screenshot(args: ScreenshotArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = args.target.client().await?;
        let (namespace, name) = parse_vm(&args.vm, client.default_namespace())?;
        let png = vmdeck_console::screenshot(&client, &namespace, &name)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        // Written beside the target and renamed: a reader never sees half a PNG.
        let partial = args.output.with_extension("png.partial");
        std::fs::write(&partial, &png).with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &args.output)
            .with_context(|| format!("writing {}", args.output.display()))?;
        eprintln!(
            "{namespace}/{name}: {} bytes written to {}",
            png.len(),
            args.output.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}
