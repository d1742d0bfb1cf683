// Test fixtures: a fresh dev server per test (its own throwaway home, its token read from the URL
// it prints), and one simulated cluster per worker that tests may connect to but never change.
import { test as base, expect, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const target = process.env.CARGO_TARGET_DIR ?? `${process.env.HOME}/.cache/vmdeck/target`;
const dist = new URL('../../ui/dist', import.meta.url).pathname;

/** The first line a child prints on stdout, or a rejection naming how it ended. */
function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before printing its address`)));
  });
}

export interface DevServer {
  /** The URL the dev server printed, with its token. */
  url: string;
  /** Its origin (no token). */
  origin: string;
  token: string;
  /** The throwaway app home (`VMDECK_HOME`). */
  home: string;
  /** The app's profiles folder. */
  profiles: string;
  /** Calls one core call over HTTP, as the page does (test set-up only). */
  call(name: string, request: unknown): Promise<unknown>;
  open(page: Page): Promise<void>;
}

export interface DevServerOptions {
  sessionOnly: boolean;
  env: Record<string, string>;
}

export async function startDevServer(options: DevServerOptions): Promise<{ server: DevServer; stop: () => void }> {
  const home = mkdtempSync(join(tmpdir(), 'vmdeck-e2e-'));
  const args = ['--listen', '127.0.0.1:0', '--dist', dist, ...(options.sessionOnly ? ['--session-only'] : [])];
  const child = spawn(`${target}/debug/vmdeck-devserver`, args, {
    env: { ...process.env, VMDECK_HOME: home, ...options.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await firstLine(child, 'vmdeck-devserver');
  const match = /listening on (http:\/\/127\.0\.0\.1:\d+)\/\?token=([0-9a-f]{64})$/.exec(line);
  if (!match) throw new Error(`unexpected first line from vmdeck-devserver: ${line}`);
  const [, origin, token] = match as unknown as [string, string, string];
  const server: DevServer = {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    home,
    profiles: join(home, 'data', 'profiles'),
    async call(name, request) {
      const response = await fetch(`${origin}/api/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-vmdeck-token': token },
        body: JSON.stringify(request),
      });
      const body: unknown = await response.json();
      if (!response.ok) throw new Error(`${name} failed: ${JSON.stringify(body)}`);
      return body;
    },
    async open(page) {
      await page.goto(server.url);
    },
  };
  return { server, stop: () => child.kill() };
}

export interface Sim {
  kubeconfig: string;
}

/** The upstream manifests the installer reads (`VMDECK_MIRROR`), beside the checkout. */
export const mirror = new URL('../../../shared/upstream', import.meta.url).pathname;

/** Starts `simcluster serve` with extra flags (`--bare`, `--no-kvm`, ...); its admin kubeconfig once written. */
export async function startSim(flags: string[] = []): Promise<{ sim: Sim; stop: () => void }> {
  const path = join(mkdtempSync(join(tmpdir(), 'vmdeck-sim-')), 'kubeconfig');
  const sim = spawn(`${target}/debug/simcluster`, ['serve', '--kubeconfig', path, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await firstLine(sim, 'simcluster');
  expect(line).toContain('https://127.0.0.1:');
  // simcluster prints its URL, then writes the kubeconfig.
  await expect.poll(() => { try { return readFileSync(path, 'utf8'); } catch { return ''; } }).toContain('current-context');
  return { sim: { kubeconfig: readFileSync(path, 'utf8') }, stop: () => sim.kill() };
}

/** Saves a kubeconfig's admin context under `name` through the core (set-up, not the flow under test). */
export async function saveCluster(app: DevServer, kubeconfig: string, name: string): Promise<void> {
  await app.call('import_clusters', {
    source: { kind: 'text', text: kubeconfig },
    choices: [{ context: 'admin', name }],
    overwrite: false,
    replace: [],
  });
}

export const test = base.extend<{ app: DevServer; demo: DevServer }, { sim: Sim }>({
  sim: [
    async ({}, use) => {
      const { sim, stop } = await startSim();
      await use(sim);
      stop();
    },
    { scope: 'worker' },
  ],
  /** A dev server in demo mode (the embedded "Demo cluster", its realistic delays) reading the mirror. */
  demo: async ({}, use) => {
    const { server, stop } = await startDevServer({ sessionOnly: true, env: { VMDECK_DEMO: '1', VMDECK_MIRROR: mirror } });
    await use(server);
    stop();
  },
  app: async ({}, use) => {
    const { server, stop } = await startDevServer({ sessionOnly: true, env: {} });
    await use(server);
    stop();
  },
});

export { expect };

/**
 * On the Preflight step: the snapshot-class check warns that VM snapshots would be refused (no
 * VolumeSnapshotClass for simcluster's CSI driver); its fix makes the snapshot pack create one,
 * says so, and the check passes on the run that follows.
 */
export async function createSnapshotClass(page: Page, cluster: string): Promise<void> {
  const check = page.locator(`[data-preflight="${cluster}"] [data-check="snapshot_class"]`);
  await expect(check).toHaveAttribute('data-verdict', 'warn', { timeout: 60_000 });
  await expect(check).toContainText('VM snapshots would be refused');
  await check.getByRole('button', { name: /create a VolumeSnapshotClass for hostpath\.csi\.simcluster\.vmdeck\.io/ }).click();
  await expect(page.getByTestId('fix-note').last()).toContainText('volume-snapshot-controller: snapshotClass.driver set to "hostpath.csi.simcluster.vmdeck.io"');
  await expect(check).toHaveAttribute('data-verdict', 'pass', { timeout: 60_000 });
}
