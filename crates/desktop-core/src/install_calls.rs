//! The install screens' `App` calls over the installer engine: preflight and plan of a draft on a
//! saved cluster, fixes applied to a draft, install / resume / uninstall / gate changes as streams
//! of progress (journaled in the app's data dir), the installed status and the unfinished runs.

use std::sync::Arc;

use futures::StreamExt;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams};
use tokio::sync::mpsc;
use vmdeck_installer::preflight::without_packs;
use vmdeck_installer::{
    InstallOptions, InstallReport, Inventory, InventoryStore, Journal, LiveGates, ObjectKey,
    PlanOptions, PreflightOptions, PreflightReport, ProfileChange, ProgressSink, UninstallOptions,
    health, health_changes, install_journaled, live_gates, plan, preflight, uninstall,
};
use vmdeck_packs::{GateChoice, Profile, Rendered, set_gate};
use vmdeck_vault::Vault;

use crate::app::{App, blocking};
use crate::calls::{EVENT_QUEUE, Events};
use crate::engine_thread::on_engine_thread;
use crate::install_events::{
    InstallDoneView, InstallEvent, InstalledStatusView, LiveGatesView, UnfinishedRunView,
    UninstallDoneView,
};
use crate::install_render::{check_profile, cluster_secrets, render_profile};
use crate::install_requests::{
    DraftOnCluster, GateChangeInput, InstallInput, ProfileChangesInput, ResumeInput, UninstallInput,
};
use crate::install_views::{ObjectRefView, PlanView, PreflightView, count};
use crate::profile_draft::{draft_from_profile, profile_from_draft};
use crate::requests::ClusterRef;
use crate::ui_error::UiError;
use crate::wizard_requests::ProfileDraft;

/// A profile rendered for one saved cluster, with the client to install it through.
struct Prepared {
    client: kube::Client,
    profile: Profile,
    rendered: Rendered,
    /// The saved cluster's endpoint in use, for the proxy checks' TLS handshake.
    endpoint: Option<vmdeck_installer::preflight::TargetEndpoint>,
}

fn not_installed(cluster: &str) -> UiError {
    UiError::new(
        "not_installed",
        format!("nothing of VMDeck is installed on {cluster}: install a profile first"),
    )
}

/// The live gates of what the inventory lists (and the inventory back).
async fn gates_of(
    client: kube::Client,
    inventory: Inventory,
) -> Result<(Vec<LiveGates>, Inventory), UiError> {
    Ok(on_engine_thread(move || async move {
        live_gates(client, &inventory, Default::default())
            .await
            .map(|gates| (gates, inventory))
    })
    .await??)
}

/// The label CDI puts on the DataVolumes a DataImportCron imports (golden images, not users').
const GOLDEN_IMAGE_LABEL: &str = "cdi.kubevirt.io/dataImportCron";

/// Users' VirtualMachines and DataVolumes in every namespace (what blocks an uninstall); a kind
/// the cluster does not serve has none.
async fn user_data(client: kube::Client) -> Result<Vec<ObjectRefView>, UiError> {
    let mut found = Vec::new();
    for (group, version, kind) in [
        ("kubevirt.io", "v1", "VirtualMachine"),
        ("cdi.kubevirt.io", "v1beta1", "DataVolume"),
    ] {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let Ok((resource, _)) = kube::discovery::pinned_kind(&client, &gvk).await else {
            continue;
        };
        let all: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let listed = all.list(&ListParams::default()).await.map_err(|e| {
            UiError::new(
                "cluster_read_failed",
                format!("the {kind}s could not be listed: {e}"),
            )
        })?;
        for object in listed.items {
            if object.labels().contains_key(GOLDEN_IMAGE_LABEL) {
                continue;
            }
            found.push(ObjectRefView::from(ObjectKey {
                api_version: gvk.api_version(),
                kind: kind.to_string(),
                namespace: object.namespace(),
                name: object.name_any(),
            }));
        }
    }
    Ok(found)
}

/// Sends the `failed` event of a stream that ends in `result`'s error.
async fn settle<T>(
    events: &Events<InstallEvent>,
    result: Result<T, UiError>,
) -> Result<T, UiError> {
    if let Err(error) = &result
        && error.code != "stream_closed"
    {
        let _ = events
            .send(InstallEvent::Failed {
                error: error.clone(),
            })
            .await;
    }
    result
}

impl App {
    fn journal(&self) -> Result<Journal, UiError> {
        let dirs = self.dirs.as_ref().map_err(Clone::clone)?;
        Ok(Journal::new(dirs.data.join("runs")))
    }

    async fn cluster_client(&self, cluster: &str) -> Result<(Arc<Vault>, kube::Client), UiError> {
        let (vault, _) = self.vault_for(cluster).await?;
        let client = vault.client(cluster).await?;
        Ok((vault, client))
    }

    /// Checks `profile`, reads its pack secrets for `cluster` and renders it.
    async fn prepare(&self, cluster: &str, profile: Profile) -> Result<Prepared, UiError> {
        let wizard = self.wizard()?;
        check_profile(wizard.catalog(), &profile)?;
        let (vault, client) = self.cluster_client(cluster).await?;
        // The endpoint in use (direct or proxied), for the proxy checks' TLS handshake.
        let endpoint = {
            let (vault, owned) = (vault.clone(), cluster.to_string());
            blocking(move || {
                vault.connection(&owned).map(|c| {
                    vmdeck_installer::preflight::TargetEndpoint::from_url(
                        &c.server,
                        c.tls_server_name.clone(),
                    )
                    .map(|e| e.with_proxy_url(c.proxy_url.as_ref().map(|u| u.expose().clone())))
                })
            })
            .await?
        };
        let secrets = {
            let (wizard, owned, profile) = (wizard.clone(), cluster.to_string(), profile.clone());
            blocking(move || cluster_secrets(&vault, wizard.catalog(), &owned, &profile)).await?
        };
        let data = self.dirs.as_ref().map_err(Clone::clone)?.data.clone();
        let rendered =
            render_profile(wizard.catalog(), &profile, &secrets, &self.sources, &data).await?;
        Ok(Prepared {
            client,
            profile,
            rendered,
            endpoint,
        })
    }

    async fn prepare_draft(
        &self,
        cluster: &str,
        draft: &ProfileDraft,
    ) -> Result<Prepared, UiError> {
        let profile = profile_from_draft(self.wizard()?.catalog(), draft);
        self.prepare(cluster, profile).await
    }

    async fn preflight_prepared(&self, prepared: &Prepared) -> Result<PreflightReport, UiError> {
        let (wizard, client, rendered) = (
            self.wizard()?,
            prepared.client.clone(),
            prepared.rendered.clone(),
        );
        let options = PreflightOptions {
            endpoint: prepared.endpoint.clone(),
            ..PreflightOptions::default()
        };
        let report = on_engine_thread(move || async move {
            preflight(client, &rendered, wizard.catalog(), options).await
        })
        .await??;
        Ok(report)
    }

    async fn plan_prepared(&self, prepared: Prepared) -> Result<PlanView, UiError> {
        let Prepared {
            client, rendered, ..
        } = prepared;
        let planned = on_engine_thread(move || async move {
            plan(client, &rendered, PlanOptions::default()).await
        })
        .await??;
        Ok(planned.into())
    }

    /// What the cluster must offer (and must not already have) for the draft: checks, verdicts
    /// and automatic fixes. Nothing is written to the cluster.
    pub async fn preflight_install(&self, input: DraftOnCluster) -> Result<PreflightView, UiError> {
        let prepared = self.prepare_draft(&input.cluster, &input.draft).await?;
        Ok(self.preflight_prepared(&prepared).await?.into())
    }

    /// The draft with an automatic fix's profile changes made (check it again before installing).
    pub fn apply_profile_changes(
        &self,
        input: ProfileChangesInput,
    ) -> Result<ProfileDraft, UiError> {
        let wizard = self.wizard()?;
        let mut profile = profile_from_draft(wizard.catalog(), &input.draft);
        for change in input.changes {
            ProfileChange::from(change).apply(&mut profile)?;
        }
        Ok(draft_from_profile(wizard.catalog(), &profile))
    }

    /// What installing the draft would change: counts per pack, objects, diffs, conflicts.
    pub async fn plan_install(&self, input: DraftOnCluster) -> Result<PlanView, UiError> {
        let prepared = self.prepare_draft(&input.cluster, &input.draft).await?;
        self.plan_prepared(prepared).await
    }

    /// Installs the draft: refused when the preflight fails; packs a default fix skips are left
    /// out. Progress streams as it goes; a closed window stops the run (the journal keeps it).
    pub async fn install_profile(
        &self,
        input: InstallInput,
        events: Events<InstallEvent>,
    ) -> Result<InstallDoneView, UiError> {
        let result = async {
            let prepared = self.prepare_draft(&input.cluster, &input.draft).await?;
            self.install_prepared(&input.cluster, prepared, input.force_conflicts, &events)
                .await
        }
        .await;
        settle(&events, result).await
    }

    async fn install_prepared(
        &self,
        cluster: &str,
        prepared: Prepared,
        force_conflicts: bool,
        events: &Events<InstallEvent>,
    ) -> Result<InstallDoneView, UiError> {
        let report = self.preflight_prepared(&prepared).await?;
        if let Some(failed) = report.failures().next() {
            return Err(UiError::new(
                "preflight_failed",
                format!(
                    "the preflight check {} failed: {}{}; nothing was installed",
                    failed.id,
                    failed.saw,
                    failed
                        .fix
                        .as_deref()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default()
                ),
            ));
        }
        let rendered = without_packs(&prepared.rendered, &report.skipped_packs());
        let options = InstallOptions {
            force_conflicts,
            ..InstallOptions::default()
        };
        let report = self
            .run_journaled(
                cluster,
                prepared.client,
                rendered,
                prepared.profile.to_yaml(),
                options,
                events,
            )
            .await?;
        Ok(InstallDoneView {
            inventory_id: report.inventory_id,
            packs: report.packs,
            applied: count(report.applied),
            pruned: count(report.pruned),
        })
    }

    /// Runs a journaled install, forwarding its progress. When the window stops listening (or
    /// the run is cancelled) the install future is dropped: nothing new is sent, the journal
    /// keeps the run as unfinished.
    async fn run_journaled(
        &self,
        cluster: &str,
        client: kube::Client,
        rendered: Rendered,
        profile_text: String,
        options: InstallOptions,
        events: &Events<InstallEvent>,
    ) -> Result<InstallReport, UiError> {
        let journal = self.journal()?;
        let running = self.running.register(cluster);
        let (sender, mut receiver) = mpsc::channel(EVENT_QUEUE);
        let sink = ProgressSink::new(sender);
        let cluster = cluster.to_string();
        let work = on_engine_thread(move || async move {
            install_journaled(
                &journal,
                &cluster,
                client,
                &rendered,
                profile_text,
                options,
                &sink,
            )
            .await
        });
        let forward = async {
            while let Some(progress) = receiver.recv().await {
                events.send(progress.into()).await?;
            }
            Ok::<_, UiError>(())
        };
        // Cancelled, the work is dropped: the journal keeps the run as unfinished.
        let (result, ()) = tokio::select! {
            both = async { tokio::try_join!(work, forward) } => both?,
            () = running.cancelled() => return Err(running.error()),
        };
        Ok(result?)
    }

    /// Stops the cluster's running install, gate change or resume; `false` when none runs.
    pub fn cancel_install(&self, cluster: ClusterRef) -> bool {
        self.running.cancel(&cluster.name)
    }

    /// The journal's runs that were cut short or failed (for the "Resume / Discard" banner); a
    /// run going on now in this app is neither.
    pub async fn unfinished_installs(&self) -> Result<Vec<UnfinishedRunView>, UiError> {
        let journal = self.journal()?;
        let runs = blocking(move || journal.unfinished()).await?;
        Ok(runs
            .into_iter()
            .filter(|run| !self.running.is_running(&run.cluster))
            .map(Into::into)
            .collect())
    }

    /// Installs the profile of the cluster's unfinished run again (it converges to a clean install).
    pub async fn resume_install(
        &self,
        input: ResumeInput,
        events: Events<InstallEvent>,
    ) -> Result<InstallDoneView, UiError> {
        let result = async {
            let journal = self.journal()?;
            let owned = input.cluster.clone();
            let record = blocking(move || journal.find(&owned))
                .await?
                .ok_or_else(|| {
                    UiError::new(
                        "no_unfinished_run",
                        format!("no unfinished install on {} to resume", input.cluster),
                    )
                })?;
            let profile = Profile::from_yaml(&record.profile).map_err(|e| {
                UiError::new(
                    "journal_corrupt",
                    format!("the unfinished run's profile cannot be read ({e}); discard it"),
                )
            })?;
            let prepared = self.prepare(&input.cluster, profile).await?;
            self.install_prepared(&input.cluster, prepared, input.force_conflicts, &events)
                .await
        }
        .await;
        settle(&events, result).await
    }

    /// Forgets the cluster's unfinished run (what it installed stays, listed in the inventory).
    pub async fn discard_install(&self, cluster: ClusterRef) -> Result<(), UiError> {
        let journal = self.journal()?;
        blocking(move || journal.clear(&cluster.name)).await
    }

    async fn inventory(&self, client: &kube::Client) -> Result<Option<Inventory>, UiError> {
        let client = client.clone();
        Ok(on_engine_thread(move || async move {
            InventoryStore::new(client, Default::default()).load().await
        })
        .await??)
    }

    /// What VMDeck installed on the cluster: packs with health and live gates.
    pub async fn installed_status(
        &self,
        cluster: ClusterRef,
    ) -> Result<InstalledStatusView, UiError> {
        let (_, client) = self.cluster_client(&cluster.name).await?;
        let Some(inventory) = self.inventory(&client).await? else {
            return Ok(InstalledStatusView::not_installed(cluster.name));
        };
        let reader = client.clone();
        let (inventory, health, gates) = on_engine_thread(move || async move {
            let (health, gates) = tokio::try_join!(
                health(client.clone(), &inventory, Default::default()),
                live_gates(client, &inventory, Default::default())
            )?;
            Ok::<_, vmdeck_installer::InstallError>((inventory, health, gates))
        })
        .await??;
        let user_data = user_data(reader).await?;
        let wizard = self.wizard()?;
        let catalog = wizard.catalog();
        let mut view = InstalledStatusView::of(cluster.name, &inventory, health, gates, catalog);
        view.user_data = user_data;
        if let Ok(profile) = Profile::from_yaml(&inventory.profile) {
            view.draft = Some(draft_from_profile(catalog, &profile));
        }
        Ok(view)
    }

    /// What VMDeck installed on the cluster, pushed again whenever it changes: the status now,
    /// then a new one each time an object the packs' health depends on changes (several changes
    /// at once make one status), until the window stops listening. Ends after the first status
    /// when nothing is installed.
    pub async fn watch_installed(
        &self,
        cluster: ClusterRef,
        events: Events<InstalledStatusView>,
    ) -> Result<(), UiError> {
        let (_, client) = self.cluster_client(&cluster.name).await?;
        let mut last = self.installed_status(cluster.clone()).await?;
        events.send(last.clone()).await?;
        let Some(inventory) = self.inventory(&client).await? else {
            return Ok(());
        };
        // One pending change at most: the status is read again after the change, so changes
        // that come while it is read are all seen by the next reading.
        let (changed, mut changes) = mpsc::channel::<()>(1);
        let watching = on_engine_thread(move || async move {
            let mut ticks = health_changes(client, &inventory, Default::default()).await?;
            while ticks.next().await.is_some() {
                if let Err(mpsc::error::TrySendError::Closed(())) = changed.try_send(()) {
                    break;
                }
            }
            Ok::<_, vmdeck_installer::InstallError>(())
        });
        tokio::pin!(watching);
        loop {
            tokio::select! {
                change = changes.recv() => {
                    if change.is_none() {
                        return Ok(());
                    }
                    let now = self.installed_status(cluster.clone()).await?;
                    if now != last {
                        match events.send(now.clone()).await {
                            Ok(()) => last = now,
                            Err(closed) if closed.code == "stream_closed" => return Ok(()),
                            Err(other) => return Err(other),
                        }
                    }
                }
                ended = &mut watching => {
                    ended??;
                    return Err(UiError::internal("the health watches stopped"));
                }
                () = events.closed() => return Ok(()),
            }
        }
    }

    /// Removes everything VMDeck installed; refuses with `vms_exist` while VMs exist unless
    /// `remove_vms`. Progress streams as it goes.
    pub async fn uninstall_packs(
        &self,
        input: UninstallInput,
        events: Events<InstallEvent>,
    ) -> Result<UninstallDoneView, UiError> {
        let result = async {
            let (_, client) = self.cluster_client(&input.cluster).await?;
            let (sender, mut receiver) = mpsc::channel(EVENT_QUEUE);
            let sink = ProgressSink::new(sender);
            let options = UninstallOptions {
                remove_vms: input.remove_vms,
                force_finalizers: input.force_finalizers,
                ..UninstallOptions::default()
            };
            let work =
                on_engine_thread(move || async move { uninstall(client, options, &sink).await });
            let forward = async {
                while let Some(progress) = receiver.recv().await {
                    events.send(progress.into()).await?;
                }
                Ok::<_, UiError>(())
            };
            let (result, ()) = tokio::try_join!(work, forward)?;
            let report = result?;
            Ok(UninstallDoneView {
                packs: report.packs,
                deleted: count(report.deleted),
                leftovers: report.leftovers.into_iter().map(Into::into).collect(),
            })
        }
        .await;
        settle(&events, result).await
    }

    /// The installed profile with the gates changed, rendered; refused with
    /// `gates_owned_elsewhere` when another field manager owns a gate list.
    async fn gates_changed(&self, input: &GateChangeInput) -> Result<Prepared, UiError> {
        let (_, client) = self.cluster_client(&input.cluster).await?;
        let inventory = self
            .inventory(&client)
            .await?
            .ok_or_else(|| not_installed(&input.cluster))?;
        let (live, inventory) = gates_of(client, inventory).await?;
        if let Some(owned) = live.iter().find(|g| g.owned_by.is_some()) {
            return Err(UiError::new(
                "gates_owned_elsewhere",
                format!(
                    "the gate list of {} is owned by field manager {:?}, not VMDeck: change the gates there (VMDeck does not fight over it)",
                    owned.object,
                    owned.owned_by.as_deref().unwrap_or_default()
                ),
            ));
        }
        let mut profile = Profile::from_yaml(&inventory.profile).map_err(|e| {
            UiError::new(
                "inventory_corrupt",
                format!("the installed profile in the inventory cannot be read: {e}"),
            )
        })?;
        let wizard = self.wizard()?;
        for change in &input.gates {
            set_gate(
                wizard.catalog(),
                &mut profile.packs,
                &change.gate,
                change.setting.map(GateChoice::from),
            )
            .map_err(|e| {
                let mut error = UiError::new(e.code(), format!("gate {}: {e}", change.gate));
                error.field = Some(change.gate.clone());
                error
            })?;
        }
        self.prepare(&input.cluster, profile).await
    }

    /// What the gate change would change (only the gate lists, as one-field diffs).
    pub async fn plan_gate_change(&self, input: GateChangeInput) -> Result<PlanView, UiError> {
        let prepared = self.gates_changed(&input).await?;
        self.plan_prepared(prepared).await
    }

    /// Applies the gate change, waits until ready again and answers the gates now in effect.
    pub async fn apply_gate_change(
        &self,
        input: GateChangeInput,
        events: Events<InstallEvent>,
    ) -> Result<Vec<LiveGatesView>, UiError> {
        let result = async {
            let prepared = self.gates_changed(&input).await?;
            let client = prepared.client.clone();
            self.run_journaled(
                &input.cluster,
                prepared.client,
                prepared.rendered,
                prepared.profile.to_yaml(),
                InstallOptions::default(),
                &events,
            )
            .await?;
            let inventory = self
                .inventory(&client)
                .await?
                .ok_or_else(|| not_installed(&input.cluster))?;
            let (gates, _) = gates_of(client, inventory).await?;
            Ok(gates.into_iter().map(Into::into).collect())
        }
        .await;
        settle(&events, result).await
    }
}
