// Browser end-to-end: paste or drop a simulated cluster's kubeconfig, see it Connected; a broken one names the field;
// a re-import asks before replacing; clusters not used recently wait for "Check".
import { test, expect, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const target = process.env.CARGO_TARGET_DIR ?? '/root/.cache/vmdeck/target';
// The tests share one dev server and build on each other's clusters.
test.describe.configure({ mode: 'serial' });

let sim: ChildProcess;
let kubeconfig = '';

test.beforeAll(async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'vmdeck-sim-')), 'kubeconfig');
  sim = spawn(`${target}/debug/simcluster`, ['serve', '--kubeconfig', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: sim.stdout! });
    lines.once('line', resolve);
    sim.once('exit', (code) => reject(new Error(`simcluster exited with ${code}`)));
  });
  expect(firstLine).toContain('https://127.0.0.1:');
  // simcluster prints its URL, then writes the kubeconfig.
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 100));
  kubeconfig = readFileSync(path, 'utf8');
});

test.afterAll(() => {
  sim?.kill();
});

test('empty state, then a pasted kubeconfig shows the cluster Connected', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('empty-state')).toContainText('No clusters yet');

  await page.getByRole('button', { name: 'Add cluster' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Add a cluster' });
  await dialog.getByRole('textbox', { name: 'Kubeconfig' }).fill(kubeconfig);
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.locator('[data-context="admin"]')).toBeVisible();
  await expect(dialog.locator('[data-context="viewer"]')).toBeVisible();
  await dialog.getByRole('button', { name: 'Save and check' }).click();
  await expect(dialog.locator('[data-saved="admin"] [data-status="connected"]')).toBeVisible({ timeout: 20_000 });
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();

  const card = page.locator('[data-cluster="admin"]');
  await expect(card.locator('[data-status="connected"]')).toHaveText('Connected');
  await expect(card).toContainText('Kubernetes v1.34.1');
  await expect(card).toContainText('3 nodes');
});

test('a broken kubeconfig names the field at fault', async ({ page }) => {
  const broken = kubeconfig.replace('client-key-data: ', 'client-key-data: not*base64');
  expect(broken).not.toEqual(kubeconfig);
  await page.goto('/');
  await page.getByRole('button', { name: 'Add cluster' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Add a cluster' });
  await dialog.getByRole('textbox', { name: 'Kubeconfig' }).fill(broken);
  await dialog.getByRole('button', { name: 'Next' }).click();
  const alert = dialog.locator('[data-code="kubeconfig_invalid_field"]');
  await expect(alert).toContainText('users[1].user.client-key-data');
  await expect(alert).toContainText('base64');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
});

test('rename and remove with keyboard-driven dialogs', async ({ page }) => {
  await page.goto('/');
  const card = page.locator('[data-cluster="admin"]');
  await expect(card).toBeVisible();
  await card.getByRole('button', { name: 'Rename' }).click();
  const rename = page.getByRole('dialog', { name: /Rename/ });
  await rename.getByLabel('New name').fill('lab');
  await page.keyboard.press('Enter');
  await expect(rename).toBeHidden();
  const renamed = page.locator('[data-cluster="lab"]');
  await expect(renamed).toBeVisible();

  await renamed.getByRole('button', { name: 'Remove' }).click();
  const confirm = page.getByRole('dialog', { name: /Remove/ });
  await page.keyboard.press('Escape');
  await expect(confirm).toBeHidden();
  await expect(renamed).toBeVisible();
  await renamed.getByRole('button', { name: 'Remove' }).click();
  await expect(confirm).toBeVisible();
  await page.keyboard.press('Enter');
  await expect(renamed).toBeHidden();
  await expect(page.getByTestId('empty-state')).toBeVisible();
});

/** A DataTransfer in the page holding `text` as a dropped file, as the browser builds it for a real drop. */
async function fileDrag(page: Page, text: string, name = 'kubeconfig.yaml') {
  return page.evaluateHandle(
    ([body, fileName]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([body], fileName, { type: 'application/yaml' }));
      return transfer;
    },
    [text, name] as const,
  );
}

test('a kubeconfig file dropped on the Clusters screen opens the wizard with its contexts', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  const dataTransfer = await fileDrag(page, kubeconfig);
  const screen = page.locator('section[aria-labelledby="clusters-title"]');

  // While a file is dragged over the window the drop target shows; leaving hides it.
  await screen.dispatchEvent('dragenter', { dataTransfer });
  await screen.dispatchEvent('dragover', { dataTransfer });
  await expect(page.getByTestId('drop-target')).toBeVisible();
  await screen.dispatchEvent('dragleave', { dataTransfer });
  await expect(page.getByTestId('drop-target')).toBeHidden();

  await screen.dispatchEvent('dragenter', { dataTransfer });
  await screen.dispatchEvent('drop', { dataTransfer });
  await expect(page.getByTestId('drop-target')).toBeHidden();
  const dialog = page.getByRole('dialog', { name: 'Add a cluster' });
  await expect(dialog.locator('[data-context="admin"]')).toBeVisible();
  await expect(dialog.locator('[data-context="viewer"]')).toBeVisible();
  await dialog.getByRole('button', { name: 'Save and check' }).click();
  await expect(dialog.locator('[data-saved="admin"] [data-status="connected"]')).toBeVisible({ timeout: 20_000 });
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('[data-cluster="admin"] [data-status="connected"]')).toBeVisible();
});

test('importing the same kubeconfig again asks before replacing the cluster', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('[data-cluster="admin"]')).toBeVisible();
  await page.getByRole('button', { name: 'Add cluster' }).click();
  const wizard = page.getByRole('dialog', { name: 'Add a cluster' });
  // This time the file is dropped onto the wizard's source step.
  const dataTransfer = await fileDrag(page, kubeconfig);
  const zone = wizard.getByTestId('wizard-drop-zone');
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await expect(zone).toHaveClass(/over/);
  await zone.dispatchEvent('drop', { dataTransfer });
  await expect(wizard.locator('[data-context="admin"]')).toBeVisible();
  await expect(wizard.getByRole('checkbox', { name: /Replace/ })).toHaveCount(0);

  const save = wizard.getByRole('button', { name: 'Save and check' });
  await save.click();
  const confirm = page.getByRole('dialog', { name: 'Replace “admin”?' });
  await expect(confirm).toContainText('A cluster named “admin” exists. Replace it with the imported one?');
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  // Escape cancels: nothing is replaced and the wizard stays on its contexts.
  await page.keyboard.press('Escape');
  await expect(confirm).toBeHidden();
  await expect(wizard.locator('[data-context="admin"]')).toBeVisible();

  await save.click();
  await expect(confirm).toBeVisible();
  await confirm.getByRole('button', { name: 'Replace' }).click();
  await expect(confirm).toBeHidden();
  await expect(wizard.locator('[data-saved="admin"] [data-status="connected"]')).toBeVisible({ timeout: 20_000 });
  await wizard.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('[data-cluster="admin"]')).toHaveCount(1);
  await expect(page.locator('[data-cluster="admin"] [data-status="connected"]')).toBeVisible();
});

test('only recently used clusters are checked at start; the rest wait for Check', async ({ page }) => {
  // A cluster whose server never answers is saved but never used, so it is not checked at start.
  const dead = kubeconfig.replace(/server: https:\/\/127\.0\.0\.1:\d+/g, 'server: https://127.0.0.1:1');
  expect(dead).not.toEqual(kubeconfig);
  await page.goto('/');
  await page.getByRole('button', { name: 'Add cluster' }).click();
  const wizard = page.getByRole('dialog', { name: 'Add a cluster' });
  await wizard.getByRole('textbox', { name: 'Kubeconfig' }).fill(dead);
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.locator('[data-context="admin"]').getByLabel('Name').fill('gone');
  await wizard.getByRole('button', { name: 'Save and check' }).click();
  await expect(wizard.locator('[data-saved="gone"] [data-status="unreachable"]')).toBeVisible({ timeout: 20_000 });
  await wizard.getByRole('button', { name: 'Done' }).click();

  await page.reload();
  const used = page.locator('[data-cluster="admin"]');
  const unused = page.locator('[data-cluster="gone"]');
  await expect(used.locator('[data-status="connected"]')).toBeVisible();
  await expect(unused.locator('[data-status="not_checked"]')).toHaveText('Not checked yet');
  await unused.getByRole('button', { name: 'Check', exact: true }).click();
  await expect(unused.locator('[data-status="unreachable"]')).toBeVisible({ timeout: 20_000 });
  await expect(unused.getByRole('button', { name: 'Check again' })).toBeVisible();
});
