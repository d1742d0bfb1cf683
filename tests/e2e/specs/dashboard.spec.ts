// The VM dashboard in Chromium against the dev server's demo cluster, after installing the
// vm-dashboard-direct preset through the wizard: the Create VM form refuses a bad name and size at
// their fields with the fix (nothing created), reviews the exact objects as YAML, creates a VM from
// the fedora golden image with vmdeck-small, follows the disk import to 100% until the VM runs and
// opens its serial console (login:); then, on the VM's page, a snapshot is taken, the VM changed
// (stopped, another instancetype), restored (the dialog says it is stopped first), the change gone.
import type { Page } from '@playwright/test';
import { createSnapshotClass, expect, test, type DevServer } from '../fixtures';

const DEMO = 'Demo cluster';

async function next(page: Page, label: string) {
  await page.getByRole('button', { name: `Next: ${label}`, exact: true }).click();
  await expect(page.getByRole('heading', { name: new RegExp(`: ${label}$`) })).toBeFocused();
}

/** vm-dashboard-direct installed on the demo cluster through the wizard, to Ready. */
async function installPreset(page: Page) {
  await page.locator(`[data-cluster="${DEMO}"]`).getByRole('button', { name: 'Install packs' }).click();
  await page.locator('[data-preset="vm-dashboard-direct"]').click();
  await expect(page.locator('[data-pack="vm-dashboard"]')).toBeVisible();
  for (const label of ['Feature gates', 'Values', 'Save profile', 'Clusters', 'Preflight']) await next(page, label);
  await expect(page.locator(`[data-preflight="${DEMO}"] [data-verdict="fail"]`)).toHaveCount(0);
  // VM snapshots need a VolumeSnapshotClass for the disks' CSI driver: the pack creates one.
  await createSnapshotClass(page, DEMO);
  await next(page, 'Plan');
  await next(page, 'Install');
  await page.getByRole('button', { name: 'Install', exact: true }).click();
  await expect(page.locator(`[data-install="${DEMO}"] .run`)).toHaveAttribute('data-run-state', 'done', { timeout: 240_000 });
}

/** The VMs screen of the demo cluster, from its card. */
async function openVms(page: Page) {
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Clusters' }).click();
  await page.locator(`[data-cluster="${DEMO}"]`).getByRole('button', { name: 'VMs', exact: true }).click();
  const view = page.locator(`[data-vms-view="${DEMO}"]`);
  await expect(view.getByTestId('vm-create-open')).toBeVisible({ timeout: 30_000 });
  return view;
}

/** The create form filled in, bad values first; answers the create screen. */
async function createVm(page: Page, demo: DevServer, name: string) {
  const view = await openVms(page);
  await view.getByTestId('vm-create-open').click();
  const form = page.locator(`[data-create-vm="${DEMO}"]`);
  await expect(form.getByTestId('vm-form-image').locator('option', { hasText: 'vm-dashboard/fedora' })).toHaveCount(1, { timeout: 30_000 });
  await form.getByTestId('vm-form-namespace').fill('default');
  await form.getByTestId('vm-form-instancetype').selectOption('c/vmdeck-small');
  await form.getByTestId('vm-form-image').selectOption('vm-dashboard/fedora');

  // Bad input is refused at its field, with the fix; nothing is created.
  await form.getByTestId('vm-form-name').fill('Web_01');
  await form.getByTestId('vm-form-size').fill('10 gigs');
  await form.getByTestId('vm-form-review').click();
  await expect(form.getByTestId('vm-form-refused')).toBeVisible();
  const nameError = form.locator('#err-name');
  await expect(nameError).toBeVisible();
  await expect(form.getByTestId('vm-form-name')).toHaveAttribute('aria-describedby', 'err-name');
  await expect(form.locator('#err-disk_size')).toContainText(/Gi/);
  const nameText = (await nameError.innerText()).trim();
  expect(nameText).toContain('—'); // the message, then the fix
  const vms = (await demo.call('list_vms', { cluster: DEMO, namespace: 'default' })) as { name: string }[];
  expect(vms.map((v) => v.name)).not.toContain('Web_01');

  // Fixed: the review shows the exact objects.
  await form.getByTestId('vm-form-name').fill(name);
  await form.getByTestId('vm-form-size').fill('10Gi');
  await form.getByTestId('vm-form-review').click();
  const yaml = form.getByTestId('vm-review-yaml');
  await expect(yaml).toContainText('kind: VirtualMachine');
  await expect(yaml).toContainText('dataVolumeTemplates');
  await expect(yaml).toContainText('vmdeck-small');
  await expect(yaml).toContainText(`name: ${name}-rootdisk`);
  await form.getByTestId('vm-create').click();
  return form;
}

test('Create VM: bad input at its fields, the review, the import to 100%, running, its serial console', async ({ page, demo }, testInfo) => {
  test.setTimeout(420_000);
  const shot = (name: string) => page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
  await demo.open(page);
  await installPreset(page);
  const form = await createVm(page, demo, 'web-e2e');

  const progress = form.getByTestId('vm-create-progress');
  await expect(progress).toBeVisible();
  await expect(form.getByTestId('vm-import-status')).toContainText('100%', { timeout: 180_000 });
  await expect(progress).toHaveAttribute('data-running', 'true', { timeout: 120_000 });
  await shot('created');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('created-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  // The VMI carries the instancetype's CPU and memory.
  const rows = (await demo.call('list_vms', { cluster: DEMO, namespace: 'default' })) as { name: string; cpus: number | null; memory: string | null }[];
  expect(rows.find((r) => r.name === 'web-e2e')).toMatchObject({ cpus: 1, memory: '2Gi' });

  await form.getByTestId('vm-open-console').click();
  await expect(page.getByTestId('console-status')).toHaveAttribute('data-phase', 'connected', { timeout: 20_000 });
  const terminal = page.getByTestId('serial-screen');
  await terminal.click();
  await page.keyboard.press('Enter');
  await expect(terminal.locator('.xterm-rows')).toContainText('web-e2e login:', { timeout: 30_000 });
});

// The install's preflight had the snapshot pack create a VolumeSnapshotClass for the disks' CSI
// driver (installPreset), so the page offers Take snapshot.
test('VM page: snapshot, change while stopped, restore (stopped first), the change gone', async ({ page, demo }, testInfo) => {
  test.setTimeout(480_000);
  const shot = (name: string) => page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
  await demo.open(page);
  await installPreset(page);
  const form = await createVm(page, demo, 'snap-e2e');
  await expect(form.getByTestId('vm-create-progress')).toHaveAttribute('data-running', 'true', { timeout: 300_000 });

  // The VM's page from its row.
  const view = await openVms(page);
  await view.locator('[data-vm="default/snap-e2e"]').getByRole('button', { name: 'snap-e2e', exact: true }).click();
  const vm = page.locator('[data-vm-page="default/snap-e2e"]');
  await expect(vm.getByTestId('vm-page-status')).toHaveAttribute('data-status', 'Running', { timeout: 30_000 });
  await expect(vm.getByTestId('vm-no-snapshots')).toBeVisible();
  await expect(vm.getByTestId('vm-settings-summary')).toContainText('Instancetype vmdeck-small');

  // Take a snapshot: listed Succeeded with a size.
  await vm.getByTestId('vm-snapshot-take').click();
  const snap = vm.locator('[data-snapshot]');
  await expect(snap).toHaveCount(1, { timeout: 120_000 });
  await expect(snap).toHaveAttribute('data-phase', 'Succeeded');
  await expect(snap.locator('td').nth(1)).not.toBeEmpty();
  const snapName = await snap.getAttribute('data-snapshot');

  // Change it while stopped: another instancetype, run strategy Halted.
  await vm.getByTestId('vm-edit-run-strategy').selectOption('Halted');
  await vm.getByTestId('vm-edit-save').click();
  await expect(vm.getByTestId('vm-page-status')).toHaveAttribute('data-status', 'Stopped', { timeout: 60_000 });
  await vm.getByTestId('vm-edit-instancetype').selectOption('c/vmdeck-medium');
  await vm.getByTestId('vm-edit-save').click();
  await expect(vm.getByTestId('vm-settings-summary')).toContainText('Instancetype vmdeck-medium');

  // Start it again, so the restore has to stop it first and says so.
  await vm.getByTestId('vm-edit-run-strategy').selectOption('Always');
  await vm.getByTestId('vm-edit-save').click();
  await expect(vm.getByTestId('vm-page-status')).toHaveAttribute('data-status', 'Running', { timeout: 60_000 });
  await vm.locator(`[data-snapshot="${snapName}"]`).getByRole('button', { name: 'Restore' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore snap-e2e?' });
  await expect(dialog).toContainText('it will be stopped first');
  await shot('restore-ask');
  await dialog.getByRole('button', { name: 'Stop and restore' }).click();
  await expect(vm.getByTestId('vm-page-notice')).toContainText('restored from', { timeout: 180_000 });
  await expect(vm.getByTestId('vm-restore-steps')).toContainText('Stopping snap-e2e first');
  await expect(vm.getByTestId('vm-settings-summary')).toContainText('Instancetype vmdeck-small');
  await shot('restored');
});
