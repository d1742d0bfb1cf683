//! The dev server's side of the call table, over real HTTP and websockets on loopback: every
//! call is routed with its own request type, the token and the Origin are enforced.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use vmdeck_desktop_core::devserver::{Guard, TOKEN_HEADER, api_router};
use vmdeck_desktop_core::{CALL_NAMES, CallKind, kind_of};

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Server {
    addr: SocketAddr,
    _home: tempfile::TempDir,
}

async fn serve() -> Server {
    let home = tempfile::tempdir().unwrap();
    let app = Arc::new(support::session_app(&home).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = api_router(app, Guard::with_token(TOKEN.into(), addr, &[]));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server { addr, _home: home }
}

/// One raw HTTP/1.1 POST (no client library between the test and the server's checks).
async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn good_headers(addr: &str) -> Vec<(&'static str, String)> {
    vec![
        ("host", addr.to_string()),
        ("content-type", "application/json".into()),
        (TOKEN_HEADER, TOKEN.into()),
    ]
}

async fn post_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&'static str, String)],
    body: &str,
) -> (u16, Value) {
    let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    post(addr, path, &refs, body).await
}

#[tokio::test]
async fn every_call_is_routed_and_reads_its_own_request_type() {
    let server = serve().await;
    let host = server.addr.to_string();
    for name in CALL_NAMES {
        let (status, body) = post_with(
            server.addr,
            &format!("/api/{name}"),
            &good_headers(&host),
            "12345",
        )
        .await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body["code"], "bad_request", "{name}: {body}");
        let expected = match kind_of(name) {
            Some(CallKind::Call) => format!("the request of {name} does not fit"),
            _ => format!("{name} is a stream"),
        };
        assert!(
            body["message"].as_str().unwrap().contains(&expected),
            "{name}: {body}"
        );
    }
    let (status, body) = post_with(
        server.addr,
        "/api/list_clusters",
        &good_headers(&host),
        "null",
    )
    .await;
    assert_eq!((status, body), (200, json!([])));
    let (status, body) = post_with(
        server.addr,
        "/api/format_disk",
        &good_headers(&host),
        "null",
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("unknown_method"))
    );
}

#[tokio::test]
async fn calls_without_the_token_or_from_a_foreign_origin_are_refused() {
    let server = serve().await;
    let host = server.addr.to_string();
    let mut no_token = good_headers(&host);
    no_token.retain(|(n, _)| *n != TOKEN_HEADER);
    let (status, body) = post_with(server.addr, "/api/list_clusters", &no_token, "null").await;
    assert_eq!(
        (status, body["code"].clone()),
        (401, json!("token_required"))
    );

    let mut wrong = good_headers(&host);
    wrong[2].1 = "f".repeat(64);
    let (status, _) = post_with(server.addr, "/api/list_clusters", &wrong, "null").await;
    assert_eq!(status, 401);

    let mut foreign = good_headers(&host);
    foreign.push(("origin", "http://evil.example".into()));
    let (status, body) = post_with(server.addr, "/api/list_clusters", &foreign, "null").await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("forbidden_origin"))
    );

    let mut own = good_headers(&host);
    own.push(("origin", format!("http://{host}")));
    let (status, _) = post_with(server.addr, "/api/list_clusters", &own, "null").await;
    assert_eq!(status, 200, "the server's own origin may call");

    let mut rebound = good_headers(&host);
    rebound[0].1 = format!("attacker.example:{}", server.addr.port());
    let (status, _) = post_with(server.addr, "/api/list_clusters", &rebound, "null").await;
    assert_eq!(
        status, 403,
        "a non-loopback Host (DNS rebinding) is refused"
    );
}

fn stream_request(
    addr: SocketAddr,
    name: &str,
    protocol: Option<&str>,
    origin: &str,
) -> tungstenite::handshake::client::Request {
    let mut request = format!("ws://{addr}/api/stream/{name}")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("origin", origin.parse().unwrap());
    if let Some(protocol) = protocol {
        headers.insert("sec-websocket-protocol", protocol.parse().unwrap());
    }
    request
}

async fn next_json(
    socket: &mut (impl StreamExt<Item = Result<Message, tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        match socket
            .next()
            .await
            .expect("the stream ends with an answer")
            .unwrap()
        {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(_) => panic!("closed before the answer"),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn a_stream_runs_over_a_websocket_and_sends_events_then_its_answer() {
    let server = serve().await;
    let origin = format!("http://{}", server.addr);
    let protocol = format!("vmdeck-token.{TOKEN}");
    let (mut socket, response) = tokio_tungstenite::connect_async(stream_request(
        server.addr,
        "check_clusters",
        Some(&protocol),
        &origin,
    ))
    .await
    .unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        protocol.as_str()
    );
    socket
        .send(Message::Text(
            json!({"names": ["nope", "gone"]}).to_string().into(),
        ))
        .await
        .unwrap();
    let mut clusters = Vec::new();
    for _ in 0..2 {
        let frame = next_json(&mut socket).await;
        assert_eq!(
            frame["event"]["error"]["code"], "cluster_not_found",
            "{frame}"
        );
        clusters.push(frame["event"]["cluster"].as_str().unwrap().to_string());
    }
    clusters.sort();
    assert_eq!(clusters, ["gone", "nope"]);
    assert_eq!(next_json(&mut socket).await, json!({"answer": null}));
}

#[tokio::test]
async fn a_stream_without_the_token_or_from_a_foreign_origin_is_refused_before_the_upgrade() {
    let server = serve().await;
    let origin = format!("http://{}", server.addr);
    let protocol = format!("vmdeck-token.{TOKEN}");
    for (protocol, origin, status) in [
        (None, origin.as_str(), 401),
        (Some("vmdeck-token.wrong"), origin.as_str(), 401),
        (Some(protocol.as_str()), "http://evil.example", 403),
    ] {
        let refused = tokio_tungstenite::connect_async(stream_request(
            server.addr,
            "check_clusters",
            protocol,
            origin,
        ))
        .await
        .expect_err("refused");
        match refused {
            tungstenite::Error::Http(response) => assert_eq!(response.status().as_u16(), status),
            other => panic!("expected an HTTP refusal, got {other}"),
        }
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(stream_request(
        server.addr,
        "check_clusters",
        Some(&protocol),
        &origin,
    ))
    .await
    .unwrap();
    socket.send(Message::Text("12345".into())).await.unwrap();
    let frame = next_json(&mut socket).await;
    assert_eq!(frame["error"]["code"], "bad_request", "{frame}");
}
