// Browser end-to-end of the install wizard's first steps: preset, a Beta gate turned off in KubeVirt 1.9.0,
// the proxy server filled in, the profile saved and loaded back with the same choices; a broken file's issues.
import type { Page } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type DevServer } from '../fixtures';

async function openWizard(page: Page, app: DevServer) {
  await app.open(page);
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Install packs' }).click();
  await expect(page.getByRole('heading', { name: 'Install packs' })).toBeVisible();
}

async function next(page: Page, label: string) {
  await page.getByRole('button', { name: `Next: ${label}` }).click();
  await expect(page.getByRole('heading', { name: new RegExp(`: ${label}$`) })).toBeFocused();
}

test('preset, a Beta gate off, proxy values, saved and loaded back with the same choices', async ({ page, app }) => {
  await openWizard(page, app);
  await expect(page.getByTestId('no-packs')).toBeVisible();
  await expect(page.getByTestId('no-profiles')).toBeVisible();

  // Packs: the preset picks VM Dashboard and Spectro Proxy; the rest come as dependencies with the reason.
  await page.locator('[data-preset="vm-dashboard-proxied"]').click();
  const kubevirt = page.locator('[data-pack="kubevirt"]');
  await expect(kubevirt.getByTestId('reason')).toHaveText('needed by VM Dashboard');
  await expect(page.locator('[data-pack="spectro-proxy"]')).toContainText('Chosen');
  await kubevirt.getByLabel('Version').selectOption('1.9.0');

  // Feature gates: Snapshot is Beta in 1.9.0 (on by default), so "off" lands in disabledFeatureGates.
  await next(page, 'Feature gates');
  const table = page.locator('[data-gates="kubevirt"]');
  await expect(table.getByRole('heading')).toHaveText('KubeVirt 1.9.0 feature gates');
  await table.getByLabel('Search').fill('snapshot');
  const snapshot = page.locator('[data-gate="kubevirt:Snapshot"]');
  await expect(snapshot.locator('.badge')).toHaveText('Beta');
  await expect(snapshot).toContainText('Needs Volume Snapshot Controller');
  await expect(table.locator('[data-gate="kubevirt:CPUManager"]')).toHaveCount(0);
  await snapshot.getByLabel('Snapshot setting').selectOption('off');
  await expect(snapshot).toContainText('listed in disabledFeatureGates');
  await expect(snapshot).toHaveAttribute('data-on', 'false');
  await table.getByLabel('Search').fill('');
  await expect(table.locator('[data-gate^="kubevirt:"] .badge', { hasText: 'GA' }).first()).toBeVisible();

  // Values: the core's check names the empty server address inline until it is filled in.
  await next(page, 'Values');
  const address = page.locator('[data-field="spectro-proxy:server.address"]');
  await expect(address.locator('.field-error')).toBeVisible();
  await address.getByLabel('Address').fill('proxy.example.com');
  await expect(address.locator('.field-error')).toHaveCount(0);
  await page.locator('[data-field="spectro-proxy:clusterId"]').getByLabel('Cluster id').fill('lab1');
  const token = page.locator('[data-field="spectro-proxy:token"]');
  await expect(token.getByLabel('Token')).toHaveAttribute('type', 'password');
  await token.getByLabel('Token').fill('frp-secret-token');
  await token.getByRole('button', { name: 'Store secret' }).click();
  await expect(token.locator('[data-secret-status="stored"]')).toContainText('in memory until VMDeck exits');

  // Save: no issues left; the file has the choices and no secret.
  await next(page, 'Save profile');
  await expect(page.getByTestId('profile-issues')).toHaveCount(0);
  await page.getByRole('textbox', { name: /^File name/ }).fill('lab-profile');
  await page.getByRole('button', { name: 'Save profile', exact: true }).click();
  const saved = page.getByTestId('saved');
  await expect(saved).toContainText('lab-profile.yaml');
  await expect(page.getByText('Saving is optional')).toBeVisible();
  const savedPath = (await saved.locator('code').textContent()) ?? '';
  expect(savedPath.startsWith(app.profiles)).toBe(true);
  const text = readFileSync(savedPath, 'utf8');
  expect(text).toMatch(/^apiVersion: vmdeck\.io\/v1alpha1\nkind: Profile\n/);
  expect(text).toContain('preset: vm-dashboard-proxied');
  expect(text).toContain('Snapshot: off');
  expect(text).toContain('address: proxy.example.com');
  expect(text).not.toContain('frp-secret-token');

  // Load it back in a fresh page: the same preset, version, gate and value.
  await page.reload();
  await openWizard(page, app);
  await page.getByLabel('Saved profile').selectOption('lab-profile.yaml');
  await page.getByRole('button', { name: 'Load', exact: true }).click();
  await expect(page.getByTestId('loaded-from')).toContainText('Loaded lab-profile.yaml');
  await expect(page.locator('[data-preset="vm-dashboard-proxied"] input')).toBeChecked();
  await expect(page.locator('[data-pack="kubevirt"]').getByLabel('Version')).toHaveValue('1.9.0');
  await expect(page.locator('[data-pack="kubevirt"]').getByTestId('reason')).toHaveText('needed by VM Dashboard');
  await next(page, 'Feature gates');
  await expect(page.locator('[data-gate="kubevirt:Snapshot"]').getByLabel('Snapshot setting')).toHaveValue('off');
  await next(page, 'Values');
  await expect(page.locator('[data-field="spectro-proxy:server.address"]').getByLabel('Address')).toHaveValue('proxy.example.com');
  await expect(page.locator('[data-field="spectro-proxy:token"] [data-secret-status="stored"]')).toBeVisible();
  await expect(page.locator('[data-field="spectro-proxy:token"]').getByLabel('Token')).toHaveValue('');
});

test('loading a broken profile shows each issue with its path and line', async ({ page, app }) => {
  mkdirSync(app.profiles, { recursive: true });
  writeFileSync(
    join(app.profiles, 'broken.yaml'),
    'apiVersion: vmdeck.io/v1alpha1\nkind: Profile\nmetadata:\n  name: broken\npacks:\n  - name: multus\n    version: 4.3.0\n    values:\n      flavor: thin\n      resources:\n        requestsMemory: lots\n',
  );
  await openWizard(page, app);
  await page.getByLabel('Saved profile').selectOption('broken.yaml');
  await page.getByRole('button', { name: 'Load', exact: true }).click();
  const issues = page.getByTestId('profile-issues');
  await expect(issues).toContainText('Problems in broken.yaml');
  await expect(issues).toContainText('packs[0].values.resources.requestsMemory · line 11');
  await expect(page.locator('[data-pack="multus"] input[type="checkbox"]')).toBeChecked();
});
