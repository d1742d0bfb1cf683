//! KubeVirt's console subresources on VMIs (`vnc`, `vnc/screenshot`, `console`) at
//! `/apis/subresources.kubevirt.io/{v1,v1alpha3}/namespaces/{ns}/virtualmachineinstances/{name}/`:
//! websocket streams (subprotocol `plain.kubevirt.io`, binary frames) to a built-in guest (RFB
//! server, serial shell) or to a real loopback TCP endpoint named by an annotation.

pub mod bridge;
pub mod display;
pub mod font;
pub mod framebuffer;
pub mod guest;
pub mod keymap;
pub mod keys;
pub mod pixel_format;
pub mod rfb;
pub mod screen;
pub mod sessions;
pub mod shell;
pub mod snapshot;
pub mod target;
pub mod terminal;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::IntoResponse;
use http::{Method, Response, StatusCode, header};

use crate::cluster::Cluster;
use crate::extensions::SubresourceCall;
use crate::status::ApiError;
use guest::Guests;
use sessions::{Sessions, Stream};
use target::{ConsoleError, Target};

/// The aggregated API group of KubeVirt's subresources.
pub const GROUP: &str = "subresources.kubevirt.io";
/// The only websocket subprotocol KubeVirt's consoles speak.
pub const PROTOCOL: &str = "plain.kubevirt.io";
const BACKEND_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The console service of one cluster: live sessions and built-in guests.
#[derive(Clone, Default)]
pub struct Consoles {
    pub sessions: Sessions,
    pub guests: Guests,
}

/// Serve the console subresources on `cluster`; returns the service (for inspection).
pub fn install(cluster: &Arc<Cluster>) -> Consoles {
    let consoles = Consoles::default();
    for (subresource, stream) in [("vnc", Stream::Vnc), ("console", Stream::Serial)] {
        let service = consoles.clone();
        cluster.objects.extensions.add_subresource(
            GROUP,
            "virtualmachineinstances",
            subresource,
            Arc::new(move |call| {
                let service = service.clone();
                Box::pin(async move { service.handle(call, stream).await })
            }),
        );
    }
    consoles
}

impl Consoles {
    async fn handle(
        &self,
        call: SubresourceCall,
        stream: Stream,
    ) -> Result<Response<Body>, ApiError> {
        if call.parts.method != Method::GET {
            return Err(ApiError::method_not_allowed(format!(
                "{} is served for GET only (a websocket upgrade)",
                stream.as_str()
            )));
        }
        let subpath: Vec<&str> = call.request.subpath.iter().map(String::as_str).collect();
        match (stream, subpath.as_slice()) {
            (_, []) => self.open(call, stream).await,
            (Stream::Vnc, ["screenshot"]) => self.screenshot(&call).await,
            _ => Err(ApiError::no_route(call.parts.uri.path())),
        }
    }

    async fn resolve(
        &self,
        call: &SubresourceCall,
        stream: Stream,
    ) -> Result<Target, ConsoleError> {
        target::resolve(
            &call.cluster,
            call.request.namespace.as_deref(),
            call.request.name.as_deref(),
            stream,
        )
        .await
    }

    async fn screenshot(&self, call: &SubresourceCall) -> Result<Response<Body>, ApiError> {
        let target = self.resolve(call, Stream::Vnc).await?;
        let png = match &target.backend {
            Some(backend) => snapshot::capture(backend.address, BACKEND_CONNECT_TIMEOUT)
                .await
                .map_err(|e| {
                    ApiError::internal(format!(
                        "screenshot of {} (annotation {}): {e}",
                        backend.address, backend.annotation
                    ))
                })?
                .to_png(),
            None => self
                .guests
                .get(&call.cluster, &target.uid, &target.namespace, &target.name)
                .screen
                .png(),
        }
        .map_err(|e| ApiError::internal(format!("encoding the screenshot: {e}")))?;
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "image/png")
            .body(Body::from(png))
            .map_err(|e| ApiError::internal(e.to_string()))
    }

    async fn open(
        &self,
        call: SubresourceCall,
        stream: Stream,
    ) -> Result<Response<Body>, ApiError> {
        let target = self.resolve(&call, stream).await?;
        let preserve = call.query.flag("preserveSession");
        let mut parts = call.parts;
        let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
            .await
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "{} is a websocket (subprotocol {PROTOCOL}): {}",
                    stream.as_str(),
                    rejection.body_text()
                ))
            })?;
        let backend = match &target.backend {
            Some(backend) => {
                let connect = tokio::net::TcpStream::connect(backend.address);
                let tcp = tokio::time::timeout(BACKEND_CONNECT_TIMEOUT, connect)
                    .await
                    .map_err(|_| "timed out after 5 s".to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
                    .map_err(|why| ConsoleError::Unreachable {
                        annotation: backend.annotation,
                        address: backend.address.to_string(),
                        why,
                    })?;
                let _ = tcp.set_nodelay(true);
                Some(tcp)
            }
            None => None,
        };
        let session = self
            .sessions
            .open(&target.uid, stream, preserve)
            .map_err(|e| ApiError::service_unavailable(e.to_string()))?;
        let guest = backend.is_none().then(|| {
            self.guests
                .get(&call.cluster, &target.uid, &target.namespace, &target.name)
        });
        tracing::info!(
            namespace = %target.namespace, vmi = %target.name, stream = stream.as_str(),
            user = %call.identity.user, bridged = backend.is_some(), "console session opened"
        );
        let response = upgrade
            .protocols([PROTOCOL])
            .on_upgrade(move |socket| async move {
                let replaced = session.replaced.clone();
                let ended = match (backend, guest) {
                    (Some(tcp), _) => bridge::pump(socket, tcp, replaced).await,
                    (None, Some(guest)) => {
                        let (ours, theirs) = tokio::io::duplex(bridge_buffer(stream));
                        let server = match stream {
                            Stream::Vnc => {
                                let options = rfb::RfbOptions {
                                    desktop_name: target.name.clone(),
                                    bench: target.bench,
                                    keymap: target.keymap.clone(),
                                };
                                let screen = guest.screen.clone();
                                tokio::spawn(async move {
                                    if let Err(e) = rfb::serve(theirs, screen, options).await {
                                        tracing::debug!(code = e.code(), "rfb session ended: {e}");
                                    }
                                })
                            }
                            Stream::Serial => tokio::spawn(async move {
                                let _ = guest::serve_serial(theirs, guest).await;
                            }),
                        };
                        let ended = bridge::pump(socket, ours, replaced).await;
                        server.abort();
                        ended
                    }
                    (None, None) => bridge::Ended::StreamEnded,
                };
                tracing::info!(vmi = %target.name, stream = stream.as_str(), ?ended, "console session closed");
                drop(session);
            });
        Ok(response.into_response())
    }
}

fn bridge_buffer(stream: Stream) -> usize {
    match stream {
        Stream::Vnc => 1 << 20,
        Stream::Serial => 64 * 1024,
    }
}
