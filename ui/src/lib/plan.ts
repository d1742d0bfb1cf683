// The Plan step's reading of a plan: totals, the object list's filters, and whether field
// conflicts wait for the user's consent.
import type { PlanActionView, PlanView, PlannedObjectView } from './generated';

export interface PlanFilter {
  /** `all` or one action. */
  action: PlanActionView | 'all' | 'changes';
  /** `all` or one pack. */
  pack: string;
  /** Matched against the object's label (kind, namespace, name), case-insensitive. */
  text: string;
}

export const noFilter: PlanFilter = { action: 'all', pack: 'all', text: '' };

export function filterObjects(objects: PlannedObjectView[], filter: PlanFilter): PlannedObjectView[] {
  const text = filter.text.trim().toLowerCase();
  return objects.filter(
    (o) =>
      (filter.action === 'all' || (filter.action === 'changes' ? o.action !== 'unchanged' : o.action === filter.action)) &&
      (filter.pack === 'all' || o.pack === filter.pack) &&
      (text === '' || o.object.label.toLowerCase().includes(text)),
  );
}

export interface PlanTotals {
  create: number;
  update: number;
  unchanged: number;
  prune: number;
}

export function planTotals(plan: PlanView): PlanTotals {
  const totals = { create: 0, update: 0, unchanged: 0, prune: 0 };
  for (const p of plan.packs) {
    totals.create += p.create;
    totals.update += p.update;
    totals.unchanged += p.unchanged;
    totals.prune += p.prune;
  }
  return totals;
}

/** Objects whose fields another manager owns. */
export function conflicted(plan: PlanView): PlannedObjectView[] {
  return plan.objects.filter((o) => o.conflicts.length > 0);
}

/** Whether the plan may be installed: conflicts only with the user's consent to take them over. */
export function planAllows(plan: PlanView | null, consented: boolean): boolean {
  return plan !== null && (!plan.has_conflicts || consented);
}

/** The pack each object belongs to, by label (the install's events name objects, not packs). */
export function packOfObjects(plans: (PlanView | null)[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const plan of plans) for (const o of plan?.objects ?? []) map.set(o.object.label, o.pack);
  return map;
}
