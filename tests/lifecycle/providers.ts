import fs from "node:fs";
import path from "node:path";
import { FakeE2B } from "../fakes/e2b-server";
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
  /** Pids of the processes running in that sandbox (killing them all crashes its server). */
  processes(berth: BerthServer, sandboxId: string): number[];
  /** The command lines of every process in that sandbox. */
  commandLines(berth: BerthServer, sandboxId: string): string[][];
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
  commandLines: (berth, id) => {
    // The sandbox's processes are the descendants of the one whose cwd is its dir on the host.
    const roots = new Set(processesIn(path.join(berth.dataDir, "sandboxes", id)));
    const parent = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      } catch {
        // gone
      }
    }
    const inside = (pid: number): boolean => {
      for (let p: number | undefined = pid; p && p > 1; p = parent.get(p)) if (roots.has(p)) return true;
      return false;
    };
    return [...parent.keys()].filter(inside).flatMap((pid) => {
      try {
        return [fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean)];
      } catch {
        return [];
      }
    });
  },
};

let fake: FakeE2B | undefined;
const fakeE2B = () => {
  if (!fake) throw new Error("the fake E2B is not started");
  return fake;
};

/** E2B through the real SDK against the local fake (tests/fakes/e2b-server.ts). */
export const e2bAgainstFake: ProviderUnderTest = {
  name: "e2b",
  async setup() {
    fake = await FakeE2B.start();
  },
  async teardown() {
    await fake?.close();
    fake = undefined;
  },
  env: () => fakeE2B().berthEnv(),
  sandboxIds: () => fakeE2B().sandboxIds(),
  processes: (_berth, id) =>
    fakeE2B()
      .processes(id)
      .map((p) => p.pid),
  commandLines: (_berth, id) =>
    fakeE2B()
      .processes(id)
      .map((p) => p.cmdline),
  timeoutCalls: (id) =>
    fakeE2B()
      .calls.filter((c) => c.sandboxId === id && c.method === "POST" && c.path.endsWith("/timeout"))
      .map((c) => (c.body as { timeout: number }).timeout),
};

const e2bSupport = FakeE2B.supported();
if (!e2bSupport.ok) console.log(`[lifecycle] e2b skipped: ${e2bSupport.reason}`);

export const PROVIDERS: ProviderUnderTest[] = e2bSupport.ok ? [localBubblewrap, e2bAgainstFake] : [localBubblewrap];
