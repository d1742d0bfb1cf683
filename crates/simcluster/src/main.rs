//! The `simcluster` command: serve a simulated cluster, or benchmark one.

mod bench;
mod bench_kubevirt;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "simcluster",
    version,
    about = "A simulated Kubernetes + KubeVirt API server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a simulated cluster until interrupted. Prints its URL as the first line on stdout.
    Serve(ServeArgs),
    /// Measure list latency, server-side apply throughput and watch fan-out; prints figures.
    Bench(bench::BenchArgs),
    /// Print the text console of a built-in guest's screen read back from a 1024x768 PNG of it
    /// (a screenshot or a VNC client's frame), one line per row (for tests).
    ReadScreen {
        /// The PNG file.
        png: PathBuf,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write the kubeconfig (contexts `admin` and `viewer`).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Delay every request by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction of writes answered with 500, 429 or a dropped connection.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed for reproducible faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Keep the cluster's state in this file across restarts.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Number of Ready nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Nodes lack hardware virtualization.
    #[arg(long)]
    no_kvm: bool,
    /// No default StorageClass and no CNI.
    #[arg(long)]
    bare: bool,
    /// How long workloads, operators and VM starts take to become ready.
    #[arg(long, default_value_t = 0)]
    ready_delay_ms: u64,
    /// Start with KubeVirt and CDI installed and Deployed.
    #[arg(long)]
    with_kubevirt: bool,
    /// Seed this many VMs (mixed running and stopped) once KubeVirt's API is served.
    #[arg(long, default_value_t = 0)]
    vms: usize,
    /// Start with a snapshot controller installed by someone else (labelled managed-by velero).
    #[arg(long)]
    with_snapshot_controller: bool,
    /// Demo cluster: 3 KVM nodes, KubeVirt not installed yet, 12 VMs that appear once it is,
    /// ready delays of 1-3 s (other flags still apply on top).
    #[arg(long)]
    demo: bool,
    /// An extra name (DNS name or IP) on the serving certificate, e.g. the name a reverse proxy
    /// routes by SNI; repeatable. A saved --state gets a new serving certificate when they change.
    #[arg(long = "tls-san", value_name = "NAME")]
    tls_sans: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIMCLUSTER_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::ReadScreen { png } => read_screen(&png),
    }
}

fn read_screen(png: &std::path::Path) -> anyhow::Result<()> {
    use simcluster::consoles::{framebuffer::Framebuffer, screen};
    let bytes = std::fs::read(png).with_context(|| format!("reading {}", png.display()))?;
    let frame =
        Framebuffer::from_png(&bytes).with_context(|| format!("decoding {}", png.display()))?;
    anyhow::ensure!(
        (frame.width(), frame.height()) == (screen::WIDTH, screen::HEIGHT),
        "{} is {}x{}, not the guest screen's {}x{}",
        png.display(),
        frame.width(),
        frame.height(),
        screen::WIDTH,
        screen::HEIGHT
    );
    println!("{}", screen::read_console(&frame));
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let base = if args.demo {
        simcluster::Options::demo()
    } else {
        simcluster::Options {
            ready_delay: std::time::Duration::from_millis(args.ready_delay_ms),
            vms: args.vms,
            ..Default::default()
        }
    };
    let options = simcluster::Options {
        listen: args.listen,
        latency_ms: args.latency_ms,
        fault_rate: args.fault_rate,
        seed: args.seed,
        state: args.state,
        nodes: args.nodes,
        kvm: !args.no_kvm,
        bare: args.bare,
        with_kubevirt: args.with_kubevirt,
        with_snapshot_controller: args.with_snapshot_controller,
        ready_delay: if args.ready_delay_ms > 0 {
            std::time::Duration::from_millis(args.ready_delay_ms)
        } else {
            base.ready_delay
        },
        vms: if args.vms > 0 { args.vms } else { base.vms },
        tls_sans: args.tls_sans,
        ..base
    };
    let cluster = simcluster::SimCluster::start(options)
        .await
        .context("starting simcluster")?;
    println!("{}", cluster.url());
    if let Some(path) = &args.kubeconfig {
        cluster
            .write_kubeconfig(path)
            .with_context(|| format!("writing kubeconfig to {}", path.display()))?;
        eprintln!(
            "kubeconfig written to {} (contexts: admin, viewer)",
            path.display()
        );
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    cluster.shutdown().await;
    Ok(())
}
