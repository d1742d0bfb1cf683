// Proxied access from the cluster card, in Chromium against the dev server: simcluster serves
// cluster-<uid>.proxy.test (--tls-san) behind Debian's haproxy routing that SNI with TLS passed
// through (the Spectro proxy's frp server in miniature). "Add proxied access" saves the endpoint,
// the card shows both endpoints answering and the proxied one in use, a click switches, and a
// serial console opened while proxied goes through haproxy (its log counts the connections).
import { test, expect, startSim, saveCluster, type Sim } from '../fixtures';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLUSTER = 'lab';
const UID = '7c0ffee1';
const NAME = `cluster-${UID}.proxy.test`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

interface Haproxy { port: number; routed: () => number; stop: () => void }

/** haproxy on loopback routing `NAME` to `backend` (host:port) by SNI; other names refused. */
async function startHaproxy(backend: string): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'vmdeck-haproxy-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  const log = join(dir, 'haproxy.log');
  writeFileSync(config, [
    'global', '  maxconn 256', '  log stdout format raw local0',
    'defaults', '  mode tcp', '  log global', '  option tcplog', '  option logasap',
    '  timeout connect 5s', '  timeout client 10m', '  timeout server 10m', '  timeout tunnel 10m',
    'frontend sni_router', `  bind 127.0.0.1:${port}`, '  tcp-request inspect-delay 5s',
    '  tcp-request content accept if { req.ssl_hello_type 1 }',
    `  use_backend route_0 if { req.ssl_sni -i ${NAME} }`, '  default_backend unknown_cluster',
    'backend unknown_cluster', '  tcp-request content reject',
    'backend route_0', `  server s0 ${backend}`, '',
  ].join('\n'));
  const out = (await import('node:fs')).openSync(log, 'w');
  const child: ChildProcess = spawn('/usr/sbin/haproxy', ['-db', '-f', config], { stdio: ['ignore', out, 'inherit'] });
  await expect.poll(() => accepts(port), { message: 'haproxy listening' }).toBe(true);
  return {
    port,
    routed: () => readFileSync(log, 'utf8').split('\n').filter((line) => line.includes(' route_0/s0 ')).length,
    stop: () => child.kill(),
  };
}

let sim: Sim;
let stopSim: () => void;
let haproxy: Haproxy;
test.beforeEach(async () => {
  ({ sim, stop: stopSim } = await startSim(['--with-kubevirt', '--vms', '4', '--tls-san', NAME]));
  const server = /server: (https:\/\/\S+)/.exec(sim.kubeconfig)![1]!;
  haproxy = await startHaproxy(new URL(server).host);
});
test.afterEach(() => {
  haproxy.stop();
  stopSim();
});

test('add proxied access, both endpoints answer, switch in one click, a console through the proxy', async ({ app, page }) => {
  await saveCluster(app, sim.kubeconfig, CLUSTER);
  await app.open(page);
  const card = page.locator(`[data-cluster="${CLUSTER}"]`);
  await card.getByRole('button', { name: 'Endpoints', exact: true }).click();
  const endpoints = card.getByTestId('endpoints');
  await expect(endpoints.locator('[data-endpoint="direct"]')).toHaveAttribute('data-in-use', 'true');

  await endpoints.getByRole('button', { name: 'Add proxied access' }).click();
  await endpoints.locator('input[name="proxy-host"]').fill('proxy.test');
  await endpoints.locator('input[name="cluster-uid"]').fill(UID);
  await endpoints.locator('input[name="address"]').fill(`127.0.0.1:${haproxy.port}`);
  await endpoints.getByRole('button', { name: 'Save proxied access' }).click();

  const proxied = endpoints.locator('[data-endpoint="proxied"]');
  const direct = endpoints.locator('[data-endpoint="direct"]');
  await expect(proxied).toHaveAttribute('data-in-use', 'true', { timeout: 20_000 });
  await expect(proxied).toHaveAttribute('data-answers', 'true');
  await expect(direct).toHaveAttribute('data-answers', 'true');
  await expect(proxied).toContainText(`as ${NAME}`);
  expect(haproxy.routed()).toBeGreaterThan(0);

  // One click each way.
  await direct.getByRole('button', { name: 'Use direct' }).click();
  await expect(direct).toHaveAttribute('data-in-use', 'true');
  await proxied.getByRole('button', { name: 'Use proxied' }).click();
  await expect(proxied).toHaveAttribute('data-in-use', 'true');

  // A serial console while proxied: through haproxy.
  const before = haproxy.routed();
  await card.getByRole('button', { name: 'VMs', exact: true }).click();
  const view = page.locator(`[data-vms-view="${CLUSTER}"]`);
  await expect(view.getByTestId('vm-table')).toBeVisible({ timeout: 30_000 });
  const web = view.locator('[data-vm="dev/web-01"]');
  await expect(web).toHaveAttribute('data-status', 'Running', { timeout: 30_000 });
  await web.getByRole('button', { name: /^Serial/ }).click();
  await expect(page.getByTestId('console-status')).toHaveAttribute('data-phase', 'connected', { timeout: 20_000 });
  const terminal = page.getByTestId('serial-screen');
  await terminal.click();
  await page.keyboard.press('Enter');
  await expect(terminal.locator('.xterm-rows')).toContainText('web-01 login:', { timeout: 15_000 });
  expect(haproxy.routed()).toBeGreaterThan(before);
});
