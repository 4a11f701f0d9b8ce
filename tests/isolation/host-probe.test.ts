import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BubblewrapConfinement, sandboxUid } from "@/lib/sandbox/bubblewrap";
import {
  type HostReport,
  localWarnings,
  nftRuleset,
  PROBE_UID,
  probeHost,
  SANDBOX_UID_BASE,
  SANDBOX_UID_SPAN,
} from "@/lib/sandbox/host-probe";
import type { LocalBox } from "@/lib/sandbox/local";
import { PROJECT, requireHost } from "./helpers";

describe("the host probe", () => {
  it("finds every protection on this host (the test command installs what is missing)", () => {
    const report = requireHost(
      "bwrap",
      "setpriv",
      "bridge",
      "disableUserns",
      "cgroups",
      "tun",
      "pasta",
      "nft",
      "network",
    );
    expect(report.root).toBe(true);
    expect(localWarnings(report)).toEqual([]);
    // Once per process: later calls answer the same report without probing again.
    expect(probeHost()).toBe(report);
  });

  it("warns about each missing protection, with what to install", () => {
    const report = probeHost();
    const crippled: HostReport = {
      ...report,
      cgroups: { ok: false, detail: "no cgroup hierarchy with the memory and pids controllers" },
      pasta: { ok: false, detail: "pasta not found (Debian package passt)" },
      network: { ok: false, detail: "pasta not found (Debian package passt)" },
    };
    const w = localWarnings(crippled).join("\n");
    expect(w).toMatch(/memory and process limits are NOT enforced/);
    expect(w).toMatch(/network: true\) will fail to deploy.*apt-get install passt nftables/);
    expect(localWarnings({ ...report, bwrap: { ok: false, detail: "bwrap not found" } })).toEqual([
      "Sandboxes are NOT isolated: bwrap not found.",
    ]);
  });
});

describe("sandbox uids", () => {
  it("are stable per account, distinct between accounts, in Berth's range and never the probe's", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `account-${i}`);
    const uids = ids.map(sandboxUid);
    expect(ids.map(sandboxUid)).toEqual(uids);
    expect(new Set(uids).size).toBe(uids.length);
    for (const u of uids) {
      expect(u).toBeGreaterThan(PROBE_UID);
      expect(u).toBeLessThan(SANDBOX_UID_BASE + SANDBOX_UID_SPAN);
      expect(u).toBeLessThan(2 ** 31);
    }
  });

  it("are all covered by the nftables rule", () => {
    expect(nftRuleset()).toContain(
      `meta skuid ${SANDBOX_UID_BASE}-${SANDBOX_UID_BASE + SANDBOX_UID_SPAN - 1} fib daddr type local reject`,
    );
  });
});

describe("the command Berth spawns", () => {
  const report = () => requireHost("bwrap", "setpriv", "bridge", "network");
  const box = (network: boolean): LocalBox => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cmd-"));
    fs.mkdirSync(path.join(dir, "home"));
    return {
      id: "lcl-00000000-0000-0000-0000-000000000000",
      dir,
      home: path.join(dir, "home"),
      owner: { installation: "i", accountId: "acct-$(touch /tmp/pwned)" },
      network,
    };
  };
  const server = [
    process.execPath,
    path.join(PROJECT, "node_modules/@modelcontextprotocol/server-memory/dist/index.js"),
  ];

  it("runs Berth's packages at neutral paths, with no network of any kind by default", async () => {
    const b = box(false);
    const confined = await new BubblewrapConfinement({ ...report(), cgroups: { ok: false, detail: "off" } }).prepare(b);
    const argv = confined.command(server);
    // node is under /usr on this host, so it keeps its path; elsewhere it is /opt/berth/node/bin/node.
    expect(argv.slice(-2)).toEqual([
      fs.realpathSync(process.execPath),
      "/opt/berth/node_modules/@modelcontextprotocol/server-memory/dist/index.js",
    ]);
    expect(argv).toContain("--unshare-net");
    expect(argv).not.toContain("--share-net");
    expect(argv.some((a) => a.includes("pasta"))).toBe(false);
    // Root's part of the chain is fixed text: paths are its arguments, the account never in it.
    const script = argv[argv.indexOf("-c") + 1] as string;
    expect(script).not.toContain(b.dir);
    expect(argv.join(" ")).not.toContain("acct-");
    expect(argv).toContain(String(sandboxUid(b.owner.accountId)));
    expect(confined.home).toBe("/home/sandbox");
    expect(fs.statSync(b.home).uid).toBe(sandboxUid(b.owner.accountId));
    fs.rmSync(b.dir, { recursive: true, force: true });
  });

  it("puts hardened pasta in front of bwrap for servers that need the network", async () => {
    const b = box(true);
    const confined = await new BubblewrapConfinement({ ...report(), cgroups: { ok: false, detail: "off" } }).prepare(b);
    const argv = confined.command(["node", "-e", "0"]);
    const pasta = argv.findIndex((a) => a.endsWith("/pasta"));
    expect(pasta).toBeGreaterThan(argv.indexOf("--reuid")); // runs as the sandbox's uid
    expect(argv.slice(pasta + 1, pasta + 13)).toEqual([
      "-f",
      "--config-net",
      "-q",
      "-t",
      "none",
      "-u",
      "none",
      "-T",
      "none",
      "-U",
      "none",
      "--no-map-gw",
    ]);
    expect(argv).not.toContain("--unshare-net");
    fs.rmSync(b.dir, { recursive: true, force: true });
  });
});
