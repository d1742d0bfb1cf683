// Browser end-to-end of installing from the app on the demo cluster: the vm-dashboard-direct preset
// through preflight (its checks), the plan (counts and a diff), the install to Ready with progress per
// pack, the Installed view healthy (and the upgrade it offers), HostDisk turned on live (a one-field diff, then the gate on), and an
// uninstall with the typed confirmation that leaves the cluster as it was (read through the core).
// Then Cancel mid-install and Resume from the banner to Ready; two clusters installed at once; a
// bare cluster's preflight failure blocking the step and naming the fix; and a warning that needs
// acknowledgement (and its automatic fix changing the draft).
import type { Page } from '@playwright/test';
import { createSnapshotClass, expect, mirror, saveCluster, startDevServer, startSim, test, type DevServer } from '../fixtures';

const DEMO = 'Demo cluster';

async function next(page: Page, label: string) {
  await page.getByRole('button', { name: `Next: ${label}`, exact: true }).click();
  await expect(page.getByRole('heading', { name: new RegExp(`: ${label}$`) })).toBeFocused();
}

/** From a cluster card's "Install packs" to the Preflight step with a preset picked. */
async function toPreflight(page: Page, cluster: string, preset: string) {
  await page.locator(`[data-cluster="${cluster}"]`).getByRole('button', { name: 'Install packs' }).click();
  await expect(page.getByRole('heading', { name: `Install packs on ${cluster}` })).toBeVisible();
  await page.locator(`[data-preset="${preset}"]`).click();
  await expect(page.locator('[data-pack="kubevirt"]')).toBeVisible();
  for (const label of ['Feature gates', 'Values', 'Save profile', 'Clusters']) await next(page, label);
  await expect(page.locator(`[data-target="${cluster}"] input`)).toBeChecked();
  await next(page, 'Preflight');
}

async function check(app: DevServer, name: string) {
  return app.call('check_cluster', { name });
}

test('vm-dashboard-direct on the demo cluster: preflight, plan, install to Ready, healthy, HostDisk live, uninstalled', async ({ page, demo }, testInfo) => {
  test.setTimeout(300_000);
  const shot = (name: string) => page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
  const before = await check(demo, DEMO);
  await demo.open(page);
  await toPreflight(page, DEMO, 'vm-dashboard-direct');

  // Preflight: every check with its verdict; nothing fails on the demo cluster.
  const preflight = page.locator(`[data-preflight="${DEMO}"]`);
  await expect(preflight.locator('[data-check="kvm"]')).toHaveAttribute('data-verdict', 'pass');
  await expect(preflight.locator('[data-check="default_storage_class"]')).toHaveAttribute('data-verdict', 'pass');
  await expect(preflight.locator('[data-check="default_cni"]')).toContainText('Saw:');
  await expect(preflight.locator('[data-verdict="fail"]')).toHaveCount(0);
  await shot('preflight');
  await createSnapshotClass(page, DEMO);
  await expect(preflight.locator('[data-verdict="warn"]')).toHaveCount(0);
  await next(page, 'Plan');

  // Plan: objects to create per pack, and the diff of one of them.
  const plan = page.locator(`[data-plan="${DEMO}"]`);
  for (const pack of ['kubevirt', 'vm-dashboard']) {
    await expect(plan.locator(`[data-pack-counts="${pack}"] [data-count="create"]`)).not.toHaveText('0');
    await expect(plan.locator(`[data-pack-counts="${pack}"] [data-count="update"]`)).toHaveText('0');
  }
  await plan.getByRole('searchbox', { name: 'Find' }).fill('KubeVirt kubevirt/');
  const cr = plan.locator('[data-object="KubeVirt kubevirt/kubevirt"]');
  await expect(cr).toHaveAttribute('data-action', 'create');
  await expect(plan.locator('[data-object]')).toHaveCount(1);
  await cr.getByRole('button', { name: /Show diff/ }).click();
  const diff = cr.getByTestId('diff');
  await expect(diff.locator('[data-line="add"]').first()).toContainText('apiVersion: kubevirt.io/v1');
  await expect(diff.locator('[data-line="remove"]')).toHaveCount(0);
  await expect(diff.locator('.tok-key', { hasText: 'featureGates' })).toBeVisible();
  await diff.getByRole('button', { name: 'Side by side' }).click();
  await expect(diff.locator('[data-layout="split"]')).toBeVisible();
  await shot('plan');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('plan-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await next(page, 'Install');

  // Install: progress per pack while it runs, then every pack Ready.
  await page.getByRole('button', { name: 'Install', exact: true }).click();
  const run = page.locator(`[data-install="${DEMO}"]`);
  await expect(run.locator('[data-pack-progress][data-state="waiting"]').first()).toBeVisible({ timeout: 120_000 });
  await expect(run.getByTestId('pack-status').first()).not.toBeEmpty();
  await expect(run.locator('.run')).toHaveAttribute('data-run-state', 'done', { timeout: 240_000 });
  const packs = await run.locator('[data-pack-progress]').count();
  expect(packs).toBeGreaterThanOrEqual(4);
  await expect(run.locator('[data-pack-progress][data-state="ready"]')).toHaveCount(packs);
  await run.locator('summary', { hasText: 'Log' }).click();
  await expect(run.getByTestId('log')).toContainText('inventory written');
  await shot('install');
  await next(page, 'Done');
  const done = page.locator(`[data-done="${DEMO}"]`);
  await expect(done).toHaveAttribute('data-outcome', 'done');
  await expect(done.locator('[data-installed-pack="kubevirt"]')).toContainText(/kubevirt \d+\.\d+\.\d+/);
  await shot('done');

  // Installed view: every pack healthy.
  await done.getByRole('button', { name: /Installed packs/ }).click();
  const installed = page.locator(`[data-installed-view="${DEMO}"]`);
  await expect(installed.getByTestId('all-healthy')).toBeVisible({ timeout: 30_000 });
  await expect(installed.locator('[data-installed]')).toHaveCount(packs);
  await expect(installed.locator('[data-installed][data-healthy="false"]')).toHaveCount(0);
  await expect(installed.locator('[data-live-gates="kubevirt"]')).not.toContainText('HostDisk');
  await expect(installed.getByTestId('installed-live')).toHaveText('Live');
  // Upgrade: KubeVirt 1.8.4 is offered the next minor, CDI (at its newest) nothing.
  await expect(installed.locator('[data-upgrade="kubevirt"] option')).toHaveText(['keep 1.8.4', '1.9.0']);
  await expect(installed.locator('[data-upgrade="kubevirt-cdi"]')).toHaveCount(0);
  await expect(installed.getByRole('button', { name: 'Review the upgrade' })).toBeDisabled();
  await installed.locator('[data-upgrade="kubevirt"] select').selectOption('1.9.0');
  await expect(installed.getByRole('button', { name: 'Review the upgrade' })).toBeEnabled();
  await installed.locator('[data-upgrade="kubevirt"] select').selectOption('');

  // HostDisk on, live: one object changes by one line, then the gate is on.
  await installed.locator('[data-gate-editor="kubevirt"] summary').click();
  const hostDisk = installed.locator('[data-gate="kubevirt:HostDisk"]');
  await hostDisk.getByLabel('HostDisk setting').selectOption('on');
  await installed.getByRole('button', { name: 'Review the change' }).click();
  await expect(installed.getByTestId('gate-plan-summary')).toHaveText('1 object changes:');
  const gateDiff = installed.locator('[data-gate-diff="KubeVirt kubevirt/kubevirt"]');
  await expect(gateDiff.locator('[data-line="add"]')).toHaveCount(1);
  await expect(gateDiff.locator('[data-line="add"]')).toContainText('- HostDisk');
  await expect(gateDiff.locator('[data-line="remove"]')).toHaveCount(0);
  await installed.getByRole('button', { name: 'Apply the gate change' }).click();
  await expect(installed.locator('[data-live-gates="kubevirt"]')).toContainText('HostDisk', { timeout: 120_000 });
  await expect(installed.getByTestId('all-healthy')).toBeVisible();
  await shot('installed');

  // Uninstall: the typed name confirms; the demo's VMs block it until their removal is chosen.
  await installed.getByRole('button', { name: 'Uninstall…' }).click();
  const dialog = page.getByRole('dialog', { name: `Uninstall from ${DEMO}` });
  // The demo's VMs appeared with KubeVirt: they are named as what blocks the uninstall.
  await expect(dialog.getByTestId('blockers')).toContainText('VirtualMachine');
  await expect(dialog.getByTestId('blockers').locator('code').first()).toContainText('VirtualMachine ');
  const confirm = dialog.getByRole('textbox', { name: `Type ${DEMO} to confirm` });
  const uninstall = dialog.getByRole('button', { name: 'Uninstall', exact: true });
  await confirm.fill('demo cluster');
  await expect(uninstall).toBeDisabled();
  await confirm.fill(DEMO);
  await expect(uninstall).toBeEnabled();
  await uninstall.click();
  await expect(dialog.locator('[data-code="vms_exist"]')).toBeVisible({ timeout: 60_000 });
  await dialog.getByLabel(/Also delete every VirtualMachine and DataVolume/).check();
  await uninstall.click();
  await expect(dialog.getByTestId('uninstall-done')).toBeVisible({ timeout: 240_000 });
  await expect(dialog.getByTestId('leftovers')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Close' }).click();
  await expect(installed.getByTestId('nothing-installed')).toBeVisible();

  // Through the core: nothing of VMDeck left, and the cluster checks as it did before.
  const status = (await demo.call('installed_status', { name: DEMO })) as { installed: boolean; packs: unknown[] };
  expect(status.installed).toBe(false);
  expect(status.packs).toEqual([]);
  // Discovery drops a deleted CRD's API group shortly after the CRD is gone (as on a real
  // API server): wait for the check to read as it did before.
  await expect.poll(() => check(demo, DEMO), { timeout: 30_000 }).toEqual(before);
  expect(await demo.call('unfinished_installs', null)).toEqual([]);
});

test('Cancel stops the install; the banner resumes it to Ready', async ({ page, demo }) => {
  test.setTimeout(300_000);
  await demo.open(page);
  await toPreflight(page, DEMO, 'vm-dashboard-direct');
  await expect(page.locator(`[data-preflight="${DEMO}"] [data-check="kvm"]`)).toHaveAttribute('data-verdict', 'pass');
  await createSnapshotClass(page, DEMO);
  await next(page, 'Plan');
  await expect(page.locator(`[data-plan="${DEMO}"] [data-pack-counts="kubevirt"]`)).toBeVisible();
  await next(page, 'Install');
  await page.getByRole('button', { name: 'Install', exact: true }).click();
  const run = page.locator(`[data-install="${DEMO}"]`);
  // Cancelled while the first pack waits to become ready.
  await expect(run.locator('[data-pack-progress][data-state="waiting"]').first()).toBeVisible({ timeout: 120_000 });
  await run.getByRole('button', { name: 'Cancel' }).click();
  await expect(run.locator('.run')).toHaveAttribute('data-run-state', 'failed');
  await expect(run.locator('[data-code="install_cancelled"]')).toBeVisible();
  const unfinished = (await demo.call('unfinished_installs', null)) as { cluster: string; failed: unknown }[];
  expect(unfinished).toEqual([expect.objectContaining({ cluster: DEMO, failed: null })]);

  // The Clusters screen offers to resume it; resumed, it ends Ready and is no longer unfinished.
  await page.getByRole('button', { name: 'Back to clusters' }).click();
  const banner = page.locator(`[data-resume="${DEMO}"]`);
  await expect(banner).toContainText(`An install on ${DEMO} did not finish`);
  await banner.getByRole('button', { name: 'Resume' }).click();
  await expect(banner.locator('.run')).toHaveAttribute('data-run-state', 'done', { timeout: 240_000 });
  expect(await demo.call('unfinished_installs', null)).toEqual([]);
  await banner.getByRole('button', { name: `Open ${DEMO}` }).click();
  await expect(page.locator(`[data-installed-view="${DEMO}"]`).getByTestId('all-healthy')).toBeVisible({ timeout: 30_000 });
  const status = (await demo.call('installed_status', { name: DEMO })) as { healthy: boolean };
  expect(status.healthy).toBe(true);
});

test('two clusters at once: a preflight and a plan each, one progress section each, a summary row each', async ({ page }) => {
  test.setTimeout(180_000);
  const east = await startSim();
  const west = await startSim();
  const { server, stop } = await startDevServer({ sessionOnly: true, env: { VMDECK_MIRROR: mirror } });
  try {
    await saveCluster(server, east.sim.kubeconfig, 'east');
    await saveCluster(server, west.sim.kubeconfig, 'west');
    await server.open(page);
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Install packs' }).click();
    await page.locator('[data-preset="vm-dashboard-direct"]').click();
    await expect(page.locator('[data-pack="kubevirt"]')).toBeVisible();
    for (const label of ['Feature gates', 'Values', 'Save profile', 'Clusters']) await next(page, label);
    await expect(page.getByRole('button', { name: 'Next: Preflight', exact: true })).toBeDisabled();
    await page.locator('[data-target="east"] input').check();
    await page.locator('[data-target="west"] input').check();
    await next(page, 'Preflight');
    for (const cluster of ['east', 'west']) {
      await expect(page.locator(`[data-preflight="${cluster}"] [data-check="kvm"]`)).toHaveAttribute('data-verdict', 'pass');
    }
    // One profile for both: the fix taken on east's check makes west's pass too.
    await createSnapshotClass(page, 'east');
    await expect(page.locator('[data-preflight="west"] [data-check="snapshot_class"]')).toHaveAttribute('data-verdict', 'pass');
    await next(page, 'Plan');
    for (const cluster of ['east', 'west']) {
      await expect(page.locator(`[data-plan="${cluster}"] [data-pack-counts="kubevirt"] [data-count="create"]`)).not.toHaveText('0');
    }
    await next(page, 'Install');
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    for (const cluster of ['east', 'west']) {
      await expect(page.locator(`[data-install="${cluster}"] .run`)).toHaveAttribute('data-run-state', 'done', { timeout: 120_000 });
    }
    await next(page, 'Done');
    await expect(page.locator('[data-done][data-outcome="done"]')).toHaveCount(2);
    for (const name of ['east', 'west']) {
      const status = (await server.call('installed_status', { name })) as { installed: boolean; healthy: boolean };
      expect(status).toMatchObject({ installed: true, healthy: true });
    }
  } finally {
    stop();
    east.stop();
    west.stop();
  }
});

test('a cluster without a StorageClass fails preflight: the step is blocked and names the fix', async ({ page }) => {
  const { sim, stop: stopSim } = await startSim(['--bare']);
  const { server, stop } = await startDevServer({ sessionOnly: true, env: { VMDECK_MIRROR: mirror } });
  try {
    await saveCluster(server, sim.kubeconfig, 'bare');
    await server.open(page);
    await toPreflight(page, 'bare', 'vm-dashboard-direct');
    const storage = page.locator('[data-preflight="bare"] [data-check="default_storage_class"]');
    await expect(storage).toHaveAttribute('data-verdict', 'fail');
    await expect(storage.getByTestId('fix')).toContainText('kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true');
    await expect(page.getByTestId('preflight-blocked')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Next: Plan', exact: true })).toBeDisabled();
    await expect(page.getByTestId('next-blocked')).toContainText('A failing check blocks the install');
    // Running it again does not unblock what is still broken.
    await page.getByRole('button', { name: 'Run preflight again' }).click();
    await expect(page.getByRole('button', { name: 'Run preflight again' })).toBeEnabled();
    await expect(storage).toHaveAttribute('data-verdict', 'fail');
    await expect(page.getByRole('button', { name: 'Next: Plan', exact: true })).toBeDisabled();
  } finally {
    stop();
    stopSim();
  }
});

test('a warning needs acknowledgement; its automatic fix changes the draft and says so', async ({ page }) => {
  const { sim, stop: stopSim } = await startSim(['--no-kvm']);
  const { server, stop } = await startDevServer({ sessionOnly: true, env: { VMDECK_MIRROR: mirror } });
  try {
    await saveCluster(server, sim.kubeconfig, 'nokvm');
    await server.open(page);
    await toPreflight(page, 'nokvm', 'vm-dashboard-direct');
    const kvm = page.locator('[data-preflight="nokvm"] [data-check="kvm"]');
    await expect(kvm).toHaveAttribute('data-verdict', 'warn');
    await expect(page.locator('[data-preflight="nokvm"] [data-verdict="fail"]')).toHaveCount(0);
    const nextPlan = page.getByRole('button', { name: 'Next: Plan', exact: true });
    const ack = page.getByLabel('I have read the warnings and want to go on');
    await expect(nextPlan).toBeDisabled();
    await expect(page.getByTestId('next-blocked')).toContainText('Read the warnings');
    await ack.check();
    await expect(nextPlan).toBeEnabled();
    await ack.uncheck();
    await expect(nextPlan).toBeDisabled();

    // "Use emulation" changes the draft, says so, and the check passes on the next run.
    await kvm.getByRole('button', { name: /emulation/i }).click();
    await expect(page.getByTestId('fix-note')).toContainText('useEmulation set to true');
    await expect(kvm).toHaveAttribute('data-verdict', 'pass');
    await page.getByRole('navigation', { name: 'Wizard steps' }).getByRole('button', { name: /Values/ }).click();
    await expect(page.locator('[data-field="kubevirt:useEmulation"] input')).toBeChecked();
  } finally {
    stop();
    stopSim();
  }
});
