import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp-dirs";
import { PROJECT, requireHost } from "./helpers";

/**
 * What a `network: true` sandbox reaches besides the public internet. Finding 3 of the hardening
 * issue: it reached the host's UDP services on the wildcard address through multicast and
 * broadcast (224.0.0.1, ff02::1…), which the rule against this host's own addresses did not cover.
 * And a hostile tenant's review: it reached private networks (the LAN, a cloud's internal
 * services). The exchange happens in namespaces the test makes (fixtures/host-network.ts): not a
 * packet leaves this machine.
 */
describe("a network sandbox beyond the public internet", () => {
  let seen: { sandbox: Record<string, string>; heard: { v4: string[]; v6: string[]; lan: string[] } };

  beforeAll(async () => {
    requireHost("bwrap", "setpriv", "bridge", "pasta", "nft", "network");
    const dataDir = tempDir("berth-network-");
    fs.chmodSync(dataDir, 0o700);
    try {
      const { stdout } = await promisify(execFile)(
        "/usr/bin/unshare",
        [
          "--net",
          "--mount",
          "--",
          process.execPath,
          "--import",
          "tsx",
          "tests/isolation/fixtures/host-network.ts",
          dataDir,
        ],
        { cwd: PROJECT, timeout: 60_000 },
      );
      seen = JSON.parse(stdout.trim().split("\n").pop() as string);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("reaches no listener of the host through multicast or broadcast addresses", () => {
    // The channel exists: an ordinary process's datagrams to these addresses reach the listeners.
    expect(seen.heard.v4).toContain("control 224.0.0.1");
    expect(seen.heard.v6).toContain("control ff02::1");
    // The sandbox tried (its sends left it) and nothing of it arrived.
    for (const t of ["224.0.0.1", "239.1.2.3", "255.255.255.255", "10.233.0.255", "ff02::1"]) {
      expect(seen.sandbox[t], t).toBeDefined();
    }
    expect([...seen.heard.v4, ...seen.heard.v6].filter((m) => m.startsWith("sandbox"))).toEqual([]);
  });

  it("reaches public addresses, the host's resolver for DNS, and no private network", () => {
    expect(seen.sandbox["tcp public"]).toBe("CONNECTED");
    expect(seen.heard.lan).toContain("tcp 203.0.113.2");
    expect(seen.heard.lan).toContain("udp 53 sandbox dns");
    expect(seen.sandbox["tcp private"]).not.toBe("CONNECTED");
    expect(seen.heard.lan.filter((m) => m.includes("private") || m === "tcp 10.233.0.2")).toEqual([]);
  });
});
