// The VM dashboard's rules: the form becomes the core's draft, the core's errors land at their
// form fields, disk events add up to the import's progress, snapshot names fit, a delete needs
// the exact name, an edit sends only what changed; the create model keeps field errors on the form.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/lib/backend';
import type { VmDraftInput, VmSettingsView } from '../../src/lib/generated';
import { VmCreateModel } from '../../src/lib/vmCreate.svelte';
import {
  applyDiskEvent, deleteConfirmed, editChanges, editFormOf, emptyForm, emptyImport, errorsAt, importPercent, snapshotName, toDraft, withDefaults,
} from '../../src/lib/vmDashboard';

describe('the create form', () => {
  it('becomes the core draft', () => {
    const form = { ...emptyForm(), namespace: ' dev ', name: 'web', instancetype: 'c/vmdeck-small', preference: 'n/fedora', image: 'vm-dashboard/fedora', multus: ['infra/lan'] };
    const draft = toDraft(form);
    expect(draft.namespace).toBe('dev');
    expect(draft.instancetype).toEqual({ name: 'vmdeck-small', cluster_wide: true });
    expect(draft.preference).toEqual({ name: 'fedora', cluster_wide: false });
    expect(draft.boot_source).toEqual({ kind: 'data_source', namespace: 'vm-dashboard', name: 'fedora' });
    expect(draft.cloud_init).toBeNull();
    expect(draft.storage_class).toBeNull();
    expect(draft.networks).toEqual({ pod: true, multus: ['infra/lan'] });
    expect(toDraft({ ...form, bootKind: 'pvc', pvc: 'base' }).boot_source).toEqual({ kind: 'pvc', namespace: 'dev', name: 'base' });
    expect(toDraft({ ...form, bootKind: 'url', url: '' }).boot_source).toBeNull();
    expect(toDraft({ ...form, user: 'fedora', password: 'pw' }).cloud_init).toEqual({ user: 'fedora', ssh_key: null, password: 'pw' });
  });

  it('takes the first ready golden image and the first instancetype', () => {
    const choices = {
      namespaces: ['default', 'dev'], preferences: [], storage_classes: [], networks: [],
      instancetypes: [{ name: 'vmdeck-small', cluster_wide: true, cpus: 1, memory: '2Gi' }],
      golden_images: [{ namespace: 'vm-dashboard', name: 'centos', ready: false }, { namespace: 'vm-dashboard', name: 'fedora', ready: true }],
    };
    const form = withDefaults(emptyForm(), choices);
    expect(form.instancetype).toBe('c/vmdeck-small');
    expect(form.image).toBe('vm-dashboard/fedora');
    expect(withDefaults({ ...form, image: 'x/y' }, choices).image).toBe('x/y');
  });

  it('places the core errors at their fields', () => {
    const at = errorsAt([
      { field: 'name', message: 'not a DNS label', fix: 'use lowercase' },
      { field: 'boot_source.name', message: 'no such image', fix: 'pick one' },
      { field: 'networks.multus[1]', message: 'missing', fix: 'create it' },
      { field: 'mystery', message: 'odd', fix: 'ask' },
    ]);
    expect(at.name?.[0]?.fix).toBe('use lowercase');
    expect(at.boot_source?.[0]?.message).toBe('no such image');
    expect(at.networks).toHaveLength(1);
    expect(at.other).toHaveLength(1);
    expect(at.disk_size).toBeUndefined();
  });
});

describe('the disk import', () => {
  it('adds up phases and percents until ready', () => {
    let state = emptyImport();
    expect(importPercent(state)).toBeNull();
    state = applyDiskEvent(state, { event: 'progress', disk: 'web-rootdisk', phase: 'ImportInProgress', percent: 45.2 });
    expect(importPercent(state)).toBe(45.2);
    state = applyDiskEvent(state, { event: 'progress', disk: 'web-rootdisk', phase: 'ImportInProgress', percent: null });
    expect(state.disks['web-rootdisk']?.percent).toBe(45.2);
    state = applyDiskEvent(state, { event: 'ready' });
    expect(state.ready).toBe(true);
    expect(importPercent(state)).toBe(100);
    expect(state.disks['web-rootdisk']?.phase).toBe('Succeeded');
  });

  it('keeps a failure in words', () => {
    const state = applyDiskEvent(emptyImport(), { event: 'failed', disk: 'd', reason: 'no default StorageClass' });
    expect(state.failed).toEqual({ disk: 'd', reason: 'no default StorageClass' });
    expect(state.ready).toBe(false);
  });
});

describe('snapshots, delete and edit', () => {
  it('names snapshots by time, within 63 characters', () => {
    expect(snapshotName('web', new Date(Date.UTC(2026, 11, 2, 8, 5, 9)))).toBe('web-20261202-080509');
    expect(snapshotName('a'.repeat(70), new Date()).length).toBeLessThanOrEqual(63);
  });

  it('deletes only with the exact name typed', () => {
    expect(deleteConfirmed('web', 'web')).toBe(true);
    expect(deleteConfirmed('web', 'Web')).toBe(false);
    expect(deleteConfirmed('web', 'web ')).toBe(false);
  });

  it('sends only what changed', () => {
    const settings: VmSettingsView = {
      namespace: 'dev', name: 'web', running: false, run_strategy: 'Halted', cpus: 2, memory: '4Gi',
      instancetype: null, preference: null, disks: ['web-rootdisk'], restart_required: null,
    };
    const form = editFormOf(settings);
    expect(editChanges(settings, form)).toBeNull();
    expect(editChanges(settings, { ...form, cpus: '4' })).toEqual({ cpus: 4, memory: null, instancetype: null, run_strategy: null });
    expect(editChanges(settings, { ...form, runStrategy: 'Always', memory: '8Gi' })).toEqual({ cpus: null, memory: '8Gi', instancetype: null, run_strategy: 'Always' });
    const typed = { ...settings, cpus: null, memory: null, instancetype: { name: 'vmdeck-small', cluster_wide: true } };
    expect(editChanges(typed, { ...editFormOf(typed), instancetype: 'c/vmdeck-medium' })?.instancetype).toEqual({ name: 'vmdeck-medium', cluster_wide: true });
  });
});

describe('the create model', () => {
  it('keeps field errors on the form and reviews a good draft', async () => {
    const sent: VmDraftInput[] = [];
    const backend = {
      reviewVm: async (input: VmDraftInput) => {
        sent.push(input);
        return input.draft.name === 'good'
          ? { errors: [], yaml: 'kind: VirtualMachine\n' }
          : { errors: [{ field: 'name', message: 'not a DNS label', fix: 'use lowercase letters' }], yaml: null };
      },
    } as unknown as Backend;
    const model = new VmCreateModel(backend, 'lab');
    model.form.name = 'Bad_Name';
    await model.review();
    expect(model.step).toBe('form');
    expect(model.at.name?.[0]?.fix).toBe('use lowercase letters');
    model.form.name = 'good';
    await model.review();
    expect(model.step).toBe('review');
    expect(model.yaml).toContain('VirtualMachine');
    expect(model.errors).toEqual([]);
    expect(sent.map((s) => s.cluster)).toEqual(['lab', 'lab']);
  });
});
