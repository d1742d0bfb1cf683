//! The VM dashboard's `App` calls over `vmdeck_console::dashboard`: the create form's choices
//! (read from the cluster), a draft checked at its fields, reviewed as YAML and created, a VM's
//! disk import followed live, snapshots (capability, take, list, delete, restore with the VM
//! stopped first), clone, delete with or without disks, a VM's settings and their edit.
//!
//! Field errors are answers, not failures: `{field, message, fix}` for each, nothing created.

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vmdeck_console::dashboard::clone::{CloneError, CloneMethod, clone_vm};
use vmdeck_console::dashboard::cluster_check::{
    ClusterCheckError, DEFAULT_CLASS_ANNOTATIONS, data_source_ready,
};
use vmdeck_console::dashboard::delete_vm::{DeleteError, delete_vm};
use vmdeck_console::dashboard::disk_progress::{DiskProgressError, watch_disks};
use vmdeck_console::dashboard::edit_vm::{EditError, VmEdit, edit_vm, restart_required};
use vmdeck_console::dashboard::resources;
use vmdeck_console::dashboard::snapshots::{self, SnapshotError, disk_claims};
use vmdeck_console::dashboard::{CreateError, FieldError, TypeRef, VmDraft, create, review};
use vmdeck_console::kinds::{vm_resource, vmi_resource};

use crate::app::App;
use crate::calls::Events;
use crate::console_requests::VmRef;
use crate::dashboard_views::{
    CloneDoneView, CloneMethodView, CloneVmInput, CreatedVmView, DeleteVmInput, DeletedVmView,
    DiskEventView, DraftFieldErrorView, EditVmInput, EditedVmView, GoldenImageView,
    RestoreDoneView, RestoreStepView, SnapshotCapabilityView, SnapshotInput, SnapshotRowView,
    StorageClassChoiceView, VmCreateView, VmDraftCheckView, VmDraftInput, VmFormChoicesInput,
    VmFormChoicesView, VmReviewView, VmSettingsView, VmTypeChoiceView, VmTypeRef,
};
use crate::ui_error::UiError;

/// The engine's type from its mirror (or back): both have the same serde shape.
fn same_shape<T: DeserializeOwned>(from: &impl Serialize) -> Result<T, UiError> {
    serde_json::to_value(from)
        .and_then(serde_json::from_value)
        .map_err(UiError::internal)
}

fn kube_error(err: kube::Error) -> UiError {
    match err {
        kube::Error::Api(status) if matches!(status.code, 401 | 403) => {
            UiError::new("not_allowed", format!("not allowed: {}", status.message))
        }
        kube::Error::Api(status) => UiError::new(
            "api_error",
            format!("HTTP {}: {}", status.code, status.message),
        ),
        other => UiError::new(
            "unreachable",
            format!("the cluster could not be reached: {other}"),
        ),
    }
}

impl From<SnapshotError> for UiError {
    fn from(err: SnapshotError) -> Self {
        let code = match &err {
            SnapshotError::NotPossible(_) => "snapshots_not_possible",
            SnapshotError::NoVm(_) => "no_vm",
            SnapshotError::Stop(_) => "stop_failed",
            SnapshotError::Failed(_) => "snapshot_failed",
            SnapshotError::RestoreFailed(_) => "restore_failed",
            SnapshotError::Kube(_) => "api_error",
        };
        UiError::new(code, err.to_string())
    }
}

impl From<CloneError> for UiError {
    fn from(err: CloneError) -> Self {
        match err {
            CloneError::Snapshot(snapshot) => snapshot.into(),
            other => UiError::new("clone_failed", other.to_string()),
        }
    }
}

impl From<DeleteError> for UiError {
    fn from(err: DeleteError) -> Self {
        let (code, field) = match &err {
            DeleteError::NameMismatch { .. } => ("name_mismatch", Some("typed")),
            DeleteError::NoVm(_) => ("no_vm", None),
            DeleteError::Kube(_) => ("api_error", None),
        };
        let mut ui = UiError::new(code, err.to_string());
        ui.field = field.map(String::from);
        ui
    }
}

impl From<EditError> for UiError {
    fn from(err: EditError) -> Self {
        match err {
            EditError::Invalid { field, message } => UiError {
                field: Some(field),
                ..UiError::new("invalid_edit", message)
            },
            EditError::NoVm(vm) => UiError::new("no_vm", format!("there is no VM {vm}")),
            EditError::Kube(kube) => kube_error(kube),
        }
    }
}

impl From<DiskProgressError> for UiError {
    fn from(err: DiskProgressError) -> Self {
        match err {
            DiskProgressError::NoVm(vm) => UiError::new("no_vm", format!("there is no VM {vm}")),
            DiskProgressError::Kube(kube) => kube_error(kube),
        }
    }
}

impl From<ClusterCheckError> for UiError {
    fn from(err: ClusterCheckError) -> Self {
        UiError::new("check_failed", err.to_string())
    }
}

/// A create or review that did not get through: field errors are an answer, the rest fail.
fn field_errors(err: CreateError) -> Result<Vec<DraftFieldErrorView>, UiError> {
    match err {
        CreateError::Invalid(errors) => Ok(errors.0.iter().map(field_view).collect()),
        other => Err(UiError::new(other.code(), other.to_string())),
    }
}

fn field_view(error: &FieldError) -> DraftFieldErrorView {
    DraftFieldErrorView {
        field: error.field.clone(),
        message: error.message.clone(),
        fix: error.fix.clone(),
    }
}

/// Every object of a kind (all namespaces, or one); not served or not allowed: none.
async fn list_values(
    client: &kube::Client,
    namespace: Option<&str>,
    resource: ApiResource,
) -> Result<Vec<Value>, UiError> {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(list
            .items
            .into_iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect()),
        Err(kube::Error::Api(status)) if matches!(status.code, 403 | 404) => Ok(Vec::new()),
        Err(other) => Err(kube_error(other)),
    }
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(String::from)
}

fn name_of(value: &Value) -> String {
    text(value, "/metadata/name").unwrap_or_default()
}

fn type_choice(value: &Value, cluster_wide: bool) -> VmTypeChoiceView {
    VmTypeChoiceView {
        name: name_of(value),
        cluster_wide,
        cpus: value
            .pointer("/spec/cpu/guest")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok()),
        memory: text(value, "/spec/memory/guest"),
    }
}

fn core_resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn is_default_class(class: &Value) -> bool {
    DEFAULT_CLASS_ANNOTATIONS.iter().any(|key| {
        class
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(*key))
            .and_then(Value::as_str)
            == Some("true")
    })
}

impl App {
    /// The create form's choices on a cluster.
    pub async fn vm_form_choices(
        &self,
        input: VmFormChoicesInput,
    ) -> Result<VmFormChoicesView, UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        let ns = input.namespace.as_deref().filter(|ns| !ns.is_empty());
        let namespaced_types = async {
            match ns {
                Some(ns) => Ok::<_, UiError>((
                    list_values(&client, Some(ns), resources::instancetype(false)).await?,
                    list_values(&client, Some(ns), resources::preference(false)).await?,
                )),
                None => Ok((Vec::new(), Vec::new())),
            }
        };
        let (namespaces, instancetypes, preferences, images, classes, networks, local) = tokio::try_join!(
            list_values(
                &client,
                None,
                core_resource("", "v1", "Namespace", "namespaces")
            ),
            list_values(&client, None, resources::instancetype(true)),
            list_values(&client, None, resources::preference(true)),
            list_values(&client, None, resources::data_source()),
            list_values(
                &client,
                None,
                core_resource("storage.k8s.io", "v1", "StorageClass", "storageclasses")
            ),
            list_values(&client, None, resources::network_attachment_definition()),
            namespaced_types,
        )?;
        let (local_types, local_prefs) = local;
        let mut namespaces: Vec<String> = namespaces.iter().map(name_of).collect();
        namespaces.sort();
        let types = |cluster: &[Value], local: &[Value]| {
            let mut all: Vec<VmTypeChoiceView> = cluster
                .iter()
                .map(|v| type_choice(v, true))
                .chain(local.iter().map(|v| type_choice(v, false)))
                .collect();
            all.sort_by(|a, b| (a.cpus, &a.memory, &a.name).cmp(&(b.cpus, &b.memory, &b.name)));
            all
        };
        let mut golden_images: Vec<GoldenImageView> = images
            .iter()
            .map(|d| GoldenImageView {
                namespace: text(d, "/metadata/namespace").unwrap_or_default(),
                name: name_of(d),
                ready: data_source_ready(d),
            })
            .collect();
        golden_images.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let mut storage_classes: Vec<StorageClassChoiceView> = classes
            .iter()
            .map(|c| StorageClassChoiceView {
                name: name_of(c),
                default: is_default_class(c),
            })
            .collect();
        storage_classes.sort_by(|a, b| (!a.default, &a.name).cmp(&(!b.default, &b.name)));
        let mut networks: Vec<String> = networks
            .iter()
            .map(|n| {
                format!(
                    "{}/{}",
                    text(n, "/metadata/namespace").unwrap_or_default(),
                    name_of(n)
                )
            })
            .collect();
        networks.sort();
        Ok(VmFormChoicesView {
            namespaces,
            instancetypes: types(&instancetypes, &local_types),
            preferences: types(&preferences, &local_prefs),
            golden_images,
            storage_classes,
            networks,
        })
    }

    async fn draft_client(&self, input: &VmDraftInput) -> Result<(kube::Client, VmDraft), UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        Ok((client, same_shape::<VmDraft>(&input.draft)?))
    }

    /// The draft checked at its fields (form, then cluster).
    pub async fn check_vm_draft(&self, input: VmDraftInput) -> Result<VmDraftCheckView, UiError> {
        let (client, draft) = self.draft_client(&input).await?;
        let errors = match vmdeck_console::dashboard::create::validate(&client, &draft).await {
            Ok(()) => Vec::new(),
            Err(err) => field_errors(err)?,
        };
        Ok(VmDraftCheckView { errors })
    }

    /// The exact objects `create_vm` would make, as YAML (or the field errors).
    pub async fn review_vm(&self, input: VmDraftInput) -> Result<VmReviewView, UiError> {
        let (client, draft) = self.draft_client(&input).await?;
        Ok(match review(&client, &draft).await {
            Ok(review) => VmReviewView {
                errors: Vec::new(),
                yaml: Some(review.yaml),
            },
            Err(err) => VmReviewView {
                errors: field_errors(err)?,
                yaml: None,
            },
        })
    }

    /// Creates the draft's objects (or answers the field errors, nothing created).
    pub async fn create_vm(&self, input: VmDraftInput) -> Result<VmCreateView, UiError> {
        let (client, draft) = self.draft_client(&input).await?;
        Ok(match create(&client, &draft).await {
            Ok(created) => VmCreateView {
                errors: Vec::new(),
                created: Some(CreatedVmView {
                    namespace: created.namespace,
                    name: created.name,
                    secret: created.secret,
                    disks: created.disks,
                }),
            },
            Err(err) => VmCreateView {
                errors: field_errors(err)?,
                created: None,
            },
        })
    }

    /// A VM's disk imports: progress events until every disk is ready or one failed.
    pub async fn watch_vm_disks(
        &self,
        vm: VmRef,
        events: Events<DiskEventView>,
    ) -> Result<(), UiError> {
        let (_, client) = self.vm_client(&vm.cluster).await?;
        let stream = watch_disks(&client, &vm.namespace, &vm.name).await?;
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                event = stream.next() => match event {
                    Some(event) => match events.send(same_shape::<DiskEventView>(&event)?).await {
                        Ok(()) => {}
                        Err(closed) if closed.code == "stream_closed" => return Ok(()),
                        Err(other) => return Err(other),
                    },
                    None => return Ok(()),
                },
                () = events.closed() => return Ok(()),
            }
        }
    }

    /// Whether the VM can be snapshotted, else what is missing.
    pub async fn snapshot_capability(&self, vm: VmRef) -> Result<SnapshotCapabilityView, UiError> {
        let (_, client) = self.vm_client(&vm.cluster).await?;
        let can = snapshots::capability(&client, &vm.namespace, &vm.name).await?;
        Ok(SnapshotCapabilityView {
            available: can.available,
            reason: can.reason,
        })
    }

    /// The VM's snapshots with phase and size.
    pub async fn list_vm_snapshots(&self, vm: VmRef) -> Result<Vec<SnapshotRowView>, UiError> {
        let (_, client) = self.vm_client(&vm.cluster).await?;
        let rows = snapshots::list(&client, &vm.namespace, Some(&vm.name)).await?;
        same_shape(&rows)
    }

    /// Takes a snapshot and waits until it is ready; answers the VM's snapshots then.
    pub async fn take_vm_snapshot(
        &self,
        input: SnapshotInput,
    ) -> Result<Vec<SnapshotRowView>, UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        snapshots::take(&client, &input.namespace, &input.vm, &input.snapshot).await?;
        snapshots::wait_ready(&client, &input.namespace, &input.snapshot).await?;
        let rows = snapshots::list(&client, &input.namespace, Some(&input.vm)).await?;
        same_shape(&rows)
    }

    /// Deletes a snapshot; answers the VM's snapshots left.
    pub async fn delete_vm_snapshot(
        &self,
        input: SnapshotInput,
    ) -> Result<Vec<SnapshotRowView>, UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        snapshots::delete(&client, &input.namespace, &input.snapshot).await?;
        let rows = snapshots::list(&client, &input.namespace, Some(&input.vm)).await?;
        Ok(same_shape::<Vec<SnapshotRowView>>(&rows)?
            .into_iter()
            .filter(|r| r.name != input.snapshot)
            .collect())
    }

    /// Restores the VM from a snapshot, stopping it first when it runs (each step an event).
    pub async fn restore_vm_snapshot(
        &self,
        input: SnapshotInput,
        events: Events<RestoreStepView>,
    ) -> Result<RestoreDoneView, UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        let (steps, mut step_queue) = tokio::sync::mpsc::unbounded_channel();
        let restore = snapshots::restore(
            &client,
            &input.namespace,
            &input.vm,
            &input.snapshot,
            move |step| {
                let _ = steps.send(step.clone());
            },
        );
        let mut restore = std::pin::pin!(restore);
        let stopped = loop {
            tokio::select! {
                done = &mut restore => break done?,
                Some(step) = step_queue.recv() => {
                    // A window gone away does not stop the restore half-way.
                    let _ = events.send(same_shape::<RestoreStepView>(&step)?).await;
                }
            }
        };
        while let Ok(step) = step_queue.try_recv() {
            let _ = events.send(same_shape::<RestoreStepView>(&step)?).await;
        }
        Ok(RestoreDoneView { stopped })
    }

    /// Clones a VM (VirtualMachineClone, else from a snapshot) and waits until it is done.
    pub async fn clone_vm(&self, input: CloneVmInput) -> Result<CloneDoneView, UiError> {
        if let Some(problem) =
            vmdeck_console::dashboard::form_check::dns_label_problem(&input.target)
        {
            return Err(UiError {
                field: Some("target".into()),
                ..UiError::new(
                    "invalid_name",
                    format!("the clone's name {problem}: use lowercase letters, digits and '-'"),
                )
            });
        }
        let (_, client) = self.vm_client(&input.cluster).await?;
        let method = clone_vm(&client, &input.namespace, &input.name, &input.target).await?;
        Ok(CloneDoneView {
            target: input.target,
            method: match method {
                CloneMethod::VirtualMachineClone => CloneMethodView::VirtualMachineClone,
                CloneMethod::FromSnapshot => CloneMethodView::FromSnapshot,
            },
        })
    }

    /// Deletes a VM once its name was typed, with or without its disks.
    pub async fn delete_vm(&self, input: DeleteVmInput) -> Result<DeletedVmView, UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        let deleted = delete_vm(
            &client,
            &input.namespace,
            &input.name,
            &input.typed,
            input.keep_disks,
        )
        .await?;
        same_shape(&deleted)
    }

    /// A VM's settings for its page: CPU, memory, run strategy, instancetype, disks, running.
    pub async fn vm_settings(&self, vm: VmRef) -> Result<VmSettingsView, UiError> {
        let (_, client) = self.vm_client(&vm.cluster).await?;
        let vms: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &vm.namespace, &vm_resource());
        let vmis: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &vm.namespace, &vmi_resource());
        let (object, vmi) =
            tokio::try_join!(vms.get_opt(&vm.name), vmis.get_opt(&vm.name)).map_err(kube_error)?;
        let object = object.ok_or_else(|| {
            UiError::new(
                "no_vm",
                format!("there is no VM {}/{}", vm.namespace, vm.name),
            )
        })?;
        let value = serde_json::to_value(&object).map_err(UiError::internal)?;
        let domain = value.pointer("/spec/template/spec/domain");
        let cpu = |key: &str| {
            domain
                .and_then(|d| d.pointer(&format!("/cpu/{key}")))
                .and_then(Value::as_u64)
        };
        let cpus = match (cpu("sockets"), cpu("cores"), cpu("threads")) {
            (None, None, None) => None,
            (s, c, t) => u32::try_from(s.unwrap_or(1) * c.unwrap_or(1) * t.unwrap_or(1)).ok(),
        };
        Ok(VmSettingsView {
            namespace: vm.namespace,
            name: vm.name,
            running: vmi.is_some(),
            run_strategy: text(&value, "/spec/runStrategy").or_else(|| {
                value
                    .pointer("/spec/running")
                    .and_then(Value::as_bool)
                    .map(|r| if r { "Always" } else { "Halted" }.to_string())
            }),
            cpus,
            memory: domain.and_then(|d| text(d, "/memory/guest")),
            instancetype: text(&value, "/spec/instancetype/name").map(|name| VmTypeRef {
                name,
                cluster_wide: text(&value, "/spec/instancetype/kind").as_deref()
                    != Some("VirtualMachineInstancetype"),
            }),
            preference: text(&value, "/spec/preference/name"),
            disks: disk_claims(&value),
            restart_required: restart_required(&value),
        })
    }

    /// Edits CPU, memory (or the instancetype) and run strategy.
    pub async fn edit_vm(&self, input: EditVmInput) -> Result<EditedVmView, UiError> {
        let (_, client) = self.vm_client(&input.cluster).await?;
        let edit = VmEdit {
            cpus: input.cpus,
            memory: input.memory.filter(|m| !m.is_empty()),
            instancetype: input.instancetype.map(|t| TypeRef {
                name: t.name,
                cluster_wide: t.cluster_wide,
            }),
            run_strategy: input.run_strategy.filter(|s| !s.is_empty()),
        };
        let edited = edit_vm(&client, &input.namespace, &input.name, &edit).await?;
        Ok(EditedVmView {
            vm: edited.vm,
            restart_needed: edited.restart_needed,
            restart_condition: edited.restart_condition,
        })
    }
}

/// Only the draft's shape is converted here; a draft written by the UI reads as the engine's.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard_views::{BootSourceView, VmDraftView, VmNetworksView};

    #[test]
    fn a_ui_draft_reads_as_the_engines() {
        let view = VmDraftView {
            namespace: "dev".into(),
            name: "web".into(),
            instancetype: Some(VmTypeRef {
                name: "vmdeck-small".into(),
                cluster_wide: true,
            }),
            preference: None,
            boot_source: Some(BootSourceView::DataSource {
                namespace: "vm-dashboard".into(),
                name: "fedora".into(),
            }),
            disk_size: "30Gi".into(),
            storage_class: None,
            networks: VmNetworksView {
                pod: true,
                multus: vec!["lan".into()],
            },
            cloud_init: None,
            start: true,
        };
        let draft: VmDraft = same_shape(&view).unwrap();
        assert_eq!(draft.instancetype, Some(TypeRef::cluster("vmdeck-small")));
        assert_eq!(
            draft.boot_source,
            Some(vmdeck_console::dashboard::BootSource::DataSource {
                namespace: "vm-dashboard".into(),
                name: "fedora".into()
            })
        );
        assert_eq!(draft.networks.multus, ["lan"]);
        let back: VmDraftView = same_shape(&draft).unwrap();
        assert_eq!(back, view);
    }
}
