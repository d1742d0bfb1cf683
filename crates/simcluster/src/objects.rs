//! The object operations every writer uses, HTTP handlers and built-in controllers alike:
//! create, update, patch (JSON, merge, strategic, apply), delete, with managed fields,
//! finalizers, generation and namespace rules applied as the real server does.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::admission::{self, FieldValidation};
use crate::extensions::Operation;
use crate::list_types::ListSemantics;
use crate::managed::{self, Scope, Writer};
use crate::merge;
use crate::registry::Registry;
use crate::resources::{GroupResource, ResourceType};
use crate::status::{ApiError, Cause};
use crate::store::{ObjectKey, Store, StoredObject, Write, Written};

/// The current time as Kubernetes writes it.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Who writes and how.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub manager: String,
    pub dry_run: bool,
    pub force: bool,
    pub validation: FieldValidation,
    /// Internal writers (seeding, controllers creating objects with status) keep the status they send.
    pub keep_status: bool,
}

impl WriteContext {
    pub fn system(manager: &str) -> Self {
        Self {
            manager: manager.to_string(),
            dry_run: false,
            force: true,
            validation: FieldValidation::Ignore,
            keep_status: true,
        }
    }
}

/// The result of a write.
#[derive(Debug)]
pub struct Outcome {
    pub written: Written,
    pub created: bool,
    pub warnings: Vec<String>,
}

impl Outcome {
    /// The object as JSON bytes (stored bytes when the write was committed).
    pub fn body(&self) -> Bytes {
        match &self.written {
            Written::Stored(o) | Written::Deleted(o) => o.json.clone(),
            Written::DryRun(v) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
        }
    }
}

/// How a patch body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        match essence {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml"
            | "application/apply-patch+json"
            | "application/apply-patch+cbor" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// How a delete cascades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

/// Options of a delete.
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    pub propagation: Propagation,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        Self {
            propagation: Propagation::Background,
            precondition_uid: None,
            precondition_rv: None,
        }
    }
}

const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Object storage plus the rules of the API: the part of the server that is not HTTP.
pub struct Objects {
    pub store: Arc<Store>,
    pub registry: Arc<Registry>,
    pub extensions: crate::extensions::Extensions,
    next_service_ip: std::sync::atomic::AtomicU32,
}

fn semantics(rt: &ResourceType) -> ListSemantics<'_> {
    if rt.is_custom() {
        ListSemantics::for_schema(rt.schema.as_deref())
    } else {
        ListSemantics::builtin()
    }
}

fn meta_str<'v>(object: &'v Value, field: &str) -> Option<&'v str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// The part of an object that bumps `metadata.generation` when it changes.
fn generation_part(rt: &ResourceType, object: &Value) -> Value {
    let mut part = object.clone();
    if let Some(map) = part.as_object_mut() {
        map.remove("metadata");
        map.remove("apiVersion");
        map.remove("kind");
        if rt.status_subresource {
            map.remove("status");
        }
    }
    part
}

fn without_volatile(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    copy
}

impl Objects {
    pub fn new(store: Arc<Store>, registry: Arc<Registry>) -> Self {
        Self {
            store,
            registry,
            extensions: Default::default(),
            next_service_ip: std::sync::atomic::AtomicU32::new(10),
        }
    }

    fn allocate_service_ip(&self) -> String {
        let n = self
            .next_service_ip
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 1)
    }

    pub fn get(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<StoredObject>, ApiError> {
        self.store
            .get(&rt.group_resource(), &ObjectKey::new(namespace, name))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    /// Namespaced writes need the namespace to exist and not be terminating.
    fn check_namespace(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        if !rt.namespaced {
            return Ok(());
        }
        let ns = self
            .store
            .get(
                &GroupResource::new("", "namespaces"),
                &ObjectKey::new("", namespace),
            )
            .ok_or_else(|| ApiError::not_found("", "namespaces", namespace))?;
        if ns.value.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(ApiError::forbidden(format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                crate::status::qualified(&rt.group, &rt.plural)
            )));
        }
        Ok(())
    }

    /// Fill in identity, scope and server-owned metadata of a new object.
    fn prepare_new(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        object: &mut Value,
        ctx: &WriteContext,
    ) -> Result<(String, String), ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON or YAML object",
            ));
        }
        admission::check_identity(rt, object)?;
        object["apiVersion"] = json!(rt.api_version());
        object["kind"] = json!(rt.kind);
        if !object.get("metadata").is_some_and(Value::is_object) {
            object["metadata"] = json!({});
        }
        let body_namespace = meta_str(object, "namespace").map(String::from);
        let namespace = if rt.namespaced {
            let ns = match (namespace, body_namespace.as_deref()) {
                (Some(url), Some(body)) if url != body => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                (Some(url), _) => url.to_string(),
                (None, Some(body)) => body.to_string(),
                (None, None) => "default".to_string(),
            };
            object["metadata"]["namespace"] = json!(ns);
            ns
        } else {
            if let Some(meta) = object["metadata"].as_object_mut() {
                meta.remove("namespace");
            }
            String::new()
        };
        let name = match meta_str(object, "name") {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => match meta_str(object, "generateName") {
                Some(prefix) if !prefix.is_empty() => {
                    let suffix: String = (0..5)
                        .map(|_| {
                            GENERATE_ALPHABET[rand::random_range(0..GENERATE_ALPHABET.len())]
                                as char
                        })
                        .collect();
                    let name = format!("{prefix}{suffix}");
                    object["metadata"]["name"] = json!(name);
                    name
                }
                _ => {
                    return Err(ApiError::invalid(
                        &rt.group,
                        &rt.kind,
                        "",
                        vec![Cause {
                            reason: "FieldValueRequired",
                            message: "Required value: name or generateName is required".into(),
                            field: "metadata.name".into(),
                        }],
                    ));
                }
            },
        };
        admission::check_identity(rt, object)?;
        if meta_str(object, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
            return Err(ApiError::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let meta = object["metadata"]
            .as_object_mut()
            .expect("made an object above");
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now()));
        meta.insert("generation".into(), json!(1));
        for field in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "resourceVersion",
        ] {
            meta.remove(field);
        }
        if rt.status_subresource
            && !ctx.keep_status
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        admission::default_on_create(rt, object, || self.allocate_service_ip());
        if rt.group == "apiextensions.k8s.io" && rt.kind == "CustomResourceDefinition" {
            check_crd(object)?;
        }
        Ok((namespace, name))
    }

    /// Create an object (POST).
    pub fn create(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        mut object: Value,
        ctx: &WriteContext,
    ) -> Result<Outcome, ApiError> {
        let (namespace, name) = self.prepare_new(rt, namespace, &mut object, ctx)?;
        self.check_namespace(rt, &namespace, &name)?;
        let mut warnings = if rt.is_custom() {
            admission::validate_custom(rt, &mut object, ctx.validation)?
        } else {
            admission::validate_builtin(rt, &mut object, ctx.validation)?
        };
        warnings.extend(
            self.extensions
                .admit(Operation::Create, rt, None, &mut object)?,
        );
        let (now, api_version) = (now(), rt.api_version());
        let writer = self.writer(rt, &api_version, &ctx.manager, &now, None);
        managed::record_update(None, &mut object, &writer);
        let gr = rt.group_resource();
        let written = self
            .store
            .write(
                &gr,
                &ObjectKey::new(&namespace, &name),
                ctx.dry_run,
                |current| match current {
                    Some(_) => Err(ApiError::already_exists(&rt.group, &rt.plural, &name)),
                    None => Ok(Write::Put(object)),
                },
            )?
            .expect("a put always writes");
        self.after_write(rt, &written);
        Ok(Outcome {
            written,
            created: true,
            warnings,
        })
    }

    fn writer<'a>(
        &self,
        rt: &'a ResourceType,
        api_version: &'a str,
        manager: &'a str,
        now: &'a str,
        subresource: Option<&str>,
    ) -> Writer<'a> {
        Writer {
            manager,
            api_version,
            now,
            scope: if subresource == Some("status") {
                Scope::Status
            } else {
                Scope::Main {
                    skip_status: rt.status_subresource,
                }
            },
            semantics: semantics(rt),
        }
    }

    /// Turn a proposed new state of an existing object into what gets stored: server fields kept,
    /// status or spec kept depending on the subresource, generation bumped, schema checked.
    fn finish_update(
        &self,
        rt: &ResourceType,
        old: &Value,
        mut new: Value,
        subresource: Option<&str>,
        ctx: &WriteContext,
        record: bool,
    ) -> Result<(Write, Vec<String>), ApiError> {
        if !new.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON or YAML object",
            ));
        }
        admission::check_identity(rt, &new)?;
        new["apiVersion"] = json!(rt.api_version());
        new["kind"] = json!(rt.kind);
        if !new.get("metadata").is_some_and(Value::is_object) {
            new["metadata"] = json!({});
        }
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
        ] {
            match old["metadata"].get(field) {
                Some(v) => new["metadata"][field] = v.clone(),
                None => {
                    if let Some(meta) = new["metadata"].as_object_mut() {
                        meta.remove(field);
                    }
                }
            }
        }
        match subresource {
            Some("status") => {
                let status = new.get("status").cloned();
                let mut next = old.clone();
                match status {
                    Some(s) => next["status"] = s,
                    None => {
                        if let Some(map) = next.as_object_mut() {
                            map.remove("status");
                        }
                    }
                }
                next["metadata"]["managedFields"] = new["metadata"]
                    .get("managedFields")
                    .cloned()
                    .unwrap_or(Value::Null);
                if next["metadata"]["managedFields"].is_null()
                    && let Some(meta) = next["metadata"].as_object_mut()
                {
                    meta.remove("managedFields");
                }
                new = next;
            }
            Some("finalize") => {
                let finalizers = new
                    .pointer("/spec/finalizers")
                    .cloned()
                    .unwrap_or(json!([]));
                let mut next = old.clone();
                next["spec"]["finalizers"] = finalizers;
                new = next;
            }
            _ => {
                if rt.status_subresource && !ctx.keep_status {
                    match old.get("status") {
                        Some(s) => new["status"] = s.clone(),
                        None => {
                            if let Some(map) = new.as_object_mut() {
                                map.remove("status");
                            }
                        }
                    }
                }
            }
        }
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let bumped = if generation_part(rt, old) != generation_part(rt, &new) {
            generation + 1
        } else {
            generation
        };
        new["metadata"]["generation"] = json!(bumped);
        let mut warnings = if rt.is_custom() {
            admission::validate_custom(rt, &mut new, ctx.validation)?
        } else {
            admission::validate_builtin(rt, &mut new, ctx.validation)?
        };
        warnings.extend(
            self.extensions
                .admit(Operation::Update, rt, Some(old), &mut new)?,
        );
        if record {
            let (now, api_version) = (now(), rt.api_version());
            let writer = self.writer(rt, &api_version, &ctx.manager, &now, subresource);
            managed::record_update(Some(old), &mut new, &writer);
        }
        if without_volatile(&new) == without_volatile(old) {
            return Ok((Write::Unchanged, warnings));
        }
        if new.pointer("/metadata/deletionTimestamp").is_some() && !admission::has_finalizers(&new)
        {
            return Ok((Write::Delete, warnings));
        }
        Ok((Write::Put(new), warnings))
    }

    /// Replace an object (PUT), optionally a subresource (`status`, `finalize`).
    pub fn update(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        object: Value,
        subresource: Option<&str>,
        ctx: &WriteContext,
    ) -> Result<Outcome, ApiError> {
        if let Some(body_name) = meta_str(&object, "name")
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let sent_rv = meta_str(&object, "resourceVersion")
            .filter(|rv| !rv.is_empty())
            .map(String::from);
        let mut warnings = Vec::new();
        let written = self
            .store
            .write(
                &rt.group_resource(),
                &ObjectKey::new(namespace, name),
                ctx.dry_run,
                |current| {
                    let current =
                        current.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
                    if let Some(rv) = &sent_rv
                        && *rv != current.rv.to_string()
                    {
                        return Err(ApiError::stale(&rt.group, &rt.plural, name));
                    }
                    let (write, w) =
                        self.finish_update(rt, &current.value, object, subresource, ctx, true)?;
                    warnings = w;
                    Ok(write)
                },
            )?
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        self.after_write(rt, &written);
        Ok(Outcome {
            written,
            created: false,
            warnings,
        })
    }

    /// Patch an object; an apply patch creates it when missing.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch_type: PatchType,
        body: &[u8],
        subresource: Option<&str>,
        ctx: &WriteContext,
    ) -> Result<Outcome, ApiError> {
        let ns = if rt.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        match patch_type {
            PatchType::Apply => self.apply(rt, ns, name, body, subresource, ctx),
            PatchType::Strategic if rt.is_custom() => Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json is not supported for custom resources",
            )),
            _ => {
                let patch: Value = serde_json::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                let mut warnings = Vec::new();
                let written = self
                    .store
                    .write(
                        &rt.group_resource(),
                        &ObjectKey::new(ns, name),
                        ctx.dry_run,
                        |current| {
                            let current = current
                                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
                            let mut patched = current.value.clone();
                            match patch_type {
                                PatchType::Json => {
                                    let ops: json_patch::Patch =
                                        serde_json::from_value(patch.clone()).map_err(|e| {
                                            ApiError::bad_request(format!(
                                                "error decoding JSON patch: {e}"
                                            ))
                                        })?;
                                    json_patch::patch(&mut patched, &ops).map_err(|e| {
                                        ApiError::invalid(
                                            &rt.group,
                                            &rt.kind,
                                            name,
                                            vec![Cause {
                                                reason: "FieldValueInvalid",
                                                message: format!(
                                                    "the JSON patch could not be applied: {e}"
                                                ),
                                                field: "patch".into(),
                                            }],
                                        )
                                    })?;
                                }
                                PatchType::Merge => json_patch::merge(&mut patched, &patch),
                                PatchType::Strategic => {
                                    merge::strategic_merge(&mut patched, &patch, semantics(rt))
                                        .map_err(|e| ApiError::bad_request(e.to_string()))?
                                }
                                PatchType::Apply => unreachable!("handled above"),
                            }
                            if let Some(rv) = meta_str(&patched, "resourceVersion")
                                && rv != current.rv.to_string()
                            {
                                return Err(ApiError::stale(&rt.group, &rt.plural, name));
                            }
                            let (write, w) = self.finish_update(
                                rt,
                                &current.value,
                                patched,
                                subresource,
                                ctx,
                                true,
                            )?;
                            warnings = w;
                            Ok(write)
                        },
                    )?
                    .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
                self.after_write(rt, &written);
                Ok(Outcome {
                    written,
                    created: false,
                    warnings,
                })
            }
        }
    }

    fn apply(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        body: &[u8],
        subresource: Option<&str>,
        ctx: &WriteContext,
    ) -> Result<Outcome, ApiError> {
        if ctx.manager.is_empty() {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "PatchOptions",
                "",
                vec![Cause {
                    reason: "FieldValueRequired",
                    message: "Required value: is required for apply patch".into(),
                    field: "fieldManager".into(),
                }],
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("apply patch is not UTF-8"))?;
        let mut applied: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        if !applied.is_object() {
            return Err(ApiError::bad_request(
                "the apply patch must be a YAML or JSON object",
            ));
        }
        admission::check_identity(rt, &applied)?;
        if applied.get("kind").is_none() || applied.get("apiVersion").is_none() {
            return Err(ApiError::bad_request(
                "apply patches must set apiVersion and kind",
            ));
        }
        match meta_str(&applied, "name") {
            Some(n) if n != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            _ => applied["metadata"]["name"] = json!(name),
        }
        if rt.namespaced {
            applied["metadata"]["namespace"] = json!(namespace);
        }
        let gr = rt.group_resource();
        let key = ObjectKey::new(namespace, name);
        let exists = self.store.get(&gr, &key).is_some();
        if !exists {
            self.check_namespace(rt, namespace, name)?;
        }
        let (now, api_version) = (now(), rt.api_version());
        let writer = self.writer(rt, &api_version, &ctx.manager, &now, subresource);
        let mut warnings = Vec::new();
        let mut created = false;
        let written = self
            .store
            .write(&gr, &key, ctx.dry_run, |current| match current {
                None => {
                    if subresource.is_some() {
                        return Err(ApiError::not_found(&rt.group, &rt.plural, name));
                    }
                    let mut object = managed::apply(None, &applied, &writer, ctx.force)
                        .map_err(|c| ApiError::apply_conflicts(&rt.group, &rt.plural, name, &c))?;
                    let managed_fields = object["metadata"].get("managedFields").cloned();
                    if let Some(meta) = object["metadata"].as_object_mut() {
                        meta.remove("managedFields");
                    }
                    self.prepare_new(rt, Some(namespace), &mut object, ctx)?;
                    if let Some(fields) = managed_fields {
                        object["metadata"]["managedFields"] = fields;
                    }
                    warnings = if rt.is_custom() {
                        admission::validate_custom(rt, &mut object, ctx.validation)?
                    } else {
                        admission::validate_builtin(rt, &mut object, ctx.validation)?
                    };
                    warnings.extend(self.extensions.admit(
                        Operation::Create,
                        rt,
                        None,
                        &mut object,
                    )?);
                    created = true;
                    Ok(Write::Put(object))
                }
                Some(current) => {
                    let merged = managed::apply(Some(&current.value), &applied, &writer, ctx.force)
                        .map_err(|c| ApiError::apply_conflicts(&rt.group, &rt.plural, name, &c))?;
                    let (write, w) =
                        self.finish_update(rt, &current.value, merged, subresource, ctx, false)?;
                    warnings = w;
                    Ok(write)
                }
            })?
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        self.after_write(rt, &written);
        Ok(Outcome {
            written,
            created,
            warnings,
        })
    }

    /// Delete an object: at once, or by marking it (deletionTimestamp) while finalizers remain.
    /// `cluster` lets delete admission hooks look around (None skips them).
    pub fn delete(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
        ctx: &WriteContext,
        cluster: Option<&crate::cluster::Cluster>,
    ) -> Result<Outcome, ApiError> {
        let gr = rt.group_resource();
        let key = ObjectKey::new(namespace, name);
        let existing = self.store.get(&gr, &key);
        let has_dependents = existing
            .as_ref()
            .is_some_and(|o| !self.store.dependents_of(o.uid()).is_empty());
        if let Some(object) = &existing
            && object
                .value
                .pointer("/metadata/deletionTimestamp")
                .is_none()
            && let Some(cluster) = cluster
        {
            for hook in self.extensions.admission() {
                hook.admit_delete(cluster, rt, &object.value)?;
            }
        }
        let written = self
            .store
            .write(&gr, &key, ctx.dry_run, |current| {
                let current = current.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
                if let Some(uid) = &options.precondition_uid
                    && uid != current.uid()
                {
                    return Err(ApiError::conflict(&rt.group, &rt.plural, name, &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", current.uid())));
                }
                if let Some(rv) = &options.precondition_rv
                    && *rv != current.rv.to_string()
                {
                    return Err(ApiError::conflict(&rt.group, &rt.plural, name, &format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}", current.rv)));
                }
                let mut object = current.value.clone();
                let already = object.pointer("/metadata/deletionTimestamp").is_some();
                match options.propagation {
                    Propagation::Foreground if has_dependents => {
                        admission::add_finalizer(&mut object, "foregroundDeletion");
                    }
                    Propagation::Orphan if has_dependents => {
                        admission::add_finalizer(&mut object, "orphan");
                    }
                    _ => {}
                }
                if !admission::has_finalizers(&object) {
                    return Ok(Write::Delete);
                }
                if already && object == current.value {
                    return Ok(Write::Unchanged);
                }
                if !already {
                    object["metadata"]["deletionTimestamp"] = json!(now());
                    object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                    if rt.kind == "Namespace" && rt.group.is_empty() {
                        object["status"]["phase"] = json!("Terminating");
                    }
                }
                Ok(Write::Put(object))
            })?
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        self.after_write(rt, &written);
        Ok(Outcome {
            written,
            created: false,
            warnings: Vec::new(),
        })
    }

    /// Work that follows a committed write: CRDs start (or change) serving their API; a CRD
    /// being deleted never starts serving again (its controller stops serving it once its
    /// objects are gone, and a later write, e.g. a finalizer's removal, must not undo that), and
    /// a deleted one stops.
    fn after_write(&self, rt: &ResourceType, written: &Written) {
        if rt.group != "apiextensions.k8s.io" || rt.kind != "CustomResourceDefinition" {
            return;
        }
        match written {
            Written::Stored(object)
                if object
                    .value
                    .pointer("/metadata/deletionTimestamp")
                    .is_none() =>
            {
                self.registry.register_crd(&object.value);
            }
            Written::Deleted(object) => {
                if let Some(types) = crate::registry::crd_resource_types(&object.value)
                    && let Some(first) = types.first()
                {
                    self.registry.unregister(&first.group_resource());
                }
            }
            _ => {}
        }
    }
}

/// A CRD's name must be `<plural>.<group>`.
fn check_crd(crd: &Value) -> Result<(), ApiError> {
    let name = meta_str(crd, "name").unwrap_or("");
    let plural = crd
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or("");
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut causes = Vec::new();
    if group.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired",
            message: "Required value".into(),
            field: "spec.group".into(),
        });
    }
    if plural.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired",
            message: "Required value".into(),
            field: "spec.names.plural".into(),
        });
    }
    if crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .is_none_or(|v| v.is_empty())
    {
        causes.push(Cause {
            reason: "FieldValueRequired",
            message: "Required value: must have at least one version".into(),
            field: "spec.versions".into(),
        });
    }
    if causes.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            message: format!(
                "Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
            ),
            field: "metadata.name".into(),
        });
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            name,
            causes,
        ))
    }
}
