// A cluster's Installed view: what VMDeck installed (packs, versions, health, live gates), kept
// live by `watch_installed`, the live feature gate editor (gate table -> plan -> apply), the
// upgrade (the versions the core offers -> plan -> the same progress), the uninstall, and the
// cluster's unfinished run (Resume / Discard). Older answers never replace newer ones.
import type { Backend } from './backend';
import type {
  GateChange,
  GateSetting,
  GateTableView,
  InstalledStatusView,
  LiveGatesView,
  PlanView,
  ProfileDraft,
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
  /** Pack -> the version chosen to upgrade it to (only versions the core offers). */
  upgradeTo = $state<Record<string, string>>({});
  upgradePlan = $state<{ value: PlanView; key: string } | null>(null);
  upgradePlanError = $state<UiError | null>(null);
  upgradePlanBusy = $state(false);
  upgradeRun = $state<RunProgress | null>(null);
  uninstallRun = $state<RunProgress | null>(null);
  uninstallResult = $state<UninstallDoneView | null>(null);
  private readonly latest = { status: 0, plan: 0, upgradePlan: 0, gates: {} as Record<string, number> };

  constructor(
    private readonly backend: Backend,
    readonly cluster: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private watching: AbortController | null = null;

  /** Follows the cluster's installed status live (`watch_installed`: a new status whenever the
   * packs' health changes) until `stop()`; called again, it starts over (after an install,
   * upgrade, gate change or uninstall). Resolves once the first status is shown. */
  load(): Promise<void> {
    this.watching?.abort();
    const stopper = new AbortController();
    this.watching = stopper;
    const asked = ++this.latest.status;
    this.loading = true;
    const runs = this.backend.unfinishedInstalls().catch(() => [] as UnfinishedRunView[]);
    return new Promise<void>((resolve) => {
      let first = true;
      const current = () => asked === this.latest.status && !stopper.signal.aborted;
      this.backend
        .watchInstalledUntil(
          { name: this.cluster },
          (status) => {
            if (!current()) return;
            const isFirst = first;
            first = false;
            void this.show(status, isFirst, runs).then(() => {
              if (isFirst) resolve();
            });
          },
          stopper.signal,
        )
        .catch((error: UiError) => {
          if (current()) this.error = error;
        })
        .finally(() => {
          if (asked === this.latest.status) this.loading = false;
          if (first) resolve();
        });
    });
  }

  /** Stops following the status (the view closes). */
  stop(): void {
    this.watching?.abort();
    this.watching = null;
  }

  /** Shows a status; the gate choices start over when it is the first or the installed profile
   * changed, else the choices being made are kept while health comes and goes. */
  private async show(status: InstalledStatusView, first: boolean, runs: Promise<UnfinishedRunView[]>): Promise<void> {
    const profileChanged = first || status.profile !== this.status?.profile;
    this.status = status;
    this.error = null;
    if (first) {
      this.loading = false;
      const unfinished = await runs;
      this.unfinished = unfinished.find((r) => r.cluster === this.cluster) ?? null;
    }
    if (!profileChanged) return;
    const draft = status.draft;
    this.installedChoices = Object.fromEntries((draft?.packs ?? []).map((p) => [p.name, { ...p.gates } as Choices]));
    this.chosen = Object.fromEntries(Object.entries(this.installedChoices).map(([k, v]) => [k, { ...v }]));
    this.gatePlan = null;
    const gated = status.packs.filter((p) => p.gates !== null);
    await Promise.all(gated.map((p) => this.loadGateTable(p.name, p.version)));
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

  /** Chooses the version to upgrade a pack to (`null`: keep the installed one); only a version
   * the core offers for the pack is taken. */
  chooseUpgrade(pack: string, version: string | null): void {
    const offered = this.status?.packs.find((p) => p.name === pack)?.upgrades ?? [];
    const next = { ...this.upgradeTo };
    if (version === null || !offered.includes(version)) delete next[pack];
    else next[pack] = version;
    this.upgradeTo = next;
  }

  /** The installed profile with the chosen versions, or `null` when nothing is chosen. */
  get upgradeDraft(): ProfileDraft | null {
    const draft = this.status?.draft;
    if (!draft || Object.keys(this.upgradeTo).length === 0) return null;
    return { ...draft, packs: draft.packs.map((p) => ({ ...p, version: this.upgradeTo[p.name] ?? p.version })) };
  }

  /** The upgrade plan when it was made for the versions chosen now. */
  get currentUpgradePlan(): PlanView | null {
    return this.upgradePlan && this.upgradePlan.key === JSON.stringify(this.upgradeTo) ? this.upgradePlan.value : null;
  }

  async planUpgrade(): Promise<void> {
    const draft = this.upgradeDraft;
    if (!draft) return;
    const key = JSON.stringify(this.upgradeTo);
    const asked = ++this.latest.upgradePlan;
    this.upgradePlanBusy = true;
    try {
      const value = await this.backend.planInstall({ cluster: this.cluster, draft });
      if (asked !== this.latest.upgradePlan) return;
      this.upgradePlan = { value, key };
      this.upgradePlanError = null;
    } catch (error) {
      if (asked === this.latest.upgradePlan) this.upgradePlanError = error as UiError;
    } finally {
      if (asked === this.latest.upgradePlan) this.upgradePlanBusy = false;
    }
  }

  /** Installs the upgraded profile with the same progress as an install; the view then follows
   * the new inventory. */
  async applyUpgrade(): Promise<void> {
    const draft = this.upgradeDraft;
    const plan = this.currentUpgradePlan;
    if (!draft || !plan) return;
    this.upgradeRun = startRun(plan, this.now(), 'Upgrading…');
    try {
      await this.backend.installProfile({ cluster: this.cluster, draft, force_conflicts: false }, (event) => {
        this.upgradeRun = reduceRun(this.upgradeRun!, event, this.now());
      });
      this.upgradeRun = endRun(this.upgradeRun, null, this.now());
      this.upgradeTo = {};
      this.upgradePlan = null;
      await this.load();
    } catch (error) {
      this.upgradeRun = endRun(this.upgradeRun!, error as UiError, this.now());
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
