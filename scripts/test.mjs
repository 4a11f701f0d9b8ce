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
// What the suites make in the temp dir starts with one of these; none may be left at the end.
const OURS = /^(berth-|bench-|fake-e2b-|ht4-|rt2-|rt3-|conformance-|mcp-remote-|hostile-|upstream-)/;
const tempBefore = new Set(fs.readdirSync(os.tmpdir()));
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
// The suites that time a victim tenant's calls while another tenant floods Berth run alone after
// the rest: a neighbouring suite's load on these two cores would be measured as a stall.
const SOLO = [
  // "A's busy loops do not starve B's server" measures CPU sharing: beside the other worker, B
  // once waited 15 s (340 ms alone).
  "tests/isolation/hostile-tenant.test.ts",
  "tests/isolation/hostile-tenant-3.test.ts",
  "tests/isolation/hostile-tenant-4.test.ts",
];
const vitestJson = path.join(reports, "vitest.json");
const soloJson = path.join(reports, "vitest-solo.json");
const reporters = ["--reporter=default", "--reporter=json"];
const vitestMain = run(
  "vitest",
  bin("vitest"),
  ["run", ...reporters, `--outputFile.json=${vitestJson}`, ...SOLO.flatMap((f) => ["--exclude", f])],
  env,
);
const vitestSolo = run(
  "vitest (alone: tenant-flood timings)",
  bin("vitest"),
  ["run", ...SOLO, "--maxWorkers=1", ...reporters, `--outputFile.json=${soloJson}`],
  env,
);
const vitest = vitestMain || vitestSolo;
const pwJson = path.join(reports, "playwright.json");
// Made here (not by playwright.config.ts) so that it is removed once Playwright's server is gone.
const e2eData = fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-"));
const playwright = run("playwright", bin("playwright"), ["test", "--reporter=list,json"], {
  ...env,
  PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson,
  E2E_BERTH_DATA_DIR: e2eData,
});
fs.rmSync(e2eData, { recursive: true, force: true });

const counts = [sum(countVitest(vitestJson), countVitest(soloJson)), countPlaywright(pwJson)];
const passed = counts.reduce((n, c) => n + c.passed, 0);
const failed = counts.reduce((n, c) => n + c.failed, 0);
const failures = [...failuresOf(vitestJson), ...failuresOf(soloJson)];
fs.rmSync(reports, { recursive: true, force: true });
const leftovers = fs.readdirSync(os.tmpdir()).filter((name) => OURS.test(name) && !tempBefore.has(name));
for (const name of leftovers) console.log(`LEFT BEHIND in ${os.tmpdir()}: ${name}`);
const ok = vitest === 0 && playwright === 0 && failed === 0 && passed > 0 && leftovers.length === 0;
// Named again at the very end, where a log cut short to its tail still shows them.
for (const f of failures) console.log(`FAILED ${f}`);
console.log(`\nvitest: ${fmt(counts[0])}; playwright: ${fmt(counts[1])}`);
// Leftovers count as one failure: the run did not clean up after itself.
console.log(`Total: ${passed} passed, ${failed + (leftovers.length ? 1 : 0)} failed`);
process.exit(ok ? 0 : 1);

function sum(a, b) {
  return { passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped };
}

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

/** Each failed vitest test (or file), with the first line of its error. */
function failuresOf(file) {
  try {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    return r.testResults.flatMap((f) => {
      const where = path.relative(root, f.name);
      const tests = f.assertionResults.filter((a) => a.status === "failed");
      if (f.status === "failed" && tests.length === 0) return [`${where}: ${firstLine(f.message)}`];
      return tests.map((a) => `${where} > ${a.fullName}: ${firstLine(a.failureMessages?.[0])}`);
    });
  } catch {
    return [];
  }
}

function firstLine(text) {
  return (text ?? "").split("\n")[0].slice(0, 300);
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
