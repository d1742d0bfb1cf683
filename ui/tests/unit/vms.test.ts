// The VMs screen's rules: rows kept from the watch_vms stream, filters and sort, which power
// actions and consoles a row offers (and why not), which actions ask first, the drawn window.
import { describe, expect, it } from 'vitest';
import type { VmAccessView } from '../../src/lib/generated';
import { vmRow } from './vmFixtures';
import {
  actionAvailability,
  applyVmUpdate,
  asksFirst,
  bulkConfirmation,
  consoleAvailability,
  defaultFilter,
  facets,
  formatAge,
  rowWindow,
  statusTone,
  visibleRows,
  type AccessState,
} from '../../src/lib/vms';


const everything: VmAccessView = {
  namespace: 'dev',
  actions: ['start', 'stop', 'force_stop', 'restart', 'force_restart', 'pause', 'unpause', 'migrate', 'soft_reboot'],
  vnc: true,
  serial: true,
};
const known = (view: Partial<VmAccessView> = {}): AccessState => ({ state: 'known', view: { ...everything, ...view } });

describe('rows from the stream', () => {
  it('a snapshot replaces the rows; changes add, replace and remove one row each', () => {
    const first = applyVmUpdate(new Map(), { kind: 'snapshot', rows: [vmRow('dev', 'a'), vmRow('dev', 'b')] });
    expect([...first.keys()]).toEqual(['dev/a', 'dev/b']);
    const next = applyVmUpdate(first, {
      kind: 'changes',
      changes: [
        { change: 'changed', row: vmRow('dev', 'a', { status: 'Stopping' }) },
        { change: 'removed', namespace: 'dev', name: 'b' },
        { change: 'added', row: vmRow('prod', 'c') },
      ],
    });
    expect([...next.keys()].sort()).toEqual(['dev/a', 'prod/c']);
    expect(next.get('dev/a')?.status).toBe('Stopping');
    // The old map is left as it was (the screen swaps maps).
    expect(first.get('dev/a')?.status).toBe('Running');
    expect(first.has('dev/b')).toBe(true);
    const again = applyVmUpdate(next, { kind: 'snapshot', rows: [vmRow('dev', 'z')] });
    expect([...again.keys()]).toEqual(['dev/z']);
  });
});

describe('filter and sort', () => {
  const rows = [
    vmRow('dev', 'web-10', { status: 'Stopped', node: null, labels: { app: 'web', tier: 'front' } }),
    vmRow('dev', 'web-2', { labels: { app: 'web' } }),
    vmRow('prod', 'db-01', { labels: { app: 'db' }, ips: ['10.1.2.3'], node: 'node-7' }),
  ];
  const names = (filter: Partial<ReturnType<typeof defaultFilter>>) => visibleRows(rows, { ...defaultFilter(), ...filter }).map((r) => `${r.namespace}/${r.name}`);

  it('sorts by name with numbers in order, and reverses', () => {
    expect(names({})).toEqual(['prod/db-01', 'dev/web-2', 'dev/web-10']);
    expect(names({ descending: true })).toEqual(['dev/web-10', 'dev/web-2', 'prod/db-01']);
    expect(names({ sort: 'status' })).toEqual(['prod/db-01', 'dev/web-2', 'dev/web-10']);
    expect(names({ sort: 'namespace' })).toEqual(['dev/web-2', 'dev/web-10', 'prod/db-01']);
  });

  it('filters by namespace, status, words (all must match) and label=value', () => {
    expect(names({ namespace: 'dev' })).toEqual(['dev/web-2', 'dev/web-10']);
    expect(names({ status: 'Stopped' })).toEqual(['dev/web-10']);
    expect(names({ search: 'WEB' })).toEqual(['dev/web-2', 'dev/web-10']);
    expect(names({ search: 'web prod' })).toEqual([]);
    expect(names({ search: '10.1.2' })).toEqual(['prod/db-01']);
    expect(names({ search: 'node-7' })).toEqual(['prod/db-01']);
    expect(names({ search: 'tier=front' })).toEqual(['dev/web-10']);
    expect(names({ search: 'app=db' })).toEqual(['prod/db-01']);
    expect(names({ search: 'tier=' })).toEqual(['dev/web-10']);
    expect(names({ search: 'app=we' })).toEqual([]);
  });

  it('lists the namespaces and statuses present', () => {
    expect(facets(rows)).toEqual({ namespaces: ['dev', 'prod'], statuses: ['Running', 'Stopped'] });
  });
});

describe('status, actions and consoles', () => {
  it('tones', () => {
    expect(statusTone('Running')).toBe('ok');
    expect(statusTone('Stopped')).toBe('off');
    expect(statusTone('Starting')).toBe('busy');
    expect(statusTone('Paused')).toBe('paused');
    expect(statusTone('CrashLoopBackOff')).toBe('bad');
  });

  it('stop, restart and force ask first; start and pause do not', () => {
    expect(['stop', 'restart', 'force_stop', 'force_restart'].every((a) => asksFirst(a as never))).toBe(true);
    expect(asksFirst('start')).toBe(false);
    expect(asksFirst('pause')).toBe(false);
    expect(asksFirst('migrate')).toBe(false);
  });

  it('an action is allowed only when it applies, nothing runs, and the namespace allows it', () => {
    const row = vmRow('dev', 'a');
    expect(actionAvailability(row, 'stop', known(), false)).toEqual({ allowed: true });
    expect(actionAvailability(row, 'start', known(), false)).toEqual({ allowed: false, reason: 'Start does not apply while the VM is Running' });
    expect(actionAvailability(row, 'stop', known(), true)).toEqual({ allowed: false, reason: 'An action on this VM is under way' });
    expect(actionAvailability(row, 'stop', undefined, false)).toEqual({ allowed: false, reason: 'Checking your permissions…' });
    expect(actionAvailability(row, 'stop', { state: 'failed', message: 'HTTP 500' }, false)).toEqual({
      allowed: false,
      reason: 'Your permissions could not be checked: HTTP 500',
    });
    expect(actionAvailability(row, 'stop', known({ actions: ['start'] }), false)).toEqual({ allowed: false, reason: 'Your account may not stop VMs in dev' });
    expect(actionAvailability(vmRow('dev', 'a', { standalone_vmi: true }), 'stop', known(), false).allowed).toBe(false);
  });

  it('a console opens only on a running VM the user may open it on', () => {
    expect(consoleAvailability(vmRow('dev', 'a'), 'vnc', known())).toEqual({ allowed: true });
    expect(consoleAvailability(vmRow('dev', 'a', { consoles: false, status: 'Stopped' }), 'vnc', known())).toEqual({
      allowed: false,
      reason: 'The VM is Stopped: start it to open its VNC console',
    });
    expect(consoleAvailability(vmRow('dev', 'a'), 'serial', known({ serial: false }))).toEqual({
      allowed: false,
      reason: 'Your account may not open serial consoles in dev',
    });
    expect(consoleAvailability(vmRow('dev', 'a'), 'vnc', known({ serial: false })).allowed).toBe(true);
  });
});

describe('age and the drawn window', () => {
  it('ages in minutes, hours, days', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(formatAge('2026-12-01T11:58:30Z', now)).toBe('1m');
    expect(formatAge('2026-12-01T09:00:00Z', now)).toBe('3h');
    expect(formatAge('2026-11-20T12:00:00Z', now)).toBe('11d');
    expect(formatAge(null, now)).toBe('');
    expect(formatAge('not a date', now)).toBe('');
  });

  it('draws the rows in view and some around them; the spaces add up to the rest', () => {
    expect(rowWindow(10_000, 0, 480, 48, 5)).toEqual({ start: 0, end: 15, padTop: 0, padBottom: (10_000 - 15) * 48 });
    const mid = rowWindow(10_000, 48 * 5000, 480, 48, 5);
    expect(mid).toEqual({ start: 4995, end: 5015, padTop: 4995 * 48, padBottom: (10_000 - 5015) * 48 });
    const bottom = rowWindow(10_000, 48 * 9990, 480, 48, 5);
    expect(bottom.end).toBe(10_000);
    expect(bottom.padBottom).toBe(0);
    expect(rowWindow(3, 0, 480, 48, 5)).toEqual({ start: 0, end: 3, padTop: 0, padBottom: 0 });
    expect(rowWindow(0, 100, 480, 48)).toEqual({ start: 0, end: 0, padTop: 0, padBottom: 0 });
  });
});

describe('several VMs at once', () => {
  it('asks with the count', () => {
    expect(bulkConfirmation('stop', 3)).toMatchObject({ title: 'Stop 3 VMs?', label: 'Stop 3 VMs' });
    expect(bulkConfirmation('force_stop', 1)).toMatchObject({ title: 'Force stop 1 VM?', message: expect.stringContaining('unsaved data') });
  });
});
