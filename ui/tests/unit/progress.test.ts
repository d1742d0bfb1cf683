// The install progress read from the InstallEvent stream: per pack and object, status, log, the end.
import { describe, expect, it } from 'vitest';
import type { InstallEvent, ObjectRefView, PlanView } from '../../src/lib/generated';
import { endRun, formatElapsed, fraction, logText, reduceRun, startRun } from '../../src/lib/progress';

const ref = (label: string): ObjectRefView => ({ api_version: 'v1', kind: label.split(' ')[0]!, namespace: null, name: label, label });

const plan: PlanView = {
  packs: [
    { pack: 'multus', create: 2, update: 0, unchanged: 0, prune: 0 },
    { pack: 'kubevirt', create: 1, update: 0, unchanged: 0, prune: 0 },
  ],
  objects: [
    { object: ref('Namespace multus'), pack: 'multus', action: 'create', diff: '', conflicts: [] },
    { object: ref('DaemonSet kube-system/multus'), pack: 'multus', action: 'create', diff: '', conflicts: [] },
    { object: ref('KubeVirt kubevirt/kubevirt'), pack: 'kubevirt', action: 'create', diff: '', conflicts: [] },
  ],
  upgrade: false,
  changes: true,
  has_conflicts: false,
};

const run = (events: InstallEvent[], at = 1000) => events.reduce((r, e, i) => reduceRun(r, e, at + i * 100), startRun(plan, at));

describe('install progress', () => {
  it('starts with every planned pack and object pending', () => {
    const r = startRun(plan, 0);
    expect(r.packs.map((p) => [p.name, p.state, p.total])).toEqual([['multus', 'pending', 2], ['kubevirt', 'pending', 1]]);
    expect(r.objects.every((o) => o.state === 'pending')).toBe(true);
    expect(fraction(r)).toBe(0);
  });

  it('counts applied objects per pack, shows the waiting status, and marks packs ready', () => {
    const r = run([
      { event: 'inventory_written', objects: 3 },
      { event: 'phase_started', pack: 'multus', phase: 'namespaces', objects: 1 },
      { event: 'applied', pack: 'multus', object: ref('Namespace multus') },
      { event: 'waiting', pack: 'multus', what: 'DaemonSet kube-system/multus', status: '2/3 ready' },
    ]);
    const multus = r.packs.find((p) => p.name === 'multus')!;
    expect(multus).toMatchObject({ state: 'waiting', done: 1, total: 2, status: 'DaemonSet kube-system/multus: 2/3 ready' });
    expect(r.status).toBe('multus: waiting for DaemonSet kube-system/multus: 2/3 ready');
    expect(r.objects.find((o) => o.label === 'Namespace multus')!.state).toBe('applied');
    expect(r.outcome.state).toBe('running');
    const ready = reduceRun(r, { event: 'pack_ready', pack: 'multus' }, 2000);
    expect(ready.packs[0]).toMatchObject({ state: 'ready', done: 2, status: null });
    expect(fraction(ready)).toBeCloseTo(2 / 3);
  });

  it('ends done with the counts, and ignores anything after the end', () => {
    const r = run([
      { event: 'pack_ready', pack: 'multus' },
      { event: 'pack_ready', pack: 'kubevirt' },
      { event: 'done', applied: 3, deleted: 0 },
      { event: 'failed', error: { code: 'late', message: 'too late', field: null } },
    ]);
    expect(r.outcome).toEqual({ state: 'done', applied: 3, deleted: 0 });
    expect(r.endedAt).toBe(1200);
    expect(fraction(r)).toBe(1);
  });

  it('a failure names the error in the status and the log', () => {
    const error = { code: 'apply_failed', message: 'Deployment kubevirt/virt-operator: the server said no', field: null };
    const r = run([{ event: 'failed', error }]);
    expect(r.outcome).toEqual({ state: 'failed', error });
    expect(r.status).toContain('the server said no');
    expect(logText(r)).toContain('ERROR apply_failed: Deployment kubevirt/virt-operator');
  });

  it('a call that ends without a last event fails with the transport error', () => {
    const error = { code: 'backend_unreachable', message: 'gone', field: null };
    expect(endRun(startRun(plan, 0), error, 5).outcome).toEqual({ state: 'failed', error });
    expect(endRun(run([{ event: 'done', applied: 1, deleted: 0 }]), error, 5).outcome.state).toBe('done');
  });

  it('without a plan, packs and objects come from the events (uninstall, resume)', () => {
    const r = [
      { event: 'phase_started', pack: 'cdi', phase: 'workloads', objects: 4 },
      { event: 'deleting', object: ref('Deployment cdi/cdi-operator') },
      { event: 'deleted', object: ref('Deployment cdi/cdi-operator') },
      { event: 'retrying', pack: 'cdi', object: ref('Service cdi/x'), attempt: 2, reason: '503 Service Unavailable' },
    ].reduce((acc, e, i) => reduceRun(acc, e as InstallEvent, i), startRun(null, 0));
    expect(r.packs).toMatchObject([{ name: 'cdi', total: 4, state: 'applying' }]);
    expect(r.objects.map((o) => [o.label, o.state])).toEqual([
      ['Deployment cdi/cdi-operator', 'deleted'],
      ['Service cdi/x', 'retrying'],
    ]);
    expect(r.log.at(-1)).toMatchObject({ level: 'warn', text: 'cdi: retrying Service cdi/x (attempt 2): 503 Service Unavailable' });
  });

  it('without a plan, packs applied at the same time count their own objects over all their phases', () => {
    const events: InstallEvent[] = [
      { event: 'phase_started', pack: 'kubevirt', phase: 'namespaces', objects: 1 },
      { event: 'phase_started', pack: 'cdi', phase: 'namespaces', objects: 1 },
      { event: 'applied', pack: 'cdi', object: ref('Namespace cdi') },
      { event: 'applied', pack: 'kubevirt', object: ref('Namespace kubevirt') },
      { event: 'phase_started', pack: 'kubevirt', phase: 'workloads', objects: 2 },
      { event: 'phase_started', pack: 'cdi', phase: 'workloads', objects: 1 },
      { event: 'applied', pack: 'kubevirt', object: ref('Deployment kubevirt/virt-operator') },
      { event: 'applied', pack: 'cdi', object: ref('Deployment cdi/cdi-operator') },
      { event: 'applied', pack: 'kubevirt', object: ref('ServiceAccount kubevirt/kubevirt-operator') },
      // Applied again (a retried phase): counted once.
      { event: 'applied', pack: 'kubevirt', object: ref('ServiceAccount kubevirt/kubevirt-operator') },
    ];
    const r = events.reduce((acc, e, i) => reduceRun(acc, e, i), startRun(null, 0));
    expect(r.packs.map((p) => [p.name, p.done, p.total])).toEqual([
      ['kubevirt', 3, 3],
      ['cdi', 2, 2],
    ]);
    expect(r.objects.filter((o) => o.pack === 'kubevirt').map((o) => o.label)).toEqual([
      'Namespace kubevirt',
      'Deployment kubevirt/virt-operator',
      'ServiceAccount kubevirt/kubevirt-operator',
    ]);
  });

  it('formats elapsed time', () => {
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(65_400)).toBe('1:05');
    expect(formatElapsed(3_723_000)).toBe('1:02:03');
  });
});
