// The wizard model: a slower, older answer never overwrites a newer one, and failed calls are shown.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/lib/backend';
import type { GateTableQuery, GateTableView, SelectionView, UiError } from '../../src/lib/generated';
import { WizardModel } from '../../src/lib/wizard.svelte';

/** A promise the test settles when it chooses. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const selection = (packs: string[]): SelectionView =>
  ({ packs: packs.map((name) => ({ name, reason: null })), problems: [], warnings: [] }) as unknown as SelectionView;

function backendWith(overrides: Partial<Backend>): Backend {
  return {
    wizardCatalog: async () => ({ packs: [], presets: [] }),
    packSecretStatus: async () => [],
    validateProfile: async () => ({ issues: [], yaml: '' }),
    ...overrides,
  } as unknown as Backend;
}

describe('WizardModel', () => {
  it('keeps the newest resolution when an older one answers last', async () => {
    const answers = [deferred<SelectionView>(), deferred<SelectionView>()];
    let calls = 0;
    const model = new WizardModel(backendWith({ resolvePacks: () => answers[calls++]!.promise }), null);
    model.chosen = ['multus'];
    const first = model.resolve();
    model.chosen = ['kubevirt'];
    const second = model.resolve();
    answers[1]!.resolve(selection(['kubevirt']));
    await second;
    answers[0]!.resolve(selection(['multus']));
    await first;
    expect(model.packs).toEqual(['kubevirt']);
  });

  it('shows a failed resolution and clears it once one succeeds', async () => {
    const refused: UiError = { code: 'internal', message: 'the catalog could not be read', field: null };
    let fail = true;
    const model = new WizardModel(
      backendWith({ resolvePacks: async () => (fail ? Promise.reject(refused) : selection(['multus'])) }),
      null,
    );
    model.chosen = ['multus'];
    await model.resolve();
    expect(model.callError).toEqual(refused);
    fail = false;
    await model.resolve();
    expect(model.callError).toBeNull();
    expect(model.packs).toEqual(['multus']);
  });

  it('shows a failed draft check and ignores a stale check answer', async () => {
    const answers = [deferred<{ issues: never[]; yaml: string }>(), deferred<{ issues: never[]; yaml: string }>()];
    let calls = 0;
    const model = new WizardModel(
      backendWith({
        resolvePacks: async () => selection(['multus']),
        validateProfile: (() => answers[calls++]!.promise) as unknown as Backend['validateProfile'],
      }),
      null,
    );
    model.chosen = ['multus'];
    model.selection = selection(['multus']);
    const older = model.check();
    const newer = model.check();
    answers[1]!.resolve({ issues: [], yaml: 'newer' });
    await newer;
    answers[0]!.resolve({ issues: [], yaml: 'older' });
    await older;
    expect(model.yaml).toBe('newer');

    const failing = new WizardModel(
      backendWith({ validateProfile: async () => Promise.reject({ code: 'bad_request', message: 'no', field: null }) }),
      null,
    );
    failing.selection = selection(['multus']);
    await failing.check();
    expect(failing.callError?.code).toBe('bad_request');
  });

  it('takes the preset the core names for the picks', async () => {
    const model = new WizardModel(
      backendWith({ resolvePacks: async () => ({ ...selection(['vm-dashboard']), preset: 'vm-dashboard-direct' }) }),
      null,
    );
    await model.togglePack('vm-dashboard', true);
    expect(model.preset).toBe('vm-dashboard-direct');
  });

  it('asks the core for gate tables with the choices so far and keeps the choices it answers with', async () => {
    const asked: GateTableQuery[] = [];
    const answers: ReturnType<typeof deferred<GateTableView>>[] = [];
    const model = new WizardModel(
      backendWith({
        gateTable: (query: GateTableQuery) => {
          asked.push(structuredClone(query));
          const answer = deferred<GateTableView>();
          answers.push(answer);
          return answer.promise;
        },
      }),
      null,
    );
    const table = (choices: GateTableView['choices']): GateTableView =>
      ({ pack: 'kubevirt', component: 'KubeVirt', version: '1.9.0', choices, rows: [] }) as GateTableView;
    model.versions = { kubevirt: '1.8.4' };
    model.catalog = { packs: [{ name: 'kubevirt', gate_component: 'KubeVirt' }], presets: [] } as never;

    // A version change sends the choices made so far, marked as made for another version.
    model.gates = { kubevirt: { Snapshot: 'off', MigrationPriorityQueue: 'on' } };
    const moved = model.setVersion('kubevirt', '1.9.0');
    expect(asked[0]).toEqual({
      pack: 'kubevirt', version: '1.9.0', choices: { Snapshot: 'off', MigrationPriorityQueue: 'on' }, version_changed: true,
    });
    // A choice made while that is answered is asked for too, still as a version change (the first answer will
    // be dropped, so this one must carry the choices over); the older answer then arrives last and is ignored.
    const chosen = model.setGate('kubevirt', 'CPUManager', 'on');
    expect(asked[1]).toMatchObject({ version_changed: true, choices: { Snapshot: 'off', MigrationPriorityQueue: 'on', CPUManager: 'on' } });
    answers[1]!.resolve(table({ Snapshot: 'off', CPUManager: 'on' }));
    await chosen;
    answers[0]!.resolve(table({ Snapshot: 'off' }));
    await moved;
    expect(model.gates.kubevirt).toEqual({ Snapshot: 'off', CPUManager: 'on' });
    expect(model.gateTables.kubevirt?.choices).toEqual({ Snapshot: 'off', CPUManager: 'on' });
    // Once carried over, choices are sent as they are.
    const later = model.setGate('kubevirt', 'Snapshot', 'default');
    expect(asked[2]).toEqual({ pack: 'kubevirt', version: '1.9.0', choices: { CPUManager: 'on' }, version_changed: false });
    answers[2]!.resolve(table({ CPUManager: 'on' }));
    await later;
    expect(model.gates.kubevirt).toEqual({ CPUManager: 'on' });
  });
});
