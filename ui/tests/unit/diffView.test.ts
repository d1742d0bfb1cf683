// The diff viewer's reading of unified diffs, the side-by-side pairing and YAML colouring.
import { describe, expect, it } from 'vitest';
import { changedLines, parseUnifiedDiff, sideBySide, yamlTokens } from '../../src/lib/diffView';

const gateDiff = [
  '--- live',
  '+++ after apply',
  '@@ -10,3 +10,4 @@',
  '     featureGates:',
  '-      - Snapshot',
  '+      - HostDisk',
  '+      - Snapshot',
  '   imagePullPolicy: IfNotPresent',
].join('\n');

describe('diff viewer', () => {
  it('reads lines with their numbers on each side', () => {
    const lines = parseUnifiedDiff(gateDiff);
    expect(lines.map((l) => l.kind)).toEqual(['header', 'header', 'hunk', 'context', 'remove', 'add', 'add', 'context']);
    expect(lines[3]).toMatchObject({ text: '    featureGates:', old: 10, new: 10 });
    expect(lines[4]).toMatchObject({ text: '      - Snapshot', old: 11, new: null });
    expect(lines[6]).toMatchObject({ text: '      - Snapshot', old: null, new: 12 });
    expect(lines[7]).toMatchObject({ old: 12, new: 13 });
  });

  it('pairs removed with added lines side by side, an extra addition alone on the right', () => {
    const rows = sideBySide(parseUnifiedDiff(gateDiff));
    expect(rows[0]!.hunk).toBe('@@ -10,3 +10,4 @@');
    expect(rows.slice(1).map((r) => [r.left?.text ?? null, r.right?.text ?? null])).toEqual([
      ['    featureGates:', '    featureGates:'],
      ['      - Snapshot', '      - HostDisk'],
      [null, '      - Snapshot'],
      ['  imagePullPolicy: IfNotPresent', '  imagePullPolicy: IfNotPresent'],
    ]);
  });

  it('counts only the changed lines', () => {
    expect(changedLines(gateDiff).map((l) => l.kind)).toEqual(['remove', 'add', 'add']);
  });

  it('colours keys, scalars, list dashes and comments', () => {
    expect(yamlTokens('  replicas: 3')).toEqual([
      { kind: 'punct', text: '  ' },
      { kind: 'key', text: 'replicas' },
      { kind: 'punct', text: ':' },
      { kind: 'text', text: ' ' },
      { kind: 'number', text: '3' },
    ]);
    expect(yamlTokens('      - HostDisk')).toEqual([
      { kind: 'punct', text: '      - ' },
      { kind: 'string', text: 'HostDisk' },
    ]);
    expect(yamlTokens('enabled: true # on').map((t) => t.kind)).toEqual(['key', 'punct', 'text', 'bool', 'comment']);
    expect(yamlTokens('  token: \'***\'').at(-1)).toEqual({ kind: 'masked', text: "'***'" });
    expect(yamlTokens('  token: "*** (after)"').at(-1)?.kind).toBe('masked');
    expect(yamlTokens('metadata:').map((t) => t.kind)).toEqual(['key', 'punct']);
    expect(yamlTokens('# a comment')).toEqual([{ kind: 'comment', text: '# a comment' }]);
  });
});
