// Installing the vm-dashboard-proxied preset from the app while the cluster's proxied endpoint is
// in use: every step (preflight, plan, install to Ready) goes through haproxy routing
// cluster-<uid>.proxy.test by SNI to simcluster (--tls-san); haproxy's log counts the connections.
import type { Page } from '@playwright/test';
import { test, expect, mirror, saveCluster, startDevServer, startSim } from '../fixtures';
import { startHaproxy } from '../proxyRig';

const CLUSTER = 'lab';
const UID = '7c0ffee2';
const NAME = `cluster-${UID}.proxy.test`;

async function next(page: Page, label: string) {
  await page.getByRole('button', { name: `Next: ${label}`, exact: true }).click();
  await expect(page.getByRole('heading', { name: new RegExp(`: ${label}$`) })).toBeFocused();
}

test('vm-dashboard-proxied installs to Ready through the proxied endpoint', async ({ page }) => {
  test.setTimeout(300_000);
  const { sim, stop: stopSim } = await startSim(['--tls-san', NAME, '--ready-delay-ms', '50']);
  const server = /server: (https:\/\/\S+)/.exec(sim.kubeconfig)![1]!;
  const haproxy = await startHaproxy(new URL(server).host, NAME);
  const { server: app, stop } = await startDevServer({ sessionOnly: true, env: { VMDECK_MIRROR: mirror } });
  try {
    await saveCluster(app, sim.kubeconfig, CLUSTER);
    await app.call('add_proxied_access', {
      cluster: CLUSTER, proxy_host: 'proxy.test', port: null, cluster_uid: UID,
      address: `127.0.0.1:${haproxy.port}`, ca_pem: null, proxy_url: null, use_it: true,
    });
    const routedBefore = haproxy.routed();
    await app.open(page);
    await page.locator(`[data-cluster="${CLUSTER}"]`).getByRole('button', { name: 'Install packs' }).click();
    await page.locator('[data-preset="vm-dashboard-proxied"]').click();
    await expect(page.locator('[data-pack="spectro-proxy"]')).toBeVisible();
    await next(page, 'Feature gates');
    await next(page, 'Values');
    await page.locator('[data-field="spectro-proxy:server.address"] input').fill('proxy.test');
    await page.locator('[data-field="spectro-proxy:clusterId"] input').fill(UID);
    const token = page.locator('[data-field="spectro-proxy:token"]');
    await token.locator('input').fill('frp-test-token');
    await token.getByRole('button', { name: 'Store secret' }).click();
    await expect(token.locator('[data-secret-status="stored"]')).toBeVisible();
    for (const label of ['Save profile', 'Clusters']) await next(page, label);
    await expect(page.locator(`[data-target="${CLUSTER}"] input`)).toBeChecked();
    await next(page, 'Preflight');
    const preflight = page.locator(`[data-preflight="${CLUSTER}"]`);
    await expect(preflight.locator('[data-check]').first()).toBeVisible({ timeout: 60_000 });
    await expect(preflight.locator('[data-verdict="fail"]')).toHaveCount(0);
    // proxy.test has no DNS entry here (the proxied endpoint dials haproxy's address): the proxy
    // checks warn about it, and the warnings are acknowledged.
    const acknowledge = page.getByRole('checkbox', { name: 'I have read the warnings and want to go on' });
    if (await acknowledge.isVisible()) await acknowledge.check();
    await next(page, 'Plan');
    await expect(page.locator(`[data-plan="${CLUSTER}"] [data-pack-counts="spectro-proxy"] [data-count="create"]`)).not.toHaveText('0', { timeout: 60_000 });
    await next(page, 'Install');
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    const run = page.locator(`[data-install="${CLUSTER}"]`);
    await expect(run.locator('.run')).toHaveAttribute('data-run-state', 'done', { timeout: 240_000 });
    const packs = await run.locator('[data-pack-progress]').count();
    expect(packs).toBe(6);
    await expect(run.locator('[data-pack-progress][data-state="ready"]')).toHaveCount(packs);
    expect(haproxy.routed()).toBeGreaterThan(routedBefore);
  } finally {
    stop();
    haproxy.stop();
    stopSim();
  }
});
