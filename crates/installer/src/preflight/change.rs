//! A fix that changes the profile, as a typed change the UI or CLI applies to a draft profile
//! (then renders again): set a value of a pack, change a pack's version, drop a pack.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vmdeck_packs::Profile;

/// One change to a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ProfileChange {
    /// Set `path` (dotted, `useEmulation` or `server.port`) in the pack's values.
    SetValue {
        pack: String,
        path: String,
        value: Value,
    },
    SetVersion {
        pack: String,
        version: String,
    },
    RemovePack {
        pack: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileChangeError {
    #[error("the profile has no pack {pack}")]
    NoSuchPack { pack: String },
    #[error("pack {pack}: values.{path} is not an object, so {key} cannot be set inside it")]
    NotAnObject {
        pack: String,
        path: String,
        key: String,
    },
    #[error("pack {pack}: `{path}` is not a value path")]
    BadPath { pack: String, path: String },
}

impl ProfileChangeError {
    pub fn code(&self) -> &'static str {
        match self {
            ProfileChangeError::NoSuchPack { .. } => "pack_not_in_profile",
            ProfileChangeError::NotAnObject { .. } | ProfileChangeError::BadPath { .. } => {
                "value_path_invalid"
            }
        }
    }
}

impl ProfileChange {
    pub fn pack(&self) -> &str {
        match self {
            ProfileChange::SetValue { pack, .. }
            | ProfileChange::SetVersion { pack, .. }
            | ProfileChange::RemovePack { pack } => pack,
        }
    }

    /// `set kubevirt.useEmulation: true`, for people.
    pub fn describe(&self) -> String {
        match self {
            ProfileChange::SetValue { pack, path, value } => {
                format!("set {path}: {value} on pack {pack}")
            }
            ProfileChange::SetVersion { pack, version } => {
                format!("change pack {pack} to version {version}")
            }
            ProfileChange::RemovePack { pack } => format!("drop pack {pack} from the profile"),
        }
    }

    /// Applies the change to `profile` (check the result with `vmdeck_packs::validate`).
    pub fn apply(&self, profile: &mut Profile) -> Result<(), ProfileChangeError> {
        let no_pack = || ProfileChangeError::NoSuchPack {
            pack: self.pack().to_string(),
        };
        match self {
            ProfileChange::RemovePack { pack } => {
                let before = profile.packs.len();
                profile.packs.retain(|p| &p.name != pack);
                if profile.packs.len() == before {
                    return Err(no_pack());
                }
            }
            ProfileChange::SetVersion { pack, version } => {
                let entry = profile
                    .packs
                    .iter_mut()
                    .find(|p| &p.name == pack)
                    .ok_or_else(no_pack)?;
                entry.version = version.clone();
            }
            ProfileChange::SetValue { pack, path, value } => {
                let entry = profile
                    .packs
                    .iter_mut()
                    .find(|p| &p.name == pack)
                    .ok_or_else(no_pack)?;
                let keys: Vec<&str> = path.split('.').collect();
                if keys.iter().any(|k| k.is_empty()) {
                    return Err(ProfileChangeError::BadPath {
                        pack: pack.clone(),
                        path: path.clone(),
                    });
                }
                if !entry.values.is_object() {
                    entry.values = Value::Object(Default::default());
                }
                let Some((last, parents)) = keys.split_last() else {
                    return Err(ProfileChangeError::BadPath {
                        pack: pack.clone(),
                        path: path.clone(),
                    });
                };
                let not_an_object = |depth: usize, key: &str| ProfileChangeError::NotAnObject {
                    pack: pack.clone(),
                    path: keys[..depth].join("."),
                    key: key.to_string(),
                };
                let mut slot = &mut entry.values;
                for (depth, key) in parents.iter().enumerate() {
                    slot = slot
                        .as_object_mut()
                        .ok_or_else(|| not_an_object(depth, key))?
                        .entry(key.to_string())
                        .or_insert_with(|| Value::Object(Default::default()));
                }
                slot.as_object_mut()
                    .ok_or_else(|| not_an_object(parents.len(), last))?
                    .insert(last.to_string(), value.clone());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vmdeck_packs::ProfilePack;

    fn profile() -> Profile {
        Profile::from_yaml(
            "apiVersion: vmdeck.io/v1alpha1\nkind: Profile\nmetadata: {name: lab}\npacks:\n  - {name: kubevirt, version: 1.8.4}\n  - {name: multus, version: 4.3.0, values: {flavor: thick}}\n",
        )
        .unwrap()
    }

    #[test]
    fn changes_apply_to_a_draft() {
        let mut draft = profile();
        let emulation = ProfileChange::SetValue {
            pack: "kubevirt".into(),
            path: "useEmulation".into(),
            value: json!(true),
        };
        emulation.apply(&mut draft).unwrap();
        assert_eq!(draft.packs[0].values, json!({"useEmulation": true}));
        ProfileChange::SetValue {
            pack: "multus".into(),
            path: "resources.limitsMemory".into(),
            value: json!("512Mi"),
        }
        .apply(&mut draft)
        .unwrap();
        assert_eq!(
            draft.packs[1].values,
            json!({"flavor": "thick", "resources": {"limitsMemory": "512Mi"}})
        );
        ProfileChange::SetVersion {
            pack: "kubevirt".into(),
            version: "1.9.0".into(),
        }
        .apply(&mut draft)
        .unwrap();
        assert_eq!(draft.packs[0].version, "1.9.0");
        ProfileChange::RemovePack {
            pack: "multus".into(),
        }
        .apply(&mut draft)
        .unwrap();
        assert_eq!(
            draft.packs,
            vec![{
                let mut p = ProfilePack::new("kubevirt", "1.9.0");
                p.values = json!({"useEmulation": true});
                p
            }]
        );
        assert_eq!(
            emulation.describe(),
            "set useEmulation: true on pack kubevirt"
        );
    }

    #[test]
    fn bad_changes_say_what_is_wrong() {
        let mut draft = profile();
        let missing = ProfileChange::RemovePack { pack: "cdi".into() };
        assert_eq!(
            missing.apply(&mut draft).unwrap_err().code(),
            "pack_not_in_profile"
        );
        let through_a_string = ProfileChange::SetValue {
            pack: "multus".into(),
            path: "flavor.x".into(),
            value: json!(1),
        };
        assert_eq!(
            through_a_string.apply(&mut draft).unwrap_err().to_string(),
            "pack multus: values.flavor is not an object, so x cannot be set inside it"
        );
        assert_eq!(draft, profile(), "a refused change leaves the draft alone");
    }
}
