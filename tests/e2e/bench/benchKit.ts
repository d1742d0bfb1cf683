// Shared pieces of the UI benchmarks: percentiles, CPU time of process trees from /proc, a
// client that changes VMs straight on the simulated cluster, and displayed frames counted in the
// page (a pixel of the noVNC canvas sampled every animation frame; the bench stream changes
// every pixel with every frame).
import { readFileSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { request, Agent } from 'node:https';
import type { Page } from '@playwright/test';

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** Prints a figure line and keeps it (and its value) in $VMDECK_BENCH_OUT as JSON lines. */
export function figure(key: string, value: number, line: string): void {
  console.log(line);
  const out = process.env.VMDECK_BENCH_OUT;
  if (out) appendFileSync(out, `${JSON.stringify({ key, value })}\n`);
}

const clockTicks = 100; // USER_HZ on Linux

/** CPU seconds (user + system) of the processes whose command line contains `marker`, or of `pids` and their descendants. */
export function cpuSeconds(select: { marker?: string; envMarker?: string; pids?: number[] }): number {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  const cmd = new Map<number, string>();
  const envChosen = new Set<number>();
  for (const pid of all) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(pid, Number(fields[1]));
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
      cmd.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      if (select.envMarker && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(select.envMarker)) envChosen.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  const chosen = new Set<number>(envChosen);
  for (const [pid, line] of cmd) if (select.marker && line.includes(select.marker)) chosen.add(pid);
  for (const pid of select.pids ?? []) chosen.add(pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) if (!chosen.has(pid) && chosen.has(ppid)) { chosen.add(pid); grew = true; }
  }
  let total = 0;
  for (const pid of chosen) total += ticks.get(pid) ?? 0;
  return total / clockTicks;
}

/** The simulated cluster's API, from its admin kubeconfig (server, CA, token). */
export class SimApi {
  private server: URL;
  private ca: string;
  private token: string;
  private agent: Agent;
  constructor(kubeconfig: string) {
    const pick = (key: string) => new RegExp(`"?${key}"?:\\s*"?([^"\\s,]+)`).exec(kubeconfig)?.[1] ?? '';
    this.server = new URL(pick('server'));
    this.ca = Buffer.from(pick('certificate-authority-data'), 'base64').toString();
    this.token = pick('token');
    this.agent = new Agent({ keepAlive: true, maxSockets: 64, ca: this.ca });
  }
  send(method: string, path: string, body?: unknown, contentType = 'application/merge-patch+json'): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.server.hostname, port: this.server.port, path, method, agent: this.agent, headers: { authorization: `Bearer ${this.token}`, 'content-type': contentType, accept: 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(JSON.stringify(body));
      req.end();
    });
  }
  async vms(): Promise<{ namespace: string; name: string }[]> {
    const list = JSON.parse((await this.send('GET', '/apis/kubevirt.io/v1/virtualmachines')).text) as { items: { metadata: { namespace: string; name: string } }[] };
    return list.items.map((vm) => ({ namespace: vm.metadata.namespace, name: vm.metadata.name }));
  }
  async runningVmis(): Promise<{ namespace: string; name: string }[]> {
    const list = JSON.parse((await this.send('GET', '/apis/kubevirt.io/v1/virtualmachineinstances')).text) as { items: { metadata: { namespace: string; name: string }; status?: { phase?: string } }[] };
    return list.items.filter((v) => v.status?.phase === 'Running').map((v) => ({ namespace: v.metadata.namespace, name: v.metadata.name }));
  }
  /** Merge-patches a VM's labels. */
  async label(vm: { namespace: string; name: string }, labels: Record<string, string>): Promise<void> {
    const answer = await this.send('PATCH', `/apis/kubevirt.io/v1/namespaces/${vm.namespace}/virtualmachines/${vm.name}`, { metadata: { labels } });
    if (answer.status !== 200) throw new Error(`patching ${vm.namespace}/${vm.name}: ${answer.status} ${answer.text.slice(0, 200)}`);
  }
  async annotate(vm: { namespace: string; name: string }, annotations: Record<string, string>): Promise<void> {
    const answer = await this.send('PATCH', `/apis/kubevirt.io/v1/namespaces/${vm.namespace}/virtualmachines/${vm.name}`, { metadata: { annotations } });
    if (answer.status !== 200) throw new Error(`annotating ${vm.namespace}/${vm.name}: ${answer.status} ${answer.text.slice(0, 200)}`);
  }
  close(): void {
    this.agent.destroy();
  }
}

/** Counts the frames the noVNC canvas shows for `seconds`: pixel (1,1) read every animation frame. */
export async function displayedFrames(page: Page, seconds: number): Promise<{ frames: number; seconds: number; gapsOver50ms: number }> {
  return page.evaluate(async (ms) => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="vnc-screen"] canvas');
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) throw new Error('no noVNC canvas');
    let last = -1;
    let frames = 0;
    let gaps = 0;
    let lastChange = performance.now();
    const started = performance.now();
    await new Promise<void>((done) => {
      const tick = (now: number) => {
        const d = ctx.getImageData(1, 1, 1, 1).data;
        const value = (d[0]! << 16) | (d[1]! << 8) | d[2]!;
        if (value !== last) {
          if (last !== -1) {
            frames++;
            if (now - lastChange > 50) gaps++;
          }
          last = value;
          lastChange = now;
        }
        if (now - started < ms) requestAnimationFrame(tick);
        else done();
      };
      requestAnimationFrame(tick);
    });
    return { frames, seconds: (performance.now() - started) / 1000, gapsOver50ms: gaps };
  }, seconds * 1000);
}

export const writeJson = (path: string, value: unknown) => writeFileSync(path, JSON.stringify(value));
