//! What the user may do in a namespace: one SelfSubjectAccessReview per power action (`update`
//! on the subresource) and per console (`get` on `vnc` / `console`), so the UI can hide or
//! disable what would fail.

use std::collections::BTreeMap;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use serde::Serialize;

use crate::actions::PowerAction;
use crate::kinds::SUBRESOURCES_GROUP;

/// The answers for one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    pub namespace: String,
    pub actions: BTreeMap<String, bool>,
    pub vnc: bool,
    pub serial: bool,
}

impl Access {
    pub fn may(&self, action: PowerAction) -> bool {
        self.actions
            .get(action.subresource())
            .copied()
            .unwrap_or(false)
    }
}

/// Why the review could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("asking the cluster what is allowed: {0}")]
    Review(#[from] kube::Error),
}

async fn review(
    client: &kube::Client,
    namespace: &str,
    verb: &str,
    resource: &str,
    subresource: &str,
) -> Result<bool, kube::Error> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.to_string()),
                verb: Some(verb.to_string()),
                group: Some(SUBRESOURCES_GROUP.to_string()),
                resource: Some(resource.to_string()),
                subresource: Some(subresource.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = api.create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Ask, concurrently, which actions and consoles `namespace` allows.
pub async fn access(client: &kube::Client, namespace: &str) -> Result<Access, AccessError> {
    let mut subresources: Vec<(&str, &str)> = PowerAction::ALL
        .iter()
        .map(|a| (a.resource(), a.subresource()))
        .collect();
    subresources.dedup();
    let actions = futures::future::try_join_all(
        subresources
            .iter()
            .map(|(resource, sub)| review(client, namespace, "update", resource, sub)),
    );
    let consoles = futures::future::try_join(
        review(client, namespace, "get", "virtualmachineinstances", "vnc"),
        review(
            client,
            namespace,
            "get",
            "virtualmachineinstances",
            "console",
        ),
    );
    let (answers, (vnc, serial)) = futures::future::try_join(actions, consoles).await?;
    Ok(Access {
        namespace: namespace.to_string(),
        actions: subresources
            .iter()
            .zip(answers)
            .map(|((_, sub), allowed)| (sub.to_string(), allowed))
            .collect(),
        vnc,
        serial,
    })
}
