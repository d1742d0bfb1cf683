//! Browser dev backend: serves the built UI and exposes each core method as `POST /api/<method>` on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use clap::Parser;
use tower_http::services::{ServeDir, ServeFile};
use vmdeck_desktop_core::{App, AppConfig, SecretsChoice, UiError, dispatch};

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
    /// Demo mode: throwaway state and the embedded Demo cluster.
    #[arg(long, env = "VMDECK_DEMO", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    demo: bool,
    /// Keep cluster secrets in memory instead of the OS keyring.
    #[arg(long)]
    session_only: bool,
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
        bail!("--listen must be a loopback address: the dev server has no authentication");
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
    let index = args.dist.join("index.html");
    let router = Router::new()
        .route("/api/{method}", post(call))
        .with_state(app)
        .fallback_service(ServeDir::new(&args.dist).fallback(ServeFile::new(index)));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    println!(
        "vmdeck-devserver listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Only same-origin JSON calls: a JSON content type forces a CORS preflight (which is never
/// answered) on other sites, and a loopback Host header defeats DNS rebinding.
async fn call(
    State(app): State<Arc<App>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let host_is_loopback = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| {
            let host = h.rsplit_once(':').map_or(h, |(host, _)| host);
            matches!(host, "127.0.0.1" | "localhost" | "[::1]")
        });
    if !is_json || !host_is_loopback {
        let err = UiError::bad_request("send JSON to a loopback address");
        return (StatusCode::FORBIDDEN, axum::Json(err)).into_response();
    }
    let request = if body.is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(err) => {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(UiError::bad_request(err)),
                )
                    .into_response();
            }
        }
    };
    match dispatch(&app, &method, request).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(err) => (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(err)).into_response(),
    }
}
