// The console route: one VM's console alone in a window, at `#console/KIND/CLUSTER/NAMESPACE/NAME`
// (URL-encoded parts). The app opens it in a window of its own; the browser in a new tab.

export type ConsoleKind = 'vnc' | 'serial';

export interface ConsoleTarget {
  cluster: string;
  namespace: string;
  name: string;
  kind: ConsoleKind;
}

/** The route for a console, without the `#`. */
export function consoleRoute(target: ConsoleTarget): string {
  return ['console', target.kind, target.cluster, target.namespace, target.name].map(encodeRoutePart).join('/');
}

/** encodeURIComponent, and the few characters it leaves (`!'()*`) encoded too: only `A-Za-z0-9-._~%` remain. */
function encodeRoutePart(part: string): string {
  return encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The console a location's hash names (`#console/...`), or `null` for any other page. */
export function parseConsoleRoute(hash: string): ConsoleTarget | null {
  const parts = hash.replace(/^#/, '').split('/');
  if (parts.length !== 5 || parts[0] !== 'console') return null;
  let decoded: string[];
  try {
    decoded = parts.slice(1).map(decodeURIComponent);
  } catch {
    return null;
  }
  const [kind, cluster, namespace, name] = decoded as [string, string, string, string];
  if ((kind !== 'vnc' && kind !== 'serial') || !cluster || !namespace || !name) return null;
  return { kind, cluster, namespace, name };
}

/** The window's title for a console. */
export const consoleTitle = (target: ConsoleTarget): string =>
  `${target.name} (${target.kind === 'vnc' ? 'VNC' : 'serial'}) · ${target.namespace} · ${target.cluster} — VMDeck`;
