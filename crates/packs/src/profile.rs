//! The profile file (`apiVersion: vmdeck.io/v1alpha1`, `kind: Profile`): types, loading with path-and-line
//! errors, and saving (which refuses secrets).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gates::GateChoice;
use crate::yaml_locate::LineIndex;

pub const API_VERSION: &str = "vmdeck.io/v1alpha1";
pub const KIND: &str = "Profile";

/// What to install: packs, their versions, values and feature gates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    pub api_version: String,
    pub kind: String,
    pub metadata: ProfileMetadata,
    /// The preset the profile started from, if any (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    pub packs: Vec<ProfilePack>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileMetadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfilePack {
    pub name: String,
    pub version: String,
    /// Overrides of the pack's `values.yaml` (secrets are never stored here).
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub values: serde_json::Value,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gates: BTreeMap<String, GateChoice>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn is_empty_object(value: &serde_json::Value) -> bool {
    value.as_object().is_some_and(serde_json::Map::is_empty)
}

/// One problem with a profile, at a path and (when known) a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileIssue {
    /// `packs[2].values.server`; empty for the whole file.
    pub path: String,
    /// 1-based line in the profile file.
    pub line: Option<usize>,
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for ProfileIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "(profile)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// All issues found in a profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ProfileError {
    pub issues: Vec<ProfileIssue>,
}

impl ProfileError {
    pub fn code(&self) -> &'static str {
        "profile_invalid"
    }
}

impl ProfilePack {
    pub fn new(name: &str, version: &str) -> ProfilePack {
        ProfilePack {
            name: name.into(),
            version: version.into(),
            values: empty_object(),
            gates: BTreeMap::new(),
        }
    }
}

impl Profile {
    /// Parse a profile file. Errors name the path and line; the result is not yet checked against the catalog
    /// (see [`crate::profile_check::validate`]).
    pub fn from_yaml(text: &str) -> Result<Profile, ProfileError> {
        let lines = LineIndex::new(text);
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize::<_, Profile>(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let inner = error.into_inner();
            let line = inner
                .location()
                .map(|l| l.line())
                .or_else(|| lines.line_of(&path));
            let message = strip_location(&inner.to_string());
            ProfileError {
                issues: vec![ProfileIssue {
                    path,
                    line,
                    code: "profile_syntax",
                    message,
                }],
            }
        })
    }

    /// The YAML text of the profile. Use [`crate::profile_check::validate`] first: it refuses secrets.
    pub fn to_yaml(&self) -> String {
        // A profile is plain data (strings, maps, JSON values): serialising it cannot fail.
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    pub fn pack(&self, name: &str) -> Option<&ProfilePack> {
        self.packs.iter().find(|p| p.name == name)
    }
}

/// serde_yaml_ng appends " at line L column C"; we report the line separately.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}
