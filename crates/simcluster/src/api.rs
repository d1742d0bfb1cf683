//! The HTTP face of the API server: authentication, faults, routing to discovery, OpenAPI and
//! resource handlers, and encoding of answers (JSON objects, lists, tables, Status errors).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::admission::FieldValidation;
use crate::auth::Identity;
use crate::cluster::Cluster;
use crate::discovery;
use crate::faults::{Fault, FaultSettings};
use crate::objects::{DeleteOptions, PatchType, Propagation, WriteContext};
use crate::openapi;
use crate::request::{Query, ResourceRequest, Target, classify};
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{ApiError, qualified, success_status};
use crate::store::ObjectKey;
use crate::table::{self, IncludeObject};
use crate::watch::{self, WatchRequest};

/// The most a request body may hold.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The identity a verified client certificate carries, put on requests by the connection layer.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Option<(String, Vec<String>)>);

/// Tells the connection layer to drop the connection without answering (an injected fault).
#[derive(Debug)]
pub struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("simcluster: injected dropped connection")
    }
}

impl std::error::Error for DropConnection {}

fn json_response(status: StatusCode, body: impl Into<Body>, content_type: &str) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/json")),
    );
    response
}

fn value_response(status: StatusCode, value: &Value) -> Response<Body> {
    json_response(
        status,
        serde_json::to_vec(value).unwrap_or_default(),
        "application/json",
    )
}

pub fn error_response(error: &ApiError) -> Response<Body> {
    let mut response = value_response(
        StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &error.to_status(),
    );
    if let Some(seconds) = error.retry_after
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn with_warnings(mut response: Response<Body>, warnings: &[String]) -> Response<Body> {
    for warning in warnings {
        let text = format!("299 - \"{}\"", warning.replace('"', "'"));
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Who is calling: the admin bearer token, or a client certificate our CA issued.
fn authenticate(
    cluster: &Cluster,
    headers: &HeaderMap,
    peer: Option<&PeerCertificate>,
) -> Result<Identity, ApiError> {
    let authorization = header_str(headers, header::AUTHORIZATION);
    if let Some(token) = authorization.strip_prefix("Bearer ") {
        return if token.trim() == cluster.pki.admin_token {
            Ok(Identity::admin())
        } else {
            Err(ApiError::unauthorized())
        };
    }
    if !authorization.is_empty() {
        return Err(ApiError::unauthorized());
    }
    match peer.and_then(|p| p.0.clone()) {
        Some((user, mut groups)) => {
            groups.push("system:authenticated".into());
            Ok(Identity { user, groups })
        }
        None => Err(ApiError::unauthorized()),
    }
}

/// Answer one request. `Err` asks the connection layer to drop the connection.
pub async fn handle(
    cluster: Arc<Cluster>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query = Query::parse(parts.uri.query());
    match path.as_str() {
        "/healthz" | "/livez" | "/readyz" => {
            return Ok(json_response(
                StatusCode::OK,
                "ok",
                "text/plain; charset=utf-8",
            ));
        }
        "/version" => {
            return Ok(value_response(
                StatusCode::OK,
                &version_info(&cluster.server_version),
            ));
        }
        _ => {}
    }
    let identity = match authenticate(
        &cluster,
        &parts.headers,
        parts.extensions.get::<PeerCertificate>(),
    ) {
        Ok(identity) => identity,
        Err(error) => return Ok(error_response(&error)),
    };
    tracing::debug!(method = %parts.method, %path, query = parts.uri.query().unwrap_or(""), "request");
    let latency = cluster.faults.admit();
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    let is_write = matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if is_write && !path.starts_with("/simcluster/") {
        match cluster.faults.draw() {
            Fault::None => {}
            Fault::Answer(error) => return Ok(error_response(&error)),
            Fault::DropConnection => return Err(DropConnection),
        }
    }
    let body = if is_write {
        match read_body(body).await {
            Ok(bytes) => bytes,
            Err(error) => return Ok(error_response(&error)),
        }
    } else {
        Bytes::new()
    };
    let result = route(&cluster, &identity, parts, &path, &query, body).await;
    Ok(result.unwrap_or_else(|error| error_response(&error)))
}

async fn read_body(body: hyper::body::Incoming) -> Result<Bytes, ApiError> {
    let limited = http_body_util::Limited::new(body, BODY_LIMIT);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::request_entity_too_large(BODY_LIMIT))
        }
        Err(error) => Err(ApiError::bad_request(format!(
            "reading the request body: {error}"
        ))),
    }
}

pub fn version_info(git_version: &str) -> Value {
    let numbers: Vec<&str> = git_version.trim_start_matches('v').split('.').collect();
    json!({
        "major": numbers.first().copied().unwrap_or("1"),
        "minor": numbers.get(1).copied().unwrap_or("0"),
        "emulationMajor": numbers.first().copied().unwrap_or("1"),
        "emulationMinor": numbers.get(1).copied().unwrap_or("0"),
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-10-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

async fn route(
    cluster: &Arc<Cluster>,
    identity: &Identity,
    parts: http::request::Parts,
    path: &str,
    query: &Query,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    let method = &parts.method;
    let headers = &parts.headers;
    if let Some(admin_path) = path.strip_prefix("/simcluster/v1/") {
        return admin(cluster, identity, method, admin_path, &body);
    }
    if path == "/openapi/v2" {
        let accept = header_str(headers, header::ACCEPT);
        return Ok(if accept.contains("protobuf") {
            json_response(
                StatusCode::OK,
                openapi::v2_protobuf(&cluster.server_version),
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            )
        } else {
            value_response(StatusCode::OK, &openapi::v2_json(&cluster.server_version))
        });
    }
    if path == "/openapi/v3" || path == "/openapi/v3/" {
        return Ok(value_response(
            StatusCode::OK,
            &openapi::v3_index(cluster.registry()),
        ));
    }
    if let Some(gv) = path.strip_prefix("/openapi/v3/") {
        let (group, version) = match gv.split('/').collect::<Vec<_>>().as_slice() {
            ["api", version] => (String::new(), version.to_string()),
            ["apis", group, version] => (group.to_string(), version.to_string()),
            _ => return Err(ApiError::no_route(path)),
        };
        return openapi::v3_group_version(
            cluster.registry(),
            &group,
            &version,
            &cluster.server_version,
        )
        .map(|doc| value_response(StatusCode::OK, &doc))
        .ok_or_else(|| ApiError::no_route(path));
    }
    match classify(method.as_str(), path, query) {
        Target::Discovery {
            group,
            version,
            legacy,
        } => discovery_answer(cluster, headers, group, version, legacy, path),
        Target::Resource(request) => {
            if let Some(sub) = &request.subresource
                && let Some(handler) =
                    cluster
                        .objects
                        .extensions
                        .subresource(&request.group, &request.resource, sub)
            {
                if !identity.may(request.verb, &request.group, &request.resource, Some(sub)) {
                    return Err(forbidden(identity, &request));
                }
                let call = crate::extensions::SubresourceCall {
                    cluster: cluster.clone(),
                    identity: identity.clone(),
                    request,
                    query: query.clone(),
                    parts,
                    body,
                };
                return handler(call).await;
            }
            resource(cluster, identity, request, query, headers, body).await
        }
        Target::NonResource(_) => Err(ApiError::no_route(path)),
    }
}

fn admin(
    cluster: &Cluster,
    identity: &Identity,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    if !identity.may("update", "simcluster.vmdeck.io", "faults", None) {
        return Err(ApiError::forbidden(format!(
            "User \"{}\" cannot use the simcluster admin endpoint",
            identity.user
        )));
    }
    match (method, path) {
        (&Method::GET, "faults") => Ok(value_response(
            StatusCode::OK,
            &serde_json::to_value(cluster.faults.settings()).unwrap_or_default(),
        )),
        (&Method::PUT, "faults") => {
            let settings: FaultSettings = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "faults: expected {{\"latencyMs\": N, \"faultRate\": F}}: {e}"
                ))
            })?;
            cluster
                .faults
                .set(settings)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            Ok(value_response(
                StatusCode::OK,
                &serde_json::to_value(settings).unwrap_or_default(),
            ))
        }
        (&Method::POST, "compact") => {
            cluster.store().compact();
            Ok(value_response(StatusCode::OK, &success_status(None)))
        }
        _ => Err(ApiError::no_route(path)),
    }
}

fn discovery_answer(
    cluster: &Cluster,
    headers: &HeaderMap,
    group: Option<String>,
    version: Option<String>,
    legacy: bool,
    path: &str,
) -> Result<Response<Body>, ApiError> {
    let registry = cluster.registry();
    match (group, version) {
        (None, None) => {
            if let Some(v) = discovery::aggregated_version(header_str(headers, header::ACCEPT)) {
                let doc = discovery::aggregated(registry, legacy, v);
                let mut response = json_response(
                    StatusCode::OK,
                    serde_json::to_vec(&doc).unwrap_or_default(),
                    &discovery::aggregated_content_type(v),
                );
                response.headers_mut().insert(
                    "x-varied-accept",
                    HeaderValue::from_static(
                        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                    ),
                );
                return Ok(response);
            }
            Ok(value_response(
                StatusCode::OK,
                &if legacy {
                    discovery::api_versions(&cluster.address)
                } else {
                    discovery::api_group_list(registry)
                },
            ))
        }
        (Some(group), None) => discovery::api_group(registry, &group)
            .map(|g| value_response(StatusCode::OK, &g))
            .ok_or_else(|| ApiError::no_route(path)),
        (group, Some(version)) => {
            discovery::api_resource_list(registry, group.as_deref().unwrap_or(""), &version)
                .map(|l| value_response(StatusCode::OK, &l))
                .ok_or_else(|| ApiError::no_route(path))
        }
    }
}

fn forbidden(identity: &Identity, request: &ResourceRequest) -> ApiError {
    let resource = match &request.subresource {
        Some(sub) => format!("{}/{sub}", request.resource),
        None => request.resource.clone(),
    };
    let what = match &request.name {
        Some(name) => format!(
            "{} \"{name}\"",
            qualified(&request.group, &request.resource)
        ),
        None => qualified(&request.group, &request.resource),
    };
    let scope = match &request.namespace {
        Some(ns) => format!(" in the namespace \"{ns}\""),
        None => " at the cluster scope".into(),
    };
    let mut error = ApiError::forbidden(format!(
        "{what} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\"{scope}",
        identity.user, request.verb, request.group
    ));
    error.details = Some(Box::new(crate::status::Details {
        name: request.name.clone().unwrap_or_default(),
        group: request.group.clone(),
        kind: request.resource.clone(),
        causes: Vec::new(),
    }));
    error
}

fn write_context(query: &Query, headers: &HeaderMap, verb: &str) -> Result<WriteContext, ApiError> {
    let manager = match query.get("fieldManager") {
        Some(m) => m.to_string(),
        None if verb == "patch" => String::new(),
        None => {
            let agent = header_str(headers, header::USER_AGENT);
            agent
                .split('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .to_string()
        }
    };
    Ok(WriteContext {
        manager,
        dry_run: query.dry_run(),
        force: query.flag("force"),
        validation: FieldValidation::parse(query.get("fieldValidation"))?,
        keep_status: false,
    })
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let content_type = header_str(headers, header::CONTENT_TYPE);
    if content_type.contains("protobuf") {
        return crate::protobuf::decode(body).map_err(|e| match e {
            crate::protobuf::DecodeError::UnknownKind(_) => {
                let mut error = ApiError::unsupported_media_type(content_type);
                error.message = e.to_string();
                error
            }
            other => ApiError::bad_request(other.to_string()),
        });
    }
    if content_type.contains("cbor") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    if content_type.contains("yaml") {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
        return serde_yaml_ng::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })
}

fn object_response(
    rt: &ResourceType,
    status: StatusCode,
    body: Bytes,
    warnings: &[String],
) -> Response<Body> {
    let body = reversion(rt, body);
    with_warnings(json_response(status, body, "application/json"), warnings)
}

/// Objects are stored at one version; read at another, they carry that version's apiVersion.
fn reversion(rt: &ResourceType, body: Bytes) -> Bytes {
    if rt.version == rt.storage_version {
        return body;
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(mut value) => {
            value["apiVersion"] = json!(rt.api_version());
            Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
        }
        Err(_) => body,
    }
}

async fn resource(
    cluster: &Arc<Cluster>,
    identity: &Identity,
    request: ResourceRequest,
    query: &Query,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    let Some(rt) = cluster
        .registry()
        .get(&request.group, &request.version, &request.resource)
    else {
        return Err(ApiError::no_route(&format!(
            "{} {}",
            request.verb,
            qualified(&request.group, &request.resource)
        )));
    };
    if !identity.may(
        request.verb,
        &request.group,
        &request.resource,
        request.subresource.as_deref(),
    ) {
        return Err(forbidden(identity, &request));
    }
    if !rt.namespaced && request.namespace.is_some() {
        return Err(ApiError::no_route(&format!(
            "{} is not namespaced",
            rt.plural
        )));
    }
    if let Some(sub) = &request.subresource {
        let served = (sub == "status" && rt.status_subresource)
            || rt.extra_subresources.contains(&sub.as_str());
        if !served {
            return Err(ApiError::no_route(&format!("{}/{sub}", rt.plural)));
        }
    }
    // Review resources answer on create and store nothing.
    if rt.group == "authorization.k8s.io" || rt.group == "authentication.k8s.io" {
        return review(&rt, identity, request.verb, headers, &body);
    }
    if !rt.supports(request.verb) {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            rt.plural
        )));
    }
    let namespace = request.namespace.clone();
    let ns = namespace.clone().unwrap_or_default();
    let accept = header_str(headers, header::ACCEPT);
    let table =
        table::wants_table(accept).then(|| IncludeObject::parse(query.get("includeObject")));
    match request.verb {
        "get" => {
            let name = request.name.as_deref().unwrap_or_default();
            let object = cluster.objects.get(&rt, &ns, name)?;
            if let Some(include) = table {
                return Ok(value_response(
                    StatusCode::OK,
                    &table::table(&rt, &[&object.value], include, &object.rv.to_string()),
                ));
            }
            Ok(object_response(
                &rt,
                StatusCode::OK,
                object.json.clone(),
                &[],
            ))
        }
        "list" => list(cluster, &rt, namespace.as_deref(), query, table),
        "watch" => watch_response(
            cluster,
            rt.clone(),
            namespace,
            request.name.clone(),
            query,
            table,
        ),
        "create" => {
            let object = parse_body(headers, &body)?;
            let ctx = write_context(query, headers, "create")?;
            let outcome = cluster
                .objects
                .create(&rt, namespace.as_deref(), object, &ctx)?;
            Ok(object_response(
                &rt,
                StatusCode::CREATED,
                outcome.body(),
                &outcome.warnings,
            ))
        }
        "update" => {
            let object = parse_body(headers, &body)?;
            let ctx = write_context(query, headers, "update")?;
            let name = request.name.as_deref().unwrap_or_default();
            let outcome = cluster.objects.update(
                &rt,
                &ns,
                name,
                object,
                request.subresource.as_deref(),
                &ctx,
            )?;
            Ok(object_response(
                &rt,
                StatusCode::OK,
                outcome.body(),
                &outcome.warnings,
            ))
        }
        "patch" => {
            let content_type = header_str(headers, header::CONTENT_TYPE);
            let patch_type = PatchType::from_content_type(content_type)
                .ok_or_else(|| ApiError::unsupported_media_type(content_type))?;
            let mut ctx = write_context(query, headers, "patch")?;
            if ctx.manager.is_empty() && patch_type != PatchType::Apply {
                ctx.manager = header_str(headers, header::USER_AGENT)
                    .split('/')
                    .next()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("unknown")
                    .to_string();
            }
            if query.get("force").is_some() && patch_type != PatchType::Apply {
                return Err(ApiError::invalid(
                    "meta.k8s.io",
                    "PatchOptions",
                    "",
                    vec![crate::status::Cause {
                        reason: "FieldValueForbidden",
                        message: "Forbidden: may not be specified for non-apply patch".into(),
                        field: "force".into(),
                    }],
                ));
            }
            let name = request.name.as_deref().unwrap_or_default();
            let outcome = cluster.objects.patch(
                &rt,
                namespace.as_deref(),
                name,
                patch_type,
                &body,
                request.subresource.as_deref(),
                &ctx,
            )?;
            let status = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(object_response(
                &rt,
                status,
                outcome.body(),
                &outcome.warnings,
            ))
        }
        "delete" => {
            let options = delete_options(query, &body)?;
            let ctx = write_context(query, headers, "delete")?;
            let name = request.name.as_deref().unwrap_or_default();
            let outcome = cluster
                .objects
                .delete(&rt, &ns, name, &options, &ctx, Some(cluster))?;
            Ok(object_response(&rt, StatusCode::OK, outcome.body(), &[]))
        }
        "deletecollection" => {
            let options = delete_options(query, &body)?;
            let ctx = write_context(query, headers, "delete")?;
            let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?;
            let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), &rt.kind)?;
            let (objects, _) = cluster
                .store()
                .list(&rt.group_resource(), namespace.as_deref());
            let mut deleted = Vec::new();
            for object in objects
                .iter()
                .filter(|o| labels.matches(&o.value) && fields.matches(&o.value))
            {
                let key = ObjectKey::new(
                    object.meta_str("namespace").unwrap_or(""),
                    object.meta_str("name").unwrap_or(""),
                );
                match cluster.objects.delete(
                    &rt,
                    &key.namespace,
                    &key.name,
                    &options,
                    &ctx,
                    Some(cluster),
                ) {
                    Ok(outcome) => deleted.push(outcome.written.value().clone()),
                    Err(error) if error.code == 404 => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(value_response(
                StatusCode::OK,
                &json!({
                    "kind": rt.list_kind(), "apiVersion": rt.api_version(),
                    "metadata": {"resourceVersion": cluster.store().current_rv().to_string()}, "items": deleted,
                }),
            ))
        }
        other => Err(ApiError::method_not_allowed(format!(
            "verb {other} is not supported"
        ))),
    }
}

fn delete_options(query: &Query, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let from_body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).unwrap_or(json!({}))
    };
    let policy = query
        .get("propagationPolicy")
        .map(String::from)
        .or_else(|| {
            from_body
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .or_else(|| {
            match from_body
                .get("orphanDependents")
                .and_then(Value::as_bool)
                .or_else(|| query.get("orphanDependents").map(|v| v == "true"))
            {
                Some(true) => Some("Orphan".into()),
                _ => None,
            }
        });
    let propagation = match policy.as_deref() {
        None | Some("Background") => Propagation::Background,
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    Ok(DeleteOptions {
        propagation,
        precondition_uid: from_body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(String::from),
        precondition_rv: from_body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(String::from),
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    namespace: String,
    name: String,
}

fn list(
    cluster: &Cluster,
    rt: &ResourceType,
    namespace: Option<&str>,
    query: &Query,
    table: Option<IncludeObject>,
) -> Result<Response<Body>, ApiError> {
    use base64::Engine;
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), &rt.kind)?;
    let limit = match query.get("limit").map(str::parse::<i64>) {
        Some(Ok(n)) if n > 0 => n as usize,
        Some(Ok(_)) | None => usize::MAX,
        Some(Err(_)) => return Err(ApiError::bad_request("limit: must be an integer")),
    };
    let start_after = match query.get("continue") {
        Some(token) => {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| serde_json::from_slice::<ContinueToken>(&b).ok())
                .ok_or_else(|| {
                    ApiError::bad_request("continue key is not valid: illegal base64 data")
                })?;
            Some(ObjectKey::new(&decoded.namespace, &decoded.name))
        }
        None => None,
    };
    let ((items, rv), next, remaining) = cluster.store().list_page(
        &rt.group_resource(),
        namespace,
        start_after.as_ref(),
        limit,
        |o| labels.matches(&o.value) && fields.matches(&o.value),
    );
    let continue_token = next.map(|key| {
        let token = ContinueToken {
            rv,
            namespace: key.namespace,
            name: key.name,
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&token).unwrap_or_default())
    });
    if let Some(include) = table {
        let values: Vec<&Value> = items.iter().map(|o| &o.value).collect();
        let mut doc = table::table(rt, &values, include, &rv.to_string());
        if let Some(token) = &continue_token {
            doc["metadata"]["continue"] = json!(token);
        }
        return Ok(value_response(StatusCode::OK, &doc));
    }
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
        metadata["remainingItemCount"] = json!(remaining);
    }
    let mut out =
        BytesMut::with_capacity(items.iter().map(|o| o.json.len() + 1).sum::<usize>() + 256);
    out.put_slice(
        format!(
            "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
            rt.list_kind(),
            rt.api_version(),
            metadata
        )
        .as_bytes(),
    );
    for (i, object) in items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&reversion(rt, object.json.clone()));
    }
    out.put_slice(b"]}");
    Ok(json_response(
        StatusCode::OK,
        out.freeze(),
        "application/json",
    ))
}

fn watch_response(
    cluster: &Arc<Cluster>,
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    query: &Query,
    table: Option<IncludeObject>,
) -> Result<Response<Body>, ApiError> {
    let mut field_text = query.get("fieldSelector").unwrap_or("").to_string();
    if let Some(name) = name {
        if !field_text.is_empty() {
            field_text.push(',');
        }
        field_text.push_str(&format!("metadata.name={name}"));
    }
    let resource_version = match query.get("resourceVersion") {
        None | Some("0") => None,
        Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{rv}\": must be a number"
            ))
        })?),
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let request = WatchRequest {
        rt,
        namespace,
        labels: LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(&field_text, "")?,
        resource_version,
        bookmarks: query.flag("allowWatchBookmarks"),
        send_initial_events: query.flag("sendInitialEvents"),
        timeout,
        table,
    };
    let lines = watch::start(cluster.clone(), request);
    let stream =
        tokio_stream::wrappers::ReceiverStream::new(lines).map(Ok::<_, std::convert::Infallible>);
    let mut response = json_response(
        StatusCode::OK,
        Body::from_stream(stream),
        "application/json",
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(response)
}

use futures::StreamExt;

fn review(
    rt: &ResourceType,
    identity: &Identity,
    verb: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    if verb != "create" {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            rt.plural
        )));
    }
    let review = parse_body(headers, body)?;
    let answer = match rt.kind.as_str() {
        "SelfSubjectAccessReview" | "SubjectAccessReview" => identity.review_access(&review),
        "SelfSubjectRulesReview" => {
            let (resource_rules, non_resource_rules) = identity.rules();
            json!({
                "kind": "SelfSubjectRulesReview", "apiVersion": rt.api_version(), "metadata": {"creationTimestamp": null},
                "spec": review.get("spec").cloned().unwrap_or_default(),
                "status": {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false},
            })
        }
        _ => json!({
            "kind": "SelfSubjectReview", "apiVersion": rt.api_version(), "metadata": {"creationTimestamp": null},
            "status": {"userInfo": {"username": identity.user, "groups": identity.groups}},
        }),
    };
    Ok(value_response(StatusCode::CREATED, &answer))
}
