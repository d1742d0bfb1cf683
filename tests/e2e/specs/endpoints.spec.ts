// Proxied access from the cluster card, in Chromium against the dev server: simcluster serves
// cluster-<uid>.proxy.test (--tls-san) behind Debian's haproxy routing that SNI with TLS passed
// through (the Spectro proxy's frp server in miniature). "Add proxied access" saves the endpoint,
// the card shows both endpoints answering and the proxied one in use, a click switches, and a
// serial console opened while proxied goes through haproxy (its log counts the connections).
import { test, expect, startSim, saveCluster, type Sim } from '../fixtures';
import { startHaproxy, type Haproxy } from '../proxyRig';

const CLUSTER = 'lab';
const UID = '7c0ffee1';
const NAME = `cluster-${UID}.proxy.test`;

let sim: Sim;
let stopSim: () => void;
let haproxy: Haproxy;
test.beforeEach(async () => {
  ({ sim, stop: stopSim } = await startSim(['--with-kubevirt', '--vms', '4', '--tls-san', NAME]));
  const server = /server: (https:\/\/\S+)/.exec(sim.kubeconfig)![1]!;
  haproxy = await startHaproxy(new URL(server).host, NAME);
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
