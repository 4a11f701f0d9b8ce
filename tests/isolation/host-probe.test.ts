import fs from "node:fs";
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
import { tempDir } from "../support/temp-dirs";
import { PROJECT, requireHost } from "./helpers";

describe("the host probe", () => {
  it("finds every protection on this host (the test command installs what is missing)", () => {
    const report = requireHost(
      "bwrap",
      "setpriv",
      "bridge",
      "disableUserns",
      "seccomp",
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

  it("are all covered by the nftables rules, which let only the public internet through", () => {
    const uids = `meta skuid ${SANDBOX_UID_BASE}-${SANDBOX_UID_BASE + SANDBOX_UID_SPAN - 1}`;
    const rules = nftRuleset();
    expect(rules).toContain(`${uids} fib daddr type { local, broadcast, anycast, multicast } reject`);
    expect(rules).toMatch(
      new RegExp(
        `${uids} ip daddr \\{ 0\\.0\\.0\\.0/8, 10\\.0\\.0\\.0/8, .*224\\.0\\.0\\.0/4, 240\\.0\\.0\\.0/4 \\} reject`,
      ),
    );
    expect(rules).toMatch(
      new RegExp(`${uids} ip6 daddr \\{ ::/127, .*fc00::/7, fe80::/10, fec0::/10, ff00::/8 \\} reject`),
    );
    // DNS to this host's resolvers, and only that, goes first.
    expect(nftRuleset(["10.1.2.3", "fd00::53"])).toContain(
      `${uids} ip daddr { 10.1.2.3 } meta l4proto { tcp, udp } th dport 53 accept\n    ${uids} ip6 daddr { fd00::53 }`,
    );
  });
});

describe("the command Berth spawns", () => {
  const report = () => requireHost("bwrap", "setpriv", "bridge", "network", "seccomp");
  const box = (network: boolean): LocalBox => ({
    id: "lcl-00000000-0000-0000-0000-000000000000",
    dir: tempDir("berth-cmd-"),
    owner: { installation: "i", accountId: "acct-$(touch /tmp/pwned)" },
    network,
  });
  const confinement = () =>
    new BubblewrapConfinement(
      { ...report(), cgroups: { ok: false, detail: "off" } },
      { preparedRoot: path.join(PROJECT, "node_modules") },
    );
  const server = [
    process.execPath,
    path.join(PROJECT, "node_modules/@modelcontextprotocol/server-memory/dist/index.js"),
  ];
  const SECRET = "ghp_SECRET-OF-THE-CHAIN-TEST";

  it("runs Berth's packages at neutral paths, with no network of any kind by default", async () => {
    const b = box(false);
    const confined = await confinement().prepare(b);
    const { argv } = confined.launch(server, { TOKEN: SECRET });
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
    const uid = sandboxUid(b.owner.accountId);
    expect(argv).toContain(String(uid));
    // The home: a tmpfs of the chain's own mount namespace, capped, owned by the account's uid.
    expect(argv).toContain(`size=${256 * 1024 * 1024},nr_inodes=65536,mode=0700,uid=${uid},gid=${uid},nosuid,nodev`);
    expect(confined.home).toBe("/home/sandbox");
    fs.rmSync(b.dir, { recursive: true, force: true });
  });

  it("hands the server's environment to bwrap through a file descriptor, never to the chain or its argv", async () => {
    const b = box(false);
    const confined = await confinement().prepare(b);
    const launch = confined.launch(server, { TOKEN: SECRET, LD_PRELOAD: "/tmp/evil.so" });
    // What root's part of the chain runs with: nothing of the server's.
    expect(launch.env).toEqual({ PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
    expect(launch.argv.join("\n")).not.toContain(SECRET);
    expect(launch.argv.join("\n")).not.toContain("evil");
    const bwrap = launch.argv.findIndex((a) => a.endsWith("/bwrap"));
    expect(launch.argv.slice(bwrap + 1, bwrap + 5)).toEqual(["--args", "3", "--seccomp", "4"]);
    // fd 3: bwrap's own option list, NUL-separated, that starts from an empty environment.
    const args = (launch.inputs[0] as Buffer).toString().split("\0");
    expect(args.slice(0, 1)).toEqual(["--clearenv"]);
    expect(args).toEqual(expect.arrayContaining(["--setenv", "TOKEN", SECRET]));
    expect(launch.inputs[1]?.length).toBeGreaterThan(0); // fd 4: the seccomp filter
    // A NUL in a value would start another bwrap option: refused outright.
    expect(() => confined.launch(server, { TOKEN: "x\0--bind\0/\0/host" })).toThrow(/NUL/);
    fs.rmSync(b.dir, { recursive: true, force: true });
  });

  it("puts hardened pasta in front of bwrap for servers that need the network", async () => {
    const b = box(true);
    const confined = await confinement().prepare(b);
    const { argv } = confined.launch(["node", "-e", "0"], {});
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
