//! Pack secrets (schema fields marked `x-vmdeck-secret`, e.g. spectro-proxy's token) in the app's secret store
//! (OS keyring or session memory), one entry per cluster, pack and field; never in a profile file.
//! A cluster's pack secrets are keyed by its id (they follow renames) and removed with it.

use vmdeck_packs::Catalog;
use vmdeck_packs::values::{dotted, secret_paths};
use vmdeck_vault::Vault;

use crate::ui_error::UiError;
use crate::views::StoreMode;
use crate::wizard_requests::{PackSecretInput, PackSecretQuery};
use crate::wizard_views::PackSecretView;

/// The key of a pack secret among its cluster's secrets.
pub fn cluster_secret_key(pack: &str, key: &str) -> String {
    format!("pack-secret:{pack}:{key}")
}

/// The secret store entry of a pack secret tied to no cluster.
pub fn unbound_secret_id(pack: &str, key: &str) -> String {
    format!("vmdeck-pack-secret:-:{pack}:{key}")
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
    vault: &Vault,
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
    match &input.cluster {
        Some(cluster) => vault.put_cluster_secret(
            cluster,
            &cluster_secret_key(&input.pack, &input.key),
            &input.value,
        )?,
        None => vault
            .store()
            .put(&unbound_secret_id(&input.pack, &input.key), &input.value)?,
    }
    Ok(PackSecretView {
        pack: input.pack.clone(),
        key: input.key.clone(),
        stored: true,
        store: StoreMode::from(vault.store().kind()),
    })
}

/// Whether each secret field of the packs is stored (values are never returned).
pub fn secret_status(
    vault: &Vault,
    catalog: &Catalog,
    query: &PackSecretQuery,
) -> Result<Vec<PackSecretView>, UiError> {
    let mut views = Vec::new();
    for pack in &query.packs {
        for key in secret_keys(catalog, pack)? {
            let stored = match &query.cluster {
                Some(cluster) => vault
                    .cluster_secret(cluster, &cluster_secret_key(pack, &key))?
                    .is_some(),
                None => vault.store().get(&unbound_secret_id(pack, &key))?.is_some(),
            };
            views.push(PackSecretView {
                pack: pack.clone(),
                key,
                stored,
                store: StoreMode::from(vault.store().kind()),
            });
        }
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vmdeck_vault::{
        AppDirs, ContextPick, ExecEnvironment, ImportRequest, Sensitive, SessionStore,
    };

    use super::*;

    const KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: cluster-token
contexts:
- name: lab
  context: {cluster: c, user: u}
current-context: lab
";

    fn vault_with_lab(dir: &tempfile::TempDir) -> Vault {
        let vault = Vault::new(
            &AppDirs::under(dir.path()),
            Arc::new(SessionStore::new()),
            ExecEnvironment::with_path(""),
        );
        import_lab(&vault);
        vault
    }

    fn import_lab(vault: &Vault) {
        let request = ImportRequest {
            picks: vec![ContextPick {
                context: Some("lab".into()),
                name: Some("lab".into()),
            }],
            overwrite: false,
        };
        vault.import_from_text(KUBECONFIG, &request).unwrap();
    }

    fn token(cluster: Option<&str>) -> PackSecretInput {
        PackSecretInput {
            cluster: cluster.map(str::to_string),
            pack: "spectro-proxy".into(),
            key: "token".into(),
            value: Sensitive::new("frp-token".into()),
        }
    }

    fn stored(vault: &Vault, catalog: &Catalog, cluster: Option<&str>) -> bool {
        let query = PackSecretQuery {
            cluster: cluster.map(str::to_string),
            packs: vec!["spectro-proxy".into()],
        };
        secret_status(vault, catalog, &query).unwrap()[0].stored
    }

    #[test]
    fn pack_secrets_are_keyed_by_cluster_id_and_vanish_with_the_cluster() {
        let catalog = Catalog::embedded().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let vault = vault_with_lab(&dir);
        let id = vault.get("lab").unwrap().id;
        assert!(!stored(&vault, &catalog, Some("lab")));
        store_secret(&vault, &catalog, &token(Some("lab"))).unwrap();
        assert!(stored(&vault, &catalog, Some("lab")));
        let entry = format!("{id}/{}", cluster_secret_key("spectro-proxy", "token"));
        assert!(vault.store().get(&entry).unwrap().is_some());

        vault.rename("lab", "renamed").unwrap();
        assert!(stored(&vault, &catalog, Some("renamed")));

        vault.remove("renamed").unwrap();
        assert!(vault.store().get(&entry).unwrap().is_none());
        assert!(vault.store().get(&id).unwrap().is_none());
        import_lab(&vault);
        assert!(!stored(&vault, &catalog, Some("lab")));
    }

    #[test]
    fn secrets_tied_to_no_cluster_stay_apart_from_cluster_ones() {
        let catalog = Catalog::embedded().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let vault = vault_with_lab(&dir);
        store_secret(&vault, &catalog, &token(None)).unwrap();
        assert!(stored(&vault, &catalog, None));
        assert!(!stored(&vault, &catalog, Some("lab")));
        let unknown = store_secret(&vault, &catalog, &token(Some("nope"))).unwrap_err();
        assert_eq!(unknown.code, "cluster_not_found");
    }
}
