//! Tauri IPC over desktop-core's call table: every declared call is a Tauri command of the same
//! name taking `{request}`; a stream also takes `{onEvent}`, a `Channel` its events go through,
//! and optionally `{stopKey}`, a number `stop_stream {stopKey}` stops it by.

use std::sync::Arc;

use serde_json::Value;
use tauri::ipc::{Invoke, InvokeBody, InvokeError, JavaScriptChannelId};
use tauri::{Manager, Runtime};
use vmdeck_desktop_core::{CallKind, UiError, Via, call, event_queue, kind_of, stream};

use crate::console_window;
use crate::core_cell::CoreCell;

/// The command the UI sends once its first screen is drawn (the start-up benchmark waits for it).
const UI_READY: &str = "ui_ready";
/// The command that stops a stream started with a `stopKey`; answers whether one ran.
const STOP_STREAM: &str = "stop_stream";

/// Answers one IPC message; `false` for a name that is neither in the table nor `ui_ready`.
pub fn handle<R: Runtime>(invoke: Invoke<R>) -> bool {
    let name = invoke.message.command().to_string();
    if name == UI_READY {
        if std::env::var_os("VMDECK_REPORT_READY").is_some() {
            println!("vmdeck: interactive");
        }
        invoke.resolver.resolve(());
        return true;
    }
    if name == console_window::COMMAND {
        let opened = console_window::read_request(invoke.message.payload()).and_then(|request| {
            console_window::open(invoke.message.webview().app_handle(), request)
        });
        match opened {
            Ok(label) => invoke.resolver.resolve(label),
            Err(error) => invoke.resolver.reject(error),
        }
        return true;
    }
    let webview = invoke.message.webview();
    let core = webview.state::<Arc<CoreCell>>().inner().clone();
    if name == STOP_STREAM {
        match stop_key(invoke.message.payload()) {
            Ok(Some(key)) => invoke.resolver.resolve(core.stream_stops.stop(key)),
            Ok(None) => invoke.resolver.reject(UiError::bad_request(
                "stop_stream takes {stopKey}, the number the stream was started with",
            )),
            Err(error) => invoke.resolver.reject(error),
        }
        return true;
    }
    let Some(kind) = kind_of(&name) else {
        return false;
    };
    let stop = match stop_key(invoke.message.payload()) {
        Ok(stop) => stop,
        Err(error) => {
            invoke.resolver.reject(error);
            return true;
        }
    };
    let (request, channel) = match read_payload(invoke.message.payload()) {
        Ok(parts) => parts,
        Err(error) => {
            invoke.resolver.reject(error);
            return true;
        }
    };
    match kind {
        CallKind::Call => invoke.resolver.respond_async(async move {
            let app = core.get().await;
            call(app, Via::Ipc, &name, request)
                .await
                .map_err(InvokeError::from)
        }),
        CallKind::Stream => {
            let Some(channel) = channel else {
                invoke.resolver.reject(UiError::bad_request(format!(
                    "{name} is a stream: pass onEvent, a Channel"
                )));
                return true;
            };
            let channel = channel.channel_on::<R, Value>(webview);
            invoke.resolver.respond_async(async move {
                let app = core.get().await;
                let (sender, mut events) = event_queue();
                let mut registration = stop.map(|key| core.stream_stops.register(key));
                // Ends when the core's stream ends, the window goes, or the page stops it; the
                // queue is dropped with it, which tells the core's work to stop.
                let forward = async move {
                    loop {
                        tokio::select! {
                            event = events.recv() => {
                                let Some(event) = event else { break };
                                if channel.send(event).is_err() {
                                    break;
                                }
                            }
                            asked = async { registration.as_mut()?.stopped().await.then_some(()) },
                                if registration.is_some() => {
                                if asked.is_some() {
                                    break;
                                }
                                // Taken over by a newer stream with the same key.
                                registration = None;
                            }
                        }
                    }
                };
                let (outcome, ()) =
                    tokio::join!(stream(app, Via::Ipc, &name, request, sender), forward);
                outcome.map_err(InvokeError::from)
            })
        }
    }
    true
}

/// The `stopKey` of a payload, if it has one.
fn stop_key(body: &InvokeBody) -> Result<Option<u64>, UiError> {
    let InvokeBody::Json(Value::Object(fields)) = body else {
        return Ok(None);
    };
    match fields.get("stopKey") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or_else(|| {
            UiError::bad_request(format!("stopKey must be a whole number, not {value}"))
        }),
    }
}

/// The `request` (absent means `null`) and, for streams, the `onEvent` channel of a payload.
fn read_payload(body: &InvokeBody) -> Result<(Value, Option<JavaScriptChannelId>), UiError> {
    let InvokeBody::Json(Value::Object(fields)) = body else {
        return Err(UiError::bad_request(
            "send the call's arguments as a JSON object {request}",
        ));
    };
    let request = fields.get("request").cloned().unwrap_or(Value::Null);
    let channel = match fields.get("onEvent") {
        None => None,
        Some(value) => Some(
            serde_json::from_value::<JavaScriptChannelId>(value.clone())
                .map_err(|err| UiError::bad_request(format!("onEvent is not a Channel: {err}")))?,
        ),
    };
    Ok((request, channel))
}

#[cfg(test)]
mod tests {
    //! The Tauri side of the call table, through Tauri's mock runtime (no display needed).

    use std::sync::Arc;

    use serde_json::{Value, json};
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder, mock_context, noop_assets};
    use tauri::webview::InvokeRequest;
    use vmdeck_desktop_core::{AppConfig, CALL_NAMES, SecretsChoice, UiError, call_specs};
    use vmdeck_vault::AppDirs;

    use crate::core_cell::CoreCell;

    fn invoke(
        webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        body: Value,
    ) -> Result<Value, Value> {
        get_ipc_response(
            webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().expect("a URL"),
                body: InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().expect("a JSON answer"))
    }

    #[test]
    fn every_declared_call_is_a_tauri_command_that_reads_its_own_request_type() {
        let home = tempfile::tempdir().expect("a temp dir");
        let config = AppConfig {
            dirs: Some(AppDirs::under(home.path())),
            secrets: SecretsChoice::SessionOnly,
            ..AppConfig::default()
        };
        let app = mock_builder()
            .manage(Arc::new(CoreCell::new(config)))
            .invoke_handler(super::handle)
            .build(mock_context(noop_assets()))
            .expect("the mock app builds");
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("a mock window");

        assert_eq!(call_specs().len(), CALL_NAMES.len());
        for name in CALL_NAMES {
            // 12345 fits no request type (a call without one takes only null): a routed call
            // answers `bad_request` from decoding, an unrouted one "command not found".
            let refused = invoke(
                &webview,
                name,
                json!({ "request": 12345, "onEvent": "__CHANNEL__:7" }),
            )
            .expect_err(&format!("{name} must refuse a request of the wrong type"));
            let error: UiError = serde_json::from_value(refused.clone())
                .unwrap_or_else(|_| panic!("{name} answered {refused} instead of a UiError"));
            assert_eq!(error.code, "bad_request", "{name}: {}", error.message);
            assert!(error.message.contains(name), "{name}: {}", error.message);
        }

        let status = invoke(&webview, "app_status", json!({})).expect("app_status answers");
        assert_eq!(status["demo"], json!(false));
        let unknown = invoke(&webview, "no_such_call", json!({})).expect_err("unknown calls fail");
        assert!(unknown.to_string().contains("not found"), "{unknown}");
    }
}
