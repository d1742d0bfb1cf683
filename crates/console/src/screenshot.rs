//! Screenshots through KubeVirt's `vnc/screenshot` subresource: one PNG of the VMI's screen
//! (thumbnails, "save screenshot"); the answer is checked to be a PNG before it is handed on.

use http_body_util::BodyExt;

use crate::kinds::subresource_path;

/// The eight bytes every PNG starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
/// The largest screenshot read (a 8K screen in raw RGBA is 132 MiB; PNGs are far smaller).
const MAX_BYTES: usize = 64 << 20;

/// Why no screenshot came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenshotError {
    #[error("{name} is not running: {message}")]
    NotRunning { name: String, message: String },
    #[error("{name} not found")]
    NotFound { name: String },
    #[error("not allowed: {message}")]
    NotAllowed { message: String },
    #[error("the screenshot was refused (HTTP {code}): {message}")]
    Refused { code: u16, message: String },
    #[error("the cluster's answer is not a PNG ({len} bytes)")]
    NotPng { len: usize },
    #[error("the screenshot is over {MAX_BYTES} bytes")]
    TooLarge,
    #[error("the cluster could not be reached: {why}")]
    Transport { why: String },
}

impl ScreenshotError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotRunning { .. } => "not_running",
            Self::NotFound { .. } => "not_found",
            Self::NotAllowed { .. } => "not_allowed",
            Self::Refused { .. } => "screenshot_refused",
            Self::NotPng { .. } => "not_png",
            Self::TooLarge => "too_large",
            Self::Transport { .. } => "unreachable",
        }
    }

    fn from_status(name: &str, code: u16, message: String) -> Self {
        let name = name.to_string();
        match code {
            400 if message.contains("Running") || message.contains("not running") => {
                Self::NotRunning { name, message }
            }
            401 | 403 => Self::NotAllowed { message },
            404 => Self::NotFound { name },
            _ => Self::Refused { code, message },
        }
    }
}

/// A PNG of the VMI `namespace/name`'s screen.
pub async fn screenshot(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Vec<u8>, ScreenshotError> {
    let path = subresource_path("virtualmachineinstances", namespace, name, "vnc/screenshot");
    let request = http::Request::get(path)
        .header(http::header::ACCEPT, "image/png")
        .body(kube::client::Body::empty())
        .map_err(|e| ScreenshotError::Transport { why: e.to_string() })?;
    let response = client
        .send(request)
        .await
        .map_err(|e| ScreenshotError::Transport { why: e.to_string() })?;
    let status = response.status();
    let body = http_body_util::Limited::new(response.into_body(), MAX_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ScreenshotError::TooLarge
            } else {
                ScreenshotError::Transport { why: e.to_string() }
            }
        })?
        .to_bytes();
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        return Err(ScreenshotError::from_status(name, status.as_u16(), message));
    }
    if !body.starts_with(&PNG_SIGNATURE) {
        return Err(ScreenshotError::NotPng { len: body.len() });
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_typed() {
        assert_eq!(
            ScreenshotError::from_status("w", 400, "phase is Scheduling instead of Running".into())
                .code(),
            "not_running"
        );
        assert_eq!(
            ScreenshotError::from_status("w", 404, String::new()).code(),
            "not_found"
        );
        assert_eq!(
            ScreenshotError::from_status("w", 403, "no".into()).to_string(),
            "not allowed: no"
        );
        assert_eq!(
            ScreenshotError::from_status("w", 500, "x".into()).code(),
            "screenshot_refused"
        );
    }
}
