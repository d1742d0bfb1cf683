// The install steps' model: preflight gating (failures block, warnings need acknowledgement), an
// automatic fix changing the draft and saying so, stale answers ignored, the plan's conflict consent,
// and an install following its event stream per cluster.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/lib/backend';
import type {
  InstallDoneView,
  InstallEvent,
  InstallInput,
  PlanView,
  PreflightCheckView,
  PreflightView,
  ProfileDraft,
  SelectionView,
} from '../../src/lib/generated';
import { InstallFlow } from '../../src/lib/install.svelte';
import { WizardModel } from '../../src/lib/wizard.svelte';
import { planAllows, filterObjects, planTotals } from '../../src/lib/plan';
import { preflightGate } from '../../src/lib/preflight';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

const check = (id: string, verdict: PreflightCheckView['verdict'], extra: Partial<PreflightCheckView> = {}): PreflightCheckView => ({
  id,
  pack: null,
  verdict,
  saw: `${id} seen`,
  fix: verdict === 'pass' ? null : `fix ${id}`,
  auto_fix: null,
  ...extra,
});

const preflight = (...checks: PreflightCheckView[]): PreflightView => ({
  kubernetes_version: 'v1.34.1',
  verdict: checks.some((c) => c.verdict === 'fail') ? 'fail' : checks.some((c) => c.verdict === 'warn') ? 'warn' : 'pass',
  blocks: checks.some((c) => c.verdict === 'fail'),
  skipped_packs: [],
  checks,
});

const plan = (conflicts = false): PlanView => ({
  packs: [{ pack: 'kubevirt', create: 2, update: 0, unchanged: 1, prune: 0 }],
  objects: [
    { object: { api_version: 'v1', kind: 'Namespace', namespace: null, name: 'kubevirt', label: 'Namespace kubevirt' }, pack: 'kubevirt', action: 'create', diff: '+a', conflicts: [] },
    {
      object: { api_version: 'kubevirt.io/v1', kind: 'KubeVirt', namespace: 'kubevirt', name: 'kubevirt', label: 'KubeVirt kubevirt/kubevirt' },
      pack: 'kubevirt',
      action: 'create',
      diff: '+b',
      conflicts: conflicts ? [{ manager: 'kubectl', fields: ['spec.configuration'] }] : [],
    },
    { object: { api_version: 'v1', kind: 'ConfigMap', namespace: 'kubevirt', name: 'x', label: 'ConfigMap kubevirt/x' }, pack: 'kubevirt', action: 'unchanged', diff: '', conflicts: [] },
  ],
  upgrade: false,
  changes: true,
  has_conflicts: conflicts,
});

const selection = { packs: [{ name: 'kubevirt', reason: null }], problems: [], warnings: [], preset: null } as unknown as SelectionView;

function setup(overrides: Partial<Backend>) {
  const backend = {
    wizardCatalog: async () => ({ packs: [], presets: [] }),
    packSecretStatus: async () => [],
    validateProfile: async () => ({ issues: [], yaml: '' }),
    resolvePacks: async () => selection,
    ...overrides,
  } as unknown as Backend;
  const wizard = new WizardModel(backend, 'lab');
  wizard.selection = selection;
  wizard.versions = { kubevirt: '1.9.0' };
  wizard.values = { kubevirt: { useEmulation: false } };
  wizard.profileName = 'p';
  let clock = 0;
  const flow = new InstallFlow(backend, wizard, () => (clock += 1000));
  return { flow, wizard };
}

describe('preflight gating', () => {
  it('blocks on failures, asks for acknowledgement of warnings, passes clean runs', () => {
    expect(preflightGate(null, true)).toMatchObject({ canProceed: false, blockedBy: 'not_checked' });
    expect(preflightGate(preflight(check('kvm', 'pass'), check('default_storage_class', 'fail')), true)).toMatchObject({
      canProceed: false,
      blockedBy: 'failures',
    });
    const warned = preflight(check('kvm', 'warn'));
    expect(preflightGate(warned, false)).toMatchObject({ canProceed: false, blockedBy: 'unacknowledged_warnings' });
    expect(preflightGate(warned, true)).toMatchObject({ canProceed: true, blockedBy: null });
    expect(preflightGate(preflight(check('kvm', 'pass')), false).canProceed).toBe(true);
  });

  it('the flow starts on the wizard cluster; Plan opens only after a passing, acknowledged preflight', async () => {
    const { flow } = setup({ preflightInstall: async () => preflight(check('kvm', 'warn')) });
    expect(flow.targets).toEqual(['lab']);
    expect(flow.reachable('plan', true)).toBe(false);
    await flow.preflight();
    expect(flow.hasWarnings).toBe(true);
    expect(flow.reachable('plan', true)).toBe(false);
    flow.acknowledged = true;
    expect(flow.reachable('plan', true)).toBe(true);
    // Another run asks again.
    await flow.preflight();
    expect(flow.reachable('plan', true)).toBe(false);
  });

  it('a draft changed after the preflight makes it stale', async () => {
    const { flow, wizard } = setup({ preflightInstall: async () => preflight(check('kvm', 'pass')) });
    await flow.preflight();
    expect(flow.currentPreflight('lab')).not.toBeNull();
    wizard.values = { kubevirt: { useEmulation: true } };
    expect(flow.currentPreflight('lab')).toBeNull();
    expect(flow.reachable('plan', true)).toBe(false);
  });

  it('an older preflight answering last is ignored', async () => {
    const answers = [deferred<PreflightView>(), deferred<PreflightView>()];
    let calls = 0;
    const { flow } = setup({ preflightInstall: () => answers[calls++]!.promise });
    const older = flow.preflight();
    const newer = flow.preflight();
    answers[1]!.resolve(preflight(check('kvm', 'pass')));
    await newer;
    answers[0]!.resolve(preflight(check('default_storage_class', 'fail')));
    await older;
    expect(flow.currentPreflight('lab')!.checks.map((c) => c.id)).toEqual(['kvm']);
    expect(flow.state('lab').preflightBusy).toBe(false);
  });

  it('an automatic fix changes the draft, says what changed, and checks again', async () => {
    const changed: ProfileDraft[] = [];
    const emulation = check('kvm', 'warn', {
      auto_fix: {
        id: 'use_emulation',
        summary: 'Use emulation',
        cost: 'slower VMs',
        default: false,
        action: { kind: 'profile', changes: [{ op: 'set_value', pack: 'kubevirt', path: 'useEmulation', value: true }] },
      },
    });
    let preflights = 0;
    const { flow, wizard } = setup({
      preflightInstall: async (input) => {
        preflights++;
        return (input.draft.packs[0]!.values as { useEmulation: boolean }).useEmulation ? preflight(check('kvm', 'pass')) : preflight(emulation);
      },
      applyProfileChanges: async ({ draft }) => {
        changed.push(draft);
        return { ...draft, packs: draft.packs.map((p) => ({ ...p, values: { ...p.values, useEmulation: true } })) };
      },
    });
    await flow.preflight();
    expect(flow.gate('lab').blockedBy).toBe('unacknowledged_warnings');
    await flow.applyFix(flow.currentPreflight('lab')!.checks[0]!);
    expect(changed).toHaveLength(1);
    expect(wizard.values.kubevirt).toEqual({ useEmulation: true });
    expect(flow.fixNotes).toEqual(['Use emulation: kubevirt: useEmulation set to true']);
    expect(preflights).toBe(2);
    expect(flow.gate('lab')).toMatchObject({ canProceed: true });
  });
});

describe('plan', () => {
  it('totals, filters and conflict consent', async () => {
    expect(planTotals(plan())).toEqual({ create: 2, update: 0, unchanged: 1, prune: 0 });
    expect(filterObjects(plan().objects, { action: 'changes', pack: 'all', text: '' })).toHaveLength(2);
    expect(filterObjects(plan().objects, { action: 'all', pack: 'all', text: 'KUBEVIRT/kube' }).map((o) => o.object.kind)).toEqual(['KubeVirt']);
    expect(filterObjects(plan().objects, { action: 'unchanged', pack: 'multus', text: '' })).toHaveLength(0);
    expect(planAllows(plan(true), false)).toBe(false);
    expect(planAllows(plan(true), true)).toBe(true);
    expect(planAllows(null, true)).toBe(false);

    const { flow } = setup({ preflightInstall: async () => preflight(check('kvm', 'pass')), planInstall: async () => plan(true) });
    await flow.preflight();
    await flow.plan();
    expect(flow.hasConflicts).toBe(true);
    expect(flow.reachable('install', true)).toBe(false);
    flow.consented = true;
    expect(flow.reachable('install', true)).toBe(true);
  });
});

describe('install run', () => {
  it('follows the event stream per cluster, with consent passed on, and ends done', async () => {
    const asked: InstallInput[] = [];
    let emit!: (event: InstallEvent) => void;
    const answer = deferred<InstallDoneView>();
    const { flow } = setup({
      preflightInstall: async () => preflight(check('kvm', 'pass')),
      planInstall: async () => plan(true),
      installProfile: (input, onEvent) => {
        asked.push(input);
        emit = onEvent;
        return answer.promise;
      },
    });
    await flow.preflight();
    await flow.plan();
    flow.consented = true;
    const running = flow.install();
    expect(flow.running).toBe(true);
    expect(flow.reachable('packs', true)).toBe(false);
    expect(flow.reachable('install', true)).toBe(true);
    emit({ event: 'phase_started', pack: 'kubevirt', phase: 'namespaces', objects: 1 });
    emit({ event: 'applied', pack: plan().objects[0]!.pack, object: plan().objects[0]!.object });
    expect(flow.state('lab').run!.packs[0]).toMatchObject({ state: 'applying', done: 1, total: 3 });
    emit({ event: 'pack_ready', pack: 'kubevirt' });
    emit({ event: 'done', applied: 2, deleted: 0 });
    answer.resolve({ inventory_id: 'i', packs: ['kubevirt'], applied: 2, pruned: 0 });
    await running;
    expect(asked[0]!.force_conflicts).toBe(true);
    expect(flow.allDone).toBe(true);
    expect(flow.state('lab').result!.packs).toEqual(['kubevirt']);
    expect(flow.reachable('done', true)).toBe(true);
  });

  it('a refused install ends failed with the core error, and Cancel asks the core to stop', async () => {
    const cancelled: string[] = [];
    let release!: () => void;
    const { flow } = setup({
      installProfile: (_input, onEvent) =>
        new Promise((_resolve, reject) => {
          release = () => {
            const error = { code: 'install_cancelled', message: 'the install on lab was cancelled', field: null };
            onEvent({ event: 'failed', error });
            reject(error);
          };
        }),
      cancelInstall: async ({ name }) => {
        cancelled.push(name);
        release();
        return true;
      },
    });
    const running = flow.install();
    await flow.cancel();
    await running;
    expect(cancelled).toEqual(['lab']);
    const outcome = flow.state('lab').run!.outcome;
    expect(outcome.state === 'failed' && outcome.error.code).toBe('install_cancelled');
    expect(flow.allDone).toBe(false);
    expect(flow.ended).toBe(true);
  });
});
