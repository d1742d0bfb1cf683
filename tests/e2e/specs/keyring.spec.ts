// Without a usable OS keyring the app says why and how to fix it, and offers session-only mode.
import { expect, test } from '@playwright/test';
import { startDevServer } from '../fixtures';

test('an unreachable keyring is explained and session-only mode can be chosen', async ({ page }) => {
  // A dev server whose OS keyring is unreachable: no D-Bus session bus behind the address.
  const { server, stop } = await startDevServer({
    sessionOnly: false,
    env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/vmdeck-e2e-bus' },
  });
  try {
    await server.open(page);
    await expect(page.getByRole('heading', { name: "Your clusters' secrets cannot be stored" })).toBeVisible();
    const notice = page.locator('section.notice');
    await expect(notice).toContainText(/D-Bus|session bus|Secret Service/i);
    await expect(page.getByRole('button', { name: 'Add cluster' })).toHaveCount(0);

    await page.getByRole('button', { name: 'Use session-only mode' }).click();
    await expect(notice).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Add cluster' }).first()).toBeEnabled();
  } finally {
    stop();
  }
});

test('the dev server refuses calls without its token, and pages of other origins', async ({ page }) => {
  const { server, stop } = await startDevServer({ sessionOnly: true, env: {} });
  try {
    const bare = await fetch(`${server.origin}/api/list_clusters`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'null',
    });
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ code: 'token_required' });
    // A page served from another origin that somehow knows the token is still refused.
    await page.goto('about:blank');
    const foreign = await page.evaluate(async ({ origin, token }) => {
      try {
        const r = await fetch(`${origin}/api/list_clusters`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-vmdeck-token': token },
          body: 'null',
        });
        return `status ${r.status}`;
      } catch (e) {
        return `blocked: ${String(e)}`;
      }
    }, { origin: server.origin, token: server.token });
    expect(foreign).not.toBe('status 200');
    // The printed URL opens the app; the token leaves the address bar and stays for reloads.
    await server.open(page);
    await expect(page.getByTestId('empty-state')).toBeVisible();
    expect(page.url()).not.toContain('token=');
    await page.reload();
    await expect(page.getByTestId('empty-state')).toBeVisible();
  } finally {
    stop();
  }
});
