// A VM's page: its settings (`vm_settings`, read again whenever its row changes in `watch_vms`),
// snapshots (offered only when `snapshot_capability` says so, else what is missing; take, list,
// restore with the VM stopped first and each step told, delete), clone, delete by typed name
// with or without disks, and the CPU / memory / instancetype / run strategy edit.
import type { Backend } from './backend';
import type { RestoreStepView, SnapshotCapabilityView, SnapshotRowView, UiError, VmRowView, VmSettingsView } from './generated';
import { deleteConfirmed, editChanges, editFormOf, snapshotName, type EditForm } from './vmDashboard';
import { applyVmUpdate } from './vms';

/** What a running restore has told. */
export function restoreStepText(step: RestoreStepView): string {
  switch (step.step) {
    case 'stopping':
      return `Stopping ${step.vm} first…`;
    case 'stopped':
      return `${step.vm} is stopped.`;
    case 'restoring':
      return `Restoring (${step.restore})…`;
    case 'restored':
      return 'Restored.';
  }
}

export class VmPageModel {
  settings = $state.raw<VmSettingsView | null>(null);
  row = $state.raw<VmRowView | null>(null);
  /** The VM is gone (deleted here or elsewhere). */
  gone = $state(false);
  capability = $state.raw<SnapshotCapabilityView | null>(null);
  snapshots = $state.raw<SnapshotRowView[]>([]);
  error = $state<UiError | null>(null);
  /** The action under way (`take`, `restore:<snapshot>`, `clone`, `delete`, `edit`, ...). */
  busy = $state<string | null>(null);
  restoreSteps = $state<string[]>([]);
  notice = $state<string | null>(null);
  edit = $state<EditForm>({ cpus: '', memory: '', instancetype: '', runStrategy: '' });
  editError = $state<UiError | null>(null);
  private rowMap = new Map<string, VmRowView>();
  private stopper: AbortController | null = null;
  private lastStatus: string | null = null;

  constructor(
    private readonly backend: Backend,
    readonly cluster: string,
    readonly namespace: string,
    readonly name: string,
  ) {}

  private get ref() {
    return { cluster: this.cluster, namespace: this.namespace, name: this.name };
  }

  readonly running = $derived(this.row?.consoles ?? this.settings?.running ?? false);

  start(): void {
    void this.load();
    const stopper = new AbortController();
    this.stopper = stopper;
    this.backend
      .watchVmsUntil(
        { cluster: this.cluster, namespace: this.namespace },
        (event) => {
          this.rowMap = applyVmUpdate(this.rowMap, event);
          const row = this.rowMap.get(`${this.namespace}/${this.name}`) ?? null;
          this.row = row;
          if (row === null && event.kind === 'changes') this.gone = true;
          if (row && row.status !== this.lastStatus) {
            this.lastStatus = row.status;
            void this.loadSettings();
          }
        },
        stopper.signal,
      )
      .catch((error: UiError) => (this.error = error));
  }

  stop(): void {
    this.stopper?.abort();
    this.stopper = null;
  }

  async load(): Promise<void> {
    await Promise.all([this.loadSettings(), this.loadSnapshots()]);
  }

  private async loadSettings(): Promise<void> {
    try {
      const settings = await this.backend.vmSettings(this.ref);
      const untouched = this.settings === null || editChanges(this.settings, this.edit) === null;
      this.settings = settings;
      if (untouched) this.edit = editFormOf(settings);
    } catch (error) {
      if ((error as UiError).code === 'no_vm') this.gone = true;
      else this.error = error as UiError;
    }
  }

  async loadSnapshots(): Promise<void> {
    try {
      const [capability, snapshots] = await Promise.all([this.backend.snapshotCapability(this.ref), this.backend.listVmSnapshots(this.ref)]);
      this.capability = capability;
      this.snapshots = snapshots;
    } catch (error) {
      this.error = error as UiError;
    }
  }

  private async run(what: string, work: () => Promise<void>): Promise<boolean> {
    this.busy = what;
    this.error = null;
    this.notice = null;
    try {
      await work();
      return true;
    } catch (error) {
      this.error = error as UiError;
      return false;
    } finally {
      this.busy = null;
    }
  }

  takeSnapshot(now = new Date()): Promise<boolean> {
    const snapshot = snapshotName(this.name, now);
    return this.run('take', async () => {
      this.snapshots = await this.backend.takeVmSnapshot({ cluster: this.cluster, namespace: this.namespace, vm: this.name, snapshot });
      this.notice = `Snapshot ${snapshot} is ready.`;
    });
  }

  deleteSnapshot(snapshot: string): Promise<boolean> {
    return this.run(`delete:${snapshot}`, async () => {
      this.snapshots = await this.backend.deleteVmSnapshot({ cluster: this.cluster, namespace: this.namespace, vm: this.name, snapshot });
    });
  }

  /** Restores from a snapshot (the core stops a running VM first; each step is shown). */
  restore(snapshot: string): Promise<boolean> {
    this.restoreSteps = [];
    return this.run(`restore:${snapshot}`, async () => {
      const done = await this.backend.restoreVmSnapshot({ cluster: this.cluster, namespace: this.namespace, vm: this.name, snapshot }, (step) => {
        this.restoreSteps = [...this.restoreSteps, restoreStepText(step)];
      });
      this.notice = `${this.name} is restored from ${snapshot}${done.stopped ? ' (it was stopped first; start it again when you want it running)' : ''}.`;
      await this.load();
    });
  }

  clone(target: string): Promise<boolean> {
    return this.run('clone', async () => {
      const done = await this.backend.cloneVm({ cluster: this.cluster, namespace: this.namespace, name: this.name, target: target.trim() });
      this.notice = `${done.target} is a clone of ${this.name} (${done.method === 'virtual_machine_clone' ? 'VirtualMachineClone' : 'from a snapshot'}).`;
    });
  }

  canDelete(typed: string): boolean {
    return deleteConfirmed(this.name, typed);
  }

  deleteVm(typed: string, keepDisks: boolean): Promise<boolean> {
    return this.run('delete', async () => {
      const done = await this.backend.deleteVm({ cluster: this.cluster, namespace: this.namespace, name: this.name, typed, keep_disks: keepDisks });
      this.gone = true;
      this.notice = `${done.vm} is deleted.${done.disks_kept.length ? ` Kept disks: ${done.disks_kept.join(', ')}.` : ''}${done.disks_deleted.length ? ` Deleted disks: ${done.disks_deleted.join(', ')}.` : ''}`;
    });
  }

  /** What the edit would change, `null` when nothing. */
  get editChanges() {
    return this.settings ? editChanges(this.settings, this.edit) : null;
  }

  async saveEdit(): Promise<boolean> {
    const changes = this.editChanges;
    if (!changes) return false;
    this.editError = null;
    this.busy = 'edit';
    try {
      const done = await this.backend.editVm({ cluster: this.cluster, namespace: this.namespace, name: this.name, ...changes });
      this.notice = done.restart_needed ? `Saved. ${this.name} is running: restart it for the new CPU and memory to apply.` : 'Saved: the VM takes it at its next start.';
      this.settings = null;
      await this.loadSettings();
      return true;
    } catch (error) {
      this.editError = error as UiError;
      return false;
    } finally {
      this.busy = null;
    }
  }
}
