// The Clusters screen's state: the list, each cluster's latest check, and the app status.
import type { Backend } from './backend';
import type { AppStatus, ClusterView, UiError } from './generated';
import type { CheckState } from './clusterStatus';

export class ClustersModel {
  status = $state<AppStatus | null>(null);
  clusters = $state<ClusterView[]>([]);
  checks = $state<Record<string, CheckState>>({});
  loadError = $state<UiError | null>(null);
  loaded = $state(false);

  constructor(private readonly backend: Backend) {}

  async load(): Promise<void> {
    try {
      this.status = await this.backend.appStatus();
      this.clusters = await this.backend.listClusters();
      this.loadError = null;
    } catch (error) {
      this.loadError = error as UiError;
    }
    this.loaded = true;
    // The core decides which clusters are worth checking now (recently used, or the demo); it
    // checks them all at once and each result shows as soon as it is known.
    void this.checkAll(this.clusters.filter((c) => c.check_at_start).map((c) => c.name));
  }

  async checkAll(names: string[]): Promise<void> {
    if (names.length === 0) return;
    for (const name of names) this.checks[name] = { state: 'checking' };
    try {
      await this.backend.checkClusters({ names }, (event) => {
        this.checks[event.cluster] = event.check
          ? { state: 'done', view: event.check }
          : { state: 'failed', error: event.error ?? { code: 'internal', message: 'the check gave no result', field: null } };
      });
    } catch (error) {
      for (const name of names) {
        if (this.checks[name]?.state === 'checking') this.checks[name] = { state: 'failed', error: error as UiError };
      }
    }
  }

  async check(name: string): Promise<void> {
    this.checks[name] = { state: 'checking' };
    try {
      this.checks[name] = { state: 'done', view: await this.backend.checkCluster({ name }) };
    } catch (error) {
      this.checks[name] = { state: 'failed', error: error as UiError };
    }
  }

  /** After an import: list again and check the new clusters. */
  async added(saved: ClusterView[]): Promise<void> {
    this.clusters = await this.backend.listClusters();
    for (const cluster of saved) void this.check(cluster.name);
  }

  async remove(name: string): Promise<void> {
    await this.backend.removeCluster({ name });
    delete this.checks[name];
    this.clusters = this.clusters.filter((c) => c.name !== name);
  }

  async rename(from: string, to: string): Promise<void> {
    const renamed = await this.backend.renameCluster({ from, to });
    this.clusters = this.clusters.map((c) => (c.name === from ? renamed : c));
    const check = this.checks[from];
    delete this.checks[from];
    if (check) this.checks[renamed.name] = check;
  }

  async useSessionOnly(): Promise<void> {
    this.status = await this.backend.useSessionOnly();
    await this.load();
  }

  async startDemo(): Promise<void> {
    const demo = await this.backend.startDemo();
    await this.added([demo]);
  }
}
