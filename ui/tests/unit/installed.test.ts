// The Installed view's model: gate changes against the installed choices, the typed confirmation,
// stale status answers ignored, and the uninstall refused while VMs exist.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/lib/backend';
import type { InstalledStatusView, UiError } from '../../src/lib/generated';
import { confirms, gateChanges, InstalledModel } from '../../src/lib/installed.svelte';

const status = (cluster: string, healthy: boolean): InstalledStatusView => ({
  cluster,
  installed: true,
  inventory_id: 'inv',
  profile: 'kind: Profile',
  draft: { name: 'p', description: null, preset: null, packs: [{ name: 'kubevirt', version: '1.9.0', values: {}, gates: { Snapshot: 'off' } }] },
  packs: [{ name: 'kubevirt', version: '1.9.0', objects: 40, healthy, reasons: healthy ? [] : ['virt-api 0/2 ready'], gates: null }],
  healthy,
  user_data: [],
});

function backendWith(overrides: Partial<Backend>): Backend {
  return { unfinishedInstalls: async () => [], ...overrides } as unknown as Backend;
}

describe('Installed view model', () => {
  it('gate changes are what differs from the installed choices', () => {
    expect(gateChanges({ kubevirt: { Snapshot: 'off' } }, { kubevirt: { Snapshot: 'off', HostDisk: 'on' } })).toEqual([
      { gate: 'kubevirt/HostDisk', setting: 'on' },
    ]);
    expect(gateChanges({ kubevirt: { Snapshot: 'off' } }, { kubevirt: {} })).toEqual([{ gate: 'kubevirt/Snapshot', setting: null }]);
    expect(gateChanges({ kubevirt: { Snapshot: 'off' } }, { kubevirt: { Snapshot: 'off' } })).toEqual([]);
  });

  it('the typed confirmation must be the cluster name', () => {
    expect(confirms('Demo cluster', 'Demo cluster')).toBe(true);
    expect(confirms(' Demo cluster ', 'Demo cluster')).toBe(true);
    expect(confirms('demo cluster', 'Demo cluster')).toBe(false);
    expect(confirms('', 'Demo cluster')).toBe(false);
  });

  it('keeps the newest status when an older one answers last, with the installed gate choices', async () => {
    const answers: ((s: InstalledStatusView) => void)[] = [];
    const model = new InstalledModel(
      backendWith({ installedStatus: () => new Promise((resolve) => answers.push(resolve)) }),
      'lab',
    );
    const older = model.load();
    const newer = model.load();
    await Promise.resolve();
    await Promise.resolve();
    answers[1]!(status('lab', true));
    await newer;
    answers[0]!(status('lab', false));
    await older;
    expect(model.status!.healthy).toBe(true);
    expect(model.installedChoices).toEqual({ kubevirt: { Snapshot: 'off' } });
    expect(model.changes).toEqual([]);
  });

  it('a gate plan is current only for the changes it was made for', async () => {
    const model = new InstalledModel(
      backendWith({
        installedStatus: async () => status('lab', true),
        planGateChange: async () => ({ packs: [], objects: [], upgrade: true, changes: true, has_conflicts: false }),
      }),
      'lab',
    );
    await model.load();
    model.chosen = { kubevirt: { Snapshot: 'off', HostDisk: 'on' } };
    await model.planGates();
    expect(model.currentGatePlan).not.toBeNull();
    model.chosen = { kubevirt: { Snapshot: 'off' } };
    expect(model.currentGatePlan).toBeNull();
  });

  it('an uninstall refused while VMs exist says so, and goes through with them removed', async () => {
    const asked: boolean[] = [];
    const refused: UiError = { code: 'vms_exist', message: '12 VirtualMachine(s) or DataVolume(s) still exist', field: null };
    const model = new InstalledModel(
      backendWith({
        installedStatus: async () => status('lab', true),
        uninstallPacks: async (input, onEvent) => {
          asked.push(input.remove_vms);
          if (!input.remove_vms) {
            onEvent({ event: 'failed', error: refused });
            throw refused;
          }
          onEvent({ event: 'deleted', object: { api_version: 'v1', kind: 'Namespace', namespace: null, name: 'kubevirt', label: 'Namespace kubevirt' } });
          onEvent({ event: 'done', applied: 0, deleted: 1 });
          return { packs: ['kubevirt'], deleted: 1, leftovers: [] };
        },
      }),
      'lab',
    );
    await model.uninstall(false);
    expect(model.blockedByVms).toBe(true);
    await model.uninstall(true);
    expect(asked).toEqual([false, true]);
    expect(model.blockedByVms).toBe(false);
    expect(model.uninstallResult!.deleted).toBe(1);
    expect(model.uninstallRun!.objects.map((o) => o.state)).toEqual(['deleted']);
  });
});
