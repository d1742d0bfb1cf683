//! Feature gates on a live cluster: the gates each installed operator CR has in effect (the
//! `featureGates` list under its spec), and who owns that list. The list is atomic under
//! server-side apply, so when another field manager owns it (HCO, a hand edit) VMDeck says so
//! instead of fighting over it.

use serde::Serialize;
use serde_json::Value;

use crate::error::InstallError;
use crate::inventory::{FIELD_MANAGER, Inventory};
use crate::object_key::ObjectKey;
use crate::order::Phase;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

/// The gates one installed custom resource has in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveGates {
    pub pack: String,
    pub object: ObjectKey,
    pub enabled: Vec<String>,
    /// Another field manager that owns the gate list, if any.
    pub owned_by: Option<String>,
}

/// The `featureGates` list anywhere under `spec`, with its path.
fn find_gates(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Object(fields) => fields
            .get("featureGates")
            .and_then(Value::as_array)
            .or_else(|| fields.values().find_map(find_gates)),
        _ => None,
    }
}

/// The gates `object` enables (`None` when it has no gate list).
pub fn enabled_gates(object: &Value) -> Option<Vec<String>> {
    find_gates(object.get("spec")?).map(|gates| {
        gates
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

/// The field manager other than VMDeck that owns `object`'s gate list, if one does.
pub fn other_gate_owner(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .filter(|entry| entry.get("manager").and_then(Value::as_str) != Some(FIELD_MANAGER))
        .find(|entry| {
            entry
                .get("fieldsV1")
                .and_then(|f| f.get("f:spec"))
                .is_some_and(owns_gates)
        })
        .and_then(|entry| entry.get("manager").and_then(Value::as_str))
        .map(str::to_string)
}

fn owns_gates(fields: &Value) -> bool {
    match fields {
        Value::Object(map) => map
            .iter()
            .any(|(key, inner)| key == "f:featureGates" || owns_gates(inner)),
        _ => false,
    }
}

/// The gates in effect on every custom resource of the inventory that has a gate list.
pub async fn live_gates(
    client: kube::Client,
    inventory: &Inventory,
    retry: RetryPolicy,
) -> Result<Vec<LiveGates>, InstallError> {
    let resources = Resources::new(client, retry);
    let mut found = Vec::new();
    for entry in inventory
        .objects
        .iter()
        .filter(|e| Phase::of(&e.key) == Phase::CustomResources)
    {
        let api = match resources.api_for(&entry.key).await {
            Ok(api) => api,
            Err(InstallError::KindNotServed { .. }) => continue,
            Err(other) => return Err(other),
        };
        let live = retry
            .run(|| api.get_opt(&entry.key.name), |_, _| {})
            .await
            .map_err(|(source, _)| InstallError::Read {
                what: entry.key.to_string(),
                source: Box::new(source),
            })?;
        let Some(live) = live else { continue };
        let live = serde_json::to_value(live).expect("an object serialises");
        if let Some(enabled) = enabled_gates(&live) {
            found.push(LiveGates {
                pack: entry.pack.clone(),
                object: entry.key.clone(),
                enabled,
                owned_by: other_gate_owner(&live),
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gates_are_found_under_the_spec_with_their_owner() {
        let kubevirt = json!({"spec": {"configuration": {"developerConfiguration":
            {"featureGates": ["HostDisk", "Snapshot"]}}},
            "metadata": {"managedFields": [
                {"manager": "vmdeck", "operation": "Apply",
                 "fieldsV1": {"f:spec": {"f:configuration": {"f:developerConfiguration": {"f:featureGates": {}}}}}},
                {"manager": "virt-operator", "operation": "Update",
                 "fieldsV1": {"f:status": {"f:phase": {}}}}]}});
        assert_eq!(
            enabled_gates(&kubevirt),
            Some(vec!["HostDisk".to_string(), "Snapshot".to_string()])
        );
        assert_eq!(other_gate_owner(&kubevirt), None);
        let cdi = json!({"spec": {"config": {"featureGates": []}},
            "metadata": {"managedFields": [{"manager": "hyperconverged-cluster-operator",
                "fieldsV1": {"f:spec": {"f:config": {"f:featureGates": {}}}}}]}});
        assert_eq!(enabled_gates(&cdi), Some(Vec::new()));
        assert_eq!(
            other_gate_owner(&cdi).as_deref(),
            Some("hyperconverged-cluster-operator")
        );
        assert_eq!(enabled_gates(&json!({"spec": {"replicas": 1}})), None);
    }
}
