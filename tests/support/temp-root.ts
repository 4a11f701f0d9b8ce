import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Vitest's global setup: one directory in the system temp dir for everything the suites make
 * there (tests/support/temp-dirs.ts), removed with all of it when the run ends, passing or not.
 * The test processes inherit BERTH_TEST_TMP.
 */
export default function setup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "berth-tests-"));
  process.env.BERTH_TEST_TMP = root;
  return () => fs.rmSync(root, { recursive: true, force: true });
}
