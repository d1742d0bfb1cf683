//! The install wizard's `App` calls: catalog, resolution and gate tables (pure, from the embedded catalog),
//! draft checks, saving and loading profile files, and pack secrets in the secret store.

use std::sync::Arc;

use vmdeck_packs::Profile;

use crate::app::{App, blocking};
use crate::pack_secrets::{secret_status, store_secret};
use crate::profile_draft::{
    SECRET_IN_PROFILE, chosen_packs, draft_from_profile, issue_view, profile_from_draft,
    profile_issues,
};
use crate::profile_files::{ProfileFolder, read_profile_text, write_atomic};
use crate::ui_error::UiError;
use crate::wizard::Wizard;
use crate::wizard_requests::{
    GateTableQuery, PackSecretInput, PackSecretQuery, PackSelection, ProfileDraft, ProfileLocation,
    SaveProfileInput,
};
use crate::wizard_views::{
    DraftCheckView, GateTableView, LoadedProfileView, PackSecretView, ProfileFileView,
    SavedProfileView, SelectionView, WizardCatalogView,
};

impl App {
    pub(crate) fn wizard(&self) -> Result<Arc<Wizard>, UiError> {
        self.wizard
            .get_or_init(|| Wizard::embedded().map(Arc::new))
            .clone()
    }

    fn profile_folder(&self) -> Result<ProfileFolder, UiError> {
        self.dirs
            .as_ref()
            .map(|dirs| ProfileFolder::in_data_dir(&dirs.data))
            .map_err(Clone::clone)
    }

    /// Pack cards with their values forms, and the presets.
    pub fn wizard_catalog(&self) -> Result<WizardCatalogView, UiError> {
        Ok(self.wizard()?.catalog_view())
    }

    /// The selection plus dependencies, each with the reason it is in; conflicts as problems.
    pub fn resolve_packs(&self, selection: PackSelection) -> Result<SelectionView, UiError> {
        Ok(self.wizard()?.resolve(&selection))
    }

    /// The feature gate table of a pack at a version.
    pub fn gate_table(&self, query: GateTableQuery) -> Result<GateTableView, UiError> {
        self.wizard()?.gate_table(&query)
    }

    /// Checks the draft against the catalog and shows the profile file it would be.
    pub fn validate_profile(&self, draft: ProfileDraft) -> Result<DraftCheckView, UiError> {
        let wizard = self.wizard()?;
        let profile = profile_from_draft(wizard.catalog(), &draft);
        let issues = profile_issues(wizard.catalog(), &profile, None);
        let holds_secret = issues.iter().any(|i| i.code == SECRET_IN_PROFILE);
        Ok(DraftCheckView {
            yaml: if holds_secret {
                String::new()
            } else {
                profile.to_yaml()
            },
            issues,
        })
    }

    /// Writes the draft as a profile file (atomically). Refuses a draft holding a secret; other issues are
    /// returned with their line in the saved file, to fix before installing.
    pub async fn save_profile(&self, input: SaveProfileInput) -> Result<SavedProfileView, UiError> {
        let wizard = self.wizard()?;
        let path = self.profile_folder()?.resolve(&input.location)?;
        let profile = profile_from_draft(wizard.catalog(), &input.draft);
        if let Some(secret) = profile_issues(wizard.catalog(), &profile, None)
            .into_iter()
            .find(|i| i.code == SECRET_IN_PROFILE)
        {
            let mut err = UiError::new(
                SECRET_IN_PROFILE,
                format!("{}: {}", secret.path, secret.message),
            );
            err.field = secret.field;
            return Err(err);
        }
        let text = profile.to_yaml();
        let issues = profile_issues(wizard.catalog(), &profile, Some(&text));
        let written = path.clone();
        blocking(move || write_atomic(&written, &text)).await?;
        Ok(SavedProfileView {
            location: path.display().to_string(),
            file_name: file_name_of(&path),
            issues,
        })
    }

    /// Reads a profile file into a draft, with every issue (path and line) found in it.
    pub async fn load_profile(
        &self,
        location: ProfileLocation,
    ) -> Result<LoadedProfileView, UiError> {
        let wizard = self.wizard()?;
        let path = self.profile_folder()?.resolve(&location)?;
        let read = path.clone();
        let text = blocking(move || read_profile_text(&read)).await?;
        let (draft, chosen, issues) = match Profile::from_yaml(&text) {
            Ok(profile) => (
                Some(draft_from_profile(wizard.catalog(), &profile)),
                chosen_packs(wizard.catalog(), &profile),
                profile_issues(wizard.catalog(), &profile, Some(&text)),
            ),
            Err(error) => (
                None,
                Vec::new(),
                error.issues.iter().map(|i| issue_view(i, None)).collect(),
            ),
        };
        Ok(LoadedProfileView {
            location: path.display().to_string(),
            file_name: file_name_of(&path),
            draft,
            chosen,
            issues,
        })
    }

    /// The profile files in the app's profiles folder.
    pub async fn list_profiles(&self) -> Result<Vec<ProfileFileView>, UiError> {
        let folder = self.profile_folder()?;
        blocking(move || folder.list()).await
    }

    /// Stores a pack secret in the secret store of the cluster's vault (the user's when no cluster).
    pub async fn store_pack_secret(
        &self,
        input: PackSecretInput,
    ) -> Result<PackSecretView, UiError> {
        let wizard = self.wizard()?;
        let vault = match &input.cluster {
            Some(cluster) => self.vault_for(cluster).await?.0,
            None => self.user_vault()?,
        };
        blocking(move || store_secret(&vault, wizard.catalog(), &input)).await
    }

    /// Which secret fields of the packs are already stored.
    pub async fn pack_secret_status(
        &self,
        query: PackSecretQuery,
    ) -> Result<Vec<PackSecretView>, UiError> {
        let wizard = self.wizard()?;
        let vault = match &query.cluster {
            Some(cluster) => self.vault_for(cluster).await?.0,
            None => self.user_vault()?,
        };
        blocking(move || secret_status(&vault, wizard.catalog(), &query)).await
    }
}

fn file_name_of(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
