//! The readable `-o yaml` form of a render: one YAML stream, objects in apply order, each preceded by comment
//! lines naming its pack and origin (upstream URL, document number, sha256 of the file, patches applied, or
//! the template file). Secret data is redacted unless asked for.
//!
//! Example:
//! ```text
//! ---
//! # pack: kubevirt 1.8.4
//! # origin: upstream kubevirt-operator document 2 of https://github.com/.../kubevirt-operator.yaml
//! # sha256: d1d8264e...
//! apiVersion: v1
//! kind: Namespace
//! ...
//! ```

use serde_yaml_ng::Value;

use crate::render::{ObjectOrigin, Rendered};

pub const REDACTED: &str = "<redacted>";

/// Replace the values of `data` and `stringData` of Secrets.
fn redact(object: &Value) -> Value {
    let mut copy = object.clone();
    if copy.get("kind").and_then(Value::as_str) == Some("Secret")
        && let Some(map) = copy.as_mapping_mut()
    {
        for section in ["data", "stringData"] {
            if let Some(Value::Mapping(entries)) = map.get_mut(section) {
                for (_, value) in entries.iter_mut() {
                    *value = Value::String(REDACTED.into());
                }
            }
        }
    }
    copy
}

/// The YAML stream of all objects.
pub fn to_yaml_stream(rendered: &Rendered, show_secrets: bool) -> String {
    let mut out = String::new();
    for object in &rendered.objects {
        let version = rendered
            .packs
            .iter()
            .find(|p| p.name == object.pack)
            .map(|p| p.version.as_str())
            .unwrap_or_default();
        out.push_str("---\n");
        out.push_str(&format!("# pack: {} {version}\n", object.pack));
        match &object.origin {
            ObjectOrigin::Upstream {
                source,
                url,
                sha256,
                document,
                patches,
                ..
            } => {
                out.push_str(&format!(
                    "# origin: upstream {source} document {document} of {url}\n# sha256: {sha256}\n"
                ));
                if !patches.is_empty() {
                    out.push_str(&format!("# patched: {}\n", patches.join(", ")));
                }
            }
            ObjectOrigin::Template { file } => {
                out.push_str(&format!("# origin: template {file}\n"))
            }
        }
        let value = if show_secrets {
            object.object.clone()
        } else {
            redact(&object.object)
        };
        out.push_str(&serde_yaml_ng::to_string(&value).unwrap_or_default());
    }
    out
}
