//! Calls an `App` method by name with a JSON request: the HTTP dev server's single entry point.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::App;
use crate::requests::KubeconfigSource;
use crate::ui_error::UiError;
use crate::wizard_requests::{ProfileLocation, SaveProfileInput};

/// Every method the UI may call, by the name both the Tauri commands and `POST /api/<method>` use.
pub const METHODS: &[&str] = &[
    "app_status",
    "use_session_only",
    "list_clusters",
    "inspect_kubeconfig",
    "import_clusters",
    "rename_cluster",
    "remove_cluster",
    "check_cluster",
    "start_demo",
    "wizard_catalog",
    "resolve_packs",
    "gate_table",
    "validate_profile",
    "save_profile",
    "load_profile",
    "list_profiles",
    "store_pack_secret",
    "pack_secret_status",
];

/// Runs `method` with `request` (`null` for methods without one) and returns its JSON answer.
pub async fn dispatch(app: &App, method: &str, request: Value) -> Result<Value, UiError> {
    match method {
        "app_status" => answer(app.status()),
        "use_session_only" => answer(app.use_session_only().await?),
        "list_clusters" => answer(app.list_clusters().await?),
        "inspect_kubeconfig" => {
            let source: KubeconfigSource = decode(request)?;
            if matches!(source, KubeconfigSource::Path { .. }) {
                return Err(no_paths_over_http());
            }
            answer(app.inspect_kubeconfig(source).await?)
        }
        "import_clusters" => answer(app.import_clusters(decode(request)?).await?),
        "rename_cluster" => answer(app.rename_cluster(decode(request)?).await?),
        "remove_cluster" => answer(app.remove_cluster(decode(request)?).await?),
        "check_cluster" => answer(app.check_cluster(decode(request)?).await?),
        "start_demo" => answer(app.start_demo().await?),
        "wizard_catalog" => answer(app.wizard_catalog()?),
        "resolve_packs" => answer(app.resolve_packs(decode(request)?)?),
        "gate_table" => answer(app.gate_table(decode(request)?)?),
        "validate_profile" => answer(app.validate_profile(decode(request)?)?),
        "save_profile" => {
            let input: SaveProfileInput = decode(request)?;
            if matches!(input.location, ProfileLocation::Path { .. }) {
                return Err(no_paths_over_http());
            }
            answer(app.save_profile(input).await?)
        }
        "load_profile" => {
            let location: ProfileLocation = decode(request)?;
            if matches!(location, ProfileLocation::Path { .. }) {
                return Err(no_paths_over_http());
            }
            answer(app.load_profile(location).await?)
        }
        "list_profiles" => answer(app.list_profiles().await?),
        "store_pack_secret" => answer(app.store_pack_secret(decode(request)?).await?),
        "pack_secret_status" => answer(app.pack_secret_status(decode(request)?).await?),
        other => Err(UiError::new(
            "unknown_method",
            format!(
                "no method named \"{other}\"; known methods: {}",
                METHODS.join(", ")
            ),
        )),
    }
}

/// Over HTTP (the browser build) files are only read from pasted text and written to the app's
/// profiles folder: a page must not make the dev server touch arbitrary paths.
fn no_paths_over_http() -> UiError {
    UiError::new(
        "path_not_allowed",
        "the browser build cannot open or write files by path; paste the kubeconfig, or give the profile a name (it is kept in the app's profiles folder)",
    )
}

fn decode<T: DeserializeOwned>(request: Value) -> Result<T, UiError> {
    serde_json::from_value(request).map_err(UiError::bad_request)
}

fn answer<T: Serialize>(value: T) -> Result<Value, UiError> {
    serde_json::to_value(value).map_err(UiError::internal)
}
