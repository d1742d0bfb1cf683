// The VMs screen and the consoles, in Chromium against the dev server and a simcluster with
// KubeVirt and seeded VMs (its own per test: these tests stop VMs and hold consoles): the table
// lists the VMs and follows a stop made through the UI; noVNC draws the guest's screen; a second
// VNC session is asked before taking over; xterm.js shows the serial login and a command's echo.
import { test, expect, startSim, saveCluster, type Sim } from '../fixtures';
import type { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';

const CLUSTER = 'lab';

let sim: Sim;
let stopSim: () => void;
test.beforeEach(async () => {
  ({ sim, stop: stopSim } = await startSim(['--with-kubevirt', '--vms', '4']));
});
test.afterEach(() => stopSim());

/** The VMs screen of the saved cluster, from its card. */
async function openVms(page: Page) {
  await page.locator(`[data-cluster="${CLUSTER}"]`).getByRole('button', { name: 'VMs', exact: true }).click();
  const view = page.locator(`[data-vms-view="${CLUSTER}"]`);
  await expect(view.getByTestId('vm-table')).toBeVisible({ timeout: 30_000 });
  return view;
}

/** The number of distinct colours in the noVNC canvas (1 for a blank screen). */
async function canvasColours(page: Page): Promise<number> {
  return page.getByTestId('vnc-screen').locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
    const ctx = canvas.getContext('2d');
    if (!ctx || canvas.width === 0 || canvas.height === 0) return 0;
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    return colours.size;
  });
}

/** A digest of the noVNC canvas's pixels, to see the screen change. */
async function canvasDigest(page: Page): Promise<string> {
  return page.getByTestId('vnc-screen').locator('canvas').evaluate(async (canvas: HTMLCanvasElement) => {
    const ctx = canvas.getContext('2d')!;
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const digest = await crypto.subtle.digest('SHA-256', data);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  });
}

test('the VM table lists the seeded VMs and follows a stop made from it', async ({ app, page }, testInfo) => {
  const shot = (name: string) => page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
  await saveCluster(app, sim.kubeconfig, CLUSTER);
  await app.open(page);
  const view = await openVms(page);

  for (const vm of ['dev/web-01', 'staging/web-01', 'prod/web-01', 'dev/db-02']) {
    await expect(view.locator(`[data-vm="${vm}"]`)).toBeVisible();
  }
  await expect(view.getByTestId('vm-count')).toHaveText('4 of 4 VMs');
  const web = view.locator('[data-vm="dev/web-01"]');
  await expect(web).toHaveAttribute('data-status', 'Running', { timeout: 30_000 });
  // dev/db-02 is halted: Start applies, its consoles say why they cannot open.
  const db = view.locator('[data-vm="dev/db-02"]');
  await expect(db).toHaveAttribute('data-status', 'Stopped');
  await expect(db.getByRole('button', { name: /^VNC/ })).toBeDisabled();
  await expect(db.getByRole('button', { name: /^VNC/ })).toHaveAttribute('title', /start it to open its VNC console/);
  await shot('vms');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('vms-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Filters: the namespace menu and the search.
  await view.getByTestId('vm-namespace').selectOption('dev');
  await expect(view.locator('[data-vm]')).toHaveCount(2);
  await view.getByTestId('vm-search').fill('db');
  await expect(view.locator('[data-vm]')).toHaveCount(1);
  await view.getByTestId('vm-search').fill('');
  await view.getByTestId('vm-namespace').selectOption('');
  await expect(view.locator('[data-vm]')).toHaveCount(4);

  // Stop asks first; Cancel leaves the VM running.
  await expect(web.locator('[data-action="stop"]')).toBeEnabled();
  await web.locator('[data-action="stop"]').click();
  const dialog = page.getByRole('dialog', { name: 'Stop web-01?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(web).toHaveAttribute('data-status', 'Running');

  await web.locator('[data-action="stop"]').click();
  await page.getByRole('dialog', { name: 'Stop web-01?' }).getByRole('button', { name: 'Stop' }).click();
  // The row changes through the stream (no reload): Stopping, then Stopped, and Start applies.
  await expect(web).toHaveAttribute('data-status', 'Stopped', { timeout: 30_000 });
  await expect(web.locator('[data-action="start"]')).toBeEnabled();
  await expect(web.getByRole('button', { name: /^VNC/ })).toBeDisabled();

  // Several at once: the two other running VMs and the stopped one selected; Stop runs on the two.
  const staging = view.locator('[data-vm="staging/web-01"]');
  const prod = view.locator('[data-vm="prod/web-01"]');
  await expect(staging).toHaveAttribute('data-status', 'Running', { timeout: 30_000 });
  await expect(prod).toHaveAttribute('data-status', 'Running', { timeout: 30_000 });
  await staging.getByRole('checkbox').check();
  await prod.getByRole('checkbox').check();
  await web.getByRole('checkbox').check();
  const bulk = view.getByTestId('vm-bulk');
  await expect(bulk).toContainText('3 selected');
  await expect(bulk.locator('[data-bulk="start"]')).toHaveText('Start 1');
  await bulk.locator('[data-bulk="stop"]').click();
  const ask = page.getByRole('dialog', { name: 'Stop 2 VMs?' });
  await expect(ask).toContainText('Left alone: dev/web-01');
  await ask.getByRole('button', { name: 'Stop 2 VMs' }).click();
  await expect(staging).toHaveAttribute('data-status', 'Stopped', { timeout: 30_000 });
  await expect(prod).toHaveAttribute('data-status', 'Stopped', { timeout: 30_000 });
  await expect(bulk.locator('[data-bulk="start"]')).toHaveText('Start 3');
});

test('a VNC console draws the guest screen; a second session is asked before taking over', async ({ app, page, context }, testInfo) => {
  await saveCluster(app, sim.kubeconfig, CLUSTER);
  await app.open(page);
  const view = await openVms(page);
  const web = view.locator('[data-vm="dev/web-01"]');
  await expect(web).toHaveAttribute('data-status', 'Running', { timeout: 30_000 });
  await web.getByRole('button', { name: /^VNC/ }).click();

  const status = page.getByTestId('console-status');
  await expect(status).toHaveAttribute('data-phase', 'connected', { timeout: 20_000 });
  // The simulated guest's boot screen: text on a background, so more than one colour.
  await expect.poll(() => canvasColours(page), { timeout: 15_000 }).toBeGreaterThan(1);
  await page.screenshot({ path: testInfo.outputPath('vnc.png') });
  const before = await canvasDigest(page);

  // The screenshot through the core.
  await page.getByRole('button', { name: 'Screenshot' }).click();
  await expect(page.getByTestId('screenshot')).toBeVisible();
  await page.getByRole('dialog', { name: /Screenshot of web-01/ }).getByRole('button', { name: 'Close' }).click();

  // Typed keys reach the guest: its screen, unchanged without input meanwhile, changes.
  expect(await canvasDigest(page)).toBe(before);
  await page.getByTestId('vnc-screen').locator('canvas').click();
  await page.keyboard.type('root');
  await expect.poll(() => canvasDigest(page), { timeout: 15_000 }).not.toBe(before);

  // The Send keys menu offers the combinations a browser keeps for itself; sticky modifiers show as held.
  await page.getByText('Send keys', { exact: true }).click();
  await expect(page.getByTestId('send-keys').locator('[data-combo]')).toHaveCount(16);
  await page.getByTestId('send-keys').getByRole('button', { name: 'Ctrl', exact: true }).click();
  await expect(page.getByTestId('held-keys')).toHaveText('Held: Ctrl');
  await page.getByTestId('send-keys').getByRole('button', { name: 'Ctrl', exact: true }).click();
  await expect(page.getByTestId('held-keys')).toHaveCount(0);
  await page.getByText('Send keys', { exact: true }).click();

  // 1:1 draws the guest's pixels unscaled; fit scales them to the window.
  const canvas = page.getByTestId('vnc-screen').locator('canvas');
  const scaled = () => canvas.evaluate((c: HTMLCanvasElement) => c.clientWidth !== c.width);
  await expect.poll(scaled).toBe(true);
  await page.getByLabel('Scale').selectOption('actual');
  await expect.poll(scaled).toBe(false);
  await page.getByLabel('Scale').selectOption('fit');
  await expect.poll(scaled).toBe(true);

  // Type text: a control character is named before anything is typed; the text changes the screen.
  const typedSoFar = await canvasDigest(page);
  await page.getByRole('button', { name: 'Type text…' }).click();
  const typeForm = page.getByTestId('type-text');
  await typeForm.getByTestId('type-text-input').fill('a\u0007b');
  await expect(typeForm.getByRole('alert')).toContainText('U+0007');
  await expect(typeForm.getByRole('button', { name: 'Type' })).toBeDisabled();
  await typeForm.getByTestId('type-text-input').fill('secret');
  await typeForm.getByRole('checkbox', { name: /Hide the text/ }).check();
  await expect(typeForm.getByTestId('type-text-input')).toHaveAttribute('type', 'password');
  await typeForm.getByRole('button', { name: 'Type' }).click();
  await expect(typeForm).toHaveCount(0);
  await expect.poll(() => canvasDigest(page), { timeout: 15_000 }).not.toBe(typedSoFar);

  // Open in viewer: a loopback address for a native viewer (launched when one is installed); Close stops it.
  await page.getByRole('button', { name: 'Open in viewer' }).click();
  await expect(page.getByTestId('viewer')).toContainText(/vnc:\/\/127\.0\.0\.1:\d+/);
  await page.getByRole('button', { name: 'Close the viewer address' }).click();
  await expect(page.getByTestId('viewer')).toHaveCount(0);

  // A second window opens the same VM's VNC: it is asked, not allowed to kick silently.
  const second = await context.newPage();
  await app.open(second);
  const secondView = await openVms(second);
  const secondWeb = secondView.locator('[data-vm="dev/web-01"]');
  await expect(secondWeb).toHaveAttribute('data-status', 'Running');
  await secondWeb.getByRole('button', { name: /^VNC/ }).click();
  const ask = second.getByTestId('takeover-dialog');
  await expect(ask).toBeVisible({ timeout: 20_000 });
  await second.screenshot({ path: testInfo.outputPath('takeover.png') });
  await expect(status).toHaveAttribute('data-phase', 'connected');

  // Wait leaves the first session alone.
  await ask.getByRole('button', { name: 'Wait' }).click();
  await expect(ask).toBeHidden();
  await expect(second.getByTestId('console-status')).toHaveAttribute('data-phase', 'closed');
  await expect(status).toHaveAttribute('data-phase', 'connected');

  // Take over: the second connects, the first is told why it closed.
  await second.getByRole('button', { name: 'Connect again' }).click();
  await second.getByTestId('takeover-dialog').getByRole('button', { name: 'Take over' }).click();
  await expect(second.getByTestId('console-status')).toHaveAttribute('data-phase', 'connected', { timeout: 20_000 });
  await expect(status).toHaveAttribute('data-phase', 'closed', { timeout: 20_000 });
  await expect(status).toContainText('Someone else took over this console.');

  // The VM stops (set-up through the core): the console says so, keeps the last frame and keeps
  // trying; once the VM runs again it reconnects by itself and draws the screen.
  await app.call('power_action', { cluster: CLUSTER, namespace: 'dev', name: 'web-01', action: 'stop' });
  const secondStatus = second.getByTestId('console-status');
  await expect(secondStatus).toHaveAttribute('data-phase', 'reconnecting', { timeout: 30_000 });
  await expect(secondStatus).toContainText('The VM stopped.');
  await expect(secondStatus).toContainText(/Reconnecting \(attempt \d+\)/);
  await expect(second.getByTestId('last-frame')).toBeVisible();
  await app.call('power_action', { cluster: CLUSTER, namespace: 'dev', name: 'web-01', action: 'start' });
  await expect(secondStatus).toHaveAttribute('data-phase', 'connected', { timeout: 45_000 });
  await expect(second.getByTestId('last-frame')).toHaveCount(0);
  await expect.poll(() => canvasColours(second), { timeout: 15_000 }).toBeGreaterThan(1);
});

test('a serial console shows the login prompt and echoes a typed command', async ({ app, page }, testInfo) => {
  await saveCluster(app, sim.kubeconfig, CLUSTER);
  await app.open(page);
  const view = await openVms(page);
  const web = view.locator('[data-vm="dev/web-01"]');
  await expect(web).toHaveAttribute('data-status', 'Running', { timeout: 30_000 });
  await web.getByRole('button', { name: /^Serial/ }).click();

  await expect(page.getByTestId('console-status')).toHaveAttribute('data-phase', 'connected', { timeout: 20_000 });
  const terminal = page.getByTestId('serial-screen');
  const rows = terminal.locator('.xterm-rows');
  await terminal.click();
  await page.keyboard.press('Enter');
  await expect(rows).toContainText('web-01 login:', { timeout: 15_000 });
  await page.keyboard.type('root');
  await page.keyboard.press('Enter');
  await expect(rows).toContainText('Password:');
  await page.keyboard.type('secret');
  await page.keyboard.press('Enter');
  await expect(rows).toContainText('root@web-01:~#');
  await page.keyboard.type('echo hello-vmdeck');
  await page.keyboard.press('Enter');
  // The typed line echoed, then the command's output on a line of its own, then the prompt.
  await expect(rows).toContainText(/echo\shello-vmdeck\s*hello-vmdeck\s*root@web-01:~#/);
  await page.screenshot({ path: testInfo.outputPath('serial.png') });

  // Search the scrollback; save the log as a file.
  await page.getByTestId('serial-search').fill('no-such-text');
  await page.getByTestId('serial-search').press('Enter');
  await expect(page.getByText('Not found')).toBeVisible();
  await page.getByTestId('serial-search').fill('hello-vmdeck');
  await page.getByTestId('serial-search').press('Enter');
  await expect(page.getByText('Not found')).toHaveCount(0);
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Save log' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^web-01-serial-.*\.log$/);
  const log = readFileSync(await file.path(), 'utf8');
  expect(log).toContain('root@web-01:~# echo hello-vmdeck\nhello-vmdeck\n');
  await terminal.click();

  // A restart (set-up through the core): the console says so and comes back by itself.
  await app.call('power_action', { cluster: CLUSTER, namespace: 'dev', name: 'web-01', action: 'restart' });
  await expect(rows).toContainText('VM restarted; reconnecting when it runs again', { timeout: 30_000 });
  await expect(rows).toContainText('[vmdeck: reconnected]', { timeout: 45_000 });
  await expect(page.getByTestId('console-status')).toHaveAttribute('data-phase', 'connected');
  await page.keyboard.press('Enter');
  await expect(rows).toContainText(/reconnected\][\s\S]*web-01 login:/);
});

test('a cluster without KubeVirt says to install it', async ({ app, page }) => {
  const bare = await startSim([]);
  try {
    await saveCluster(app, bare.sim.kubeconfig, 'plain');
    await app.open(page);
    await page.locator('[data-cluster="plain"]').getByRole('button', { name: 'VMs', exact: true }).click();
    const missing = page.locator('[data-vms-view="plain"]').getByTestId('kubevirt-missing');
    await expect(missing).toContainText('KubeVirt is not installed on plain.', { timeout: 30_000 });
    await missing.getByRole('button', { name: 'Install packs' }).click();
    await expect(page.getByRole('button', { name: 'Install packs' }).first()).toBeVisible();
    await expect(page.locator('[data-vms-view]')).toHaveCount(0);
  } finally {
    bare.stop();
  }
});

test('10,000 VMs: counted, filtered, sorted, and scrolled from top to bottom with the right rows', async ({ app, page }) => {
  test.setTimeout(180_000);
  const big = await startSim(['--with-kubevirt', '--vms', '10000']);
  try {
    await saveCluster(app, big.sim.kubeconfig, 'big');
    await app.open(page);
    await page.locator('[data-cluster="big"]').getByRole('button', { name: 'VMs', exact: true }).click();
    const view = page.locator('[data-vms-view="big"]');
    await expect(view.getByTestId('vm-count')).toHaveText('10000 of 10000 VMs', { timeout: 120_000 });
    // Only the rows in view are drawn.
    expect(await view.locator('tr[data-vm]').count()).toBeLessThan(60);

    // Seeded VM i lives in dev/staging/prod by i % 3, named ROLE-(i/3+1), ROLE cycling through web, db,
    // cache, win11, build, gitlab. By name (numbers in order), then namespace: dev/build-05 first,
    // dev/win11-3334 (i = 9999) last.
    const rows = view.locator('tr[data-vm]');
    await expect(rows.first()).toHaveAttribute('data-vm', 'dev/build-05');
    await view.getByRole('button', { name: 'Name', exact: true }).click();
    await expect(rows.first()).toHaveAttribute('data-vm', 'dev/win11-3334');
    await view.getByRole('button', { name: 'Name', exact: true }).click();
    await expect(rows.first()).toHaveAttribute('data-vm', 'dev/build-05');

    // Scrolled to the bottom: the last rows are drawn, the first are not.
    const scroller = view.locator('.vm-table-scroll');
    await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect(rows.last()).toHaveAttribute('data-vm', 'dev/win11-3334');
    await expect(view.locator('[data-vm="dev/build-05"]')).toHaveCount(0);
    await expect(view.locator('[data-vm="dev/win11-3334"]')).toBeInViewport();
    // Halfway: the row at that index (its aria-rowindex) is on screen.
    await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight / 2 }));
    const middle = async () => Number(await rows.nth(10).getAttribute('aria-rowindex'));
    // (From the bottom the drawn rows are near 10,000 until the scroll is drawn.)
    await expect.poll(middle).toBeLessThan(5100);
    expect(await middle()).toBeGreaterThan(4900);

    // Filters: a namespace, then a search.
    await view.getByTestId('vm-namespace').selectOption('prod');
    await expect(view.getByTestId('vm-count')).toHaveText('3333 of 10000 VMs');
    await view.getByTestId('vm-namespace').selectOption('');
    await view.getByTestId('vm-search').fill('win11-3328');
    await expect(view.getByTestId('vm-count')).toHaveText('3 of 10000 VMs');
    await expect(rows).toHaveCount(3);
  } finally {
    big.stop();
  }
});
