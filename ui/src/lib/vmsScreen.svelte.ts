// A cluster's VMs screen: the rows from `watch_vms` (live, no polling), what each namespace
// allows (`vm_access`, asked once per namespace seen), power actions with their busy state and
// errors, and the filter. The rules are in vms.ts; this holds the state the screen draws.
import type { Backend } from './backend';
import type { PowerActionView, UiError, VmRowView } from './generated';
import { applyVmUpdate, bulkPlan, defaultFilter, facets, rowKey, visibleRows, type AccessState, type VmFilter } from './vms';

/** Where the stream is: reading the first rows, live, or stopped with the core's error. */
export type FeedState = { state: 'loading' } | { state: 'live' } | { state: 'failed'; error: UiError };

export class VmsModel {
  rows = $state.raw<Map<string, VmRowView>>(new Map());
  feed = $state<FeedState>({ state: 'loading' });
  filter = $state<VmFilter>(defaultFilter());
  access = $state<Record<string, AccessState>>({});
  /** Actions under way, by row key. */
  busy = $state<Record<string, PowerActionView>>({});
  /** The last refused action, by row key. */
  errors = $state<Record<string, { action: PowerActionView; error: UiError }>>({});
  /** Selected rows' keys (for actions on several VMs). */
  selected = $state.raw<ReadonlySet<string>>(new Set());
  private stopper: AbortController | null = null;

  constructor(
    private readonly backend: Backend,
    readonly cluster: string,
  ) {}

  readonly shown = $derived(visibleRows(this.rows.values(), this.filter));
  readonly facets = $derived(facets(this.rows.values()));
  /** The selected rows that still exist, in table order. */
  readonly selectedRows = $derived(this.shown.filter((row) => this.selected.has(rowKey(row))));

  toggleSelected(row: VmRowView, on: boolean): void {
    const next = new Set(this.selected);
    if (on) next.add(rowKey(row));
    else next.delete(rowKey(row));
    this.selected = next;
  }

  /** Selects every row shown (or none when all shown are selected). */
  toggleAllShown(): void {
    const all = this.shown.length > 0 && this.shown.every((row) => this.selected.has(rowKey(row)));
    this.selected = all ? new Set() : new Set(this.shown.map(rowKey));
  }

  /** What an action on the selection would do: the rows it runs on, and the others with why. */
  planSelected(action: PowerActionView) {
    return bulkPlan(this.selectedRows, action, (ns) => this.access[ns], (row) => this.busy[rowKey(row)] !== undefined);
  }

  /** Runs an action on every selected row it may run on; each refusal is kept for its row. */
  async actOnSelected(action: PowerActionView): Promise<void> {
    const { allowed } = this.planSelected(action);
    await Promise.all(allowed.map((row) => this.act(row, action)));
  }

  /** Starts reading the rows (again, after a failure); `stop` ends it. */
  start(): void {
    this.stop();
    const stopper = new AbortController();
    this.stopper = stopper;
    this.feed = { state: 'loading' };
    this.backend
      .watchVmsUntil(
        { cluster: this.cluster, namespace: null },
        (event) => {
          if (stopper.signal.aborted) return;
          this.rows = applyVmUpdate(this.rows, event);
          if (this.feed.state !== 'live') this.feed = { state: 'live' };
          this.askAccess();
        },
        stopper.signal,
      )
      .then(
        () => {
          if (!stopper.signal.aborted) this.feed = { state: 'failed', error: { code: 'vms_stream_ended', message: 'The VM list stopped updating.', field: null } };
        },
        (error: UiError) => {
          if (!stopper.signal.aborted) this.feed = { state: 'failed', error };
        },
      );
  }

  stop(): void {
    this.stopper?.abort();
    this.stopper = null;
  }

  /** Asks what each namespace allows, once per namespace. */
  private askAccess(): void {
    for (const namespace of this.facets.namespaces) {
      if (this.access[namespace]) continue;
      this.access[namespace] = { state: 'checking' };
      this.backend.vmAccess({ cluster: this.cluster, namespace }).then(
        (view) => (this.access[namespace] = { state: 'known', view }),
        (error: UiError) => (this.access[namespace] = { state: 'failed', message: error.message }),
      );
    }
  }

  /** Carries out a power action; a refusal is kept for the row (the row itself changes through the stream). */
  async act(row: VmRowView, action: PowerActionView): Promise<void> {
    const key = rowKey(row);
    this.busy[key] = action;
    delete this.errors[key];
    try {
      await this.backend.powerAction({ cluster: this.cluster, namespace: row.namespace, name: row.name, action });
    } catch (error) {
      this.errors[key] = { action, error: error as UiError };
    } finally {
      delete this.busy[key];
    }
  }

  dismissError(row: VmRowView): void {
    delete this.errors[rowKey(row)];
  }

  sortBy(key: VmFilter['sort']): void {
    if (this.filter.sort === key) this.filter.descending = !this.filter.descending;
    else this.filter = { ...this.filter, sort: key, descending: false };
  }
}
