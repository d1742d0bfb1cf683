//! The browser dev server's routes: every call of the call table as `POST /api/<name>` and every
//! stream as a websocket at `/api/stream/<name>`, guarded like Jupyter's server: a random token
//! made at start (header `x-vmdeck-token`, or a websocket subprotocol `vmdeck-token.<token>`),
//! an Origin that must be the server's own, and a loopback Host.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::RngCore;
use serde_json::{Value, json};

use crate::app::App;
use crate::call_table::{call, kind_of, stream};
use crate::calls::{CallKind, Via, event_queue, unknown_call};
use crate::ui_error::UiError;

/// The header that carries the token on HTTP calls.
pub const TOKEN_HEADER: &str = "x-vmdeck-token";
/// Websocket subprotocol prefix that carries the token (browsers cannot set headers on websockets).
pub const TOKEN_PROTOCOL_PREFIX: &str = "vmdeck-token.";

/// What a caller must present: the token, from an allowed Origin.
#[derive(Clone)]
pub struct Guard {
    token: String,
    allowed_origins: Vec<String>,
}

impl Guard {
    /// A fresh 256-bit token; the server's own origins (`http://127.0.0.1:PORT`, `localhost`,
    /// `[::1]`) plus `extra_origins` (e.g. Vite's dev server) are allowed.
    pub fn new(listening: SocketAddr, extra_origins: &[String]) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self::with_token(hex::encode(bytes), listening, extra_origins)
    }

    pub fn with_token(token: String, listening: SocketAddr, extra_origins: &[String]) -> Self {
        let port = listening.port();
        let mut allowed_origins: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|host| format!("http://{host}:{port}"))
            .collect();
        allowed_origins.extend(
            extra_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_string()),
        );
        Self {
            token,
            allowed_origins,
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The URL to open: the page reads the token from it once and keeps it for the tab.
    pub fn url(&self, listening: SocketAddr) -> String {
        format!("http://{listening}/?token={}", self.token)
    }

    fn token_matches(&self, presented: &str) -> bool {
        let (a, b) = (self.token.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Refuses foreign origins and non-loopback hosts; an absent Origin (a non-browser client,
    /// which no web page can be) is allowed, the token is still required.
    fn check_origin_and_host(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host_is_loopback = header_text(headers, header::HOST.as_str()).is_some_and(|h| {
            let host = h.rsplit_once(':').map_or(h, |(host, _)| host);
            matches!(host, "127.0.0.1" | "localhost" | "[::1]")
        });
        if !host_is_loopback {
            return Err(Refusal::forbidden(
                "the dev server answers on loopback addresses only",
            ));
        }
        if let Some(origin) = header_text(headers, header::ORIGIN.as_str())
            && !self.allowed_origins.iter().any(|o| o == origin)
        {
            return Err(Refusal::forbidden(format!(
                "calls from the origin {origin} are refused; open the UI from the dev server's own address"
            )));
        }
        Ok(())
    }
}

/// Why a request was refused before it reached the core.
struct Refusal {
    status: StatusCode,
    error: UiError,
}

impl Refusal {
    fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error: UiError::new("forbidden_origin", message),
        }
    }

    fn no_token() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: UiError::new(
                "token_required",
                "this call needs the dev server's token: open the URL the dev server printed (it ends in ?token=...)",
            ),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.error)).into_response()
    }
}

#[derive(Clone)]
struct Served {
    app: Arc<App>,
    guard: Guard,
}

/// The API routes; the caller adds the static UI as the fallback. The pages it serves (and the
/// extra origins it allows) may also connect to the App's console gateway.
pub fn api_router(app: Arc<App>, guard: Guard) -> Router {
    app.allow_console_origins(guard.allowed_origins.iter().cloned());
    Router::new()
        .route("/api/stream/{method}", get(open_stream))
        .route("/api/{method}", post(run_call))
        .with_state(Served { app, guard })
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// HTTP status for an error the core answered.
fn status_of(error: &UiError) -> StatusCode {
    match error.code.as_str() {
        "bad_request" => StatusCode::BAD_REQUEST,
        "unknown_method" => StatusCode::NOT_FOUND,
        "path_not_allowed" => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn failure(error: UiError) -> Response {
    (status_of(&error), axum::Json(error)).into_response()
}

async fn run_call(
    State(served): State<Served>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(refusal) = served.guard.check_origin_and_host(&headers) {
        return refusal.into_response();
    }
    if !header_text(&headers, TOKEN_HEADER).is_some_and(|t| served.guard.token_matches(t)) {
        return Refusal::no_token().into_response();
    }
    // A JSON content type also forces a CORS preflight, which is never answered, on other sites.
    let is_json = header_text(&headers, header::CONTENT_TYPE.as_str())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return failure(UiError::bad_request("send the request as application/json"));
    }
    let request = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(err) => return failure(UiError::bad_request(err)),
        }
    };
    if kind_of(&method) == Some(CallKind::Stream) {
        return failure(UiError::bad_request(format!(
            "{method} is a stream: open a websocket at /api/stream/{method}"
        )));
    }
    match call(&served.app, Via::Http, &method, request).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(err) => failure(err),
    }
}

async fn open_stream(
    State(served): State<Served>,
    Path(method): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refusal) = served.guard.check_origin_and_host(&headers) {
        return refusal.into_response();
    }
    let presented = header_text(&headers, header::SEC_WEBSOCKET_PROTOCOL.as_str())
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| {
            p.strip_prefix(TOKEN_PROTOCOL_PREFIX)
                .is_some_and(|t| served.guard.token_matches(t))
        })
        .map(str::to_string);
    let Some(protocol) = presented else {
        return Refusal::no_token().into_response();
    };
    if kind_of(&method) != Some(CallKind::Stream) {
        return failure(unknown_call(&method, &stream_names()));
    }
    upgrade
        .protocols([protocol])
        .on_upgrade(move |socket| run_stream(served.app, method, socket))
}

fn stream_names() -> Vec<&'static str> {
    crate::call_table::CALL_NAMES
        .iter()
        .copied()
        .filter(|n| kind_of(n) == Some(CallKind::Stream))
        .collect()
}

/// One stream over one websocket: the first text message is the request; then
/// `{"event": ...}` messages, and last `{"answer": ...}` or `{"error": ...}`. Closing the socket
/// stops the call at its next event.
async fn run_stream(app: Arc<App>, method: String, mut socket: WebSocket) {
    let request = loop {
        match socket.recv().await {
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<Value>(&text) {
                Ok(value) => break value,
                Err(err) => {
                    let error = UiError::bad_request(err);
                    let _ = send_json(&mut socket, &json!({ "error": error })).await;
                    return;
                }
            },
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return,
        }
    };
    let (sender, mut events) = event_queue();
    let work = stream(&app, Via::Http, &method, request, sender);
    tokio::pin!(work);
    let outcome = loop {
        tokio::select! {
            outcome = &mut work => break outcome,
            Some(event) = events.recv() => {
                if send_json(&mut socket, &json!({ "event": event })).await.is_err() {
                    return;
                }
            }
        }
    };
    // Events queued before the call returned still go out first.
    while let Ok(event) = events.try_recv() {
        if send_json(&mut socket, &json!({ "event": event }))
            .await
            .is_err()
        {
            return;
        }
    }
    let last = match outcome {
        Ok(answer) => json!({ "answer": answer }),
        Err(error) => json!({ "error": error }),
    };
    if send_json(&mut socket, &last).await.is_ok() {
        let _ = socket.send(Message::Close(None)).await;
    }
}

async fn send_json(socket: &mut WebSocket, value: &Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(value.to_string().into())).await
}
