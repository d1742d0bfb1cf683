// The plan's diff viewer: a unified diff (as the core makes it, Secret data already masked) read
// into lines, paired up for the side-by-side view, and YAML lines split into coloured tokens.

export type DiffLineKind = 'context' | 'add' | 'remove' | 'hunk' | 'header';

export interface DiffLine {
  kind: DiffLineKind;
  /** The line without its `+`/`-`/` ` marker. */
  text: string;
  /** Line numbers in the live object (`old`) and after the apply (`new`), when the line has one. */
  old: number | null;
  new: number | null;
}

/** Reads a unified diff; line numbers come from the `@@ -a,b +c,d @@` hunk headers. */
export function parseUnifiedDiff(diff: string): DiffLine[] {
  const lines: DiffLine[] = [];
  let oldNo = 0;
  let newNo = 0;
  for (const raw of diff.split('\n')) {
    if (raw === '') continue;
    if (raw.startsWith('--- ') || raw.startsWith('+++ ')) {
      lines.push({ kind: 'header', text: raw, old: null, new: null });
    } else if (raw.startsWith('@@')) {
      const match = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
      oldNo = match ? Number(match[1]) : 1;
      newNo = match ? Number(match[2]) : 1;
      lines.push({ kind: 'hunk', text: raw, old: null, new: null });
    } else if (raw.startsWith('+')) {
      lines.push({ kind: 'add', text: raw.slice(1), old: null, new: newNo++ });
    } else if (raw.startsWith('-')) {
      lines.push({ kind: 'remove', text: raw.slice(1), old: oldNo++, new: null });
    } else if (raw.startsWith('\\')) {
      continue; // "\ No newline at end of file"
    } else {
      lines.push({ kind: 'context', text: raw.startsWith(' ') ? raw.slice(1) : raw, old: oldNo++, new: newNo++ });
    }
  }
  return lines;
}

/** One row of the side-by-side view: the live line on the left, the line after the apply on the right. */
export interface SideBySideRow {
  left: DiffLine | null;
  right: DiffLine | null;
  /** A hunk header spanning both sides. */
  hunk?: string;
}

/** Pairs removed and added lines of each change block, line by line; context on both sides. */
export function sideBySide(lines: DiffLine[]): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  let removed: DiffLine[] = [];
  let added: DiffLine[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      rows.push({ left: removed[i] ?? null, right: added[i] ?? null });
    }
    removed = [];
    added = [];
  };
  for (const line of lines) {
    if (line.kind === 'remove') removed.push(line);
    else if (line.kind === 'add') added.push(line);
    else {
      flush();
      if (line.kind === 'hunk') rows.push({ left: null, right: null, hunk: line.text });
      else if (line.kind === 'context') rows.push({ left: line, right: line });
    }
  }
  flush();
  return rows;
}

/** The `+`/`-` lines only (headers excluded): what a reviewer reads as "the change". */
export function changedLines(diff: string): DiffLine[] {
  return parseUnifiedDiff(diff).filter((l) => l.kind === 'add' || l.kind === 'remove');
}

export type YamlTokenKind = 'key' | 'string' | 'number' | 'bool' | 'null' | 'comment' | 'punct' | 'text' | 'masked';
export interface YamlToken {
  kind: YamlTokenKind;
  text: string;
}

const scalarKind = (value: string): YamlTokenKind => {
  const v = value.trim();
  if (v === '') return 'text';
  if (/^(["']?)\*{3}( \((before|after)\))?\1$/.test(v)) return 'masked';
  if (/^(true|false|yes|no|on|off)$/i.test(v)) return 'bool';
  if (/^(null|~)$/.test(v)) return 'null';
  if (/^-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?$/.test(v)) return 'number';
  if (/^(["']).*\1$/.test(v)) return 'string';
  return 'string';
};

/** Splits one YAML line into tokens for colouring: indentation and list dashes, a key, its value, a comment. */
export function yamlTokens(line: string): YamlToken[] {
  const tokens: YamlToken[] = [];
  const lead = /^(\s*(?:- )*)/.exec(line)?.[1] ?? '';
  if (lead) tokens.push({ kind: 'punct', text: lead });
  let rest = line.slice(lead.length);
  if (rest.startsWith('#')) return [...tokens, { kind: 'comment', text: rest }];
  const key = /^((?:"[^"]*"|'[^']*'|[^\s:#'"][^:#]*?)):(\s|$)/.exec(rest);
  if (key) {
    tokens.push({ kind: 'key', text: key[1]! }, { kind: 'punct', text: ':' });
    rest = rest.slice(key[1]!.length + 1);
  }
  if (rest === '') return tokens;
  const comment = / #/.exec(rest);
  const value = comment ? rest.slice(0, comment.index) : rest;
  const space = /^\s*/.exec(value)?.[0] ?? '';
  if (space) tokens.push({ kind: 'text', text: space });
  const scalar = value.slice(space.length);
  if (scalar) tokens.push({ kind: /^[|>][-+]?$/.test(scalar.trim()) ? 'punct' : scalarKind(scalar), text: scalar });
  if (comment) tokens.push({ kind: 'comment', text: rest.slice(comment.index) });
  return tokens;
}
