// Without a usable OS keyring the app says why and how to fix it, and offers session-only mode.
import { expect, test } from '@playwright/test';
import { keyringlessPort } from '../../playwright.config';

test('an unreachable keyring is explained and session-only mode can be chosen', async ({ page }) => {
  await page.goto(`http://127.0.0.1:${keyringlessPort}/`);
  await expect(page.getByRole('heading', { name: "Your clusters' secrets cannot be stored" })).toBeVisible();
  const notice = page.locator('section.notice');
  await expect(notice).toContainText(/D-Bus|session bus|Secret Service/i);
  await expect(page.getByRole('button', { name: 'Add cluster' })).toHaveCount(0);

  await page.getByRole('button', { name: 'Use session-only mode' }).click();
  await expect(notice).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Add cluster' }).first()).toBeEnabled();
});
