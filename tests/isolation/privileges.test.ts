import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { sandboxUid } from "@/lib/sandbox/bubblewrap";
import { attack, hostProcessesWith, sleeper, useSandboxes, waitFor } from "./helpers";

/** Processes, capabilities, namespaces: what an attacker's server can see and regain. */
describe("a sandboxed server's processes and privileges", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge", "disableUserns"]);

  it("sees only its own processes", async () => {
    const seen = await attack(
      suite.provider,
      "account-a",
      `const pids = fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p));
       return { pids, cmds: pids.map((p) => { try { return fs.readFileSync("/proc/" + p + "/cmdline", "utf8").replaceAll("\\0", " "); } catch (e) { return code(e); } }),
         ps: run("/usr/bin/ps", ["-e", "-o", "pid=,comm="]).out, killHost: (() => { try { process.kill(input.hostPid, 0); return "SIGNALLED"; } catch (e) { return code(e); } })(),
         hostname: require("os").hostname() };`,
      { hostPid: process.pid },
    );
    // bwrap's init (pid 1) and the script (pid 2), plus ps while it ran.
    expect(seen.pids.length).toBeLessThanOrEqual(3);
    expect(seen.cmds.join("\n")).not.toMatch(/postgres|vitest|redis|mariadb|process_api/);
    expect(seen.ps).not.toMatch(/postgres|vitest|redis|mariadb/);
    expect(seen.killHost).toBe("ESRCH");
    expect(seen.hostname).toBe("sandbox");
  });

  it("has no capabilities, no_new_privs, and cannot regain privileges", async () => {
    const seen = await attack(
      suite.provider,
      "account-a",
      `const status = fs.readFileSync("/proc/self/status", "utf8");
       const field = (n) => new RegExp("^" + n + ":\\\\s+(.*)$", "m").exec(status)[1].trim();
       return {
         caps: ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map(field), nnp: field("NoNewPrivs"), uid: field("Uid"),
         unshareUser: run("/usr/bin/unshare", ["--user", "--map-root-user", "/usr/bin/true"]),
         unshareMount: run("/usr/bin/unshare", ["--mount", "/usr/bin/true"]),
         unshareNet: run("/usr/bin/unshare", ["--net", "/usr/bin/true"]),
         mountTmpfs: run("/usr/bin/mount", ["-t", "tmpfs", "none", "/home/sandbox"]),
         umountTmp: run("/usr/bin/umount", ["/tmp"]),
         umountLazy: run("/usr/bin/umount", ["-l", "/etc/passwd"]),
         umountRoot: run("/usr/bin/umount", ["-l", "/"]),
         remountRw: run("/usr/bin/mount", ["-o", "remount,rw", "/usr"]),
         chroot: run("/usr/sbin/chroot", ["/", "/usr/bin/true"]),
         setuidRoot: run("/usr/bin/setpriv", ["--reuid", "0", "/usr/bin/true"]),
         su: run("/usr/bin/su", ["-c", "true"]),
         passwdWritable: write("/etc/passwd"),
         // The raw system calls, past any checks the util-linux tools make first.
         syscalls: run("/usr/bin/python3", ["-c", input.syscalls]).out,
       };`,
      { syscalls: SYSCALLS },
    );
    expect(seen.caps).toEqual(Array(5).fill("0000000000000000"));
    expect(seen.nnp).toBe("1");
    expect(seen.uid).toBe("1000\t1000\t1000\t1000");
    for (const k of [
      "unshareUser",
      "unshareMount",
      "unshareNet",
      "mountTmpfs",
      "umountTmp",
      "umountLazy",
      "umountRoot",
      "remountRw",
      "chroot",
      "setuidRoot",
      "su",
    ]) {
      expect.soft(seen[k].status, `${k}: ${JSON.stringify(seen[k])}`).not.toBe(0);
    }
    expect(seen.passwdWritable).not.toBe("WROTE");
    const calls = JSON.parse(seen.syscalls) as Record<string, string>;
    expect(Object.keys(calls)).toHaveLength(8);
    for (const [call, result] of Object.entries(calls)) expect.soft(result, call).not.toBe("ok");
  });

  it("runs as the account's own unprivileged host uid, without capabilities", async () => {
    const marker = `uid-marker-${Date.now()}`;
    const a = await sleeper(suite.provider, "account-a", `${marker}-a`);
    const b = await sleeper(suite.provider, "account-b", `${marker}-b`);
    try {
      const inA = await waitFor("account a's server", () => nodeOf(`${marker}-a`));
      const inB = await waitFor("account b's server", () => nodeOf(`${marker}-b`));
      expect(inA.uid).toBe(sandboxUid("account-a"));
      expect(inB.uid).toBe(sandboxUid("account-b"));
      expect(inA.uid).not.toBe(inB.uid);
      expect(inA.uid).toBeGreaterThanOrEqual(2_000_000_001);
      expect(inA.capEff).toBe("0000000000000000");
      // Every process between Berth and the server runs as that uid too: no root helper stays.
      const chain = ancestors(inA.pid);
      expect(chain.length).toBeGreaterThanOrEqual(2); // bwrap's monitor and its init at least
      for (const p of chain) expect(p.uid, p.cmd).toBe(sandboxUid("account-a"));
    } finally {
      await suite.provider.kill(a.id);
      await suite.provider.kill(b.id);
    }
  });
});

/** umount2/mount/unshare/setns straight through libc; prints {call: "ok" | errno name}. */
const SYSCALLS = `
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
def call(f, *args):
    return "ok" if f(*args) == 0 else errno.errorcode.get(ctypes.get_errno(), "?")
MNT_DETACH = 2
out = {}
for p in ["/tmp", "/etc/passwd", "/home/sandbox", "/usr", "/"]:
    out["umount2 " + p] = call(libc.umount2, p.encode(), MNT_DETACH)
out["mount tmpfs"] = call(libc.mount, b"none", b"/home/sandbox", b"tmpfs", 0, None)
out["unshare user"] = call(libc.unshare, 0x10000000)
out["unshare mount"] = call(libc.unshare, 0x00020000)
print(json.dumps(out))
`;

/** The processes between this test (Berth) and `pid`, excluding both. */
function ancestors(pid: number) {
  const chain: { uid: number; cmd: string }[] = [];
  for (let p = parentOf(pid); p && p !== process.pid; p = parentOf(p)) {
    const status = fs.readFileSync(`/proc/${p}/status`, "utf8");
    chain.push({
      uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]),
      cmd: fs.readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ").slice(0, 80),
    });
  }
  return chain;
}

function parentOf(pid: number) {
  return Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

function nodeOf(marker: string) {
  return hostProcessesWith(marker).find((p) => p.cmd.startsWith("node ") || p.cmd.startsWith("/usr/bin/node "));
}
