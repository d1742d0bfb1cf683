//! `open_console_window {request: {route, title}}`: opens a console in its own window (label
//! `console-N`) at `index.html#ROUTE`, the UI's console route; on Linux its webview draws without
//! WebKitGTK's hardware acceleration (noVNC measured 24-29 fps instead of 16-20 with it on).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tauri::ipc::InvokeBody;
use tauri::{AppHandle, Runtime, WebviewUrl, WebviewWindowBuilder};
use vmdeck_desktop_core::UiError;

/// The command's name.
pub const COMMAND: &str = "open_console_window";

static NEXT_WINDOW: AtomicU64 = AtomicU64::new(1);

/// What the UI asks for: its console route (`console/...`, URL-encoded parts) and the title.
#[derive(Debug, PartialEq, Eq)]
pub struct ConsoleWindowRequest {
    pub route: String,
    pub title: String,
}

/// Reads `{request: {route, title}}`; the route must be the UI's console route, in URL-safe
/// characters only (it becomes part of the window's URL).
pub fn read_request(body: &InvokeBody) -> Result<ConsoleWindowRequest, UiError> {
    let InvokeBody::Json(value) = body else {
        return Err(UiError::bad_request(
            "open_console_window takes JSON {request: {route, title}}",
        ));
    };
    let request = value.get("request").unwrap_or(&Value::Null);
    let field = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_string);
    let (Some(route), Some(title)) = (field("route"), field("title")) else {
        return Err(UiError::bad_request(
            "open_console_window takes {request: {route, title}}, both strings",
        ));
    };
    let safe = |c: char| c.is_ascii_alphanumeric() || "%._~/-=&".contains(c);
    if !route.starts_with("console/") || !route.chars().all(safe) {
        return Err(UiError::bad_request(format!(
            "open_console_window: {route:?} is not a console route (console/KIND/CLUSTER/NAMESPACE/NAME, URL-encoded)"
        )));
    }
    Ok(ConsoleWindowRequest { route, title })
}

/// Opens the window; answers its label.
pub fn open<R: Runtime>(
    app: &AppHandle<R>,
    request: ConsoleWindowRequest,
) -> Result<String, UiError> {
    let label = format!("console-{}", NEXT_WINDOW.fetch_add(1, Ordering::Relaxed));
    let url = WebviewUrl::App(format!("index.html#{}", request.route).into());
    let window = WebviewWindowBuilder::new(app, &label, url)
        .title(request.title)
        .inner_size(1060.0, 860.0)
        .min_inner_size(480.0, 360.0)
        .disable_drag_drop_handler()
        .build()
        .map_err(|err| {
            UiError::new(
                "window_failed",
                format!("the console window could not open: {err}"),
            )
        })?;
    #[cfg(target_os = "linux")]
    software_rendering(&window);
    #[cfg(not(target_os = "linux"))]
    let _ = window;
    Ok(label)
}

/// WebKitGTK's hardware-acceleration policy Never for this window's webview (unless
/// `VMDECK_CONSOLE_ACCELERATION=default`, for comparing in the benchmark).
#[cfg(target_os = "linux")]
fn software_rendering<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    if std::env::var("VMDECK_CONSOLE_ACCELERATION").is_ok_and(|v| v == "default") {
        return;
    }
    let done = window.with_webview(|webview| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if let Some(settings) = webview.inner().settings() {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(err) = done {
        tracing::warn!("console window: hardware acceleration left on: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> InvokeBody {
        InvokeBody::Json(value)
    }

    #[test]
    fn reads_a_console_route() {
        let request = read_request(&body(json!({"request": {
            "route": "console/vnc/lab/dev/web-01", "title": "web-01"
        }})))
        .expect("a console route");
        assert_eq!(request.route, "console/vnc/lab/dev/web-01");
        assert_eq!(request.title, "web-01");
    }

    #[test]
    fn refuses_other_routes_and_unsafe_characters() {
        for route in [
            "settings",
            "console/vnc/lab/dev/web 01",
            "console/vnc/lab#x",
            "console/vnc/<b>",
        ] {
            let problem = read_request(&body(json!({"request": {"route": route, "title": "t"}})));
            assert!(problem.is_err(), "{route} accepted");
        }
        assert!(read_request(&body(json!({"request": {"route": "console/vnc"}}))).is_err());
        assert!(read_request(&body(json!({"route": "console/vnc/a/b/c", "title": "t"}))).is_err());
    }
}
