// Browser end-to-end: paste or drop a simulated cluster's kubeconfig, see it Connected; a broken one names the field;
// a re-import asks before replacing; clusters not used recently wait for "Check". Each test has its own dev server.
import type { Page } from '@playwright/test';
import { expect, test, type DevServer } from '../fixtures';

/** Saves the kubeconfig's admin context through the core (set-up, not the flow under test). */
async function saveAdmin(app: DevServer, kubeconfig: string, check = false) {
  await app.call('import_clusters', {
    source: { kind: 'text', text: kubeconfig },
    choices: [{ context: 'admin', name: null }],
    overwrite: false,
    replace: [],
  });
  if (check) await app.call('check_cluster', { name: 'admin' });
}

test('empty state, then a pasted kubeconfig shows the cluster Connected', async ({ page, app, sim }) => {
  await app.open(page);
  await expect(page.getByTestId('empty-state')).toContainText('No clusters yet');

  await page.getByRole('button', { name: 'Add cluster' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Add a cluster' });
  await dialog.getByRole('textbox', { name: 'Kubeconfig' }).fill(sim.kubeconfig);
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

test('a broken kubeconfig names the field at fault', async ({ page, app, sim }) => {
  const broken = sim.kubeconfig.replace('client-key-data: ', 'client-key-data: not*base64');
  expect(broken).not.toEqual(sim.kubeconfig);
  await app.open(page);
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

test('rename and remove with keyboard-driven dialogs', async ({ page, app, sim }) => {
  await saveAdmin(app, sim.kubeconfig);
  await app.open(page);
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

test('a kubeconfig file dropped on the Clusters screen opens the wizard with its contexts', async ({ page, app, sim }) => {
  await app.open(page);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  const dataTransfer = await fileDrag(page, sim.kubeconfig);
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

test('importing the same kubeconfig again asks before replacing the cluster', async ({ page, app, sim }) => {
  await saveAdmin(app, sim.kubeconfig);
  await app.open(page);
  await expect(page.locator('[data-cluster="admin"]')).toBeVisible();
  await page.getByRole('button', { name: 'Add cluster' }).click();
  const wizard = page.getByRole('dialog', { name: 'Add a cluster' });
  // This time the file is dropped onto the wizard's source step.
  const dataTransfer = await fileDrag(page, sim.kubeconfig);
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

test('only recently used clusters are checked at start; the rest wait for Check', async ({ page, app, sim }) => {
  // A cluster whose server never answers is saved but never used, so it is not checked at start.
  const dead = sim.kubeconfig.replace(/server: https:\/\/127\.0\.0\.1:\d+/g, 'server: https://127.0.0.1:1');
  expect(dead).not.toEqual(sim.kubeconfig);
  // "admin" was checked successfully a moment ago: recently used.
  await saveAdmin(app, sim.kubeconfig, true);
  await app.open(page);
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
