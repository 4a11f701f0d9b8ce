import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountKey } from "@/lib/sandbox/bubblewrap";
import { cgroupDirs as cgroupDirsOf, sandboxCgroup } from "@/lib/sandbox/cgroups";
import type { HostReport } from "@/lib/sandbox/host-probe";
import type { LocalProvider } from "@/lib/sandbox/local";
import {
  bubblewrapProvider,
  fakeDataDir,
  hostProcessesWith,
  PROJECT,
  requireHost,
  sleeper,
  waitFor,
  withTimeout,
} from "./helpers";

/** Where a sandbox's cgroups are on this host: in its account's. */
function cgroupDirs(report: HostReport, accountId: string, id: string): string[] {
  const l = report.cgroups.layout;
  return l ? cgroupDirsOf(l, sandboxCgroup(accountKey(accountId), id)) : [];
}

const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
};

/** Every process from `pid` up to (not including) `stop`. */
function chainUp(pid: number, stop: number): number[] {
  const chain: number[] = [];
  for (let p = pid; p && p !== stop && p !== 1; ) {
    chain.push(p);
    try {
      p = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"))?.[1]);
    } catch {
      break;
    }
  }
  return chain;
}

describe("a sandbox's lifetime", () => {
  let report: HostReport;
  let data: Awaited<ReturnType<typeof fakeDataDir>>;
  let provider: LocalProvider;

  beforeAll(async () => {
    report = requireHost("bwrap", "setpriv", "bridge", "cgroups", "network");
    data = await fakeDataDir();
    provider = bubblewrapProvider(data.dir);
  });
  afterAll(async () => {
    await provider?.shutdown();
    await data?.cleanup();
  });

  it.each([false, true])("dies with its parent when that is SIGKILLed (network: %s)", async (network) => {
    const marker = `orphan-marker-${network}-${Date.now()}`;
    const parent = spawn(
      process.execPath,
      ["--import", "tsx", "tests/isolation/fixtures/sandbox-parent.ts", data.dir, marker, String(network)],
      { cwd: PROJECT, stdio: ["pipe", "pipe", "pipe"] }, // stdin: it exits should this test die first
    );
    try {
      await orphanCheck(parent, marker, network);
    } finally {
      parent.kill("SIGKILL");
    }
  });

  async function orphanCheck(parent: ChildProcessWithoutNullStreams, marker: string, network: boolean) {
    let out = "";
    parent.stdout.on("data", (d) => {
      out += d;
    });
    parent.stderr.on("data", (d) => {
      out += d;
    });
    const id = await waitFor(`the parent's sandbox (${out})`, () => /READY (\S+)/.exec(out)?.[1], 30_000);
    const server = await waitFor("the sandboxed server", () =>
      hostProcessesWith(marker).find((p) => p.cmd.startsWith("node -e")),
    );
    const chain = chainUp(server.pid, parent.pid as number);
    // The server, bwrap's init, bwrap (and pasta): all between it and the parent, all to die.
    expect(chain.length).toBeGreaterThanOrEqual(network ? 4 : 3);
    expect(chain.every(alive)).toBe(true);

    const gone = new Promise((resolve) => parent.once("exit", resolve));
    parent.kill("SIGKILL");
    await withTimeout(gone, 5000, "the parent to die");
    await waitFor(
      `every process of the sandbox to die: ${chain.filter(alive).join(", ")}`,
      () => (chain.some(alive) || hostProcessesWith(marker).length ? undefined : true),
      5000,
    );
    // Its cgroups are empty; the next Berth reaps them with its other leftovers.
    for (const dir of cgroupDirs(report, "account-parent", id))
      expect(fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8")).toBe("");
    expect((await provider.list("isolation-tests")).map((s) => s.id)).toContain(id);
    await provider.kill(id);
    for (const dir of cgroupDirs(report, "account-parent", id)) expect(fs.existsSync(dir)).toBe(false);
    expect(fs.existsSync(path.join(data.dir, "sandboxes", id))).toBe(false);
  }

  it("kill at any moment of start-up leaves nothing running (its cgroup is the sandbox)", async () => {
    // Killed while bwrap sets up, its monitor can die before its init armed the parent-death
    // signal; without the cgroup sweep such an init lives on (and holds the pipes: kill hangs).
    const marker = `early-kill-${Date.now()}`;
    for (let i = 0; i < 30; i++) {
      const sandbox = await sleeper(provider, "account-kill", `${marker}-${i}`, "", i % 5 === 4);
      await new Promise((r) => setTimeout(r, (i % 15) * 2)); // from at once to past start-up
      await withTimeout(provider.kill(sandbox.id), 10_000, `kill #${i}`);
      for (const dir of cgroupDirs(report, "account-kill", sandbox.id)) expect(fs.existsSync(dir), dir).toBe(false);
    }
    await waitFor("no process of any of them", () => (hostProcessesWith(marker).length ? undefined : true), 3000);
  });

  it("kill stops every process of the sandbox and removes its cgroups and files", async () => {
    const marker = `kill-marker-${Date.now()}`;
    const sandbox = await sleeper(
      provider,
      "account-kill",
      marker,
      // A grandchild of its own, in the background, as a server might leave one.
      `require("child_process").spawn("/bin/sh", ["-c", "sleep 600; : ${marker}-child"], { detached: true, stdio: "ignore" })`,
    );
    await waitFor("the server and its child", () => (hostProcessesWith(marker).length >= 2 ? true : undefined));
    const dirs = cgroupDirs(report, "account-kill", sandbox.id);
    for (const dir of dirs) expect(fs.existsSync(dir)).toBe(true);
    await provider.kill(sandbox.id);
    await waitFor("every process to be gone", () => (hostProcessesWith(marker).length ? undefined : true), 5000);
    await waitFor("the cgroups to be removed", () => (dirs.some((d) => fs.existsSync(d)) ? undefined : true), 5000);
    expect(fs.existsSync(path.join(data.dir, "sandboxes", sandbox.id))).toBe(false);
  });
});
