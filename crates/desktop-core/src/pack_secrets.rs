//! Pack secrets (schema fields marked `x-vmdeck-secret`, e.g. spectro-proxy's token) in the app's secret store
//! (OS keyring or session memory), one entry per cluster, pack and field; never in a profile file.

use vmdeck_packs::Catalog;
use vmdeck_packs::values::{dotted, secret_paths};
use vmdeck_vault::SecretStore;

use crate::ui_error::UiError;
use crate::views::StoreMode;
use crate::wizard_requests::{PackSecretInput, PackSecretQuery};
use crate::wizard_views::PackSecretView;

/// The secret store entry of one pack secret. `-` stands for "no cluster".
pub fn secret_id(cluster: Option<&str>, pack: &str, key: &str) -> String {
    format!("vmdeck-pack-secret:{}:{pack}:{key}", cluster.unwrap_or("-"))
}

/// The dotted keys of a pack's secret fields.
pub fn secret_keys(catalog: &Catalog, pack: &str) -> Result<Vec<String>, UiError> {
    let pack = catalog.get(pack).ok_or_else(|| {
        UiError::new(
            "pack_unknown",
            format!("unknown pack `{pack}`; choose one from the catalog"),
        )
    })?;
    Ok(secret_paths(&pack.values_schema)
        .iter()
        .map(|p| dotted(p))
        .collect())
}

/// Stores (or replaces) one pack secret.
pub fn store_secret(
    store: &dyn SecretStore,
    catalog: &Catalog,
    input: &PackSecretInput,
) -> Result<PackSecretView, UiError> {
    let keys = secret_keys(catalog, &input.pack)?;
    if !keys.contains(&input.key) {
        let mut err = UiError::new(
            "secret_unknown",
            format!(
                "`{}` is not a secret field of pack `{}` (its secrets: {})",
                input.key,
                input.pack,
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            ),
        );
        err.field = Some(input.key.clone());
        return Err(err);
    }
    if input.value.expose().trim().is_empty() {
        let mut err = UiError::new(
            "value_required",
            format!("{}: enter the secret before storing it", input.key),
        );
        err.field = Some(input.key.clone());
        return Err(err);
    }
    store.put(
        &secret_id(input.cluster.as_deref(), &input.pack, &input.key),
        &input.value,
    )?;
    Ok(PackSecretView {
        pack: input.pack.clone(),
        key: input.key.clone(),
        stored: true,
        store: StoreMode::from(store.kind()),
    })
}

/// Whether each secret field of the packs is stored (values are never returned).
pub fn secret_status(
    store: &dyn SecretStore,
    catalog: &Catalog,
    query: &PackSecretQuery,
) -> Result<Vec<PackSecretView>, UiError> {
    let mut views = Vec::new();
    for pack in &query.packs {
        for key in secret_keys(catalog, pack)? {
            let stored = store
                .get(&secret_id(query.cluster.as_deref(), pack, &key))?
                .is_some();
            views.push(PackSecretView {
                pack: pack.clone(),
                key,
                stored,
                store: StoreMode::from(store.kind()),
            });
        }
    }
    Ok(views)
}
