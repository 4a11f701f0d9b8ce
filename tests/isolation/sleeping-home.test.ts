import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { splitCommand } from "@/lib/core/command-line";
import type { LocalProvider } from "@/lib/sandbox/local";
import type { Sandbox } from "@/lib/sandbox/provider";
import { bubblewrapProvider, fakeDataDir, requireHost } from "./helpers";

/**
 * A local sandbox's home survives sleep (sleeping-homes.ts): archived as the account's uid
 * before the sandbox stops, restored into the connection's next sandbox. The home is the
 * tenant's: whatever it holds must neither reach nor change anything of the host.
 */

const ACCOUNT = "sleeping-home-tests";
const SMALL_HOME = { homeMiB: 8, homeInodes: 2048 };

let data: Awaited<ReturnType<typeof fakeDataDir>>;
let provider: LocalProvider;
let small: LocalProvider;
const lost: string[] = [];

beforeAll(async () => {
  requireHost("bwrap", "setpriv", "bridge", "cgroups");
  data = await fakeDataDir();
  provider = bubblewrapProvider(data.dir, {}, { onHomeLost: (_c, r) => lost.push(r) });
  small = bubblewrapProvider(data.dir, { limits: { sandbox: SMALL_HOME } }, { onHomeLost: (_c, r) => lost.push(r) });
});
afterAll(async () => {
  await provider?.shutdown();
  await small?.shutdown();
  await data?.cleanup();
});

const archiveOf = (connectionId: string) =>
  path.join(data.dir, "sandboxes", "sleeping-homes", `${connectionId}.tar.zst`);

/** A server for `connectionId` that runs `setup` (node, in its home), says READY on stderr and idles. */
async function boxWith(connectionId: string, setup: string, on = provider): Promise<Sandbox & { result: any }> {
  const script = `const fs = require("fs"), cp = require("child_process"), net = require("net");
(async () => { ${setup} })().then((r) => process.stderr.write("READY " + JSON.stringify(r ?? null) + "\\n"), (e) => process.stderr.write("FAILED " + e.message + "\\n"));
setInterval(() => {}, 1000);`;
  const sandbox = await on.create({
    argv: ["node", "-e", script],
    env: {},
    network: false,
    timeoutSeconds: 120,
    owner: { installation: "isolation-tests", accountId: ACCOUNT, connectionId },
  });
  const deadline = Date.now() + 120_000;
  while (!/^(READY|FAILED)/m.test(sandbox.stderrTail())) {
    if (Date.now() > deadline) throw new Error(`no READY: ${sandbox.stderrTail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const line = sandbox
    .stderrTail()
    .split("\n")
    .find((l) => /^(READY|FAILED)/.test(l)) as string;
  if (line.startsWith("FAILED")) throw new Error(line);
  return Object.assign(sandbox, { result: JSON.parse(line.slice(6)) });
}

/** What a fresh sandbox of `connectionId` finds in its home: each entry, its kind and content. */
async function homeSeenBy(connectionId: string, on = provider) {
  const sb = await boxWith(
    connectionId,
    `const out = {}; let count = 0;
     const walk = (d) => { for (const n of fs.readdirSync(d)) { const p = d + "/" + n; const st = fs.lstatSync(p); count++;
       if (count > 50) { if (st.isDirectory()) walk(p); continue; }
       const kind = st.isSymbolicLink() ? "link:" + fs.readlinkSync(p) : st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : st.isDirectory() ? "dir" : "file";
       let content = null; if (st.isFile() && st.size < 4096) content = fs.readFileSync(p, "utf8");
       if (st.isSymbolicLink()) { try { content = fs.readFileSync(p, "utf8").slice(0, 200); } catch (e) { content = e.code; } }
       out[p.slice(process.env.HOME.length + 1)] = { kind, content, mode: st.mode & 0o7777, size: st.size, blocks: st.blocks };
       if (st.isDirectory()) walk(p); } };
     walk(process.env.HOME);
     return { entries: out, count, df: cp.execFileSync("df", ["-k", "--output=size,used,itotal,iused", process.env.HOME], { encoding: "utf8" }) };`,
    on,
  );
  await on.kill(sb.id);
  return sb.result as {
    entries: Record<string, { kind: string; content: string | null; mode: number; size: number; blocks: number }>;
    count: number;
    df: string;
  };
}

describe("a sleeping local sandbox keeps its home", () => {
  it("the memory server's graph written before sleep is read after the next create", async () => {
    const memory = CATALOGUE.find((d) => d.slug === "memory");
    if (!memory) throw new Error("no memory server in the catalogue");
    const connectionId = randomUUID();
    const start = () =>
      provider.create({
        argv: splitCommand(memory.start_command),
        env: { ...memory.env },
        network: false,
        timeoutSeconds: 120,
        owner: { installation: "isolation-tests", accountId: ACCOUNT, connectionId },
      });
    const connect = async (sb: Sandbox) => {
      const client = new Client({ name: "sleeping-home-test", version: "1" });
      await client.connect(sb.transport);
      return client;
    };

    const first = await start();
    const before = await connect(first);
    await before.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "Ada", entityType: "person", observations: ["wrote the first program"] }] },
    });
    expect(await provider.sleep(first.id)).toBe("stopped");
    await first.exited;
    const archive = archiveOf(connectionId);
    expect(fs.statSync(archive).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(archive)).mode & 0o777).toBe(0o700);

    const second = await start();
    expect(fs.existsSync(archive)).toBe(false); // restored: dropped
    const after = await connect(second);
    const graph = (await after.callTool({ name: "read_graph", arguments: {} })) as { content: { text: string }[] };
    expect(graph.content[0]?.text).toContain("wrote the first program");
    await after.close();
    await provider.kill(second.id);
  });

  it("a sandbox killed, not slept, leaves nothing: the next one starts with an empty home", async () => {
    const connectionId = randomUUID();
    const sb = await boxWith(connectionId, `fs.writeFileSync(process.env.HOME + "/note", "kept?")`);
    await provider.kill(sb.id);
    expect(fs.existsSync(archiveOf(connectionId))).toBe(false);
    expect(Object.keys((await homeSeenBy(connectionId)).entries)).toEqual([]);
  });

  it("forget drops a sleeping home", async () => {
    const connectionId = randomUUID();
    const sb = await boxWith(connectionId, `fs.writeFileSync(process.env.HOME + "/note", "kept")`);
    await provider.sleep(sb.id);
    expect(fs.existsSync(archiveOf(connectionId))).toBe(true);
    await provider.forget(connectionId);
    expect(fs.existsSync(archiveOf(connectionId))).toBe(false);
    expect((await homeSeenBy(connectionId)).entries).toEqual({});
  });

  it("a connection id that is not a UUID keeps nothing and names no path", async () => {
    const sb = await boxWith("../../etc", `fs.writeFileSync(process.env.HOME + "/note", "x")`);
    await expect(provider.sleep(sb.id)).rejects.toThrow(/not a UUID/);
    expect(fs.readdirSync(path.join(data.dir, "sandboxes", "sleeping-homes")).filter((f) => f.includes("etc"))).toEqual(
      [],
    );
    await provider.forget("../../etc"); // nothing to drop, nothing removed
  });
});

describe("a hostile home", () => {
  const secret = `HOST-SECRET-${randomUUID()}`;
  let secretFile: string;
  beforeAll(() => {
    secretFile = path.join(data.dir, "planted-secret");
    fs.writeFileSync(secretFile, secret, { mode: 0o644 }); // world-readable: only the confinement stops it
  });

  it("links, devices, FIFOs, sockets, setuid files and odd names: nothing of the host gets in or changes", async () => {
    const connectionId = randomUUID();
    const shadowBefore = fs.statSync("/etc/shadow");
    const sb = await boxWith(
      connectionId,
      `const h = process.env.HOME; const made = {};
       const links = { shadow: "/etc/shadow", secret: ${JSON.stringify(secretFile)}, procroot: "/proc/1/root/etc/shadow",
         up: "../../../../..", self: "/proc/self/root", hostsecret: "/tmp/../${path.basename(secretFile)}" };
       for (const [n, t] of Object.entries(links)) fs.symlinkSync(t, h + "/" + n);
       fs.mkdirSync(h + "/dir"); fs.symlinkSync("/etc", h + "/dir/etc");
       fs.writeFileSync(h + "/plain", "mine"); fs.linkSync(h + "/plain", h + "/hardlink");
       fs.writeFileSync(h + "/suid", "#!/bin/sh\\nid\\n"); fs.chmodSync(h + "/suid", 0o6755);
       fs.writeFileSync(h + "/name\\nwith newline", "nl"); fs.writeFileSync(h + "/..dots..", "dots");
       made.fifo = cp.spawnSync("mkfifo", [h + "/fifo"]).status;
       made.dev = cp.spawnSync("mknod", [h + "/null", "c", "1", "3"], { encoding: "utf8" }).stderr.trim();
       await new Promise((r) => net.createServer().listen(h + "/sock", r));
       const fd = fs.openSync(h + "/sparse", "w"); fs.ftruncateSync(fd, 50 * 1024 ** 3); fs.writeSync(fd, "end", 50 * 1024 ** 3 - 3); fs.closeSync(fd);
       return made;`,
    );
    expect(sb.result.dev).not.toBe(""); // no device nodes in a sandbox to begin with
    await provider.sleep(sb.id);
    const archived = execFileSync("zstd", ["-dc", archiveOf(connectionId)], { maxBuffer: 1 << 28 });
    expect(archived.includes(secret)).toBe(false);
    expect(archived.includes("root:")).toBe(false); // nothing of /etc/shadow or /etc/passwd

    const seen = await homeSeenBy(connectionId);
    const e = seen.entries;
    expect(e.shadow?.kind).toBe("link:/etc/shadow");
    expect(e.secret?.kind).toBe(`link:${secretFile}`);
    for (const link of ["shadow", "secret", "procroot", "hostsecret"]) expect(e[link]?.content).not.toContain(secret);
    expect(JSON.stringify(e)).not.toContain(secret);
    expect(e["dir/etc"]?.kind).toBe("link:/etc");
    expect(e.plain?.content).toBe("mine");
    expect(e.hardlink?.content).toBe("mine");
    expect((e.suid?.mode ?? 0) & 0o6000).toBe(0);
    expect(e["name\nwith newline"]?.content).toBe("nl");
    expect(e["..dots.."]?.content).toBe("dots");
    expect(e.fifo?.kind).toBe("fifo");
    expect(e.sock).toBeUndefined(); // tar keeps no sockets
    expect(e.sparse?.size).toBe(50 * 1024 ** 3);
    expect(e.sparse?.blocks).toBeLessThan(1024); // still sparse: 50 GB in a 256 MiB home
    // Nothing of the host changed.
    expect(fs.readFileSync(secretFile, "utf8")).toBe(secret);
    expect(fs.statSync("/etc/shadow").mtimeMs).toBe(shadowBefore.mtimeMs);
    expect(fs.existsSync(archiveOf(connectionId))).toBe(false);
  });

  it("a home swapped between a dir and links to the host while it is archived yields nothing of the host", async () => {
    const connectionId = randomUUID();
    const sb = await boxWith(
      connectionId,
      `const h = process.env.HOME;
       for (let i = 0; i < 200; i++) fs.writeFileSync(h + "/f" + i, "mine");
       cp.spawn("sh", ["-c", "cd $HOME; while :; do mkdir d 2>/dev/null; mv d d.old; ln -sfn ${path.dirname(secretFile)} d; rm -f d; ln -sfn /proc/1/root d; rm -f d; rm -rf d.old; done"], { stdio: "ignore" });`,
    );
    await provider.sleep(sb.id);
    const archived = execFileSync("zstd", ["-dc", archiveOf(connectionId)], { maxBuffer: 1 << 28 });
    expect(archived.includes(secret)).toBe(false);
    expect(archived.includes("SECRET-ENCRYPTION-KEY")).toBe(false);
    expect((await homeSeenBy(connectionId)).count).toBeGreaterThanOrEqual(200);
  });

  it("a restore that cannot fit (the operator lowered the cap) fails the start loudly and keeps the archive", async () => {
    const connectionId = randomUUID();
    const sb = await boxWith(
      connectionId,
      `fs.writeFileSync(process.env.HOME + "/big", require("crypto").randomBytes(12 << 20))`,
    );
    await provider.sleep(sb.id);
    await expect(boxWith(connectionId, "", small)).rejects.toThrow(/could not be restored \(tar 2\).*Wrote only/);
    expect(fs.existsSync(archiveOf(connectionId))).toBe(true); // a wake under the old cap still has it
    expect((await homeSeenBy(connectionId)).entries.big?.size).toBe(12 << 20);
  });

  it("60 000 files come back, in a home capped at 65 536", async () => {
    const connectionId = randomUUID();
    const sb = await boxWith(
      connectionId,
      `for (let d = 0; d < 60; d++) { fs.mkdirSync(process.env.HOME + "/d" + d);
         for (let i = 0; i < 999; i++) fs.writeFileSync(process.env.HOME + "/d" + d + "/f" + i, String(i)); }`,
    );
    await provider.sleep(sb.id);
    const seen = await homeSeenBy(connectionId);
    expect(seen.count).toBe(60 * 1000);
    expect(seen.entries["d0/f998"]?.content ?? seen.entries["d0"]?.kind).toBeTruthy();
  }, 180_000);

  it("a home filled to its size cap comes back whole, and the caps still hold after restore", async () => {
    const connectionId = randomUUID();
    const sb = await boxWith(
      connectionId,
      `const h = process.env.HOME; let n = 0;
       try { for (;;) fs.writeFileSync(h + "/r" + n++, require("crypto").randomBytes(256 * 1024)); } catch (e) { if (e.code !== "ENOSPC") throw e; }
       return n;`,
      small,
    );
    await small.sleep(sb.id);
    expect(fs.statSync(archiveOf(connectionId)).size).toBeLessThanOrEqual(small_archive_cap());
    const check = await boxWith(
      connectionId,
      `const h = process.env.HOME; const files = fs.readdirSync(h).length;
       let more; try { fs.writeFileSync(h + "/more", Buffer.alloc(1024 * 1024)); more = "WROTE"; } catch (e) { more = e.code; }
       let inodes = 0; try { for (;;) { fs.writeFileSync(h + "/i" + inodes, ""); inodes++; } } catch (e) {}
       return { files, more, inodes };`,
      small,
    );
    await small.kill(check.id);
    expect(check.result.files).toBeGreaterThan(20);
    expect(check.result.more).toBe("ENOSPC");
    expect(check.result.files + check.result.inodes).toBeLessThanOrEqual(SMALL_HOME.homeInodes);
  });

  it("the largest archive a home can make (random data, 4 KB random paths in every inode) fits the cap", async () => {
    const connectionId = randomUUID();
    // Random data to the size cap, and every other inode a file whose random path is 4 KB long.
    const sb = await boxWith(
      connectionId,
      `const h = process.env.HOME, c = require("crypto");
       const name = () => Buffer.from([...c.randomBytes(250)].map((b) => (b === 0 || b === 47 ? 1 : b)));
       try { for (let n = 0; ; n++) fs.writeFileSync(h + "/r" + n, c.randomBytes(256 * 1024)); } catch (e) {}
       let d = Buffer.from(h); for (let i = 0; i < 15; i++) { d = Buffer.concat([d, Buffer.from("/"), name()]); fs.mkdirSync(d); }
       let n = 0; try { for (;; n++) fs.writeFileSync(Buffer.concat([d, Buffer.from("/"), name()]), ""); } catch (e) { if (e.code !== "ENOSPC") throw e; }
       return n;`,
      small,
    );
    expect(sb.result).toBeGreaterThan(1900);
    lost.length = 0;
    await small.sleep(sb.id);
    // The worst a home can do to its archive still fits the cap: the home's size plus 1 KiB a file.
    expect(fs.statSync(archiveOf(connectionId)).size).toBeGreaterThan(SMALL_HOME.homeMiB * 1024 * 1024);
    expect(fs.statSync(archiveOf(connectionId)).size).toBeLessThanOrEqual(small_archive_cap());
    const back = await boxWith(
      connectionId,
      `return cp.execFileSync("find", [process.env.HOME, "-printf", "x"]).length`,
      small,
    );
    await small.kill(back.id);
    expect(back.result).toBeGreaterThanOrEqual(sb.result + 15);
    expect(lost).toEqual([]);
  });
});

function small_archive_cap() {
  return SMALL_HOME.homeMiB * 1024 * 1024 + SMALL_HOME.homeInodes * 1024;
}
