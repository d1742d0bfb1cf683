// Typing into the VNC console, read back from the guest's screen: the noVNC canvas (the RFB
// frame the app received) saved as PNG and read by `simcluster read-screen`, which matches each
// console cell against the guest's font (a wrong or missing character reads differently).
// Paste with the guest's layout (de on a de guest by scancode; us on a us guest, ü ß € listed
// first and then sent as keysyms once confirmed; a de plan on a us guest types what a us
// keyboard gives), and Ctrl+Alt+Del from the Send keys menu shown by the guest.
import { test, expect, startSim, saveCluster, target, type Sim } from '../fixtures';
import type { Page, TestInfo } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';

const CLUSTER = 'lab';
const TEXT = 'Grüße, Welt! @€ {[]}';
const KEYMAP = 'simcluster.vmdeck.io/keymap';

let sim: Sim;
let stopSim: () => void;
test.beforeEach(async () => {
  ({ sim, stop: stopSim } = await startSim(['--with-kubevirt', '--vms', '4']));
});
test.afterEach(() => stopSim());

/** Sets the guest keyboard layout annotation on a VM (set-up, through the API as `admin`). */
async function setKeymap(namespace: string, name: string, keymap: string): Promise<void> {
  const field = (key: string) => new RegExp(`${key}: (\\S+)`).exec(sim.kubeconfig)?.[1] ?? '';
  const server = new URL(field('server'));
  const body = JSON.stringify({ metadata: { annotations: { [KEYMAP]: keymap } } });
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: server.hostname,
        port: server.port,
        method: 'PATCH',
        path: `/apis/kubevirt.io/v1/namespaces/${namespace}/virtualmachines/${name}`,
        ca: Buffer.from(field('certificate-authority-data'), 'base64'),
        headers: { authorization: `Bearer ${field('token')}`, 'content-type': 'application/merge-patch+json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  expect(status, `annotating ${namespace}/${name}`).toBe(200);
}

/** Opens the VNC console of a running VM from the VMs screen (reached from the cluster's card
 * first when `fromCard`). */
async function openVnc(page: Page, vm: string, fromCard = true) {
  if (fromCard) await page.locator(`[data-cluster="${CLUSTER}"]`).getByRole('button', { name: 'VMs', exact: true }).click();
  const row = page.locator(`[data-vms-view="${CLUSTER}"] [data-vm="${vm}"]`);
  await expect(row).toHaveAttribute('data-status', 'Running', { timeout: 30_000 });
  await row.getByRole('button', { name: /^VNC/ }).click();
  await expect(page.getByTestId('console-status')).toHaveAttribute('data-phase', 'connected', { timeout: 20_000 });
}

let reads = 0;
/** The guest console's text as the noVNC canvas shows it (read by the simcluster's font). */
async function screenText(page: Page, testInfo: TestInfo): Promise<string> {
  const png = await page
    .getByTestId('vnc-screen')
    .locator('canvas')
    .evaluate((canvas: HTMLCanvasElement) => (canvas.width === 1024 ? canvas.toDataURL('image/png') : ''));
  if (png === '') return '';
  const file = testInfo.outputPath(`screen-${reads++}.png`);
  writeFileSync(file, Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return execFileSync(`${target}/debug/simcluster`, ['read-screen', file], { encoding: 'utf8' });
}

/** The last login prompt line on the guest screen (what was typed at it follows the colon). */
async function loginLine(page: Page, testInfo: TestInfo, vm: string): Promise<string> {
  const lines = (await screenText(page, testInfo)).split('\n').filter((l) => l.startsWith(`${vm} login:`));
  return lines.at(-1) ?? '';
}

/** Fills the Type text dialog with `text` and picks the guest layout `layout`. */
async function fillTypeText(page: Page, text: string, layout: string) {
  await page.getByRole('button', { name: 'Type text…' }).click();
  const form = page.getByTestId('type-text');
  await form.getByTestId('type-text-input').fill(text);
  await form.getByTestId('type-text-layout').selectOption(layout);
  return form;
}

test('pasting with the guest layout types exactly the text: de by scancode, us with ü ß € sent as keysyms once confirmed', async ({ app, page }, testInfo) => {
  await setKeymap('dev', 'web-01', 'de');
  await setKeymap('staging', 'web-01', 'us');
  await setKeymap('prod', 'web-01', 'us');
  await saveCluster(app, sim.kubeconfig, CLUSTER);
  await app.open(page);

  // A German guest, the German layout: every character has a key (AltGr for @ € { [ ] }).
  await openVnc(page, 'dev/web-01');
  await expect.poll(() => loginLine(page, testInfo, 'web-01'), { timeout: 15_000 }).toBe('web-01 login:');
  let form = await fillTypeText(page, TEXT, 'de');
  const type = form.getByRole('button', { name: 'Type', exact: true });
  await expect(type).toBeEnabled();
  await expect(form.getByTestId('type-text-by-keysym')).toHaveCount(0);
  await type.click();
  await expect(form).toHaveCount(0);
  await expect.poll(() => loginLine(page, testInfo, 'web-01'), { timeout: 15_000 }).toBe(`web-01 login: ${TEXT}`);
  await page.screenshot({ path: testInfo.outputPath('paste-de.png') });
  await page.getByRole('button', { name: 'Back to VMs' }).click();

  // A US guest, the US layout: ü ß € are listed before anything is typed; confirmed, they go as keysyms.
  await openVnc(page, 'staging/web-01', false);
  await expect.poll(() => loginLine(page, testInfo, 'web-01'), { timeout: 15_000 }).toBe('web-01 login:');
  form = await fillTypeText(page, TEXT, 'us');
  await expect(form.getByTestId('type-text-by-keysym')).toContainText('The us layout has no key for: ü (U+00FC), ß (U+00DF), € (U+20AC).');
  await expect(form.getByRole('button', { name: 'Type', exact: true })).toHaveCount(0);
  expect(await loginLine(page, testInfo, 'web-01')).toBe('web-01 login:');
  await form.getByRole('button', { name: 'Type, sending these as keysyms' }).click();
  await expect(form).toHaveCount(0);
  await expect.poll(() => loginLine(page, testInfo, 'web-01'), { timeout: 15_000 }).toBe(`web-01 login: ${TEXT}`);
  await page.screenshot({ path: testInfo.outputPath('paste-us.png') });
  await page.getByRole('button', { name: 'Back to VMs' }).click();

  // The keys are scancodes read through the guest's layout: the German plan for "zy" (KeyY, KeyZ)
  // on a US guest types "yz", as a German keyboard on a US-configured guest would.
  await openVnc(page, 'prod/web-01', false);
  form = await fillTypeText(page, 'zy', 'de');
  await form.getByRole('button', { name: 'Type', exact: true }).click();
  await expect.poll(() => loginLine(page, testInfo, 'web-01'), { timeout: 15_000 }).toBe('web-01 login: yz');
});

test('Ctrl+Alt+Del from the Send keys menu shows on the guest screen', async ({ app, page }, testInfo) => {
  await saveCluster(app, sim.kubeconfig, CLUSTER);
  await app.open(page);
  await openVnc(page, 'dev/web-01');
  await expect.poll(() => loginLine(page, testInfo, 'web-01'), { timeout: 15_000 }).toBe('web-01 login:');
  expect((await screenText(page, testInfo)).split('\n')).not.toContain('Ctrl+Alt+Del');
  await page.getByText('Send keys', { exact: true }).click();
  await page.getByTestId('send-keys').locator('[data-combo="ctrl-alt-del"]').click();
  // The guest prints the combination on a line of its own, the prompt redrawn under it.
  await expect.poll(async () => (await screenText(page, testInfo)).split('\n'), { timeout: 15_000 }).toContain('Ctrl+Alt+Del');
  const lines = (await screenText(page, testInfo)).split('\n').filter((l) => l !== '');
  expect(lines.slice(-2)).toEqual(['Ctrl+Alt+Del', 'web-01 login:']);
  await page.screenshot({ path: testInfo.outputPath('ctrl-alt-del.png') });
});
