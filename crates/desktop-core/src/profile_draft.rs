//! The wizard's draft and the profile file: draft -> profile (only values that differ from the pack's defaults),
//! profile -> draft (defaults merged back), checks against the catalog, and issues placed at a pack's field or gate.

use serde_json::{Map, Value};
use vmdeck_packs::profile::{API_VERSION, KIND, ProfileMetadata};
use vmdeck_packs::values::merge;
use vmdeck_packs::{Catalog, GateChoice, Profile, ProfileIssue, ProfilePack, validate};

use crate::wizard_requests::{DraftPack, GateSetting, ProfileDraft};
use crate::wizard_views::ProfileIssueView;

/// The issue code for a secret value found in a profile.
pub const SECRET_IN_PROFILE: &str = "secret_in_profile";

/// The catalog's spelling of a pack version (`v1.8.4` -> `1.8.4`), so the UI's choices match.
fn version_spelling(catalog: &Catalog, pack: &str, version: &str) -> String {
    catalog
        .get(pack)
        .map_or(version, |p| p.manifest.spelling(version))
        .to_string()
}

/// The profile file for a draft. Values equal to the pack's defaults are left out.
pub fn profile_from_draft(catalog: &Catalog, draft: &ProfileDraft) -> Profile {
    Profile {
        api_version: API_VERSION.to_string(),
        kind: KIND.to_string(),
        metadata: ProfileMetadata {
            name: draft.name.trim().to_string(),
            description: draft
                .description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string),
        },
        preset: draft.preset.clone().filter(|p| !p.is_empty()),
        packs: draft
            .packs
            .iter()
            .map(|entry| ProfilePack {
                name: entry.name.clone(),
                version: version_spelling(catalog, &entry.name, &entry.version),
                values: match catalog.get(&entry.name) {
                    Some(pack) => overrides(&pack.default_values, &entry.values),
                    None => entry.values.clone(),
                },
                gates: entry
                    .gates
                    .iter()
                    .map(|(gate, setting)| (gate.clone(), GateChoice::from(*setting)))
                    .collect(),
            })
            .collect(),
    }
}

/// The draft for a profile: each known pack's values are its defaults with the profile's overrides.
pub fn draft_from_profile(catalog: &Catalog, profile: &Profile) -> ProfileDraft {
    ProfileDraft {
        name: profile.metadata.name.clone(),
        description: profile.metadata.description.clone(),
        preset: profile.preset.clone(),
        packs: profile
            .packs
            .iter()
            .map(|entry| DraftPack {
                name: entry.name.clone(),
                version: version_spelling(catalog, &entry.name, &entry.version),
                values: match catalog.get(&entry.name) {
                    Some(pack) => merge(&pack.default_values, &entry.values),
                    None => entry.values.clone(),
                },
                gates: entry
                    .gates
                    .iter()
                    .map(|(gate, choice)| (gate.clone(), GateSetting::from(*choice)))
                    .collect(),
            })
            .collect(),
    }
}

/// The packs of a profile to show as picked: the preset's, plus any pack no other pack of the profile needs.
pub fn chosen_packs(catalog: &Catalog, profile: &Profile) -> Vec<String> {
    let preset_packs = profile
        .preset
        .as_deref()
        .and_then(|name| catalog.preset(name))
        .map(|p| p.packs.clone())
        .unwrap_or_default();
    let needed_by_another = |name: &str| {
        profile.packs.iter().any(|other| {
            catalog
                .get(&other.name)
                .is_some_and(|p| p.manifest.dependencies.iter().any(|d| d == name))
        })
    };
    let mut chosen: Vec<String> = preset_packs
        .into_iter()
        .filter(|p| profile.pack(p).is_some())
        .collect();
    for entry in &profile.packs {
        if !needed_by_another(&entry.name) && !chosen.contains(&entry.name) {
            chosen.push(entry.name.clone());
        }
    }
    chosen
}

/// Every problem of a profile against the catalog; `text` (the file) adds line numbers.
pub fn profile_issues(
    catalog: &Catalog,
    profile: &Profile,
    text: Option<&str>,
) -> Vec<ProfileIssueView> {
    match validate(catalog, profile, text) {
        Ok(()) => Vec::new(),
        Err(error) => error
            .issues
            .iter()
            .map(|issue| issue_view(issue, Some(profile)))
            .collect(),
    }
}

/// Places an issue at its pack and at the value field or gate inside it.
pub fn issue_view(issue: &ProfileIssue, profile: Option<&Profile>) -> ProfileIssueView {
    let mut view = ProfileIssueView {
        path: issue.path.clone(),
        line: issue.line.and_then(|l| u32::try_from(l).ok()),
        code: issue.code.to_string(),
        message: issue.message.clone(),
        pack: None,
        field: None,
        gate: None,
    };
    let Some(rest) = issue.path.strip_prefix("packs[") else {
        return view;
    };
    let Some((index, rest)) = rest.split_once(']') else {
        return view;
    };
    view.pack = index
        .parse::<usize>()
        .ok()
        .and_then(|i| profile?.packs.get(i))
        .map(|p| p.name.clone());
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    if let Some(field) = rest.strip_prefix("values.") {
        view.field = Some(field.to_string());
    } else if let Some(gate) = rest.strip_prefix("gates.") {
        view.gate = Some(gate.to_string());
    } else if rest == "version" || rest == "name" {
        view.field = Some(rest.to_string());
    }
    view
}

/// What differs from `defaults`: objects key by key, anything else whole.
pub fn overrides(defaults: &Value, values: &Value) -> Value {
    match (defaults, values) {
        (Value::Object(base), Value::Object(edited)) => {
            let mut out = Map::new();
            for (key, value) in edited {
                match base.get(key) {
                    Some(default) if default == value => {}
                    Some(default) if default.is_object() && value.is_object() => {
                        let nested = overrides(default, value);
                        if nested.as_object().is_some_and(|m| !m.is_empty()) {
                            out.insert(key.clone(), nested);
                        }
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(out)
        }
        _ => values.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_keep_only_what_differs() {
        let defaults = json!({"a": 1, "server": {"address": "", "port": 443}, "list": [1, 2]});
        let edited =
            json!({"a": 1, "server": {"address": "x", "port": 443}, "list": [1], "new": true});
        assert_eq!(
            overrides(&defaults, &edited),
            json!({"server": {"address": "x"}, "list": [1], "new": true})
        );
        assert_eq!(overrides(&defaults, &defaults), json!({}));
        assert_eq!(merge(&defaults, &overrides(&defaults, &edited)), edited);
    }

    #[test]
    fn issues_are_placed_at_pack_field_and_gate() {
        let profile = Profile {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: ProfileMetadata {
                name: "p".into(),
                description: None,
            },
            preset: None,
            packs: vec![
                ProfilePack::new("kubevirt", "1.9.0"),
                ProfilePack::new("spectro-proxy", "0.70.1"),
            ],
        };
        let at = |path: &str| {
            issue_view(
                &ProfileIssue {
                    path: path.into(),
                    line: Some(7),
                    code: "value_invalid",
                    message: "bad".into(),
                },
                Some(&profile),
            )
        };
        let value = at("packs[1].values.server.address");
        assert_eq!(value.pack.as_deref(), Some("spectro-proxy"));
        assert_eq!(value.field.as_deref(), Some("server.address"));
        assert_eq!(value.line, Some(7));
        let gate = at("packs[0].gates.Snapshot");
        assert_eq!(gate.pack.as_deref(), Some("kubevirt"));
        assert_eq!(gate.gate.as_deref(), Some("Snapshot"));
        assert_eq!(gate.field, None);
        let whole = at("packs[1].values");
        assert_eq!(
            (whole.pack.as_deref(), whole.field),
            (Some("spectro-proxy"), None)
        );
        let top = at("metadata.name");
        assert_eq!((top.pack, top.field), (None, None));
        assert_eq!(at("packs[9].version").pack, None);
    }
}
