//! Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into
//! JSON, for the built-in kinds kubectl's typed clients send that way (kubectl >= 1.33 creates
//! namespaces, ConfigMaps, Secrets and access reviews in protobuf). Field numbers follow the
//! upstream `generated.proto` files. Other kinds are refused with 415 and a clear message.

use base64::Engine;
use serde_json::{Map, Value, json};

/// The envelope's magic prefix.
const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("not a Kubernetes protobuf envelope (missing the k8s\\0 prefix)")]
    NoEnvelope,
    #[error("malformed protobuf: {0}")]
    Malformed(&'static str),
    #[error(
        "simcluster cannot read {0} in protobuf; send it as JSON (Content-Type: application/json)"
    )]
    UnknownKind(String),
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    I64,
    Bool,
    Bytes,
    Time,
    MapStr,
    MapBytes,
    Msg(&'static [Field]),
}

#[derive(Clone, Copy)]
struct Field {
    tag: u64,
    name: &'static str,
    kind: Kind,
    repeated: bool,
}

const fn f(tag: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        tag,
        name,
        kind,
        repeated: false,
    }
}

const fn many(tag: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        tag,
        name,
        kind,
        repeated: true,
    }
}

const OWNER_REFERENCE: &[Field] = &[
    f(5, "apiVersion", Kind::Str),
    f(1, "kind", Kind::Str),
    f(3, "name", Kind::Str),
    f(4, "uid", Kind::Str),
    f(6, "controller", Kind::Bool),
    f(7, "blockOwnerDeletion", Kind::Bool),
];

const OBJECT_META: &[Field] = &[
    f(1, "name", Kind::Str),
    f(2, "generateName", Kind::Str),
    f(3, "namespace", Kind::Str),
    f(4, "selfLink", Kind::Str),
    f(5, "uid", Kind::Str),
    f(6, "resourceVersion", Kind::Str),
    f(7, "generation", Kind::I64),
    f(8, "creationTimestamp", Kind::Time),
    f(9, "deletionTimestamp", Kind::Time),
    f(10, "deletionGracePeriodSeconds", Kind::I64),
    f(11, "labels", Kind::MapStr),
    f(12, "annotations", Kind::MapStr),
    many(13, "ownerReferences", Kind::Msg(OWNER_REFERENCE)),
    many(14, "finalizers", Kind::Str),
];

const NAMESPACE: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(&[many(1, "finalizers", Kind::Str)])),
];

const RESOURCE_ATTRIBUTES: &[Field] = &[
    f(1, "namespace", Kind::Str),
    f(2, "verb", Kind::Str),
    f(3, "group", Kind::Str),
    f(4, "version", Kind::Str),
    f(5, "resource", Kind::Str),
    f(6, "subresource", Kind::Str),
    f(7, "name", Kind::Str),
];

const ACCESS_REVIEW: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(
        2,
        "spec",
        Kind::Msg(&[
            f(1, "resourceAttributes", Kind::Msg(RESOURCE_ATTRIBUTES)),
            f(
                2,
                "nonResourceAttributes",
                Kind::Msg(&[f(1, "path", Kind::Str), f(2, "verb", Kind::Str)]),
            ),
        ]),
    ),
];

const RULES_REVIEW: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(&[f(1, "namespace", Kind::Str)])),
];

const CONFIG_MAP: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "data", Kind::MapStr),
    f(3, "binaryData", Kind::MapBytes),
    f(4, "immutable", Kind::Bool),
];

const SECRET: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "data", Kind::MapBytes),
    f(3, "type", Kind::Str),
    f(4, "stringData", Kind::MapStr),
    f(5, "immutable", Kind::Bool),
];

const SERVICE_ACCOUNT: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(4, "automountServiceAccountToken", Kind::Bool),
];

const METADATA_ONLY: &[Field] = &[f(1, "metadata", Kind::Msg(OBJECT_META))];

fn schema(api_version: &str, kind: &str) -> Option<&'static [Field]> {
    Some(match (api_version, kind) {
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        (
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview",
        ) => ACCESS_REVIEW,
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => RULES_REVIEW,
        ("authentication.k8s.io/v1", "SelfSubjectReview") => METADATA_ONLY,
        _ => return None,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .bytes
                .split_first()
                .ok_or(DecodeError::Malformed("truncated varint"))?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.bytes.len() {
            return Err(DecodeError::Malformed("length past the end"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// The next field: (tag, wire type, payload for length-delimited, value for varints).
    fn field(&mut self) -> Result<(u64, Payload<'a>), DecodeError> {
        let key = self.varint()?;
        let payload = match key & 7 {
            0 => Payload::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Payload::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| DecodeError::Malformed("length overflow"))?;
                Payload::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Payload::Fixed
            }
            _ => return Err(DecodeError::Malformed("unsupported wire type")),
        };
        Ok((key >> 3, payload))
    }
}

enum Payload<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn text(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Malformed("string is not UTF-8"))
}

fn decode_message(bytes: &[u8], fields: &[Field]) -> Result<Value, DecodeError> {
    let mut out = Map::new();
    let mut reader = Reader { bytes };
    while !reader.bytes.is_empty() {
        let (tag, payload) = reader.field()?;
        let Some(field) = fields.iter().find(|f| f.tag == tag) else {
            continue;
        };
        let value = match (field.kind, payload) {
            (Kind::Str, Payload::Bytes(b)) => json!(text(b)?),
            (Kind::Bytes, Payload::Bytes(b)) => {
                json!(base64::engine::general_purpose::STANDARD.encode(b))
            }
            (Kind::I64, Payload::Varint(v)) => json!(v as i64),
            (Kind::Bool, Payload::Varint(v)) => json!(v != 0),
            (Kind::Msg(inner), Payload::Bytes(b)) => decode_message(b, inner)?,
            (Kind::Time, Payload::Bytes(b)) => {
                let time = decode_message(b, &[f(1, "seconds", Kind::I64)])?;
                let seconds = time.get("seconds").and_then(Value::as_i64).unwrap_or(0);
                let stamp = jiff::Timestamp::from_second(seconds)
                    .map_err(|_| DecodeError::Malformed("time out of range"))?;
                json!(stamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            }
            (Kind::MapStr | Kind::MapBytes, Payload::Bytes(b)) => {
                let value_kind = if matches!(field.kind, Kind::MapStr) {
                    Kind::Str
                } else {
                    Kind::Bytes
                };
                let entry =
                    decode_message(b, &[f(1, "key", Kind::Str), f(2, "value", value_kind)])?;
                let key = entry
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let value = entry.get("value").cloned().unwrap_or(json!(""));
                let map = out.entry(field.name).or_insert_with(|| json!({}));
                map[key] = value;
                continue;
            }
            _ => return Err(DecodeError::Malformed("field has an unexpected wire type")),
        };
        if field.repeated {
            let list = out.entry(field.name).or_insert_with(|| json!([]));
            if let Some(items) = list.as_array_mut() {
                items.push(value);
            }
        } else {
            out.insert(field.name.to_string(), value);
        }
    }
    Ok(Value::Object(out))
}

/// Decode a protobuf request body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(DecodeError::NoEnvelope)?;
    let unknown = {
        let mut reader = Reader { bytes: envelope };
        let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
        while !reader.bytes.is_empty() {
            match reader.field()? {
                (1, Payload::Bytes(type_meta)) => {
                    let meta = decode_message(
                        type_meta,
                        &[f(1, "apiVersion", Kind::Str), f(2, "kind", Kind::Str)],
                    )?;
                    api_version = meta
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    kind = meta
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                }
                (2, Payload::Bytes(bytes)) => raw = bytes,
                _ => {}
            }
        }
        (api_version, kind, raw)
    };
    let (api_version, kind, raw) = unknown;
    let fields = schema(&api_version, &kind)
        .ok_or_else(|| DecodeError::UnknownKind(format!("{kind} ({api_version})")))?;
    let mut object = decode_message(raw, fields)?;
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(kind);
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
        out.push(tag << 3 | 2);
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }

    #[test]
    fn decodes_a_namespace_like_kubectl_sends_it() {
        let mut labels_entry = Vec::new();
        field(&mut labels_entry, 1, b"team");
        field(&mut labels_entry, 2, b"vm");
        let mut meta = Vec::new();
        field(&mut meta, 1, b"demo");
        field(&mut meta, 11, &labels_entry);
        let mut namespace = Vec::new();
        field(&mut namespace, 1, &meta);
        let mut type_meta = Vec::new();
        field(&mut type_meta, 1, b"v1");
        field(&mut type_meta, 2, b"Namespace");
        let mut body = MAGIC.to_vec();
        field(&mut body, 1, &type_meta);
        field(&mut body, 2, &namespace);
        let object = decode(&body).unwrap();
        assert_eq!(
            object,
            json!({"metadata": {"name": "demo", "labels": {"team": "vm"}}, "apiVersion": "v1", "kind": "Namespace"})
        );
    }

    #[test]
    fn refuses_unknown_kinds_and_garbage() {
        let mut type_meta = Vec::new();
        field(&mut type_meta, 1, b"apps/v1");
        field(&mut type_meta, 2, b"Deployment");
        let mut body = MAGIC.to_vec();
        field(&mut body, 1, &type_meta);
        assert!(matches!(decode(&body), Err(DecodeError::UnknownKind(_))));
        assert_eq!(decode(b"{}"), Err(DecodeError::NoEnvelope));
        assert!(decode(b"k8s\0\x0a\xff").is_err());
    }
}
