// The resume banner's model: unfinished runs listed, Resume following its stream to the end and the
// run then no longer listed, Discard forgetting it, and an older list answering last ignored.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/lib/backend';
import type { UnfinishedRunView } from '../../src/lib/generated';
import { ResumeModel } from '../../src/lib/resume.svelte';

const unfinished = (cluster: string): UnfinishedRunView => ({
  cluster,
  profile_name: 'p',
  started: 1,
  failed: null,
  inventory_written: true,
  packs_ready: ['multus'],
});

describe('ResumeModel', () => {
  it('resumes a run to Ready, after which it is no longer listed', async () => {
    let runs = [unfinished('lab')];
    const model = new ResumeModel({
      unfinishedInstalls: async () => runs,
      resumeInstall: async (input: { cluster: string }, onEvent: (e: unknown) => void) => {
        expect(input.cluster).toBe('lab');
        onEvent({ event: 'pack_ready', pack: 'kubevirt' });
        onEvent({ event: 'done', applied: 3, deleted: 0 });
        runs = [];
        return { inventory_id: 'i', packs: ['kubevirt'], applied: 3, pruned: 0 };
      },
    } as unknown as Backend);
    await model.load();
    expect(model.shown(null)).toEqual(['lab']);
    expect(model.shown('other')).toEqual([]);
    await model.resume('lab');
    expect(model.runs).toEqual([]);
    expect(model.progress.lab!.outcome.state).toBe('done');
    expect(model.shown('lab')).toEqual(['lab']); // the finished note stays until dismissed
    model.dismiss('lab');
    expect(model.shown('lab')).toEqual([]);
  });

  it('a failed resume stays listed with its error; discard forgets it', async () => {
    let runs = [unfinished('lab')];
    const discarded: string[] = [];
    const model = new ResumeModel({
      unfinishedInstalls: async () => runs,
      resumeInstall: async () => Promise.reject({ code: 'preflight_failed', message: 'no StorageClass', field: null }),
      discardInstall: async ({ name }: { name: string }) => {
        discarded.push(name);
        runs = [];
        return null;
      },
    } as unknown as Backend);
    await model.load();
    await model.resume('lab');
    const outcome = model.progress.lab!.outcome;
    expect(outcome.state === 'failed' && outcome.error.code).toBe('preflight_failed');
    expect(model.runs).toHaveLength(1);
    await model.discard('lab');
    expect(discarded).toEqual(['lab']);
    expect(model.shown(null)).toEqual([]);
  });

  it('ignores an older list answering last', async () => {
    const answers: ((runs: UnfinishedRunView[]) => void)[] = [];
    const model = new ResumeModel({ unfinishedInstalls: () => new Promise((resolve) => answers.push(resolve)) } as unknown as Backend);
    const older = model.load();
    const newer = model.load();
    answers[1]!([]);
    await newer;
    answers[0]!([unfinished('lab')]);
    await older;
    expect(model.runs).toEqual([]);
  });
});
