// The Preflight step's rules: failing checks block the next step, warnings need the user's
// acknowledgement, and an automatic fix's profile changes are described in people's words.
import type { PreflightCheckView, PreflightView, ProfileChangeView } from './generated';

export interface PreflightGate {
  /** Whether Next may be taken. */
  canProceed: boolean;
  /** Why not, for the line beside the disabled button. */
  blockedBy: 'not_checked' | 'failures' | 'unacknowledged_warnings' | null;
  failures: PreflightCheckView[];
  warnings: PreflightCheckView[];
}

/** Whether the preflight lets the install go on (`acknowledged`: the warnings were read). */
export function preflightGate(view: PreflightView | null, acknowledged: boolean): PreflightGate {
  if (!view) return { canProceed: false, blockedBy: 'not_checked', failures: [], warnings: [] };
  const failures = view.checks.filter((c) => c.verdict === 'fail');
  const warnings = view.checks.filter((c) => c.verdict === 'warn');
  const blockedBy = view.blocks || failures.length > 0 ? 'failures' : warnings.length > 0 && !acknowledged ? 'unacknowledged_warnings' : null;
  return { canProceed: blockedBy === null, blockedBy, failures, warnings };
}

/** The gates of several clusters together: every one must let the install go on. */
export function allowAll(gates: PreflightGate[]): boolean {
  return gates.length > 0 && gates.every((g) => g.canProceed);
}

/** A check's name for people. */
export const checkTitles: Record<string, string> = {
  kubernetes_version: 'Kubernetes version',
  permissions: 'Permissions',
  kvm: 'Hardware virtualization (KVM)',
  default_storage_class: 'Default StorageClass',
  existing_snapshot_controller: 'Snapshot controller',
  snapshot_class: 'Snapshot class for VM disks',
  default_cni: 'Default CNI',
  existing_kubevirt: 'Existing KubeVirt',
  existing_cdi: 'Existing CDI',
  proxy_reachable: 'Proxy server reachable',
  proxy_certificate: 'API server certificate names the proxy host',
  proxy_route: 'Proxy answers for this cluster',
  proxy_agent: 'frpc agent in the cluster',
};

export function checkTitle(check: PreflightCheckView): string {
  return checkTitles[check.id] ?? check.id.replaceAll('_', ' ');
}

/** One profile change as a sentence ("kubevirt: useEmulation set to true"). */
export function describeChange(change: ProfileChangeView): string {
  switch (change.op) {
    case 'set_value':
      return `${change.pack}: ${change.path} set to ${JSON.stringify(change.value)}`;
    case 'set_version':
      return `${change.pack}: version set to ${change.version}`;
    case 'remove_pack':
      return `${change.pack} removed from the profile`;
  }
}
