//! Browser dev backend: serves the built UI and the core's calls on loopback, behind a token it prints.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use tower_http::services::{ServeDir, ServeFile};
use vmdeck_desktop_core::devserver::{Guard, api_router};
use vmdeck_desktop_core::{App, AppConfig, SecretsChoice};

/// Serve the VMDeck UI in a browser, backed by the same core as the desktop app.
#[derive(Parser)]
#[command(name = "vmdeck-devserver", version)]
struct Args {
    /// Loopback address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:5174")]
    listen: SocketAddr,
    /// The built UI (`npm run build` in ui/).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/dist"))]
    dist: PathBuf,
    /// Demo mode: the embedded Demo cluster, its state kept in the demo folder (`<data>/demo`).
    #[arg(long, env = "VMDECK_DEMO", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    demo: bool,
    /// Empty the demo folder first (with --demo): a fresh Demo cluster.
    #[arg(long, requires = "demo")]
    reset_demo: bool,
    /// Keep cluster secrets in memory instead of the OS keyring.
    #[arg(long)]
    session_only: bool,
    /// Another origin whose pages may call (e.g. Vite's `http://localhost:5173` in `npm run dev`).
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VMDECK_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        bail!("--listen must be a loopback address: the dev server is for this machine only");
    }
    if args.reset_demo {
        let home =
            vmdeck_desktop_core::demo::demo_home(None).map_err(|e| anyhow::anyhow!(e.message))?;
        vmdeck_desktop_core::demo::reset(&home).map_err(|e| anyhow::anyhow!(e.message))?;
    }
    let app = Arc::new(
        App::open(AppConfig {
            secrets: if args.session_only {
                SecretsChoice::SessionOnly
            } else {
                SecretsChoice::OsKeyring
            },
            demo: args.demo,
            ..AppConfig::default()
        })
        .await,
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let listening = listener.local_addr()?;
    let guard = Guard::new(listening, &args.allow_origins);
    let index = args.dist.join("index.html");
    let router = api_router(app, guard.clone())
        .fallback_service(ServeDir::new(&args.dist).fallback(ServeFile::new(index)));
    println!("vmdeck-devserver listening on {}", guard.url(listening));
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
