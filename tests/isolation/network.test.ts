import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BubblewrapConfinement, sandboxUid } from "@/lib/sandbox/bubblewrap";
import { type HostReport, setprivDrop } from "@/lib/sandbox/host-probe";
import { LocalProvider } from "@/lib/sandbox/local";
import { tempDir } from "../support/temp-dirs";
import { attack, attackAsServer, bubblewrapProvider, fakeDataDir, requireHost } from "./helpers";

type Listener = { name: string; host: string; port: number; hits: number; close(): Promise<void> };

/** A TCP server of the test's own, counting the connections that reach it. */
async function listen(name: string, host: string): Promise<Listener> {
  const l = { name, host, port: 0, hits: 0 } as Listener;
  const server = net.createServer((c) => {
    l.hits++;
    c.on("error", () => {}); // the prober hangs up at once
    c.end("hello\n");
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, host, resolve));
  l.port = (server.address() as net.AddressInfo).port;
  l.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return l;
}

/** This host's own non-loopback addresses (the ones pasta or a careless bridge would reach). */
function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => !!a && !a.internal && a.family === "IPv4")
    .map((a) => a.address);
}

const ATTACK = `
  const results = await Promise.all(input.tcp.map(async (t) => [t.name, await connect({ host: t.host, port: t.port })]));
  const unix = await Promise.all(input.unix.map(async (p) => [p, await connect({ path: p })]));
  return { tcp: Object.fromEntries(results), unix: Object.fromEntries(unix), interfaces: Object.keys(require("os").networkInterfaces()) };
`;

/**
 * Neither a server without network nor one with it (pasta) reaches anything on this host:
 * PostgreSQL, the test's own TCP servers on loopback, on this host's other addresses and on
 * 0.0.0.0, nor Unix sockets. Every probe targets only 127.0.0.1, ::1 or this host's addresses,
 * and gives up after 1.5 s.
 */
describe("a sandboxed server and the host's network", () => {
  let report: HostReport;
  let data: Awaited<ReturnType<typeof fakeDataDir>>;
  let provider: LocalProvider;
  const listeners: Listener[] = [];
  let targets: { tcp: { name: string; host: string; port: number }[]; unix: string[] };

  beforeAll(async () => {
    report = requireHost("bwrap", "setpriv", "bridge", "pasta", "nft", "network");
    data = await fakeDataDir();
    provider = bubblewrapProvider(data.dir);
    listeners.push(await listen("loopback", "127.0.0.1"));
    listeners.push(await listen("any", "0.0.0.0"));
    try {
      listeners.push(await listen("loopback6", "::1"));
    } catch {
      // no IPv6 loopback on this host
    }
    const addresses = hostAddresses();
    for (const a of addresses) listeners.push(await listen(`host ${a}`, a));
    const tcp = listeners.map((l) => ({
      name: l.name,
      host: l.host === "0.0.0.0" ? "127.0.0.1" : l.host,
      port: l.port,
    }));
    for (const a of addresses) {
      const any = listeners.find((l) => l.name === "any") as Listener;
      tcp.push({ name: `any via ${a}`, host: a, port: any.port });
    }
    tcp.push({ name: "postgres", host: "127.0.0.1", port: 5432 });
    if (!addresses.length) console.warn("This host has no non-loopback IPv4 address: only loopback is probed.");
    targets = { tcp, unix: [data.sock, "/run/postgresql/.s.PGSQL.5432", "/var/run/postgresql/.s.PGSQL.5432"] };
  });
  afterAll(async () => {
    await provider?.shutdown();
    await Promise.all(listeners.map((l) => l.close()));
    await data?.cleanup();
  });

  const expectNothingReached = (seen: { tcp: Record<string, string>; unix: Record<string, string> }) => {
    for (const t of targets.tcp) expect.soft(seen.tcp[t.name], `${t.name} ${t.host}:${t.port}`).not.toBe("CONNECTED");
    for (const p of targets.unix) expect.soft(seen.unix[p], p).not.toBe("CONNECTED");
    for (const l of listeners) expect.soft(l.hits, `${l.name} was reached`).toBe(0);
    expect(data.hits.count).toBe(0);
  };

  it("without network: only a loopback of its own", async () => {
    const seen = await attack(provider, "account-net", ATTACK, targets);
    expect(seen.interfaces).toEqual(["lo"]);
    expectNothingReached(seen);
  });

  it("without network, started as a server (create)", async () => {
    const seen = await attackAsServer(provider, "account-net", ATTACK, targets, false);
    expect(seen.interfaces).toEqual(["lo"]);
    expectNothingReached(seen);
  });

  it("with network (pasta): an interface to the outside, and still nothing of this host", async () => {
    const seen = await attackAsServer(provider, "account-net", ATTACK, targets, true);
    expect(seen.interfaces.filter((i: string) => i !== "lo").length).toBeGreaterThan(0);
    expectNothingReached(seen);
  });

  it("the nftables rule rejects a sandbox uid's connections to this host, and only those", async () => {
    // pasta makes the host-side connections for a network sandbox, as the sandbox's uid: this is
    // what stops it should it be asked for one of this host's addresses.
    const uid = sandboxUid("account-net");
    const probe = (host: string, port: number) =>
      `const s=require("net").connect(${port},${JSON.stringify(host)});s.on("connect",()=>{console.log("CONNECTED");process.exit(0)});s.on("error",e=>{console.log(e.code);process.exit(0)});setTimeout(()=>{console.log("TIMEOUT");process.exit(0)},1500)`;
    // Async: the test's servers must keep accepting while the probes run.
    const run = promisify(execFile);
    const asSandboxUid = async (host: string, port: number) =>
      (
        await run(
          report.setpriv.path as string,
          [...setprivDrop(uid), "--", process.execPath, "-e", probe(host, port)],
          {
            cwd: "/",
            timeout: 10_000,
          },
        )
      ).stdout.trim();
    const loop = listeners.find((l) => l.name === "loopback") as Listener;
    const any = listeners.find((l) => l.name === "any") as Listener;
    expect(await asSandboxUid("127.0.0.1", loop.port)).toBe("ECONNREFUSED");
    for (const a of hostAddresses()) expect(await asSandboxUid(a, any.port), a).toBe("ECONNREFUSED");
    expect(await asSandboxUid("127.0.0.1", 5432)).toBe("ECONNREFUSED");
    expect(loop.hits + any.hits).toBe(0);
    // The same connection from an ordinary uid goes through: the rule is about sandbox uids only.
    const ordinary = await run(process.execPath, ["-e", probe("127.0.0.1", loop.port)]);
    expect(ordinary.stdout.trim()).toBe("CONNECTED");
    expect(loop.hits).toBe(1);
    loop.hits = 0;
    const ruleset = (await run(report.nft.path as string, ["list", "table", "inet", "berth_sandbox"])).stdout;
    expect(ruleset).toMatch(
      /meta skuid 2000000000-2099999999 fib daddr type \{ local, broadcast, anycast, multicast \} reject/,
    );
  });

  it("refuses to deploy a network server when networking is missing, never falling back to the host's", async () => {
    const crippled: HostReport = {
      ...report,
      pasta: { ok: false, detail: "pasta not found (Debian package passt)" },
      network: { ok: false, detail: "pasta not found (Debian package passt)" },
    };
    const root = tempDir("berth-nonet-");
    const p = new LocalProvider(root, new BubblewrapConfinement(crippled, { preparedRoot: root }));
    await expect(
      p.create({
        argv: ["node", "-e", "0"],
        env: {},
        network: true,
        timeoutSeconds: 10,
        owner: { installation: "t", accountId: "a" },
      }),
    ).rejects.toThrow(/needs network access.*apt-get install passt nftables/);
    expect(fs.readdirSync(root)).toEqual([]);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
