// The values forms' plumbing: reading and writing a field by dotted path, turning input text into typed
// values, and placing the core's validation issues at the field they name.
import type { FormField, GateRowView, ProfileIssueView } from './generated';

export type Values = Record<string, unknown>;

function isObject(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path` (`server.address`), or undefined. */
export function getAt(values: Values, path: string): unknown {
  let current: unknown = values;
  for (const key of path.split('.')) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** Sets the value at `path`, creating objects on the way; `undefined` removes the key. */
export function setAt(values: Values, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop();
  if (last === undefined) return;
  let current: Values = values;
  for (const key of keys) {
    const next = current[key];
    if (!isObject(next)) current[key] = {};
    current = current[key] as Values;
  }
  if (value === undefined) delete current[last];
  else current[last] = value;
}

/** A deep copy of plain JSON data (the pack defaults the form starts from). */
export function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Input text of a number field as a value: empty removes the value, a number is kept as a number, anything
 * else is kept as text so the core's check names the field.
 */
export function numberFromInput(text: string, integer: boolean): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const parsed = Number(trimmed);
  if (!Number.isFinite(parsed) || (integer && !Number.isInteger(parsed))) return trimmed;
  return parsed;
}

/** One string per non-empty line. */
export function listFromLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

export function linesFromList(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join('\n') : '';
}

/** JSON text of a field edited as JSON; `ok: false` carries the parser's complaint. */
export function jsonFromInput(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (reason) {
    return { ok: false, message: `not valid JSON: ${reason instanceof Error ? reason.message : String(reason)}` };
  }
}

/** Issues about one field of one pack; a list or JSON field also takes its elements' issues. */
export function issuesAt(issues: ProfileIssueView[], pack: string, field: FormField): ProfileIssueView[] {
  const takesElements = field.kind === 'string_list' || field.kind === 'json';
  return issues.filter(
    (i) =>
      i.pack === pack &&
      i.field !== null &&
      (i.field === field.path || (takesElements && (i.field.startsWith(`${field.path}[`) || i.field.startsWith(`${field.path}.`)))),
  );
}

function allPaths(fields: FormField[], into: string[] = []): string[] {
  for (const field of fields) {
    into.push(field.path);
    allPaths(field.fields, into);
  }
  return into;
}

/** Issues of a pack that no form field shows (the whole values, unknown keys): shown above the form. */
export function packLevelIssues(issues: ProfileIssueView[], pack: string, form: FormField[]): ProfileIssueView[] {
  const paths = allPaths(form);
  return issues.filter(
    (i) =>
      i.pack === pack &&
      i.gate === null &&
      (i.field === null ||
        !paths.some((p) => i.field === p || i.field!.startsWith(`${p}[`) || i.field!.startsWith(`${p}.`))),
  );
}

/** Gate rows matching a search in their name, description or maturity (case-insensitive). */
export function filterGates(rows: GateRowView[], search: string): GateRowView[] {
  const words = search.toLowerCase().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return rows;
  return rows.filter((row) => {
    const text = `${row.name} ${row.description} ${row.maturity} ${row.risk ?? ''}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}
