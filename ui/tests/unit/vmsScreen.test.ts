// The VMs screen's state: rows follow the stream, each namespace's permissions are asked once,
// KubeVirt missing is kept as its code, stopping drops later events, refused actions are kept.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/lib/backend';
import type { NamespaceRef, UiError, VmAccessView, VmUpdateEvent } from '../../src/lib/generated';
import { VmsModel } from '../../src/lib/vmsScreen.svelte';
import { vmRow } from './vmFixtures';

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A backend whose watch_vms the test drives: `emit` sends an event, `fail`/`end` finish it. */
function fakeBackend(over: Partial<Backend> = {}) {
  const asked: NamespaceRef[] = [];
  let emit: (event: VmUpdateEvent) => void = () => {};
  let fail: (error: UiError) => void = () => {};
  let signal: AbortSignal | null = null;
  const backend = {
    watchVmsUntil: (_scope: unknown, onEvent: (event: VmUpdateEvent) => void, stop: AbortSignal) =>
      new Promise<null>((resolve, reject) => {
        signal = stop;
        emit = onEvent;
        fail = reject;
        stop.addEventListener('abort', () => resolve(null));
      }),
    vmAccess: async (ns: NamespaceRef): Promise<VmAccessView> => {
      asked.push(ns);
      return { namespace: ns.namespace, actions: ['stop'], vnc: true, serial: true };
    },
    ...over,
  } as unknown as Backend;
  return { backend, asked, emit: (e: VmUpdateEvent) => emit(e), fail: (e: UiError) => fail(e), signal: () => signal };
}

describe('VMs model', () => {
  it('shows the snapshot, then changes; asks each namespace once', async () => {
    const fake = fakeBackend();
    const model = new VmsModel(fake.backend, 'lab');
    model.start();
    expect(model.feed.state).toBe('loading');
    fake.emit({ kind: 'snapshot', rows: [vmRow('dev', 'a'), vmRow('prod', 'b')] });
    expect(model.feed.state).toBe('live');
    expect(model.shown.map((r) => r.name)).toEqual(['a', 'b']);
    fake.emit({ kind: 'changes', changes: [{ change: 'added', row: vmRow('dev', 'c') }, { change: 'changed', row: vmRow('prod', 'b', { status: 'Stopped' }) }] });
    expect(model.shown.map((r) => `${r.name}:${r.status}`)).toEqual(['a:Running', 'b:Stopped', 'c:Running']);
    await flush();
    expect(fake.asked.map((a) => a.namespace).sort()).toEqual(['dev', 'prod']);
    expect(model.access['dev']).toEqual({ state: 'known', view: { namespace: 'dev', actions: ['stop'], vnc: true, serial: true } });
    model.filter.namespace = 'dev';
    expect(model.shown.map((r) => r.name)).toEqual(['a', 'c']);
  });

  it('keeps the error code when the list fails (KubeVirt missing) and starts again', async () => {
    const fake = fakeBackend();
    const model = new VmsModel(fake.backend, 'lab');
    model.start();
    fake.fail({ code: 'kubevirt_missing', message: 'lab has no VirtualMachines API', field: null });
    await flush();
    expect(model.feed).toEqual({ state: 'failed', error: { code: 'kubevirt_missing', message: 'lab has no VirtualMachines API', field: null } });
    model.start();
    expect(model.feed.state).toBe('loading');
    fake.emit({ kind: 'snapshot', rows: [] });
    expect(model.feed.state).toBe('live');
    expect(model.rows.size).toBe(0);
  });

  it('stopping aborts the stream and ignores what still arrives', async () => {
    const fake = fakeBackend();
    const model = new VmsModel(fake.backend, 'lab');
    model.start();
    fake.emit({ kind: 'snapshot', rows: [vmRow('dev', 'a')] });
    model.stop();
    expect(fake.signal()?.aborted).toBe(true);
    fake.emit({ kind: 'changes', changes: [{ change: 'removed', namespace: 'dev', name: 'a' }] });
    await flush();
    expect(model.rows.size).toBe(1);
    expect(model.feed.state).toBe('live');
  });

  it('a refused action is kept for its row; the row is busy while the action runs', async () => {
    let answer: (reason: UiError) => void = () => {};
    const fake = fakeBackend({
      powerAction: () => new Promise((_resolve, reject) => (answer = reject)),
    } as Partial<Backend>);
    const model = new VmsModel(fake.backend, 'lab');
    const row = vmRow('dev', 'a');
    const acting = model.act(row, 'stop');
    expect(model.busy['dev/a']).toBe('stop');
    answer({ code: 'not_allowed', message: 'not allowed to stop', field: null });
    await acting;
    expect(model.busy['dev/a']).toBeUndefined();
    expect(model.errors['dev/a']).toEqual({ action: 'stop', error: { code: 'not_allowed', message: 'not allowed to stop', field: null } });
  });

  it('sorting by the same column again reverses it', () => {
    const model = new VmsModel(fakeBackend().backend, 'lab');
    model.sortBy('status');
    expect([model.filter.sort, model.filter.descending]).toEqual(['status', false]);
    model.sortBy('status');
    expect(model.filter.descending).toBe(true);
    model.sortBy('name');
    expect([model.filter.sort, model.filter.descending]).toEqual(['name', false]);
  });
});

describe('VMs model: several at once', () => {
  it('runs an action on the selected rows it may run on and names the others', async () => {
    const acted: string[] = [];
    const fake = fakeBackend({
      powerAction: async (input: { namespace: string; name: string }) => {
        acted.push(`${input.namespace}/${input.name}`);
        return null;
      },
    } as Partial<Backend>);
    const model = new VmsModel(fake.backend, 'lab');
    model.start();
    fake.emit({
      kind: 'snapshot',
      rows: [vmRow('dev', 'a'), vmRow('dev', 'b', { status: 'Stopped', actions: ['start'], consoles: false }), vmRow('dev', 'c'), vmRow('prod', 'd')],
    });
    await flush();
    model.toggleSelected(model.shown[0]!, true);
    model.toggleSelected(model.shown[1]!, true);
    model.toggleSelected(model.shown[3]!, true);
    expect(model.selectedRows.map((r) => r.name)).toEqual(['a', 'b', 'd']);
    const plan = model.planSelected('stop');
    expect(plan.allowed.map((r) => r.name)).toEqual(['a', 'd']);
    expect(plan.skipped).toEqual([{ row: model.shown[1], reason: 'Stop does not apply while the VM is Stopped' }]);
    await model.actOnSelected('stop');
    expect(acted).toEqual(['dev/a', 'prod/d']);
    // A selected row that goes away is no longer selected; select all shown toggles.
    fake.emit({ kind: 'changes', changes: [{ change: 'removed', namespace: 'dev', name: 'a' }] });
    expect(model.selectedRows.map((r) => r.name)).toEqual(['b', 'd']);
    model.filter.namespace = 'dev';
    model.toggleAllShown();
    expect(model.selectedRows.map((r) => r.name)).toEqual(['b', 'c']);
    model.toggleAllShown();
    expect(model.selectedRows).toEqual([]);
  });
});
