// Browser end-to-end: paste a simulated cluster's kubeconfig, see it Connected; a broken one names the field.
import { test, expect } from '@playwright/test';
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
