// A cluster's Installed view: what VMDeck installed (packs, versions, health, live gates), the
// live feature gate editor (gate table -> plan -> apply), the uninstall, and the cluster's
// unfinished run (Resume / Discard). Older answers never replace newer ones.
import type { Backend } from './backend';
import type {
  GateChange,
  GateSetting,
  GateTableView,
  InstalledStatusView,
  LiveGatesView,
  PlanView,
  UiError,
  UninstallDoneView,
  UnfinishedRunView,
} from './generated';
import { endRun, reduceRun, startRun, type RunProgress } from './progress';

type Choices = Record<string, GateSetting>;

/** The gates whose choice differs from the installed one, as the core takes them (`PACK/NAME`). */
export function gateChanges(installed: Record<string, Choices>, chosen: Record<string, Choices>): GateChange[] {
  const changes: GateChange[] = [];
  for (const pack of Object.keys(chosen).sort()) {
    const before = installed[pack] ?? {};
    const after = chosen[pack] ?? {};
    for (const gate of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      if (before[gate] !== after[gate]) changes.push({ gate: `${pack}/${gate}`, setting: after[gate] ?? null });
    }
  }
  return changes;
}

/** Whether the typed confirmation matches the cluster's name exactly. */
export const confirms = (typed: string, cluster: string): boolean => typed.trim() === cluster;

export class InstalledModel {
  status = $state<InstalledStatusView | null>(null);
  error = $state<UiError | null>(null);
  loading = $state(false);
  unfinished = $state<UnfinishedRunView | null>(null);
  /** Gate tables of installed packs that have gates, and the choices being made. */
  gateTables = $state<Record<string, GateTableView>>({});
  gateErrors = $state<Record<string, UiError>>({});
  chosen = $state<Record<string, Choices>>({});
  installedChoices = $state<Record<string, Choices>>({});
  gatePlan = $state<{ value: PlanView; key: string } | null>(null);
  gatePlanError = $state<UiError | null>(null);
  gatePlanBusy = $state(false);
  gateRun = $state<RunProgress | null>(null);
  gatesNow = $state<LiveGatesView[] | null>(null);
  uninstallRun = $state<RunProgress | null>(null);
  uninstallResult = $state<UninstallDoneView | null>(null);
  private readonly latest = { status: 0, plan: 0, gates: {} as Record<string, number> };

  constructor(
    private readonly backend: Backend,
    readonly cluster: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async load(): Promise<void> {
    const asked = ++this.latest.status;
    this.loading = true;
    try {
      const [status, runs] = await Promise.all([
        this.backend.installedStatus({ name: this.cluster }),
        this.backend.unfinishedInstalls().catch(() => [] as UnfinishedRunView[]),
      ]);
      if (asked !== this.latest.status) return;
      this.status = status;
      this.error = null;
      this.unfinished = runs.find((r) => r.cluster === this.cluster) ?? null;
      const draft = status.draft;
      this.installedChoices = Object.fromEntries((draft?.packs ?? []).map((p) => [p.name, { ...p.gates } as Choices]));
      this.chosen = Object.fromEntries(Object.entries(this.installedChoices).map(([k, v]) => [k, { ...v }]));
      this.gatePlan = null;
      const gated = status.packs.filter((p) => p.gates !== null);
      await Promise.all(gated.map((p) => this.loadGateTable(p.name, p.version)));
    } catch (error) {
      if (asked === this.latest.status) this.error = error as UiError;
    } finally {
      if (asked === this.latest.status) this.loading = false;
    }
  }

  private async loadGateTable(pack: string, version: string): Promise<void> {
    const asked = (this.latest.gates[pack] = (this.latest.gates[pack] ?? 0) + 1);
    try {
      const table = await this.backend.gateTable({ pack, version, choices: { ...(this.chosen[pack] ?? {}) }, version_changed: false });
      if (asked !== this.latest.gates[pack]) return;
      this.gateTables[pack] = table;
      delete this.gateErrors[pack];
    } catch (error) {
      if (asked === this.latest.gates[pack]) this.gateErrors[pack] = error as UiError;
    }
  }

  async setGate(pack: string, gate: string, setting: GateSetting | 'default'): Promise<void> {
    const choices = { ...(this.chosen[pack] ?? {}) };
    if (setting === 'default') delete choices[gate];
    else choices[gate] = setting;
    this.chosen[pack] = choices;
    const version = this.status?.packs.find((p) => p.name === pack)?.version;
    if (version) await this.loadGateTable(pack, version);
  }

  get changes(): GateChange[] {
    return gateChanges(this.installedChoices, this.chosen);
  }

  /** The gate plan when it was made for the changes now chosen. */
  get currentGatePlan(): PlanView | null {
    return this.gatePlan && this.gatePlan.key === JSON.stringify(this.changes) ? this.gatePlan.value : null;
  }

  async planGates(): Promise<void> {
    const gates = this.changes;
    const asked = ++this.latest.plan;
    this.gatePlanBusy = true;
    try {
      const value = await this.backend.planGateChange({ cluster: this.cluster, gates });
      if (asked !== this.latest.plan) return;
      this.gatePlan = { value, key: JSON.stringify(gates) };
      this.gatePlanError = null;
    } catch (error) {
      if (asked === this.latest.plan) this.gatePlanError = error as UiError;
    } finally {
      if (asked === this.latest.plan) this.gatePlanBusy = false;
    }
  }

  async applyGates(): Promise<void> {
    const plan = this.currentGatePlan;
    this.gateRun = startRun(plan, this.now(), 'Applying the gate change…');
    try {
      this.gatesNow = await this.backend.applyGateChange({ cluster: this.cluster, gates: this.changes }, (event) => {
        this.gateRun = reduceRun(this.gateRun!, event, this.now());
      });
      this.gateRun = endRun(this.gateRun, null, this.now());
      await this.load();
    } catch (error) {
      this.gateRun = endRun(this.gateRun!, error as UiError, this.now());
    }
  }

  async uninstall(removeVms: boolean): Promise<void> {
    this.uninstallResult = null;
    this.uninstallRun = startRun(null, this.now(), 'Uninstalling…');
    try {
      this.uninstallResult = await this.backend.uninstallPacks({ cluster: this.cluster, remove_vms: removeVms, force_finalizers: false }, (event) => {
        this.uninstallRun = reduceRun(this.uninstallRun!, event, this.now());
      });
      this.uninstallRun = endRun(this.uninstallRun, null, this.now());
      await this.load();
    } catch (error) {
      this.uninstallRun = endRun(this.uninstallRun!, error as UiError, this.now());
    }
  }

  /** The uninstall was refused because VMs or DataVolumes exist. */
  get blockedByVms(): boolean {
    const outcome = this.uninstallRun?.outcome;
    return outcome?.state === 'failed' && outcome.error.code === 'vms_exist';
  }
}
