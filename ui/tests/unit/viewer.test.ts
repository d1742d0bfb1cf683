// "Open in viewer": launches the installed viewer only when there is one, finds a running
// listener for the VM, shows the address, and keeps the core's error code.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/lib/backend';
import type { StartViewerInput, ViewerView } from '../../src/lib/generated';
import { vncAddress, ViewerModel } from '../../src/lib/viewer.svelte';

const view = (name: string, launched: string | null = null): ViewerView => ({ cluster: 'lab', namespace: 'dev', name, address: '127.0.0.1:5901', port: 5901, launched });

describe('viewer model', () => {
  it('without an installed viewer: the listener only, its address shown', async () => {
    const asked: StartViewerInput[] = [];
    const model = new ViewerModel(
      { installedViewer: async () => null, listViewers: async () => [view('other')], startViewer: async (input: StartViewerInput) => (asked.push(input), view('web-01')) } as unknown as Backend,
      'lab', 'dev', 'web-01',
    );
    await model.load();
    expect(model.view).toBeNull();
    await model.open();
    expect(asked).toEqual([{ cluster: 'lab', namespace: 'dev', name: 'web-01', launch: false }]);
    expect(vncAddress(model.view!)).toBe('vnc://127.0.0.1:5901');
  });

  it('with one installed: launched; a running listener is found at load; errors keep their code', async () => {
    const asked: StartViewerInput[] = [];
    let fail = false;
    const model = new ViewerModel(
      {
        installedViewer: async () => ({ name: 'remote-viewer', path: '/usr/bin/remote-viewer' }),
        listViewers: async () => [view('web-01')],
        startViewer: async (input: StartViewerInput) => {
          asked.push(input);
          if (fail) throw { code: 'viewer_launch_failed', message: 'could not start', field: null };
          return view('web-01', 'remote-viewer');
        },
      } as unknown as Backend,
      'lab', 'dev', 'web-01',
    );
    await model.load();
    expect(model.view?.port).toBe(5901);
    await model.open();
    expect(asked[0]!.launch).toBe(true);
    expect(model.view?.launched).toBe('remote-viewer');
    fail = true;
    await model.open();
    expect(model.error?.code).toBe('viewer_launch_failed');
    expect(model.busy).toBe(false);
  });
});
