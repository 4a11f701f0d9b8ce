import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { LocalProvider, plainProcess } from "@/lib/sandbox/local";
import { owner, useSandboxes, withTimeout } from "./helpers";

/** Everything under `dir` whose content holds `marker` (grep, so no depth defeats it). */
function filesHolding(dir: string, marker: string): string {
  try {
    return execFileSync("grep", ["-rl", "--", marker, dir], { encoding: "utf8", maxBuffer: 1 << 20 }).trim();
  } catch {
    return ""; // grep exits 1 when nothing matches
  }
}

/**
 * A server that fills its home as the attacker did (argv: payload marker, what to make: "many"
 * files or a "deep" chain deeper than PATH_MAX with a payload at its bottom), says how far it
 * got, and waits.
 */
const FILL = `
  const fs = require("fs");
  const [marker, what] = process.argv.slice(1);
  let made = 0, error = "";
  try {
    if (what === "deep") {
      for (; made < 2100; made++) { fs.mkdirSync("d"); process.chdir("d"); }
      fs.writeFileSync("payload", marker.repeat(1 << 16));
    } else {
      fs.mkdirSync("many");
      for (; made < 200000; made++) fs.writeFileSync("many/" + made, made % 1000 ? "" : marker);
    }
  } catch (e) { error = e.code; }
  console.error("FILLED " + made + " " + error);
  setInterval(() => {}, 1000);
`;

/**
 * Findings 5 and 6 of the hardening issue: a finished sandbox's home was removed with fs.rmSync on
 * the event loop (a 600k-file home stalled every API call for 10 s), and a tree deeper than
 * PATH_MAX survived it silently (ENAMETOOLONG), payload and all. Homes are now capped tmpfs
 * mounts of the sandbox's own namespace: nothing of them is on the host's disk, nothing to remove.
 */
describe("what a sandbox leaves behind", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge", "cgroups"]);

  /** Starts FILL in a sandbox of `p` and waits for it to say how far it got. */
  const fill = async (p: LocalProvider, what: "many" | "deep", marker: string) => {
    const sandbox = await p.create({
      argv: [process.execPath, "-e", FILL, marker, what],
      env: {},
      network: false,
      timeoutSeconds: 120,
      owner: owner("account-filler"),
    });
    const said = await withTimeout(
      (async () => {
        for (;;) {
          const m = /FILLED (\d+) ?(\w*)/.exec(sandbox.stderrTail());
          if (m) return { made: Number(m[1]), error: m[2] };
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      90_000,
      `the server to fill its home (${what})`,
    );
    return { sandbox, ...said };
  };

  it("a home full of files: capped, and gone with its sandbox without stalling Berth", async () => {
    const marker = `MANY-${Date.now()}-`;
    const { sandbox, made, error } = await fill(suite.provider, "many", marker);
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    await suite.provider.kill(sandbox.id);
    await new Promise((r) => setTimeout(r, 200));
    lag.disable();
    // Removing them on the event loop took seconds (~17 us a file); now Berth removes none.
    expect(lag.max / 1e6).toBeLessThan(500);
    expect(fs.existsSync(path.join(suite.data.dir, "sandboxes", sandbox.id))).toBe(false);
    expect(filesHolding(suite.data.dir, marker)).toBe("");
    // The home's inode cap (65536) stopped it.
    expect(made).toBeLessThan(65_536);
    expect(error).toBe("ENOSPC");
  });

  it("a tree deeper than PATH_MAX: gone with its sandbox, payload and all", async () => {
    const marker = `DEEP-${Date.now()}-`;
    const { sandbox, made, error } = await fill(suite.provider, "deep", marker);
    expect([made, error]).toEqual([2100, ""]);
    await suite.provider.kill(sandbox.id);
    expect(fs.existsSync(path.join(suite.data.dir, "sandboxes", sandbox.id))).toBe(false);
    expect(filesHolding(suite.data.dir, marker)).toBe("");
  });

  it("a home is capped in size", async () => {
    const r = await suite.provider.exec({
      argv: ["/bin/sh", "-c", "dd if=/dev/zero of=/home/sandbox/big bs=1M count=400 2>&1; ls -s /home/sandbox/big"],
      timeoutSeconds: 60,
      maxOutputBytes: 1 << 16,
      owner: owner("account-filler"),
    });
    expect(r.stdout).toMatch(/No space left on device/);
    const kib = Number(/^(\d+) /.exec(r.stdout.trim().split("\n").pop() ?? "")?.[1]);
    expect(kib).toBeLessThanOrEqual(256 * 1024);
  });

  it("without isolation too, a home deeper than PATH_MAX is removed (off the event loop), and a leftover is said", async () => {
    const leftovers: string[] = [];
    const plain = new LocalProvider(path.join(suite.data.dir, "plain"), plainProcess, {
      onLeftover: (dir) => leftovers.push(dir),
    });
    const marker = `PLAIN-${Date.now()}-`;
    const { sandbox, made } = await fill(plain, "deep", marker);
    expect(made).toBe(2100);
    await plain.kill(sandbox.id);
    expect(fs.readdirSync(path.join(suite.data.dir, "plain"))).toEqual([]);
    expect(filesHolding(path.join(suite.data.dir, "plain"), marker)).toBe("");
    expect(leftovers).toEqual([]);

    // What rm cannot remove (here a mount inside the home, which it must not cross) is said, not hidden.
    const stuck = await plain.create({
      argv: [process.execPath, "-e", "setInterval(() => {}, 1000)"],
      env: {},
      network: false,
      timeoutSeconds: 60,
      owner: owner("account-plain"),
    });
    const mnt = path.join(suite.data.dir, "plain", stuck.id, "home", "mnt");
    fs.mkdirSync(mnt);
    execFileSync("mount", ["-t", "tmpfs", "none", mnt]);
    try {
      await plain.kill(stuck.id);
      expect(leftovers).toEqual([path.join(suite.data.dir, "plain", stuck.id)]);
    } finally {
      execFileSync("umount", [mnt]);
      await plain.shutdown();
    }
  });
});
