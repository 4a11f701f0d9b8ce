#!/usr/bin/env node
// `npm test`: every suite, in order: system prerequisites, a production build, vitest (unit,
// data on PGlite and PostgreSQL, integration against the real server), Playwright in Chromium.
// Ends with one line "Total: N passed, N failed".
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ensureDebianPackages, SANDBOX_PACKAGES } from "./debian-packages.mjs";

const root = path.resolve(import.meta.dirname, "..");
const bin = (name) => path.join(root, "node_modules/.bin", name);
const reports = fs.mkdtempSync(path.join(os.tmpdir(), "berth-test-reports-"));
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };

// The isolation suites also build attack code with gcc and check the seccomp filters with libseccomp.
const TEST_PACKAGES = {
  chromium: "/usr/bin/chromium",
  gcc: "/usr/bin/gcc",
  "python3-seccomp": "/usr/share/doc/python3-seccomp/copyright",
  ...SANDBOX_PACKAGES,
};
if (!ensureDebianPackages(TEST_PACKAGES, "npm test")) process.exit(1);
await ensurePostgres();

step("next build", bin("next"), ["build"], { ...env, NODE_ENV: "production" });
const vitestJson = path.join(reports, "vitest.json");
const vitest = run(
  "vitest",
  bin("vitest"),
  ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`],
  env,
);
const pwJson = path.join(reports, "playwright.json");
const playwright = run("playwright", bin("playwright"), ["test", "--reporter=list,json"], {
  ...env,
  PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson,
});

const counts = [countVitest(vitestJson), countPlaywright(pwJson)];
const passed = counts.reduce((n, c) => n + c.passed, 0);
const failed = counts.reduce((n, c) => n + c.failed, 0);
const ok = vitest === 0 && playwright === 0 && failed === 0 && passed > 0;
console.log(`\nvitest: ${fmt(counts[0])}; playwright: ${fmt(counts[1])}`);
console.log(`Total: ${passed} passed, ${failed} failed`);
process.exit(ok ? 0 : 1);

function fmt(c) {
  return `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ""}`;
}

function run(label, cmd, args, runEnv) {
  console.log(`\n=== ${label}: ${path.basename(cmd)} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: runEnv });
  return r.status ?? 1;
}

function step(label, cmd, args, runEnv) {
  if (run(label, cmd, args, runEnv) !== 0) {
    console.error(`${label} failed; no tests were run.`);
    console.log("Total: 0 passed, 1 failed");
    process.exit(1);
  }
}

function countVitest(file) {
  try {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    return {
      passed: r.numPassedTests,
      // A file that failed outside its tests (load error, beforeAll) counts as one failure.
      failed:
        r.numFailedTests +
        r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"))
          .length,
      skipped: r.numPendingTests + r.numTodoTests,
    };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

function countPlaywright(file) {
  try {
    const s = JSON.parse(fs.readFileSync(file, "utf8")).stats;
    return { passed: s.expected, failed: s.unexpected + s.flaky, skipped: s.skipped };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

/** The data tests need PostgreSQL on 127.0.0.1:5432; start the local cluster if it is down. */
async function ensurePostgres() {
  if (process.env.BERTH_TEST_POSTGRES_URL || (await reachable(5432))) return;
  const versions = fs.existsSync("/etc/postgresql") ? fs.readdirSync("/etc/postgresql") : [];
  if (versions[0] && process.getuid?.() === 0) {
    console.log("Starting the local PostgreSQL cluster…");
    spawnSync("pg_ctlcluster", ["--skip-systemctl-redirect", versions[0], "main", "start"], { stdio: "inherit" });
    for (let i = 0; i < 50 && !(await reachable(5432)); i++) await new Promise((r) => setTimeout(r, 200));
  }
  if (!(await reachable(5432))) {
    console.error("The data tests need PostgreSQL at 127.0.0.1:5432 (trust auth), or BERTH_TEST_POSTGRES_URL.");
    process.exit(1);
  }
}

function reachable(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
