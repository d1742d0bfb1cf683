//! `vmdeckctl console | vnc | screenshot`: a VMI's serial console on this terminal (raw mode when
//! stdin is a terminal, Ctrl+] leaves; piped stdin works too; the VMI is watched, so a closed
//! console says why and comes back by itself after a restart or migration), its VNC handed to a native viewer
//! through a loopback proxy (`--proxy-only` prints the port as JSON), and a PNG screenshot.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use vmdeck_console::iobridge::{ESCAPE, IoBridgeError, IoEnded, bridge_io};
use vmdeck_console::lifecycle::{CloseReason, VmiWatch};
use vmdeck_console::upstream::{ConsoleTarget, WebSocketConfig, client_without_retry, dial};
use vmdeck_console::viewer::{ProxyEvent, VncProxy, find_viewer};

use crate::clusters_cmd::{LOGIN_SHELL_TIMEOUT, open_vault};
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

/// How long the VMI's first list may take before the console runs without close reasons.
const VMI_LIST_WAIT: Duration = Duration::from_secs(5);
/// After the console closed on its own, how long a VMI change may take to name why.
const EXPLAIN_GRACE: Duration = Duration::from_secs(2);

enum Outcome {
    Bridge(Result<IoEnded, IoBridgeError>),
    Lifecycle(CloseReason),
}

/// A kube client for consoles: kube's retry layer off, so a busy VNC's 503 ("Active VNC
/// connection") is read once as `session_in_use` instead of re-sent with backoff; no read
/// timeout (a quiet console is not a dead one). The same target as every other command.
async fn console_client(target: &TargetArgs) -> anyhow::Result<kube::Client> {
    let mut config = match (&target.cluster, &target.kubeconfig) {
        (Some(name), _) => saved_config(name).await?,
        (None, Some(file)) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(file)
                .with_context(|| format!("reading kubeconfig {}", file.display()))?;
            let options = kube::config::KubeConfigOptions {
                context: target.context.clone(),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .with_context(|| format!("kubeconfig {}", target.describe()))?
        }
        (None, None) => bail!("name a cluster: --cluster NAME or --kubeconfig FILE"),
    };
    config.read_timeout = None;
    client_without_retry(config).map_err(|e| anyhow!("{e}"))
}

/// The kube config of a saved cluster (secrets from the keyring, exec plugins run now).
async fn saved_config(name: &str) -> anyhow::Result<kube::Config> {
    use vmdeck_vault::exec_credentials::ExecCredentialSource;
    use vmdeck_vault::{DEFAULT_CHECK_TIMEOUT, ExecEnvironment, KeyringStore, SecretStore};
    let store = KeyringStore::connect().map_err(|e| {
        anyhow!(
            "[{}] {e} (the saved cluster's secrets live there)",
            e.code()
        )
    })?;
    let store: std::sync::Arc<dyn SecretStore> = std::sync::Arc::new(store);
    let exec = ExecEnvironment::detect(LOGIN_SHELL_TIMEOUT);
    let vault = open_vault(store, exec.clone())?;
    let connection = vault
        .connection(name)
        .map_err(|e| anyhow!("[{}] cluster {name}: {e}", e.code()))?;
    let source = connection.credentials.exec.clone().map(|plugin| {
        ExecCredentialSource::new(plugin, &connection, exec, DEFAULT_CHECK_TIMEOUT * 6)
    });
    let (config, _expires) =
        vmdeck_vault::kube_client::kube_config(&connection, source.as_ref(), DEFAULT_CHECK_TIMEOUT)
            .await
            .map_err(|e| anyhow!("[{}] cluster {name}: {e}", e.code()))?;
    Ok(config)
}

async fn console(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let client = console_client(&args.target).await?;
    let (namespace, name) = parse_vm(&args.vm, client.default_namespace())?;
    let target = ConsoleTarget::serial(&namespace, &name);
    // The VMI is watched so a closed console says why, and comes back after a restart.
    let mut vmi = VmiWatch::start(client.clone(), &namespace, &name);
    let (mut start, upstream) = tokio::join!(
        vmi.first(VMI_LIST_WAIT),
        dial(&client, &target, WebSocketConfig::default())
    );
    let mut upstream = upstream.map_err(|e| anyhow!("{e}"))?;
    let terminal = std::io::stdin().is_terminal();
    let raw = if terminal {
        eprint!("Connected to {namespace}/{name}; Ctrl+] leaves.\r\n");
        Some(RawTerminal::enter()?)
    } else {
        None
    };
    let eol = if terminal { "\r\n" } else { "\n" };
    let (mut stdin, mut stdout) = (tokio::io::stdin(), tokio::io::stdout());
    let code = loop {
        let outcome = tokio::select! {
            ended = bridge_io(upstream, &mut stdin, &mut stdout, Some(ESCAPE)) => Outcome::Bridge(ended),
            reason = async {
                match &start {
                    Some(start) => vmi.ended(start).await,
                    None => std::future::pending().await,
                }
            } => Outcome::Lifecycle(reason),
        };
        let reason = match outcome {
            Outcome::Bridge(Ok(IoEnded::Escaped | IoEnded::InputClosed)) => {
                break ExitCode::SUCCESS;
            }
            Outcome::Bridge(Err(error)) => {
                drop(raw);
                return Err(anyhow!("{error}"));
            }
            Outcome::Bridge(Ok(ended)) => match &start {
                Some(start) => vmi.explain(start, EXPLAIN_GRACE).await,
                None => {
                    let why = match ended {
                        IoEnded::UpstreamClosed(Some(frame)) if !frame.reason.is_empty() => {
                            frame.reason.to_string()
                        }
                        _ => "by the cluster".to_string(),
                    };
                    eprint!("{eol}console closed: {why}{eol}");
                    break ExitCode::FAILURE;
                }
            },
            Outcome::Lifecycle(reason) => reason,
        };
        let old = match (&start, reason) {
            (Some(old), CloseReason::VmRestarted | CloseReason::VmMigrated) => old.clone(),
            _ => {
                eprint!("{eol}console closed: {}{eol}", reason.reason());
                break ExitCode::FAILURE;
            }
        };
        eprint!(
            "{eol}[{}; reconnecting when it runs again]{eol}",
            reason.reason()
        );
        let next = match vmi.running_again(&old).await {
            Ok(next) => next,
            Err(reason) => {
                eprint!("{eol}console closed: {}{eol}", reason.reason());
                break ExitCode::FAILURE;
            }
        };
        upstream = match dial(&client, &target, WebSocketConfig::default()).await {
            Ok(upstream) => upstream,
            Err(error) => {
                eprint!("{eol}console closed: {error}{eol}");
                break ExitCode::FAILURE;
            }
        };
        eprint!("[reconnected]{eol}");
        start = Some(next);
    };
    drop(raw);
    Ok(code)
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
    let client = console_client(&args.target).await?;
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
