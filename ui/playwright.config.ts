// Playwright against the HTTP dev server (same Rust core as the app), Debian's Chromium, no downloads.
import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const target = process.env.CARGO_TARGET_DIR ?? '/root/.cache/vmdeck/target';
const port = Number(process.env.VMDECK_E2E_PORT ?? 4317);
// A throwaway app home: the test never touches the user's clusters or keyring.
const home = mkdtempSync(join(tmpdir(), 'vmdeck-e2e-'));
// A second dev server whose OS keyring is unreachable (no D-Bus session bus behind the address).
export const keyringlessPort = port + 1;
const keyringlessHome = mkdtempSync(join(tmpdir(), 'vmdeck-e2e-nokeyring-'));

export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 60_000,
  retries: 0,
  workers: 1,
  reporter: [['list']],
  outputDir: '../test-artifacts/playwright',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
      ],
    },
  },
  webServer: [
    {
      command: `${target}/debug/vmdeck-devserver --session-only --listen 127.0.0.1:${port} --dist dist`,
      url: `http://127.0.0.1:${port}/`,
      env: { VMDECK_HOME: home },
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `${target}/debug/vmdeck-devserver --listen 127.0.0.1:${keyringlessPort} --dist dist`,
      url: `http://127.0.0.1:${keyringlessPort}/`,
      env: { VMDECK_HOME: keyringlessHome, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/vmdeck-e2e-bus' },
      reuseExistingServer: false,
      timeout: 30_000,
    },
  ],
});
