//! Which VMI a console request is for, and whether it can be served: the checks virt-api makes
//! (exists, running, device attached) and the simcluster annotations that pick a real TCP
//! backend or bench mode (read from the VMI, else from its VirtualMachine).

use std::net::SocketAddr;

use serde_json::Value;

use crate::cluster::Cluster;
use crate::consoles::keymap::{self, DEFAULT_KEYMAP, KEYMAP_ANNOTATION};
use crate::consoles::sessions::Stream;
use crate::resources::GroupResource;
use crate::status::ApiError;
use crate::store::ObjectKey;

pub const VNC_BACKEND_ANNOTATION: &str = "simcluster.vmdeck.io/vnc-backend";
pub const SERIAL_BACKEND_ANNOTATION: &str = "simcluster.vmdeck.io/serial-backend";
pub const VNC_BENCH_ANNOTATION: &str = "simcluster.vmdeck.io/vnc-bench";

/// Why a console cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    #[error("a console request needs a namespace and a VMI name in its path")]
    NoName,
    #[error("virtualmachineinstances.kubevirt.io \"{0}\" not found")]
    NotFound(String),
    #[error(
        "Unable to connect to VirtualMachineInstance because phase is {phase} instead of Running"
    )]
    NotRunning { phase: String },
    #[error("VirtualMachineInstance {0} is in Failed phase: its console is gone")]
    Failed(String),
    #[error(
        "No {device} attached to the VirtualMachineInstance (spec.domain.devices.{field} is false)"
    )]
    NoDevice {
        device: &'static str,
        field: &'static str,
    },
    #[error("annotation {annotation}: {value:?} is not tcp://HOST:PORT ({why})")]
    BadBackend {
        annotation: &'static str,
        value: String,
        why: String,
    },
    #[error(
        "annotation {annotation}: {value:?} resolves to {address}, which is not a loopback address; simcluster only bridges to 127.0.0.0/8 or ::1"
    )]
    NotLoopback {
        annotation: &'static str,
        value: String,
        address: String,
    },
    #[error("{0}")]
    Keymap(String),
    #[error("connecting to {address} (annotation {annotation}): {why}")]
    Unreachable {
        annotation: &'static str,
        address: String,
        why: String,
    },
}

impl ConsoleError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoName => "console_no_name",
            Self::NotFound(_) => "console_vmi_not_found",
            Self::NotRunning { .. } => "console_vmi_not_running",
            Self::Failed(_) => "console_vmi_failed",
            Self::NoDevice { .. } => "console_no_device",
            Self::BadBackend { .. } => "console_bad_backend",
            Self::NotLoopback { .. } => "console_backend_not_loopback",
            Self::Unreachable { .. } => "console_backend_unreachable",
            Self::Keymap(_) => "console_bad_keymap",
        }
    }
}

impl From<ConsoleError> for ApiError {
    fn from(error: ConsoleError) -> Self {
        match &error {
            ConsoleError::NotFound(name) => {
                ApiError::not_found("kubevirt.io", "virtualmachineinstances", name)
            }
            ConsoleError::Failed(name) => ApiError::conflict(
                "kubevirt.io",
                "virtualmachineinstances",
                name,
                &error.to_string(),
            ),
            ConsoleError::Unreachable { .. } => ApiError::internal(error.to_string()),
            _ => ApiError::bad_request(error.to_string()),
        }
    }
}

/// A real endpoint the stream is bridged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub annotation: &'static str,
    pub address: SocketAddr,
}

/// A VMI whose console may be opened.
#[derive(Debug, Clone)]
pub struct Target {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub backend: Option<Backend>,
    pub bench: bool,
    /// The guest's keyboard layout (annotation `simcluster.vmdeck.io/keymap`, default `us`).
    pub keymap: String,
}

/// Check the VMI named by the request and read its console settings.
pub async fn resolve(
    cluster: &Cluster,
    namespace: Option<&str>,
    name: Option<&str>,
    stream: Stream,
) -> Result<Target, ConsoleError> {
    let (Some(namespace), Some(name)) = (namespace, name) else {
        return Err(ConsoleError::NoName);
    };
    let key = ObjectKey::new(namespace, name);
    let vmi = cluster
        .store()
        .get(
            &GroupResource::new("kubevirt.io", "virtualmachineinstances"),
            &key,
        )
        .ok_or_else(|| ConsoleError::NotFound(name.to_string()))?;
    let vmi = &vmi.value;
    let phase = vmi
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    if phase == "Failed" && stream == Stream::Serial {
        return Err(ConsoleError::Failed(name.to_string()));
    }
    if phase != "Running" {
        let phase = if phase.is_empty() { "unset" } else { phase };
        return Err(ConsoleError::NotRunning {
            phase: phase.to_string(),
        });
    }
    let (device, field) = match stream {
        Stream::Vnc => ("graphics device", "autoattachGraphicsDevice"),
        Stream::Serial => ("serial console", "autoattachSerialConsole"),
    };
    if vmi.pointer(&format!("/spec/domain/devices/{field}")) == Some(&Value::Bool(false)) {
        return Err(ConsoleError::NoDevice { device, field });
    }
    let vm = cluster
        .store()
        .get(&GroupResource::new("kubevirt.io", "virtualmachines"), &key);
    let annotation = |wanted: &str| -> Option<String> {
        let read = |object: &Value| {
            object
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(wanted))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        read(vmi).or_else(|| vm.as_ref().and_then(|vm| read(&vm.value)))
    };
    let backend_annotation = match stream {
        Stream::Vnc => VNC_BACKEND_ANNOTATION,
        Stream::Serial => SERIAL_BACKEND_ANNOTATION,
    };
    let backend = match annotation(backend_annotation) {
        Some(value) => Some(parse_backend(backend_annotation, &value).await?),
        None => None,
    };
    let keymap = annotation(KEYMAP_ANNOTATION).unwrap_or_else(|| DEFAULT_KEYMAP.to_string());
    if stream == Stream::Vnc && backend.is_none() {
        let checked = keymap.clone();
        tokio::task::spawn_blocking(move || keymap::check(&checked))
            .await
            .map_err(|e| ConsoleError::Keymap(e.to_string()))?
            .map_err(|e| ConsoleError::Keymap(e.to_string()))?;
    }
    Ok(Target {
        keymap,
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid: vmi
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string(),
        backend,
        bench: stream == Stream::Vnc
            && annotation(VNC_BENCH_ANNOTATION).is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// `tcp://HOST:PORT` with a loopback host.
pub async fn parse_backend(annotation: &'static str, value: &str) -> Result<Backend, ConsoleError> {
    let bad = |why: &str| ConsoleError::BadBackend {
        annotation,
        value: value.to_string(),
        why: why.to_string(),
    };
    let rest = value
        .trim()
        .strip_prefix("tcp://")
        .ok_or_else(|| bad("the scheme must be tcp://"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| bad("a port is needed"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| bad("the port must be a number from 1 to 65535"))?;
    if port == 0 {
        return Err(bad("the port must be a number from 1 to 65535"));
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("a host is needed"));
    }
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| bad(&format!("the host does not resolve: {e}")))?
        .collect();
    let address = addresses
        .iter()
        .find(|a| a.ip().is_loopback())
        .copied()
        .ok_or_else(|| ConsoleError::NotLoopback {
            annotation,
            value: value.to_string(),
            address: addresses
                .first()
                .map(|a| a.ip().to_string())
                .unwrap_or_else(|| host.to_string()),
        })?;
    Ok(Backend {
        annotation,
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn backends_must_be_loopback_tcp() {
        let ok = parse_backend(VNC_BACKEND_ANNOTATION, "tcp://127.0.0.1:5901")
            .await
            .unwrap();
        assert_eq!(ok.address, "127.0.0.1:5901".parse().unwrap());
        let v6 = parse_backend(VNC_BACKEND_ANNOTATION, "tcp://[::1]:5900")
            .await
            .unwrap();
        assert!(v6.address.ip().is_loopback());
        let far = parse_backend(VNC_BACKEND_ANNOTATION, "tcp://10.1.2.3:5900")
            .await
            .unwrap_err();
        assert_eq!(far.code(), "console_backend_not_loopback");
        assert!(far.to_string().contains("10.1.2.3"));
        for bad in [
            "udp://127.0.0.1:1",
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:0",
            "tcp://:5900",
        ] {
            let error = parse_backend(SERIAL_BACKEND_ANNOTATION, bad)
                .await
                .unwrap_err();
            assert_eq!(error.code(), "console_bad_backend", "{bad}");
        }
    }
}
