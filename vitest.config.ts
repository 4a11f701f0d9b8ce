import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["lib/**/*.test.ts", "tests/**/*.test.ts"],
    testTimeout: 60_000,
    globalSetup: ["tests/support/temp-root.ts"],
    hookTimeout: 120_000,
    // Integration suites each start a real Berth server; two cores fit two at a time.
    maxWorkers: 2,
  },
});
