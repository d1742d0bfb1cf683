// The install steps after the profile: the target clusters, each one's preflight (with automatic
// fixes that change the draft), plan and install run (from the InstallEvent stream), and the step
// gating between them. Answers for an older draft or an older request are never shown as current.
import type { Backend } from './backend';
import type {
  InstallDoneView,
  PlanView,
  PreflightCheckView,
  PreflightView,
  ProfileDraft,
  UiError,
} from './generated';
import { allowAll, describeChange, preflightGate, type PreflightGate } from './preflight';
import { planAllows } from './plan';
import { endRun, reduceRun, startRun, type RunProgress } from './progress';
import type { WizardModel, WizardStep } from './wizard.svelte';

/** One answer and the draft it was asked for. */
export interface Answer<T> {
  value: T;
  draftKey: string;
}

export interface TargetState {
  cluster: string;
  preflight: Answer<PreflightView> | null;
  preflightError: UiError | null;
  preflightBusy: boolean;
  plan: Answer<PlanView> | null;
  planError: UiError | null;
  planBusy: boolean;
  run: RunProgress | null;
  result: InstallDoneView | null;
}

const fresh = (cluster: string): TargetState => ({
  cluster,
  preflight: null,
  preflightError: null,
  preflightBusy: false,
  plan: null,
  planError: null,
  planBusy: false,
  run: null,
  result: null,
});

/** A draft's identity: answers are current only for the draft they were asked for. */
export const draftKey = (draft: ProfileDraft): string => JSON.stringify(draft);

export class InstallFlow {
  targets = $state<string[]>([]);
  states = $state<Record<string, TargetState>>({});
  /** The user read the warnings (asked again after every preflight). */
  acknowledged = $state(false);
  /** The user agreed to take over fields other managers own. */
  consented = $state(false);
  /** What automatic fixes changed in the draft, newest last. */
  fixNotes = $state<string[]>([]);
  fixError = $state<UiError | null>(null);
  private readonly latest = { preflight: {} as Record<string, number>, plan: {} as Record<string, number> };

  constructor(
    private readonly backend: Backend,
    private readonly wizard: WizardModel,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (wizard.cluster) this.setTarget(wizard.cluster, true);
  }

  private get key(): string {
    return draftKey(this.wizard.draft());
  }

  state(cluster: string): TargetState {
    return this.states[cluster] ?? fresh(cluster);
  }

  setTarget(cluster: string, on: boolean): void {
    if (on && !this.targets.includes(cluster)) {
      this.targets = [...this.targets, cluster];
      this.states[cluster] ??= fresh(cluster);
    } else if (!on) {
      this.targets = this.targets.filter((c) => c !== cluster);
    }
  }

  /** The cluster's preflight when it was made for the current draft. */
  currentPreflight(cluster: string): PreflightView | null {
    const answer = this.states[cluster]?.preflight;
    return answer && answer.draftKey === this.key ? answer.value : null;
  }

  currentPlan(cluster: string): PlanView | null {
    const answer = this.states[cluster]?.plan;
    return answer && answer.draftKey === this.key ? answer.value : null;
  }

  gate(cluster: string): PreflightGate {
    return preflightGate(this.currentPreflight(cluster), this.acknowledged);
  }

  /** Whether any target's preflight has warnings to acknowledge. */
  get hasWarnings(): boolean {
    return this.targets.some((c) => this.gate(c).warnings.length > 0);
  }

  /** Runs the preflight of every target for the current draft (the warnings are to be read again). */
  async preflight(): Promise<void> {
    this.acknowledged = false;
    await Promise.all(this.targets.map((c) => this.preflightOne(c)));
  }

  private async preflightOne(cluster: string): Promise<void> {
    const asked = (this.latest.preflight[cluster] = (this.latest.preflight[cluster] ?? 0) + 1);
    const draft = this.wizard.draft();
    this.states[cluster] ??= fresh(cluster);
    const state = this.states[cluster]!; // the reactive one (an assignment's value is the plain object)
    state.preflightBusy = true;
    try {
      const value = await this.backend.preflightInstall({ cluster, draft });
      if (asked !== this.latest.preflight[cluster]) return; // a newer preflight was asked for
      state.preflight = { value, draftKey: draftKey(draft) };
      state.preflightError = null;
    } catch (error) {
      if (asked === this.latest.preflight[cluster]) state.preflightError = error as UiError;
    } finally {
      if (asked === this.latest.preflight[cluster]) state.preflightBusy = false;
    }
  }

  /** Makes an automatic fix's profile changes to the draft, says what changed, and checks again. */
  async applyFix(check: PreflightCheckView): Promise<void> {
    const fix = check.auto_fix;
    if (!fix || fix.action.kind !== 'profile') return;
    const changes = fix.action.changes;
    this.fixError = null;
    try {
      const changed = await this.backend.applyProfileChanges({ draft: this.wizard.draft(), changes });
      await this.wizard.adoptDraft(changed);
      this.fixNotes = [...this.fixNotes, `${fix.summary}: ${changes.map(describeChange).join('; ')}`];
    } catch (error) {
      this.fixError = error as UiError;
      return;
    }
    await this.preflight();
  }

  async plan(): Promise<void> {
    this.consented = false;
    await Promise.all(this.targets.map((c) => this.planOne(c)));
  }

  private async planOne(cluster: string): Promise<void> {
    const asked = (this.latest.plan[cluster] = (this.latest.plan[cluster] ?? 0) + 1);
    const draft = this.wizard.draft();
    this.states[cluster] ??= fresh(cluster);
    const state = this.states[cluster]!; // the reactive one (an assignment's value is the plain object)
    state.planBusy = true;
    try {
      const value = await this.backend.planInstall({ cluster, draft });
      if (asked !== this.latest.plan[cluster]) return;
      state.plan = { value, draftKey: draftKey(draft) };
      state.planError = null;
    } catch (error) {
      if (asked === this.latest.plan[cluster]) state.planError = error as UiError;
    } finally {
      if (asked === this.latest.plan[cluster]) state.planBusy = false;
    }
  }

  get hasConflicts(): boolean {
    return this.targets.some((c) => this.currentPlan(c)?.has_conflicts);
  }

  /** Installs the draft on every target at once; each run follows its own stream. */
  async install(): Promise<void> {
    const draft = this.wizard.draft();
    await Promise.all(
      this.targets.map(async (cluster) => {
        this.states[cluster] ??= fresh(cluster);
        const state = this.states[cluster]!; // the reactive one (an assignment's value is the plain object)
        state.result = null;
        state.run = startRun(this.currentPlan(cluster), this.now());
        try {
          state.result = await this.backend.installProfile({ cluster, draft, force_conflicts: this.consented }, (event) => {
            state.run = reduceRun(state.run!, event, this.now());
          });
          state.run = endRun(state.run, null, this.now());
        } catch (error) {
          state.run = endRun(state.run!, error as UiError, this.now());
        }
      }),
    );
  }

  /** Asks every running install to stop (the journal keeps them to resume). */
  async cancel(): Promise<void> {
    await Promise.all(
      this.targets
        .filter((c) => this.states[c]?.run?.outcome.state === 'running')
        .map((name) => this.backend.cancelInstall({ name }).catch(() => false)),
    );
  }

  get running(): boolean {
    return this.targets.some((c) => this.states[c]?.run?.outcome.state === 'running');
  }

  /** Every target's install ended (well or not). */
  get ended(): boolean {
    return this.targets.length > 0 && this.targets.every((c) => this.states[c]?.run && this.states[c]!.run!.outcome.state !== 'running');
  }

  get allDone(): boolean {
    return this.targets.length > 0 && this.targets.every((c) => this.states[c]?.run?.outcome.state === 'done');
  }

  /** Whether `step` may be opened now. */
  reachable(step: WizardStep, profileReady: boolean): boolean {
    if (this.running) return step === 'install';
    const preflightOk = allowAll(this.targets.map((c) => this.gate(c)));
    const planOk = preflightOk && this.targets.every((c) => planAllows(this.currentPlan(c), this.consented));
    switch (step) {
      case 'packs':
        return true;
      case 'gates':
      case 'values':
      case 'save':
        return profileReady;
      case 'clusters':
        return profileReady && this.wizard.issues.length === 0;
      case 'preflight':
        return profileReady && this.wizard.issues.length === 0 && this.targets.length > 0;
      case 'plan':
        return profileReady && preflightOk;
      case 'install':
        return profileReady && (planOk || this.targets.some((c) => this.states[c]?.run));
      case 'done':
        return this.ended;
    }
  }
}
