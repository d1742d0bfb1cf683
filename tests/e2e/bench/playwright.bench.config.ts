// Benchmarks in Chromium (print figures, never fail on them): run by scripts/bench-ui.sh, not
// part of the test suite (its config reads specs/ only).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.bench\.ts$/,
  timeout: 600_000,
  retries: 0,
  workers: 1,
  reporter: [['line']],
  outputDir: '../../../test-artifacts/bench',
  use: {
    browserName: 'chromium',
    viewport: { width: 1100, height: 860 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
      ],
    },
  },
});
