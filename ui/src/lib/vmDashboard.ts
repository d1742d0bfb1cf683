// The VM dashboard's rules, as plain functions: the create form turned into the core's draft,
// the core's field errors placed at the form's fields, a disk import read from its events,
// a default snapshot name, whether a delete's typed name matches, and what an edit sends.
import type { DiskEventView, DraftFieldErrorView, VmDraftView, VmFormChoicesView, VmSettingsView, VmTypeRef } from './generated';

export type BootKind = 'data_source' | 'container_disk' | 'url' | 'pvc';

/** The create form as typed: text fields, choices as keys. */
export interface CreateForm {
  namespace: string;
  name: string;
  /** `c/<name>` (cluster-wide) or `n/<name>` (the VM's namespace); '' none. */
  instancetype: string;
  preference: string;
  bootKind: BootKind;
  /** Golden image as `namespace/name`. */
  image: string;
  containerImage: string;
  url: string;
  /** PVC as `namespace/name` or `name` (the VM's namespace). */
  pvc: string;
  diskSize: string;
  /** '' the cluster's default. */
  storageClass: string;
  podNetwork: boolean;
  multus: string[];
  user: string;
  sshKey: string;
  password: string;
  start: boolean;
}

/** The form's fields, in the order errors are listed. */
export const FORM_FIELDS = ['namespace', 'name', 'instancetype', 'preference', 'boot_source', 'disk_size', 'storage_class', 'networks', 'cloud_init', 'start'] as const;
export type FormField = (typeof FORM_FIELDS)[number];

export function emptyForm(): CreateForm {
  return {
    namespace: 'default', name: '', instancetype: '', preference: '', bootKind: 'data_source', image: '', containerImage: '', url: '', pvc: '',
    diskSize: '30Gi', storageClass: '', podNetwork: true, multus: [], user: '', sshKey: '', password: '', start: true,
  };
}

/** A form with the first choices filled in (a ready golden image, the smallest instancetype). */
export function withDefaults(form: CreateForm, choices: VmFormChoicesView): CreateForm {
  const next = { ...form };
  if (!next.instancetype && choices.instancetypes[0]) next.instancetype = typeKey(choices.instancetypes[0]);
  if (!next.image) {
    const image = choices.golden_images.find((i) => i.ready) ?? choices.golden_images[0];
    if (image) next.image = `${image.namespace}/${image.name}`;
  }
  if (!choices.namespaces.includes(next.namespace) && choices.namespaces.length > 0 && !choices.namespaces.includes('default')) {
    next.namespace = choices.namespaces[0]!;
  }
  return next;
}

export function typeKey(t: { name: string; cluster_wide: boolean }): string {
  return `${t.cluster_wide ? 'c' : 'n'}/${t.name}`;
}

function typeRef(key: string): VmTypeRef | null {
  const m = /^([cn])\/(.+)$/.exec(key);
  return m ? { name: m[2]!, cluster_wide: m[1] === 'c' } : null;
}

function split(ref: string, namespace: string): { namespace: string; name: string } {
  const at = ref.indexOf('/');
  return at < 0 ? { namespace, name: ref.trim() } : { namespace: ref.slice(0, at).trim(), name: ref.slice(at + 1).trim() };
}

/** The core's draft for the form (the core checks every field; nothing is checked here). */
export function toDraft(form: CreateForm): VmDraftView {
  const namespace = form.namespace.trim();
  let boot_source: VmDraftView['boot_source'] = null;
  if (form.bootKind === 'data_source' && form.image.trim()) boot_source = { kind: 'data_source', ...split(form.image, namespace) };
  if (form.bootKind === 'container_disk' && form.containerImage.trim()) boot_source = { kind: 'container_disk', image: form.containerImage.trim() };
  if (form.bootKind === 'url' && form.url.trim()) boot_source = { kind: 'url', url: form.url.trim() };
  if (form.bootKind === 'pvc' && form.pvc.trim()) boot_source = { kind: 'pvc', ...split(form.pvc, namespace) };
  const wantsInit = form.user.trim() !== '' || form.sshKey.trim() !== '' || form.password !== '';
  return {
    namespace,
    name: form.name.trim(),
    instancetype: typeRef(form.instancetype),
    preference: typeRef(form.preference),
    boot_source,
    disk_size: form.diskSize.trim(),
    storage_class: form.storageClass || null,
    networks: { pod: form.podNetwork, multus: form.multus },
    cloud_init: wantsInit ? { user: form.user.trim(), ssh_key: form.sshKey.trim() || null, password: form.password || null } : null,
    start: form.start,
  };
}

/** The form field an error of the core belongs to (`boot_source.name` -> `boot_source`). */
export function fieldOf(error: DraftFieldErrorView): FormField | 'other' {
  const top = error.field.split(/[.[]/)[0] ?? '';
  return (FORM_FIELDS as readonly string[]).includes(top) ? (top as FormField) : 'other';
}

/** The core's errors by form field. */
export function errorsAt(errors: DraftFieldErrorView[]): Partial<Record<FormField | 'other', DraftFieldErrorView[]>> {
  const at: Partial<Record<FormField | 'other', DraftFieldErrorView[]>> = {};
  for (const error of errors) (at[fieldOf(error)] ??= []).push(error);
  return at;
}

/** A disk's import as last told. */
export interface DiskState {
  phase: string;
  percent: number | null;
  failed: string | null;
}

/** Where the disk imports are: per disk, and whether all are ready or one failed. */
export interface ImportState {
  disks: Record<string, DiskState>;
  ready: boolean;
  failed: { disk: string; reason: string } | null;
}

export function emptyImport(): ImportState {
  return { disks: {}, ready: false, failed: null };
}

export function applyDiskEvent(state: ImportState, event: DiskEventView): ImportState {
  if (event.event === 'ready') {
    const disks = Object.fromEntries(Object.entries(state.disks).map(([d, s]) => [d, { ...s, phase: 'Succeeded', percent: 100 }]));
    return { ...state, disks, ready: true };
  }
  if (event.event === 'failed') {
    const prior = state.disks[event.disk] ?? { phase: 'Failed', percent: null, failed: null };
    return { ...state, disks: { ...state.disks, [event.disk]: { ...prior, failed: event.reason } }, failed: { disk: event.disk, reason: event.reason } };
  }
  const prior = state.disks[event.disk];
  const percent = event.percent ?? (event.phase === 'Succeeded' ? 100 : (prior?.percent ?? null));
  return { ...state, disks: { ...state.disks, [event.disk]: { phase: event.phase, percent, failed: null } } };
}

/** The whole import's percent (the mean of the disks'), `null` before any disk says. */
export function importPercent(state: ImportState): number | null {
  const known = Object.values(state.disks).map((d) => d.percent).filter((p): p is number => p !== null);
  if (state.ready) return 100;
  if (known.length === 0) return null;
  return Math.round((known.reduce((a, b) => a + b, 0) / Object.keys(state.disks).length) * 10) / 10;
}

/** A snapshot name for `vm` at `now`: `<vm>-YYYYMMDD-HHMMSS` (shortened to fit 63). */
export function snapshotName(vm: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${vm.slice(0, 63 - stamp.length - 1)}-${stamp}`;
}

/** The typed name confirms the delete only when it is the VM's exactly. */
export function deleteConfirmed(vm: string, typed: string): boolean {
  return typed === vm;
}

/** The edit form of a VM: CPUs and memory (or an instancetype) and the run strategy. */
export interface EditForm {
  cpus: string;
  memory: string;
  instancetype: string;
  runStrategy: string;
}

export const RUN_STRATEGIES = ['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once'] as const;

export function editFormOf(settings: VmSettingsView): EditForm {
  return {
    cpus: settings.cpus !== null ? String(settings.cpus) : '',
    memory: settings.memory ?? '',
    instancetype: settings.instancetype ? typeKey(settings.instancetype) : '',
    runStrategy: settings.run_strategy ?? '',
  };
}

/** What changed from the settings (unchanged fields are `null`); `null` when nothing did. */
export function editChanges(settings: VmSettingsView, form: EditForm): { cpus: number | null; memory: string | null; instancetype: VmTypeRef | null; run_strategy: string | null } | null {
  const before = editFormOf(settings);
  const cpus = form.cpus.trim() !== before.cpus && form.cpus.trim() !== '' ? Number(form.cpus.trim()) : null;
  const memory = form.memory.trim() !== before.memory && form.memory.trim() !== '' ? form.memory.trim() : null;
  const instancetype = form.instancetype !== before.instancetype && form.instancetype ? typeRef(form.instancetype) : null;
  const run_strategy = form.runStrategy !== before.runStrategy && form.runStrategy ? form.runStrategy : null;
  if (cpus === null && memory === null && instancetype === null && run_strategy === null) return null;
  return { cpus: cpus !== null && Number.isFinite(cpus) ? cpus : cpus, memory, instancetype, run_strategy };
}
