// What a cluster's badge and details say, from its latest connection check.
import type { CheckView, UiError } from './generated';

export type CheckState =
  | { state: 'checking' }
  | { state: 'done'; view: CheckView }
  | { state: 'failed'; error: UiError };

export type Badge = 'connected' | 'unreachable' | 'checking' | 'not_checked';

/** No check yet (the core's `check_at_start` left it for the user's "Check") shows `not_checked`. */
export function badgeOf(check: CheckState | undefined): Badge {
  if (!check) return 'not_checked';
  if (check.state === 'checking') return 'checking';
  if (check.state === 'done' && check.view.reachable) return 'connected';
  return 'unreachable';
}

export const badgeLabel: Record<Badge, string> = {
  connected: 'Connected',
  unreachable: 'Unreachable',
  checking: 'Checking…',
  not_checked: 'Not checked yet',
};

/** Detail lines for a reachable cluster, in plain words. */
export function detailsOf(view: CheckView): string[] {
  const lines: string[] = [];
  if (view.kubernetes_version) lines.push(`Kubernetes ${view.kubernetes_version}`);
  if (view.node_count !== null) lines.push(view.node_count === 1 ? '1 node' : `${view.node_count} nodes`);
  else lines.push('Nodes: not visible to this user');
  if (view.kubevirt === null) lines.push('KubeVirt: unknown');
  else if (view.kubevirt.installed) lines.push(`KubeVirt ${view.kubevirt.version ?? 'installed'}`);
  else lines.push('KubeVirt not installed');
  if (view.can_install === true) lines.push('You may install KubeVirt');
  else if (view.can_install === false) lines.push('You may not install KubeVirt (ask a cluster admin)');
  return lines;
}

/** Why a cluster is unreachable: the check's failure or the call's error. */
export function problemOf(check: CheckState | undefined): UiError | null {
  if (!check) return null;
  if (check.state === 'failed') return check.error;
  if (check.state === 'done' && !check.view.reachable) {
    return check.view.failure ?? { code: 'unreachable', message: 'the cluster did not answer', field: null };
  }
  return null;
}
