//! Review and create: the draft checked (form, then cluster; every field error at once), built,
//! shown as YAML, then created: the Secret first, the VM, then the Secret owned by the VM. A
//! failure on the way removes what was made, so nothing is left half-created.

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde::Serialize;
use serde_json::json;

use super::build::{Built, ReviewError, build};
use super::cluster_check::{ClusterCheckError, check_cluster};
use super::draft::{FieldErrors, VmDraft};
use super::form_check::check_form;
use crate::kinds::vm_resource;

/// Why a VM was not created (or not reviewed).
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Check(#[from] ClusterCheckError),
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error("creating {what}: {source}")]
    Create { what: String, source: kube::Error },
}

impl CreateError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_draft",
            Self::Check(_) => "check_failed",
            Self::Review(_) => "review_failed",
            Self::Create { .. } => "create_failed",
        }
    }
}

/// What the review step shows: the objects and their YAML.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub objects: Built,
    /// The objects as YAML, the Secret's values hidden.
    pub yaml: String,
}

/// What was created.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub secret: Option<String>,
    pub disks: Vec<String>,
}

/// Check the draft (on its own, then against the cluster): every field error at once.
pub async fn validate(client: &kube::Client, draft: &VmDraft) -> Result<(), CreateError> {
    let mut errors = check_form(draft);
    if errors.is_empty() {
        errors = check_cluster(client, draft).await?;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CreateError::Invalid(FieldErrors(errors)))
    }
}

/// Check the draft and show the objects that `create` would make.
pub async fn review(client: &kube::Client, draft: &VmDraft) -> Result<Review, CreateError> {
    validate(client, draft).await?;
    let objects = build(draft);
    let yaml = objects.review_yaml()?;
    Ok(Review { objects, yaml })
}

fn as_dynamic(value: &serde_json::Value) -> DynamicObject {
    serde_json::from_value(value.clone()).expect("built objects are objects")
}

/// Check the draft, then create its objects.
pub async fn create(client: &kube::Client, draft: &VmDraft) -> Result<Created, CreateError> {
    validate(client, draft).await?;
    let built = build(draft);
    let ns = draft.namespace.as_str();
    let secrets: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
    );
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &vm_resource());
    let failed = |what: &str| {
        let what = what.to_string();
        move |source| CreateError::Create { what, source }
    };
    let secret_name = draft.cloud_init_secret_name();
    if let Some(secret) = &built.secret {
        secrets
            .create(&PostParams::default(), &as_dynamic(secret))
            .await
            .map_err(failed(&format!("the Secret {secret_name}")))?;
    }
    let remove_secret = async || {
        if built.secret.is_some()
            && let Err(error) = secrets.delete(&secret_name, &DeleteParams::default()).await
        {
            tracing::warn!("removing the Secret {ns}/{secret_name} after a failed create: {error}");
        }
    };
    let vm = match vms
        .create(&PostParams::default(), &as_dynamic(&built.vm))
        .await
    {
        Ok(vm) => vm,
        Err(source) => {
            remove_secret().await;
            return Err(CreateError::Create {
                what: format!("the VM {}", draft.name),
                source,
            });
        }
    };
    let uid = vm.metadata.uid.clone().unwrap_or_default();
    if built.secret.is_some() {
        let owner = json!({"metadata": {"ownerReferences": [{
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": draft.name, "uid": uid,
        }]}});
        if let Err(source) = secrets
            .patch(&secret_name, &PatchParams::default(), &Patch::Merge(&owner))
            .await
        {
            if let Err(error) = vms.delete(&draft.name, &DeleteParams::default()).await {
                tracing::warn!(
                    "removing the VM {ns}/{} after a failed create: {error}",
                    draft.name
                );
            }
            remove_secret().await;
            return Err(CreateError::Create {
                what: format!("the Secret {secret_name}'s owner"),
                source,
            });
        }
    }
    Ok(Created {
        namespace: ns.to_string(),
        name: draft.name.clone(),
        uid,
        secret: built.secret.is_some().then_some(secret_name),
        disks: vec![draft.root_disk_name()],
    })
}
