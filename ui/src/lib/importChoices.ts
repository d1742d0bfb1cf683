// The add-cluster wizard's choices: which contexts to import and under which names.
import type { ContextView, ImportInput, KubeconfigSource } from './generated';

export interface ContextRow {
  context: ContextView;
  selected: boolean;
  name: string;
}

/** One row per context; the current context (or the only one) starts selected. */
export function rowsFor(contexts: ContextView[]): ContextRow[] {
  const anyCurrent = contexts.some((c) => c.is_current);
  return contexts.map((context) => ({
    context,
    selected: context.is_current || (!anyCurrent && contexts.length === 1),
    name: context.name,
  }));
}

/** The import request; `replace` holds the taken names the user confirmed replacing. */
export function importInputFrom(source: KubeconfigSource, rows: ContextRow[], replace: string[] = []): ImportInput {
  return {
    source,
    overwrite: false,
    replace: [...replace],
    choices: rows
      .filter((r) => r.selected)
      .map((r) => ({ context: r.context.name, name: r.name.trim() === '' ? null : r.name.trim() })),
  };
}
