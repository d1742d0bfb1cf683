// What an install, uninstall or gate change shows while it runs, read from its InstallEvent stream:
// per pack (objects applied of planned, waiting status, ready), per object, the live status line,
// a log that can be copied, and how it ended. Pure: each event makes a new state from the old.
import type { InstallEvent, PlanView, UiError } from './generated';

export type PackState = 'pending' | 'applying' | 'waiting' | 'ready';
export type ObjectState = 'pending' | 'applied' | 'retrying' | 'deleting' | 'deleted';

export interface PackProgress {
  name: string;
  state: PackState;
  /** Objects of the pack applied (or deleted) so far, of `total` known. */
  done: number;
  total: number;
  /** Whether `total` came from the plan; else each started phase adds its objects to it. */
  planned: boolean;
  phase: string | null;
  /** The live status of the readiness checks ("virt-handler 2/3 ready"). */
  status: string | null;
}

export interface ObjectProgress {
  label: string;
  pack: string | null;
  state: ObjectState;
  note: string | null;
}

export interface LogLine {
  /** Milliseconds since the run started. */
  at: number;
  level: 'info' | 'warn' | 'error';
  text: string;
}

export type Outcome = { state: 'running' } | { state: 'done'; applied: number; deleted: number } | { state: 'failed'; error: UiError };

export interface RunProgress {
  packs: PackProgress[];
  objects: ObjectProgress[];
  log: LogLine[];
  /** The newest thing happening, in words. */
  status: string;
  outcome: Outcome;
  startedAt: number;
  endedAt: number | null;
}

/** A run about to start: the plan's packs (install order) and objects, all pending. */
export function startRun(plan: PlanView | null, now: number, status = 'Starting…'): RunProgress {
  return {
    packs: (plan?.packs ?? []).map((p) => ({
      name: p.pack,
      state: 'pending',
      done: 0,
      total: p.create + p.update + p.unchanged,
      planned: true,
      phase: null,
      status: null,
    })),
    objects: (plan?.objects ?? [])
      .filter((o) => o.action !== 'prune')
      .map((o) => ({ label: o.object.label, pack: o.pack, state: 'pending', note: null })),
    log: [],
    status,
    outcome: { state: 'running' },
    startedAt: now,
    endedAt: null,
  };
}

function withPack(run: RunProgress, name: string, change: (p: PackProgress) => PackProgress): PackProgress[] {
  const known = run.packs.some((p) => p.name === name);
  const packs = known ? run.packs : [...run.packs, { name, state: 'pending' as PackState, done: 0, total: 0, planned: false, phase: null, status: null }];
  return packs.map((p) => (p.name === name ? change(p) : p));
}

function withObject(run: RunProgress, label: string, pack: string | null, state: ObjectState, note: string | null): ObjectProgress[] {
  if (!run.objects.some((o) => o.label === label)) return [...run.objects, { label, pack, state, note }];
  return run.objects.map((o) => (o.label === label ? { ...o, state, note } : o));
}

/** The run after one event. Events after the end are ignored. */
export function reduceRun(run: RunProgress, event: InstallEvent, now: number): RunProgress {
  if (run.outcome.state !== 'running') return run;
  const log = (level: LogLine['level'], text: string) => [...run.log, { at: now - run.startedAt, level, text }];
  switch (event.event) {
    case 'inventory_written':
      return { ...run, status: `Inventory written (${event.objects} objects)`, log: log('info', `inventory written: ${event.objects} objects listed`) };
    case 'phase_started': {
      const text = `${event.pack}: applying ${event.phase} (${event.objects} objects)`;
      return {
        ...run,
        status: text,
        log: log('info', text),
        packs: withPack(run, event.pack, (p) => ({
          ...p,
          state: 'applying',
          phase: event.phase,
          // Without a plan the phases tell how many objects the pack has.
          total: p.planned ? p.total : p.total + event.objects,
        })),
      };
    }
    case 'applied': {
      const label = event.object.label;
      // An object applied again (a resumed or retried phase) is counted once.
      const already = run.objects.some((o) => o.label === label && o.state === 'applied');
      return {
        ...run,
        status: `Applied ${label}`,
        log: log('info', `applied ${label}`),
        objects: withObject(run, label, event.pack, 'applied', null),
        packs: already ? run.packs : withPack(run, event.pack, (p) => ({ ...p, done: Math.min(p.done + 1, Math.max(p.total, p.done + 1)) })),
      };
    }
    case 'retrying': {
      const label = event.object.label;
      const text = `${event.pack}: retrying ${label} (attempt ${event.attempt}): ${event.reason}`;
      return { ...run, status: text, log: log('warn', text), objects: withObject(run, label, event.pack, 'retrying', event.reason) };
    }
    case 'waiting': {
      const text = `${event.pack}: waiting for ${event.what}: ${event.status}`;
      return {
        ...run,
        status: text,
        log: log('info', text),
        packs: withPack(run, event.pack, (p) => ({ ...p, state: 'waiting', status: `${event.what}: ${event.status}` })),
      };
    }
    case 'pack_ready':
      return {
        ...run,
        status: `${event.pack} is ready`,
        log: log('info', `${event.pack} ready`),
        packs: withPack(run, event.pack, (p) => ({ ...p, state: 'ready', status: null, done: Math.max(p.done, p.total) })),
      };
    case 'deleting': {
      const label = event.object.label;
      return { ...run, status: `Deleting ${label}`, log: log('info', `deleting ${label}`), objects: withObject(run, label, null, 'deleting', null) };
    }
    case 'deleted': {
      const label = event.object.label;
      return { ...run, status: `Deleted ${label}`, log: log('info', `deleted ${label}`), objects: withObject(run, label, null, 'deleted', null) };
    }
    case 'done':
      return {
        ...run,
        status: 'Done',
        log: log('info', `done: ${event.applied} applied, ${event.deleted} deleted`),
        outcome: { state: 'done', applied: event.applied, deleted: event.deleted },
        endedAt: now,
      };
    case 'failed':
      return {
        ...run,
        status: `Stopped: ${event.error.message}`,
        log: log('error', `${event.error.code}: ${event.error.message}`),
        outcome: { state: 'failed', error: event.error },
        endedAt: now,
      };
  }
}

/** The run when its call ended without a last event (the transport failed): failed with that error. */
export function endRun(run: RunProgress, error: UiError | null, now: number): RunProgress {
  if (run.outcome.state !== 'running') return run;
  if (error) return reduceRun(run, { event: 'failed', error }, now);
  return { ...run, outcome: { state: 'done', applied: 0, deleted: 0 }, endedAt: now, status: 'Done' };
}

/** `1:05`, `12:00`, `1:02:03`. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The log as text to copy. */
export function logText(run: RunProgress): string {
  return run.log.map((l) => `[${formatElapsed(l.at)}] ${l.level === 'info' ? '' : `${l.level.toUpperCase()} `}${l.text}`).join('\n');
}

/** How far the run is, 0..1, counting objects of packs (a ready pack counts fully). */
export function fraction(run: RunProgress): number {
  const total = run.packs.reduce((n, p) => n + Math.max(p.total, 1), 0);
  if (total === 0) return run.outcome.state === 'done' ? 1 : 0;
  const done = run.packs.reduce((n, p) => n + (p.state === 'ready' ? Math.max(p.total, 1) : Math.min(p.done, p.total)), 0);
  return done / total;
}
