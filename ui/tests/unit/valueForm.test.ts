// The values forms' plumbing: paths, typed input, issue placement, gate search and gate choice defaults.
import { describe, expect, it } from 'vitest';
import {
  filterGates, getAt, issuesAt, jsonFromInput, linesFromList,
  listFromLines, numberFromInput, packLevelIssues, setAt,
} from '../../src/lib/valueForm';
import type { FormField, GateRowView, ProfileIssueView } from '../../src/lib/generated';

function field(path: string, kind: FormField['kind'], fields: FormField[] = []): FormField {
  return {
    key: path.split('.').pop()!, path, label: path, kind, required: false, secret: false, description: null,
    choices: [], minimum: null, maximum: null, fields,
  };
}

function issue(pack: string, fieldPath: string | null, gate: string | null = null): ProfileIssueView {
  return { path: `packs[0].values.${fieldPath}`, line: null, code: 'value_invalid', message: 'bad', pack, field: fieldPath, gate };
}

function row(name: string, patch: Partial<GateRowView> = {}): GateRowView {
  return {
    name, maturity: 'beta', on_by_default: true, control: 'choosable', choice: null, on: true, choice_effect: '',
    description: `${name} does things`, risk: null, requires_packs: [], note: '', ...patch,
  };
}

describe('value paths', () => {
  it('reads and writes nested values, creating objects and removing on undefined', () => {
    const values: Record<string, unknown> = { server: { port: 443 } };
    expect(getAt(values, 'server.port')).toBe(443);
    expect(getAt(values, 'server.address')).toBeUndefined();
    expect(getAt(values, 'server.port.deeper')).toBeUndefined();
    setAt(values, 'server.address', 'proxy.example.com');
    setAt(values, 'tls.enabled', true);
    expect(values).toEqual({ server: { port: 443, address: 'proxy.example.com' }, tls: { enabled: true } });
    setAt(values, 'server.port', undefined);
    expect(values).toEqual({ server: { address: 'proxy.example.com' }, tls: { enabled: true } });
  });
});

describe('typed input', () => {
  it('keeps numbers as numbers and anything else as text for the core to name', () => {
    expect(numberFromInput('443', true)).toBe(443);
    expect(numberFromInput(' 1.5 ', false)).toBe(1.5);
    expect(numberFromInput('1.5', true)).toBe('1.5');
    expect(numberFromInput('abc', false)).toBe('abc');
    expect(numberFromInput('  ', true)).toBeUndefined();
  });

  it('turns lines into a string list and back', () => {
    expect(listFromLines('alice\n\n bob \n')).toEqual(['alice', 'bob']);
    expect(linesFromList(['alice', 'bob'])).toBe('alice\nbob');
    expect(linesFromList(undefined)).toBe('');
  });

  it('parses JSON or says why not', () => {
    expect(jsonFromInput('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(jsonFromInput('')).toEqual({ ok: true, value: undefined });
    const bad = jsonFromInput('{a');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/^not valid JSON/);
  });
});

describe('issue placement', () => {
  const form = [field('namespace', 'text'), field('server', 'group', [field('server.address', 'text')]), field('images', 'json')];
  const issues = [
    issue('spectro-proxy', 'server.address'),
    issue('spectro-proxy', null),
    issue('spectro-proxy', 'images[0].url'),
    issue('spectro-proxy', 'typo'),
    issue('kubevirt', 'server.address'),
    issue('spectro-proxy', null, 'Snapshot'),
  ];

  it('puts an issue at its field, and element issues at their list or JSON field', () => {
    expect(issuesAt(issues, 'spectro-proxy', field('server.address', 'text')).map((i) => i.field)).toEqual(['server.address']);
    expect(issuesAt(issues, 'spectro-proxy', field('images', 'json')).map((i) => i.field)).toEqual(['images[0].url']);
    expect(issuesAt(issues, 'spectro-proxy', field('namespace', 'text'))).toEqual([]);
  });

  it('keeps the rest (whole values, unknown keys) for the top of the pack form, never gate issues', () => {
    expect(packLevelIssues(issues, 'spectro-proxy', form).map((i) => i.field)).toEqual([null, 'typo']);
  });
});

describe('gates', () => {
  const rows = [
    row('Snapshot', { description: 'Take VM snapshots' }),
    row('CPUManager', { maturity: 'alpha', on_by_default: false, on: false }),
    row('LiveMigration', { maturity: 'ga', control: 'always_on' }),
    row('Passt', { maturity: 'discontinued', control: 'unavailable', on_by_default: false, on: false }),
  ];

  it('searches names, descriptions and maturity, every word', () => {
    expect(filterGates(rows, 'snap').map((r) => r.name)).toEqual(['Snapshot']);
    expect(filterGates(rows, 'ALPHA').map((r) => r.name)).toEqual(['CPUManager']);
    expect(filterGates(rows, 'vm take').map((r) => r.name)).toEqual(['Snapshot']);
    expect(filterGates(rows, '  ')).toHaveLength(4);
    expect(filterGates(rows, 'nothing-like-this')).toEqual([]);
  });
});
