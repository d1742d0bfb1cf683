// Install runs that were cut short (the app closed, a crash, Cancel) or failed: found at start and
// when a cluster opens, offered as Resume (the same profile installed again, to the same end
// state) or Discard (forget the run; what it installed stays in the inventory).
import type { Backend } from './backend';
import type { InstallDoneView, UiError, UnfinishedRunView } from './generated';
import { endRun, reduceRun, startRun, type RunProgress } from './progress';

export class ResumeModel {
  runs = $state<UnfinishedRunView[]>([]);
  error = $state<UiError | null>(null);
  progress = $state<Record<string, RunProgress>>({});
  results = $state<Record<string, InstallDoneView>>({});
  actionErrors = $state<Record<string, UiError>>({});
  private asked = 0;

  constructor(
    private readonly backend: Backend,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async load(): Promise<void> {
    const asked = ++this.asked;
    try {
      const runs = await this.backend.unfinishedInstalls();
      if (asked !== this.asked) return;
      // A run being resumed right now stays listed until it ends.
      this.runs = runs;
      this.error = null;
    } catch (error) {
      if (asked === this.asked) this.error = error as UiError;
    }
  }

  /** Runs of `cluster` (or all) to show: unfinished ones and those being resumed or just resumed. */
  shown(cluster: string | null): string[] {
    const names = new Set([...this.runs.map((r) => r.cluster), ...Object.keys(this.progress)]);
    return [...names].filter((c) => cluster === null || c === cluster);
  }

  run(cluster: string): UnfinishedRunView | undefined {
    return this.runs.find((r) => r.cluster === cluster);
  }

  async resume(cluster: string): Promise<void> {
    delete this.actionErrors[cluster];
    this.progress[cluster] = startRun(null, this.now(), 'Resuming…');
    try {
      this.results[cluster] = await this.backend.resumeInstall({ cluster, force_conflicts: false }, (event) => {
        this.progress[cluster] = reduceRun(this.progress[cluster]!, event, this.now());
      });
      this.progress[cluster] = endRun(this.progress[cluster]!, null, this.now());
    } catch (error) {
      this.progress[cluster] = endRun(this.progress[cluster]!, error as UiError, this.now());
    }
    await this.load();
  }

  async cancel(cluster: string): Promise<void> {
    await this.backend.cancelInstall({ name: cluster }).catch(() => false);
  }

  async discard(cluster: string): Promise<void> {
    delete this.actionErrors[cluster];
    try {
      await this.backend.discardInstall({ name: cluster });
      delete this.progress[cluster];
      delete this.results[cluster];
      await this.load();
    } catch (error) {
      this.actionErrors[cluster] = error as UiError;
    }
  }

  /** Hides a finished resume's note. */
  dismiss(cluster: string): void {
    delete this.progress[cluster];
    delete this.results[cluster];
  }
}
