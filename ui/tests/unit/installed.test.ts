// The Installed view's model: gate changes against the installed choices, the typed confirmation,
// the live status (a newer watch wins, choices kept across health changes), the upgrade, and the
// uninstall refused while VMs exist.
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
  packs: [{ name: 'kubevirt', version: '1.8.2', objects: 40, healthy, reasons: healthy ? [] : ['virt-api 0/2 ready'], gates: null, upgrades: ['1.9.0', '1.8.4'] }],
  healthy,
  user_data: [],
});

function backendWith(overrides: Partial<Backend>): Backend {
  return { unfinishedInstalls: async () => [], ...overrides } as unknown as Backend;
}

/** A `watch_installed` that sends these statuses, then stays open until stopped. */
function watching(...statuses: InstalledStatusView[]): Pick<Backend, 'watchInstalledUntil'> {
  return {
    watchInstalledUntil: (_cluster, onEvent, signal) => {
      for (const s of statuses) onEvent(s);
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
    },
  };
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

  it('follows the live status: health changes keep the gate choices being made, a newer watch wins', async () => {
    const sends: ((s: InstalledStatusView) => void)[] = [];
    const stops: AbortSignal[] = [];
    const model = new InstalledModel(
      backendWith({
        watchInstalledUntil: (_cluster, onEvent, signal) => {
          sends.push(onEvent);
          stops.push(signal);
          return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
        },
      }),
      'lab',
    );
    const older = model.load();
    const newer = model.load();
    expect(stops[0]!.aborted).toBe(true);
    sends[1]!(status('lab', false));
    await newer;
    // The older watch was stopped: what it still sends is not shown.
    sends[0]!(status('lab', true));
    await older;
    expect(model.status!.healthy).toBe(false);
    expect(model.installedChoices).toEqual({ kubevirt: { Snapshot: 'off' } });
    model.chosen = { kubevirt: { Snapshot: 'on' } };
    sends[1]!(status('lab', true));
    await Promise.resolve();
    expect(model.status!.healthy).toBe(true);
    expect(model.changes).toEqual([{ gate: 'kubevirt/Snapshot', setting: 'on' }]);
    model.stop();
    expect(stops[1]!.aborted).toBe(true);
  });

  it('a watch that fails shows its error', async () => {
    const gone: UiError = { code: 'unreachable', message: 'the cluster did not answer', field: null };
    const model = new InstalledModel(backendWith({ watchInstalledUntil: async () => Promise.reject(gone) }), 'lab');
    await model.load();
    expect(model.error).toEqual(gone);
    expect(model.loading).toBe(false);
  });

  it('upgrades only to a version the core offers, planned for the versions chosen, then installed', async () => {
    const installed: string[][] = [];
    const model = new InstalledModel(
      backendWith({
        ...watching(status('lab', true)),
        planInstall: async ({ draft }) => ({
          packs: [{ pack: 'kubevirt', create: 0, update: draft.packs[0]!.version === '1.8.4' ? 3 : 9, unchanged: 37, prune: 0 }],
          objects: [],
          upgrade: true,
          changes: true,
          has_conflicts: false,
        }),
        installProfile: async ({ draft }, onEvent) => {
          installed.push(draft.packs.map((p) => `${p.name}@${p.version}`));
          onEvent({ event: 'pack_ready', pack: 'kubevirt' });
          onEvent({ event: 'done', applied: 40, deleted: 0 });
          return { inventory_id: 'inv', packs: ['kubevirt'], applied: 40, pruned: 0 };
        },
      }),
      'lab',
    );
    await model.load();
    model.chooseUpgrade('kubevirt', '2.0.0');
    expect(model.upgradeDraft).toBeNull();
    model.chooseUpgrade('kubevirt', '1.9.0');
    await model.planUpgrade();
    expect(model.currentUpgradePlan!.packs[0]!.update).toBe(9);
    model.chooseUpgrade('kubevirt', '1.8.4');
    expect(model.currentUpgradePlan).toBeNull();
    await model.planUpgrade();
    expect(model.currentUpgradePlan!.packs[0]!.update).toBe(3);
    await model.applyUpgrade();
    expect(installed).toEqual([['kubevirt@1.8.4']]);
    expect(model.upgradeRun!.outcome).toEqual({ state: 'done', applied: 40, deleted: 0 });
    expect(model.upgradeTo).toEqual({});
    model.stop();
  });

  it('a gate plan is current only for the changes it was made for', async () => {
    const model = new InstalledModel(
      backendWith({
        ...watching(status('lab', true)),
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
        ...watching(status('lab', true)),
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
