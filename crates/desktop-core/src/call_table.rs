//! The one declaration of every call the UI makes: name, request, answer (and events for a
//! stream), and the `App` method that runs it. Tauri IPC, the dev server's HTTP and websocket
//! routes and the TypeScript client are all generated from this table.

use crate::app_status::AppStatus;
use crate::calls::{core_calls, refuse_paths_over_http};
use crate::console_requests::{
    NamespaceRef, OpenConsoleInput, PowerActionInput, SaveScreenshotInput, StartViewerInput, VmRef,
    VmScope,
};
use crate::console_views::{
    ConsoleTicketView, InstalledViewerView, SavedScreenshotView, ScreenshotView, ViewerView,
    VmAccessView, VmRowView, VmUpdateEvent,
};
use crate::dashboard_views::{
    CloneDoneView, CloneVmInput, DeleteVmInput, DeletedVmView, DiskEventView, EditVmInput,
    EditedVmView, RestoreDoneView, RestoreStepView, SnapshotCapabilityView, SnapshotInput,
    SnapshotRowView, VmCreateView, VmDraftCheckView, VmDraftInput, VmFormChoicesInput,
    VmFormChoicesView, VmReviewView, VmSettingsView,
};
use crate::endpoint_views::{AddProxiedInput, EndpointsView, UseEndpointInput};
use crate::install_events::{
    InstallDoneView, InstallEvent, InstalledStatusView, LiveGatesView, UnfinishedRunView,
    UninstallDoneView,
};
use crate::install_requests::{
    DraftOnCluster, GateChangeInput, InstallInput, ProfileChangesInput, ResumeInput, UninstallInput,
};
use crate::install_views::{PlanView, PreflightView};
use crate::keystroke_calls::{GuestLayoutView, KeystrokePlanView, PlanKeystrokesInput};
use crate::requests::{ClusterNames, ClusterRef, ImportInput, KubeconfigSource, RenameInput};
use crate::views::{CheckView, ClusterCheckEvent, ClusterView, ContextView};
use crate::wizard_requests::{
    GateTableQuery, PackSecretInput, PackSecretQuery, PackSelection, ProfileDraft, ProfileLocation,
    SaveProfileInput,
};
use crate::wizard_views::{
    DraftCheckView, GateTableView, LoadedProfileView, PackSecretView, ProfileFileView,
    SavedProfileView, SelectionView, WizardCatalogView,
};

core_calls! {
    calls {
        /// Demo mode, where secrets are kept, and what keeps the keyring or the demo from working.
        app_status(()) -> AppStatus = |app, ()| Ok(app.status());
        /// The user's opt-in when the keyring is unavailable: secrets in memory until exit.
        use_session_only(()) -> AppStatus = |app, ()| app.use_session_only().await;
        /// The demo cluster (if running) first, then the saved clusters.
        list_clusters(()) -> Vec<ClusterView> = |app, ()| app.list_clusters().await;
        /// The contexts of a kubeconfig, for the user to choose from.
        inspect_kubeconfig(KubeconfigSource) -> Vec<ContextView> [refuse_paths_over_http]
            = |app, source| app.inspect_kubeconfig(source).await;
        /// Saves the chosen contexts (all or nothing).
        import_clusters(ImportInput) -> Vec<ClusterView> [refuse_paths_over_http]
            = |app, input| app.import_clusters(input).await;
        rename_cluster(RenameInput) -> ClusterView = |app, input| app.rename_cluster(input).await;
        /// Removes a saved cluster with its secrets.
        remove_cluster(ClusterRef) -> () = |app, cluster| app.remove_cluster(cluster).await;
        /// Connects to a saved cluster: version, nodes, KubeVirt, install permission.
        check_cluster(ClusterRef) -> CheckView = |app, cluster| app.check_cluster(cluster).await;
        /// Checks a cluster's direct and proxied endpoints at once: which answers, which is in use.
        cluster_endpoints(ClusterRef) -> EndpointsView
            = |app, cluster| app.cluster_endpoints(cluster).await;
        /// "Add proxied access" through the Spectro-style reverse proxy, same credentials.
        add_proxied_access(AddProxiedInput) -> EndpointsView
            = |app, input| app.add_proxied_access(input).await;
        /// Switches the endpoint a cluster uses (direct or proxied).
        use_endpoint(UseEndpointInput) -> ClusterView = |app, input| app.use_endpoint(input).await;
        /// Starts the embedded simulated cluster (once).
        start_demo(()) -> ClusterView = |app, ()| app.start_demo().await;
        /// Pack cards with their values forms, and the presets.
        wizard_catalog(()) -> WizardCatalogView = |app, ()| app.wizard_catalog();
        resolve_packs(PackSelection) -> SelectionView = |app, selection| app.resolve_packs(selection);
        gate_table(GateTableQuery) -> GateTableView = |app, query| app.gate_table(query);
        validate_profile(ProfileDraft) -> DraftCheckView = |app, draft| app.validate_profile(draft);
        /// Writes a profile file atomically.
        save_profile(SaveProfileInput) -> SavedProfileView [refuse_paths_over_http]
            = |app, input| app.save_profile(input).await;
        load_profile(ProfileLocation) -> LoadedProfileView [refuse_paths_over_http]
            = |app, location| app.load_profile(location).await;
        list_profiles(()) -> Vec<ProfileFileView> = |app, ()| app.list_profiles().await;
        /// Keeps a pack secret in the secret store, never in a profile.
        store_pack_secret(PackSecretInput) -> PackSecretView
            = |app, input| app.store_pack_secret(input).await;
        pack_secret_status(PackSecretQuery) -> Vec<PackSecretView>
            = |app, query| app.pack_secret_status(query).await;
        /// What a cluster must offer for the draft: checks, verdicts and automatic fixes.
        preflight_install(DraftOnCluster) -> PreflightView
            = |app, input| app.preflight_install(input).await;
        /// The draft with an automatic fix's profile changes made.
        apply_profile_changes(ProfileChangesInput) -> ProfileDraft
            = |app, input| app.apply_profile_changes(input);
        /// What installing the draft would change: counts per pack, objects, diffs, conflicts.
        plan_install(DraftOnCluster) -> PlanView = |app, input| app.plan_install(input).await;
        /// What VMDeck installed on a cluster: packs, health, live gates.
        installed_status(ClusterRef) -> InstalledStatusView
            = |app, cluster| app.installed_status(cluster).await;
        /// Install runs that were cut short or failed, to resume or discard.
        unfinished_installs(()) -> Vec<UnfinishedRunView>
            = |app, ()| app.unfinished_installs().await;
        /// Forgets a cluster's unfinished install run.
        discard_install(ClusterRef) -> () = |app, cluster| app.discard_install(cluster).await;
        /// Stops the cluster's running install (the work in flight is dropped; the journal keeps
        /// the run to resume); `false` when none runs.
        cancel_install(ClusterRef) -> bool = |app, cluster| Ok(app.cancel_install(cluster));
        /// What a feature gate change on the installed packs would change (the one-field diffs).
        plan_gate_change(GateChangeInput) -> PlanView
            = |app, input| app.plan_gate_change(input).await;
        /// Every VM row of a saved cluster (one namespace or all), once listed.
        list_vms(VmScope) -> Vec<VmRowView> = |app, scope| app.list_vms(scope).await;
        /// Which power actions and consoles the user may use in a namespace.
        vm_access(NamespaceRef) -> VmAccessView = |app, target| app.vm_access(target).await;
        /// A power action on a VM; KubeVirt's refusals in plain words (`already_running`, ...).
        power_action(PowerActionInput) -> () = |app, input| app.power_action(input).await;
        /// Dials a VM's VNC or serial console; answers the gateway URL and one-time token
        /// (`session_in_use` for a busy VNC unless `takeover`).
        open_console(OpenConsoleInput) -> ConsoleTicketView
            = |app, input| app.open_console(input).await;
        /// The native VNC viewer installed, if any.
        installed_viewer(()) -> Option<InstalledViewerView> = |app, ()| Ok(app.installed_viewer());
        /// A VM's loopback listener for a native VNC viewer (started once), optionally launching
        /// the installed viewer at it.
        start_viewer(StartViewerInput) -> ViewerView = |app, input| app.start_viewer(input).await;
        /// The viewer listeners running now.
        list_viewers(()) -> Vec<ViewerView> = |app, ()| Ok(app.list_viewers().await);
        /// Closes a VM's viewer listener; `false` when none ran.
        stop_viewer(VmRef) -> bool = |app, vm| Ok(app.stop_viewer(vm).await);
        /// A VM's screen as a PNG (base64).
        screenshot(VmRef) -> ScreenshotView = |app, vm| app.screenshot(vm).await;
        /// The guest keyboard layouts "Paste as keystrokes" offers.
        guest_layouts(()) -> Vec<GuestLayoutView> = |app, ()| Ok(app.guest_layouts());
        /// The keys that type a text on a guest layout, and the characters it cannot type.
        plan_keystrokes(PlanKeystrokesInput) -> KeystrokePlanView
            = |app, input| app.plan_keystrokes(input).await;
        /// Writes a VM's screenshot to a path (a native save dialog's; the desktop app only).
        save_screenshot(SaveScreenshotInput) -> SavedScreenshotView [refuse_paths_over_http]
            = |app, input| app.save_screenshot(input).await;
        /// The create-a-VM form's choices: namespaces, instancetypes, preferences, golden
        /// images, StorageClasses, Multus networks.
        vm_form_choices(VmFormChoicesInput) -> VmFormChoicesView
            = |app, input| app.vm_form_choices(input).await;
        /// A VM draft checked at its fields (form, then cluster): each error with its fix.
        check_vm_draft(VmDraftInput) -> VmDraftCheckView
            = |app, input| app.check_vm_draft(input).await;
        /// The exact objects a draft makes (VM with dataVolumeTemplates, Secret) as YAML.
        review_vm(VmDraftInput) -> VmReviewView = |app, input| app.review_vm(input).await;
        /// Creates a draft's VM (or answers its field errors, nothing created).
        create_vm(VmDraftInput) -> VmCreateView = |app, input| app.create_vm(input).await;
        /// A VM's settings for its page (CPU, memory, run strategy, instancetype, disks).
        vm_settings(VmRef) -> VmSettingsView = |app, vm| app.vm_settings(vm).await;
        /// Whether a VM can be snapshotted, else what is missing.
        snapshot_capability(VmRef) -> SnapshotCapabilityView
            = |app, vm| app.snapshot_capability(vm).await;
        /// A VM's snapshots with phase and size.
        list_vm_snapshots(VmRef) -> Vec<SnapshotRowView>
            = |app, vm| app.list_vm_snapshots(vm).await;
        /// Takes a snapshot and waits until it is ready; answers the VM's snapshots.
        take_vm_snapshot(SnapshotInput) -> Vec<SnapshotRowView>
            = |app, input| app.take_vm_snapshot(input).await;
        /// Deletes a snapshot; answers the VM's snapshots left.
        delete_vm_snapshot(SnapshotInput) -> Vec<SnapshotRowView>
            = |app, input| app.delete_vm_snapshot(input).await;
        /// Clones a VM (VirtualMachineClone, else through a snapshot).
        clone_vm(CloneVmInput) -> CloneDoneView = |app, input| app.clone_vm(input).await;
        /// Deletes a VM once its name is typed, with or without its disks.
        delete_vm(DeleteVmInput) -> DeletedVmView = |app, input| app.delete_vm(input).await;
        /// Edits CPU, memory or instancetype and run strategy (a running VM: restart needed).
        edit_vm(EditVmInput) -> EditedVmView = |app, input| app.edit_vm(input).await;
    }
    streams {
        /// Checks several saved clusters at once; each result is an event as soon as it is known.
        check_clusters(ClusterNames) => ClusterCheckEvent, -> ()
            = |app, names, events| app.check_clusters(names, events).await;
        /// Installs the draft (refused when the preflight fails); progress, then `done` or `failed`.
        install_profile(InstallInput) => InstallEvent, -> InstallDoneView
            = |app, input, events| app.install_profile(input, events).await;
        /// Installs the profile of a cluster's unfinished run again.
        resume_install(ResumeInput) => InstallEvent, -> InstallDoneView
            = |app, input, events| app.resume_install(input, events).await;
        /// Removes everything VMDeck installed; `vms_exist` while VMs exist unless `remove_vms`.
        uninstall_packs(UninstallInput) => InstallEvent, -> UninstallDoneView
            = |app, input, events| app.uninstall_packs(input, events).await;
        /// Applies a feature gate change; answers the gates now in effect.
        apply_gate_change(GateChangeInput) => InstallEvent, -> Vec<LiveGatesView>
            = |app, input, events| app.apply_gate_change(input, events).await;
        /// What VMDeck installed on a cluster, again each time the packs' health changes.
        watch_installed(ClusterRef) => InstalledStatusView, -> ()
            = |app, cluster, events| app.watch_installed(cluster, events).await;
        /// A cluster's VM rows: a snapshot, then batched changes, until the window stops listening.
        watch_vms(VmScope) => VmUpdateEvent, -> ()
            = |app, scope, events| app.watch_vms(scope, events).await;
        /// A VM's disk imports (CDI phases, percent) until every disk is ready or one failed.
        watch_vm_disks(VmRef) => DiskEventView, -> ()
            = |app, vm, events| app.watch_vm_disks(vm, events).await;
        /// Restores a VM from a snapshot, stopping it first when it runs (each step an event).
        restore_vm_snapshot(SnapshotInput) => RestoreStepView, -> RestoreDoneView
            = |app, input, events| app.restore_vm_snapshot(input, events).await;
    }
}
