// The console route: written and read back, odd characters kept, other hashes refused.
import { describe, expect, it } from 'vitest';
import { consoleRoute, consoleTitle, parseConsoleRoute } from '../../src/lib/consoleRoute';

describe('console route', () => {
  it('reads back what it writes, odd characters included', () => {
    const target = { kind: 'vnc' as const, cluster: "lab (Bob's)/eu#1 ü", namespace: 'dev', name: 'web-01' };
    const route = consoleRoute(target);
    expect(route).toMatch(/^console\/vnc\/[A-Za-z0-9%._~-]+\/dev\/web-01$/);
    expect(parseConsoleRoute(`#${route}`)).toEqual(target);
    expect(parseConsoleRoute(route)).toEqual(target);
  });

  it('refuses anything but a whole console route', () => {
    for (const hash of ['', '#', '#console', '#console/vnc/lab/dev', '#console/rdp/lab/dev/web', '#console/vnc/lab/dev/web/x', '#console/vnc//dev/web', '#console/vnc/%E0%A4%A/dev/web', '#clusters']) {
      expect(parseConsoleRoute(hash), hash).toBeNull();
    }
  });

  it('titles the window with the VM, the console and the cluster', () => {
    expect(consoleTitle({ kind: 'serial', cluster: 'lab', namespace: 'dev', name: 'db-02' })).toBe('db-02 (serial) · dev · lab — VMDeck');
  });
});
