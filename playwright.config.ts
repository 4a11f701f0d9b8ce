import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3210);
/** Where e2e/upstream-oauth.spec.ts runs its OAuth provider ("Connect with GitHub" against it). */
process.env.E2E_OAUTH_PORT ??= String(port + 1);
const baseURL = `http://localhost:${port}`;

// Playwright loads this file again in each worker; the env var makes them all agree on the one
// data directory the runner created, instead of each making its own.
process.env.E2E_BERTH_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-"));
const dataDir = process.env.E2E_BERTH_DATA_DIR;

export default defineConfig({
  testDir: "e2e",
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  reporter: process.env.CI ? "line" : "list",
  timeout: 60_000,
  use: {
    baseURL,
    headless: true,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    // Needs a production build (`npx next build`) already in .next.
    command: "npx tsx server.ts",
    url: `${baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      NODE_ENV: "production",
      PORT: String(port),
      BERTH_DATA_DIR: dataDir,
      BERTH_PUBLIC_URL: baseURL,
      // Berth's OAuth app at that provider, for the definition the spec adds (slug github-local).
      BERTH_OAUTH_GITHUB_LOCAL_CLIENT_ID: "berth-e2e",
      BERTH_OAUTH_GITHUB_LOCAL_CLIENT_SECRET: "berth-e2e-secret",
      BERTH_OAUTH_REFRESH_FLOOR_SECONDS: "1",
    },
  },
});
