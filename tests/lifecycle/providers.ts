import fs from "node:fs";
import path from "node:path";
import type { BerthServer } from "../support/berth-server";
import { processesIn } from "../support/berth-server";

/**
 * A sandbox provider as the lifecycle suite sees it: how to start Berth on it and how to look
 * inside it (which sandboxes exist, which processes run in one, how to crash its server).
 */
export type ProviderUnderTest = {
  name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  env(): Record<string, string>;
  /** Sandboxes that exist now. */
  sandboxIds(berth: BerthServer): string[];
  /** Pids of the processes running in that sandbox. */
  processes(berth: BerthServer, sandboxId: string): number[];
  /** Timeouts (seconds) the provider was asked to set on that sandbox, when it records them. */
  timeoutCalls?(sandboxId: string): number[];
};

export const localBubblewrap: ProviderUnderTest = {
  name: "local",
  async setup() {},
  async teardown() {},
  env: () => ({ SANDBOX_PROVIDER: "local" }),
  sandboxIds: (berth) => {
    const dir = path.join(berth.dataDir, "sandboxes");
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => d.startsWith("lcl-")) : [];
  },
  processes: (berth, id) => processesIn(path.join(berth.dataDir, "sandboxes", id)),
};

export const PROVIDERS: ProviderUnderTest[] = [localBubblewrap];
