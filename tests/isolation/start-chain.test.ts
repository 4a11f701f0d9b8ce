import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isBerthError } from "@/lib/core/errors";
import { ServerDefinitionInput } from "@/lib/core/schemas/server-definition";
import { validateCredentials } from "@/lib/core/services/connections/credentials";
import type { ServerRow } from "@/lib/db/queries/servers";
import { tempDir } from "../support/temp-dirs";
import { attack, hostProcessesWith, owner, PROJECT, useSandboxes, waitFor, withTimeout } from "./helpers";

/**
 * Finding 1 of the hardening issue: root's part of the start chain (setpriv, unshare, sh, mount)
 * ran with the server's environment, so glibc loaded whatever LD_PRELOAD named, as uid 0 with
 * every capability, in the host's mount namespace. The attacks below are the real ones: a shared
 * object built at test time, and one built inside a sandbox whose host path the sandbox read
 * from its own mountinfo.
 */
describe("the start chain and the server's environment", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge"]);
  let work: string;
  let evil: string;
  let log: string;

  beforeAll(async () => {
    // A preload that records who loaded it, where any uid may append (the test's own dir).
    work = tempDir("berth-preload-");
    fs.chmodSync(work, 0o755);
    log = path.join(work, "loaded-by");
    fs.writeFileSync(log, "", { mode: 0o666 });
    fs.chmodSync(log, 0o666);
    evil = path.join(work, "evil.so");
    fs.writeFileSync(path.join(work, "evil.c"), preload(log));
    execFileSync("gcc", ["-shared", "-fPIC", "-o", evil, path.join(work, "evil.c")]);
    fs.chmodSync(evil, 0o755);
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("never runs a preload named in the server's environment outside the sandbox", async () => {
    for (const network of [false, true]) {
      const sandbox = await suite.provider.create({
        argv: ["node", "-e", "setTimeout(() => {}, 300)"],
        env: { LD_PRELOAD: evil, LD_LIBRARY_PATH: work, GCONV_PATH: work },
        network,
        timeoutSeconds: 30,
        owner: owner("account-preload"),
      });
      await sandbox.exited;
    }
    // Before the fix: "uid=0 exe=/usr/bin/setpriv", "/usr/bin/unshare", "/usr/bin/dash", "mount"…
    expect(fs.readFileSync(log, "utf8")).toBe("");
  });

  it("a preload built inside a sandbox has no host path to name", async () => {
    // The attacker compiles in its home and looks up where that home is on the host.
    const seen = await attack(
      suite.provider,
      "account-preload",
      `fs.writeFileSync("/home/sandbox/e.c", input.source);
       const cc = run("/usr/bin/gcc", ["-shared", "-fPIC", "-o", "/home/sandbox/e.so", "/home/sandbox/e.c"]);
       const line = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\\n").find((l) => l.split(" ")[4] === "/home/sandbox");
       return { cc, line };`,
      { source: preload(log) },
    );
    expect(seen.cc.status, seen.cc.out).toBe(0); // it can build one: gcc is in /usr
    const [left = "", right = ""] = (seen.line as string).split(" - ");
    // Its home is a tmpfs of its own: the "root" field names no directory of the host's disk
    // (it was the home's host path, which the next sandbox's LD_PRELOAD could name).
    expect(right.split(" ")[0]).toBe("tmpfs");
    expect(left.split(" ")[3]).toBe("/");
  });

  it("keeps the server's environment out of every process of the chain, and off every command line", async () => {
    const SECRET = `ghp_chain-${Date.now()}`;
    const marker = `chain-marker-${Date.now()}`;
    const sandbox = await suite.provider.create({
      argv: ["node", "-e", "setInterval(() => {}, 1000)", marker],
      env: { TOKEN: SECRET },
      network: true,
      timeoutSeconds: 30,
      owner: owner("account-chain"),
    });
    try {
      const server = await waitFor("the server", () => hostProcessesWith(marker).find((p) => !p.cmd.includes("bwrap")));
      // The server has it, as it must.
      expect(fs.readFileSync(`/proc/${server.pid}/environ`, "utf8")).toContain(`TOKEN=${SECRET}`);
      const chain = ancestors(server.pid);
      expect(chain.map((p) => p.cmd).join("\n")).toMatch(/pasta[\s\S]*bwrap/); // pasta, bwrap's monitor, its init
      for (const p of chain) {
        expect(p.environ, `${p.cmd}: environment`).not.toContain(SECRET);
        expect(p.cmd, "command line").not.toContain(SECRET);
      }
    } finally {
      await suite.provider.kill(sandbox.id);
    }
  });

  it("passes nothing Berth inherited into the sandbox, whatever started Berth", async () => {
    // Node hands its children every fd it inherited without close-on-exec: give a Berth nine.
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "tests/isolation/fixtures/inherited-fds.ts", suite.data.dir],
      {
        cwd: PROJECT,
        stdio: ["ignore", "pipe", "inherit", ...Array<"pipe">(9).fill("pipe")],
      },
    );
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    await withTimeout(new Promise((r) => child.once("exit", r)), 60_000, "the fixture");
    const seen = JSON.parse(out.trim().split("\n").pop() as string) as Record<string, string>;
    expect(Object.keys(seen).sort()).toEqual(["network", "run", "server"]);
    for (const [how, listing] of Object.entries(seen)) {
      const fds = [...listing.matchAll(/ (\d+) -> /g)].map((m) => Number(m[1]));
      expect(fds, `${how}: ${listing}`).toEqual([0, 1, 2, 3]); // stdio, and ls's own /proc/self/fd
    }
  });

  it("refuses loader and runtime variables in definitions, in credentials and at the start", async () => {
    // A definition's env.
    const def = ServerDefinitionInput.safeParse({
      slug: "evil",
      title: "Evil",
      start_command: "node -e 0",
      env: { LD_PRELOAD: evil, ld_audit: evil, NODE_OPTIONS: "--require /x", SAFE: "ok" },
      credential_schema: { type: "object", properties: { GCONV_PATH: { type: "string" }, TOKEN: { type: "string" } } },
    });
    expect(def.success).toBe(false);
    const paths = def.error?.issues.map((i) => i.path.join(".")).sort();
    expect(paths).toEqual([
      "credential_schema.properties.GCONV_PATH",
      "env.LD_PRELOAD",
      "env.NODE_OPTIONS",
      "env.ld_audit",
    ]);

    // Credentials: a schema that allows more than it declares never lets a caller name a variable.
    const open = {
      credential_schema: {
        type: "object",
        properties: { TOKEN: { type: "string" } },
        additionalProperties: true,
        patternProperties: { "^LD_": { type: "string" } },
      },
    } as unknown as ServerRow;
    const refused = (credentials: Record<string, unknown>) => {
      try {
        validateCredentials(open, credentials);
      } catch (err) {
        if (isBerthError(err) && err.status === 400) return err.details;
        throw err;
      }
      return undefined;
    };
    expect(refused({ TOKEN: "t", LD_PRELOAD: evil })).toEqual([
      { path: "credentials.LD_PRELOAD", message: "Unknown field." },
    ]);
    expect(refused({ TOKEN: "a\0--bind" })).toEqual([
      { path: "credentials.TOKEN", message: "Must not contain a NUL character." },
    ]);

    // A definition stored before these checks: the runtime refuses to start it.
    await expect(
      suite.runtime.dryRun({
        accountId: "account-preload",
        startCommand: "node -e 0",
        env: { LD_PRELOAD: evil },
        network: false,
        timeoutSeconds: 30,
      }),
    ).rejects.toThrow(/LD_PRELOAD: Reserved/);
    expect(fs.readFileSync(log, "utf8")).toBe("");
  });
});

/** A shared object whose constructor appends "uid=<uid> exe=<program>" to `log`. */
function preload(log: string) {
  return `#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void loaded(void) {
  char exe[256] = {0};
  readlink("/proc/self/exe", exe, sizeof exe - 1);
  FILE *f = fopen("${log}", "a");
  if (f) { fprintf(f, "uid=%d exe=%s\\n", (int)getuid(), exe); fclose(f); }
}
`;
}

/** Every process between this test (Berth) and `pid`, the server itself excluded. */
function ancestors(pid: number) {
  const chain: { cmd: string; environ: string }[] = [];
  for (let p = parentOf(pid); p && p !== process.pid && p !== 1; p = parentOf(p)) {
    chain.push({
      cmd: fs.readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " "),
      environ: fs.readFileSync(`/proc/${p}/environ`, "utf8"),
    });
  }
  return chain;
}

function parentOf(pid: number) {
  return Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}
