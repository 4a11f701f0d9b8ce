import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * A new directory for a test's files: under the run's own temp root (tests/support/temp-root.ts),
 * which goes with everything in it when the run ends, even if the test failed or its process was
 * killed. npm test checks at the end that nothing was left in the system temp dir.
 */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(process.env.BERTH_TEST_TMP ?? os.tmpdir(), prefix));
}

/**
 * For a script outside vitest (the benchmarks): a temp root of its own for tempDir, removed when
 * the script exits.
 */
export function ownTempRoot() {
  if (process.env.BERTH_TEST_TMP) return;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-"));
  process.env.BERTH_TEST_TMP = root;
  process.once("exit", () => fs.rmSync(root, { recursive: true, force: true }));
}
