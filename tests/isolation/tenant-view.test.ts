import fs from "node:fs";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { packagesOf } from "@/lib/sandbox/prepared-packages";
import { type CrashReport, NodeSandboxRuntime } from "@/lib/sandbox/runtime";
import { crashingServer } from "../fixtures/servers";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { attack, hostProcessesWith, useSandboxes, waitFor } from "./helpers";

type Account = { account_id: string; api_key: string };

/** Finding 9 of the hardening issue: what a tenant could learn of the host, and a sandbox that hangs. */
describe("what a tenant sees of Berth's host", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge", "cgroups"]);

  it("of Berth's packages, only the catalogue's servers and what they need", async () => {
    const seen = await attack(
      suite.provider,
      "account-curious",
      `return { top: fs.readdirSync("/opt/berth/node_modules"), mcp: fs.readdirSync("/opt/berth/node_modules/@modelcontextprotocol") };`,
    );
    for (const berthsOwn of [
      "next",
      "pg",
      "e2b",
      "@electric-sql",
      "@node-rs",
      "iron-session",
      "pino",
      "react",
      "tsx",
    ]) {
      expect.soft(seen.top, berthsOwn).not.toContain(berthsOwn);
    }
    expect(seen.mcp.map((n: string) => `@modelcontextprotocol/${n}`).sort()).toEqual(
      expect.arrayContaining(packagesOf(CATALOGUE)),
    );
    expect(seen.mcp).not.toContain("inspector-cli"); // a dev dependency of Berth's, not a server
  });

  it("a sandbox whose init was stopped is ended and reported, not left running with calls hanging", async () => {
    const runtime = new NodeSandboxRuntime(suite.provider, "isolation-tests");
    const crashes: CrashReport[] = [];
    runtime.onCrash = (r) => crashes.push(r);
    // A server that answers initialize, then exits: its init must reap it for the sandbox to end.
    const ms = 1000 + Math.floor(Math.random() * 900);
    await runtime.deploy({
      connectionId: "conn-stuck",
      accountId: "account-stuck",
      startCommand: crashingServer(ms).start_command,
      env: {},
      network: false,
      timeoutSeconds: 60,
    });
    // Stop its init from outside (inside, ptrace and signals to it are refused: seccomp.test.ts).
    const init = await waitFor("the sandbox's init", () =>
      hostProcessesWith(`process.exit(7),${ms}`).find(
        (p) => p.cmd.includes("bwrap") && commOf(parentOf(p.pid)) === "bwrap" && commOf(p.pid) === "bwrap",
      ),
    );
    process.kill(init.pid, "SIGSTOP");
    try {
      const crash = await waitFor("the crash report", () => crashes[0], 15_000);
      expect(crash.connectionId).toBe("conn-stuck");
      expect(crash.stderrTail).toContain("[berth] the sandbox's init was stopped: the sandbox was ended.");
      expect(runtime.isLive("conn-stuck")).toBe(false);
    } finally {
      try {
        process.kill(init.pid, "SIGKILL");
      } catch {
        // ended with its sandbox
      }
    }
  });
});

describe("GET /api/health for a tenant", () => {
  let berth: BerthServer;
  let account: Account;

  beforeAll(async () => {
    berth = await startBerth();
    account = (await berth.cli(["accounts", "create", "--name", "Curious"])) as Account;
  });
  afterAll(async () => {
    await berth?.stop();
  });

  it("says whether its servers are isolated, and nothing of how the host is built", async () => {
    expect((await api(berth.url)("GET", "/api/health")).body).toEqual({ status: "ok" });
    const res = await api(berth.url, account.api_key)("GET", "/api/health");
    expect(res.body).toEqual({ status: "ok", database: "pglite", sandbox: { provider: "local", isolated: true } });
    for (const detail of [os.release(), berth.dataDir, "/sys/fs/cgroup", "bwrap", "pasta", "nft"]) {
      expect(res.text).not.toContain(detail);
    }
  });
});

function parentOf(pid: number) {
  return Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

function commOf(pid: number) {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
