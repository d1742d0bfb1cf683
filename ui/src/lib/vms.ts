// The VMs screen's rules, as plain functions: the rows kept from a `watch_vms` stream (a
// snapshot, then batched changes), filtering (namespace, status, search with `key=value` label
// terms), sorting, status tones, which power actions a row offers and why one is not allowed,
// which actions ask first, and the window of rows a scrolled table draws.
import type { PowerActionView, VmAccessView, VmRowView, VmUpdateEvent } from './generated';

export const rowKey = (row: { namespace: string; name: string }): string => `${row.namespace}/${row.name}`;

/** The rows after one stream event (a new map; the old one is left as it was). */
export function applyVmUpdate(rows: ReadonlyMap<string, VmRowView>, event: VmUpdateEvent): Map<string, VmRowView> {
  if (event.kind === 'snapshot') return new Map(event.rows.map((row) => [rowKey(row), row]));
  const next = new Map(rows);
  for (const change of event.changes) {
    if (change.change === 'removed') next.delete(rowKey(change));
    else next.set(rowKey(change.row), change.row);
  }
  return next;
}

export type SortKey = 'name' | 'namespace' | 'status' | 'node' | 'created';

export interface VmFilter {
  /** One namespace, or all (''). */
  namespace: string;
  /** One status, or all (''). */
  status: string;
  /** Words that must all match; `key=value` matches a label. */
  search: string;
  sort: SortKey;
  descending: boolean;
}

export const defaultFilter = (): VmFilter => ({ namespace: '', status: '', search: '', sort: 'name', descending: false });

function matchesTerm(row: VmRowView, term: string): boolean {
  const eq = term.indexOf('=');
  if (eq > 0) {
    const key = term.slice(0, eq);
    const value = term.slice(eq + 1);
    return Object.entries(row.labels).some(([k, v]) => k.toLowerCase() === key && (value === '' || v.toLowerCase() === value));
  }
  const fields = [row.name, row.namespace, row.status, row.node ?? '', row.guest_os ?? '', ...row.ips, ...Object.values(row.labels)];
  return fields.some((field) => field.toLowerCase().includes(term));
}

/** Whether a row passes the filter. */
export function matches(row: VmRowView, filter: VmFilter): boolean {
  if (filter.namespace && row.namespace !== filter.namespace) return false;
  if (filter.status && row.status !== filter.status) return false;
  const terms = filter.search.toLowerCase().split(/\s+/).filter(Boolean);
  return terms.every((term) => matchesTerm(row, term));
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function compareBy(key: SortKey): (a: VmRowView, b: VmRowView) => number {
  const field = (row: VmRowView): string => {
    switch (key) {
      case 'name':
        return row.name;
      case 'namespace':
        return row.namespace;
      case 'status':
        return row.status;
      case 'node':
        return row.node ?? '';
      case 'created':
        return row.created ?? '';
    }
  };
  return (a, b) => collator.compare(field(a), field(b)) || collator.compare(a.name, b.name) || collator.compare(a.namespace, b.namespace);
}

/** The rows to show, filtered and sorted. */
export function visibleRows(rows: Iterable<VmRowView>, filter: VmFilter): VmRowView[] {
  const shown = [...rows].filter((row) => matches(row, filter));
  shown.sort(compareBy(filter.sort));
  if (filter.descending) shown.reverse();
  return shown;
}

/** The namespaces and statuses the rows have, sorted (for the filter menus). */
export function facets(rows: Iterable<VmRowView>): { namespaces: string[]; statuses: string[] } {
  const namespaces = new Set<string>();
  const statuses = new Set<string>();
  for (const row of rows) {
    namespaces.add(row.namespace);
    statuses.add(row.status);
  }
  return { namespaces: [...namespaces].sort(collator.compare), statuses: [...statuses].sort(collator.compare) };
}

export type Tone = 'ok' | 'off' | 'busy' | 'paused' | 'bad';

/** How a KubeVirt printable status is drawn. */
export function statusTone(status: string): Tone {
  switch (status) {
    case 'Running':
      return 'ok';
    case 'Stopped':
    case 'Succeeded':
      return 'off';
    case 'Paused':
      return 'paused';
    case 'Starting':
    case 'Stopping':
    case 'Provisioning':
    case 'Migrating':
    case 'Scheduling':
    case 'Scheduled':
    case 'Pending':
    case 'WaitingForVolumeBinding':
    case 'Terminating':
      return 'busy';
    default:
      return 'bad';
  }
}

export const actionLabels: Record<PowerActionView, string> = {
  start: 'Start',
  stop: 'Stop',
  force_stop: 'Force stop',
  restart: 'Restart',
  force_restart: 'Force restart',
  pause: 'Pause',
  unpause: 'Resume',
  migrate: 'Migrate',
  soft_reboot: 'Soft reboot',
};

/** The actions a row shows as buttons; the rest go in its "More" menu. */
export const mainActions: readonly PowerActionView[] = ['start', 'stop', 'restart'];
export const allActions: readonly PowerActionView[] = [
  'start', 'stop', 'restart', 'pause', 'unpause', 'soft_reboot', 'migrate', 'force_stop', 'force_restart',
];

/** Actions that interrupt the guest: they ask first. */
export function asksFirst(action: PowerActionView): boolean {
  return action === 'stop' || action === 'restart' || action === 'force_stop' || action === 'force_restart';
}

/** The question a destructive action asks. */
export function confirmation(action: PowerActionView, row: { namespace: string; name: string }): { title: string; message: string; label: string } {
  const vm = `${row.namespace}/${row.name}`;
  switch (action) {
    case 'stop':
      return { title: `Stop ${row.name}?`, message: `${vm} is shut down: the guest is asked to power off, and its processes end.`, label: 'Stop' };
    case 'restart':
      return { title: `Restart ${row.name}?`, message: `${vm} is restarted: the guest shuts down and boots again; open consoles reconnect.`, label: 'Restart' };
    case 'force_stop':
      return { title: `Force stop ${row.name}?`, message: `${vm} is switched off at once, without a shutdown: unsaved data in the guest is lost.`, label: 'Force stop' };
    case 'force_restart':
      return { title: `Force restart ${row.name}?`, message: `${vm} is reset at once, without a shutdown: unsaved data in the guest is lost.`, label: 'Force restart' };
    default:
      return { title: `${actionLabels[action]} ${row.name}?`, message: vm, label: actionLabels[action] };
  }
}

/** What the user may know about a namespace's permissions. */
export type AccessState = { state: 'checking' } | { state: 'known'; view: VmAccessView } | { state: 'failed'; message: string };

export type Availability = { allowed: true } | { allowed: false; reason: string };

/** Whether a row's action may be used now, and why not. */
export function actionAvailability(row: VmRowView, action: PowerActionView, access: AccessState | undefined, busy: boolean): Availability {
  if (row.standalone_vmi) return { allowed: false, reason: 'Only a VirtualMachineInstance exists: power actions need a VirtualMachine' };
  if (busy) return { allowed: false, reason: 'An action on this VM is under way' };
  if (!row.actions.includes(action)) return { allowed: false, reason: `${actionLabels[action]} does not apply while the VM is ${row.status}` };
  if (!access || access.state === 'checking') return { allowed: false, reason: 'Checking your permissions…' };
  if (access.state === 'failed') return { allowed: false, reason: `Your permissions could not be checked: ${access.message}` };
  if (!access.view.actions.includes(action)) {
    return { allowed: false, reason: `Your account may not ${actionLabels[action].toLowerCase()} VMs in ${row.namespace}` };
  }
  return { allowed: true };
}

/** Whether a row's VNC or serial console may be opened now, and why not. */
export function consoleAvailability(row: VmRowView, kind: 'vnc' | 'serial', access: AccessState | undefined): Availability {
  const what = kind === 'vnc' ? 'VNC' : 'serial';
  if (!row.consoles) return { allowed: false, reason: `The VM is ${row.status}: start it to open its ${what} console` };
  if (!access || access.state === 'checking') return { allowed: false, reason: 'Checking your permissions…' };
  if (access.state === 'failed') return { allowed: false, reason: `Your permissions could not be checked: ${access.message}` };
  if (!access.view[kind]) return { allowed: false, reason: `Your account may not open ${what} consoles in ${row.namespace}` };
  return { allowed: true };
}

/** The age of a VM created at `created` (RFC 3339), `now` in ms. */
export function formatAge(created: string | null, now: number): string {
  if (!created) return '';
  const ms = now - Date.parse(created);
  if (!Number.isFinite(ms)) return '';
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/** Which rows a scrolled table draws: [start, end) plus the space above and below them. */
export function rowWindow(
  count: number,
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  overscan = 8,
): { start: number; end: number; padTop: number; padBottom: number } {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, Math.min(count, first - overscan));
  const end = Math.min(count, first + Math.ceil(Math.max(0, viewport) / rowHeight) + overscan);
  return { start, end: Math.max(start, end), padTop: start * rowHeight, padBottom: (count - Math.max(start, end)) * rowHeight };
}

/** A power action on several rows: those it may run on, and the others with the reason. */
export function bulkPlan(
  rows: readonly VmRowView[],
  action: PowerActionView,
  accessOf: (namespace: string) => AccessState | undefined,
  busy: (row: VmRowView) => boolean,
): { allowed: VmRowView[]; skipped: { row: VmRowView; reason: string }[] } {
  const allowed: VmRowView[] = [];
  const skipped: { row: VmRowView; reason: string }[] = [];
  for (const row of rows) {
    const can = actionAvailability(row, action, accessOf(row.namespace), busy(row));
    if (can.allowed) allowed.push(row);
    else skipped.push({ row, reason: can.reason });
  }
  return { allowed, skipped };
}

/** The question a power action on several VMs asks. */
export function bulkConfirmation(action: PowerActionView, count: number): { title: string; message: string; label: string } {
  const vms = `${count} VM${count === 1 ? '' : 's'}`;
  const label = `${actionLabels[action]} ${vms}`;
  switch (action) {
    case 'stop':
      return { title: `${label}?`, message: `Each guest is asked to power off, and its processes end.`, label };
    case 'restart':
      return { title: `${label}?`, message: `Each guest shuts down and boots again; open consoles reconnect.`, label };
    case 'force_stop':
    case 'force_restart':
      return { title: `${label}?`, message: `Each VM is switched off at once, without a shutdown: unsaved data in the guests is lost.`, label };
    default:
      return { title: `${label}?`, message: vms, label };
  }
}
