// Badge and detail wording from check results, and the wizard's import choices.
import { describe, expect, it } from 'vitest';
import { badgeOf, detailsOf, problemOf } from '../../src/lib/clusterStatus';
import { importInputFrom, rowsFor } from '../../src/lib/importChoices';
import type { CheckView, ContextView } from '../../src/lib/generated';

const reachable: CheckView = {
  cluster: 'lab',
  reachable: true,
  kubernetes_version: 'v1.34.1',
  node_count: 3,
  kubevirt: { installed: true, version: 'v1.6.0' },
  can_install: true,
  failure: null,
};

describe('badges', () => {
  it('follows the check state', () => {
    expect(badgeOf(undefined)).toBe('not_checked');
    expect(badgeOf({ state: 'checking' })).toBe('checking');
    expect(badgeOf({ state: 'done', view: reachable })).toBe('connected');
    expect(badgeOf({ state: 'done', view: { ...reachable, reachable: false } })).toBe('unreachable');
    expect(badgeOf({ state: 'failed', error: { code: 'secret_missing', message: 'm', field: null } })).toBe('unreachable');
  });

  it('describes a reachable cluster in plain words', () => {
    expect(detailsOf(reachable)).toEqual(['Kubernetes v1.34.1', '3 nodes', 'KubeVirt v1.6.0', 'You may install KubeVirt']);
    expect(detailsOf({ ...reachable, node_count: null, kubevirt: { installed: false, version: null }, can_install: false })).toEqual([
      'Kubernetes v1.34.1',
      'Nodes: not visible to this user',
      'KubeVirt not installed',
      'You may not install KubeVirt (ask a cluster admin)',
    ]);
  });

  it('reports the failure of an unreachable cluster', () => {
    const failure = { code: 'timeout', message: 'did not answer', field: null };
    expect(problemOf({ state: 'done', view: { ...reachable, reachable: false, failure } })).toEqual(failure);
    expect(problemOf({ state: 'done', view: reachable })).toBeNull();
  });
});

describe('import choices', () => {
  const ctx = (name: string, is_current: boolean): ContextView => ({
    name, cluster: 'c', user: 'u', namespace: null, server: 'https://s', is_current,
  });

  it('selects the current context and keeps chosen names', () => {
    const rows = rowsFor([ctx('admin', true), ctx('viewer', false)]);
    expect(rows.map((r) => r.selected)).toEqual([true, false]);
    rows[0]!.name = '  lab  ';
    rows[1]!.selected = true;
    rows[1]!.name = '';
    const input = importInputFrom({ kind: 'discovered' }, rows);
    expect(input.choices).toEqual([
      { context: 'admin', name: 'lab' },
      { context: 'viewer', name: null },
    ]);
    expect(input.overwrite).toBe(false);
    expect(input.replace).toEqual([]);
  });

  it('replaces only the names the user confirmed, never all of them', () => {
    const rows = rowsFor([ctx('admin', true)]);
    const confirmed = ['admin'];
    const input = importInputFrom({ kind: 'discovered' }, rows, confirmed);
    expect(input.overwrite).toBe(false);
    expect(input.replace).toEqual(['admin']);
    confirmed.push('other');
    expect(input.replace).toEqual(['admin']); // the request keeps its own copy
  });

  it('selects a lone context even when none is current', () => {
    expect(rowsFor([ctx('only', false)])[0]?.selected).toBe(true);
  });
});
