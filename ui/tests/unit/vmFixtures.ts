// A VM row for the VMs tests, with fields to override.
import type { VmRowView } from '../../src/lib/generated';

export function vmRow(namespace: string, name: string, over: Partial<VmRowView> = {}): VmRowView {
  return {
    namespace,
    name,
    status: 'Running',
    node: 'node-1',
    ips: ['10.0.0.5'],
    created: '2026-12-01T10:00:00Z',
    cpus: 2,
    memory: '2Gi',
    guest_os: null,
    labels: { app: 'web' },
    actions: ['stop', 'force_stop', 'restart', 'force_restart', 'pause', 'migrate'],
    consoles: true,
    standalone_vmi: false,
    ...over,
  };
}
