import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/temp-dirs";
import { owner, PROJECT, useSandboxes, waitFor, withTimeout } from "./helpers";

const POLICY_DIR = path.join(PROJECT, "lib/sandbox/seccomp");
const policy = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "policy.json"), "utf8")) as {
  deny: Record<string, string[]>;
  absent: { names: string[] };
};
const DENIED = Object.values(policy.deny).flat();
const ABSENT = policy.absent.names;

/** Python inside the sandbox, calling syscalls by number (resolved by libseccomp for this architecture). */
const PRELUDE = `
import ctypes, errno, json, os, sys, time, seccomp
libc = ctypes.CDLL(None, use_errno=True)
def nr(name): return seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
def call(name, *args):
    n = nr(name)
    if n < 0: return "absent"
    r = libc.syscall(n, *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return "ok" if r >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
`;

/**
 * Finding 2 of the hardening issue, and the rest of Docker's default-profile denials that matter
 * for tenants: a seccomp filter on every sandbox (lib/sandbox/seccomp/policy.json).
 */
describe("a sandboxed server's system calls", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge", "seccomp"]);

  const python = async (accountId: string, body: string) => {
    const r = await suite.provider.exec({
      argv: ["/usr/bin/python3", "-c", `${PRELUDE}\n${body}`],
      timeoutSeconds: 30,
      maxOutputBytes: 1 << 20,
      owner: owner(accountId),
    });
    if (r.exit_code !== 0) throw new Error(`python failed (${r.exit_code}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  it("cannot pass data to another tenant through a kernel keyring", async () => {
    // The receiving tenant makes a key anyone may write, says its serial, and watches it.
    const SECRET = `tenant-b-credential-${Date.now()}`;
    const receiver = await suite.provider.create({
      argv: [
        "/usr/bin/python3",
        "-c",
        `${PRELUDE}
serial = libc.syscall(nr("add_key"), b"user", b"berth-drop", b"empty", 5, ctypes.c_long(-2))
if serial < 0:
    print("ADD " + errno.errorcode.get(ctypes.get_errno(), "?"), file=sys.stderr, flush=True); sys.exit(0)
libc.syscall(nr("keyctl"), 5, serial, 0x3f3f3f3f)  # KEYCTL_SETPERM: everything for everyone
print("SERIAL %d" % serial, file=sys.stderr, flush=True)
buf = ctypes.create_string_buffer(256)
for _ in range(100):
    n = libc.syscall(nr("keyctl"), 11, serial, buf, 256)  # KEYCTL_READ
    if n > 0 and buf.raw[:n] != b"empty":
        print("READ " + buf.raw[:n].decode(), file=sys.stderr, flush=True); break
    time.sleep(0.05)
print("DONE", file=sys.stderr, flush=True)`,
      ],
      env: {},
      network: false,
      timeoutSeconds: 30,
      owner: owner("account-keys-a"),
    });
    const said = await waitFor("the receiver's key", () => /^(SERIAL \d+|ADD \w+)$/m.exec(receiver.stderrTail())?.[0]);
    // The sending tenant, without network, writes its credential into that key by serial.
    const serial = Number(said.split(" ")[1]) || 1;
    const sent = await python(
      "account-keys-b",
      `secret = ${JSON.stringify(SECRET)}.encode()
print(json.dumps({"update": call("keyctl", 2, ${serial}, secret, len(secret)), "add": call("add_key", b"user", b"x", b"y", 1, -2)}))`,
    );
    await withTimeout(receiver.exited, 15_000, "the receiver to finish");
    // Without the filter: "READ tenant-b-credential-…", the other tenant's secret.
    expect(receiver.stderrTail()).not.toContain(SECRET);
    expect(said).toBe("ADD EPERM");
    expect(sent).toEqual({ update: "EPERM", add: "EPERM" });
  });

  it("gets EPERM from every system call the policy denies", async () => {
    const seen = await python(
      "account-syscalls",
      `names = ${JSON.stringify(DENIED.filter((n) => n !== "ptrace"))}
status = open("/proc/self/status").read()
out = {"seccomp": [l.split()[1] for l in status.splitlines() if l.startswith("Seccomp:")][0]}
for n in names + ${JSON.stringify(ABSENT)}: out[n] = call(n, 0, 0, 0, 0, 0, 0)
# ptrace: attaching to the sandbox's own init (it could stop it: calls would hang on it)
out["ptrace"] = call("ptrace", 0x4206, 1, 0, 0)  # PTRACE_SEIZE
print(json.dumps(out))`,
    );
    expect(seen.seccomp).toBe("2"); // a filter is on
    for (const name of DENIED) {
      if (seen[name] !== "absent") expect.soft(seen[name], name).toBe("EPERM");
    }
    expect(seen.add_key).toBe("EPERM"); // present on every architecture Berth supports
    // inotify: shared files would show one tenant what another runs; programs fall back on ENOSYS.
    for (const name of ABSENT) if (seen[name] !== "absent") expect.soft(seen[name], name).toBe("ENOSYS");
  });

  it("keeps only the socket families, personas and ioctls a server needs", async () => {
    const seen = await python(
      "account-syscalls",
      `r, w = os.pipe()
print(json.dumps({
  "inet": call("socket", 2, 1, 0), "inet6": call("socket", 10, 2, 0), "unix": call("socket", 1, 1, 0),
  "netlink_route": call("socket", 16, 3, 0), "netlink_audit": call("socket", 16, 3, 9),
  "vsock": call("socket", 40, 1, 0), "packet": call("socket", 17, 3, 0), "alg": call("socket", 38, 5, 0),
  "inet_high_bits": call("socket", 0x100000002, 1, 0),
  "persona_query": call("personality", 0xffffffff), "persona_linux": call("personality", 0),
  "read_implies_exec": call("personality", 0x0400000), "mmap_page_zero": call("personality", 0x0100000),
  "fionread": call("ioctl", r, 0x541B, ctypes.byref(ctypes.c_int())), "tiocsti": call("ioctl", 0, 0x5412, ctypes.byref(ctypes.c_char(b"x"))),
  "getpid": call("getpid"),
}))`,
    );
    expect(seen).toEqual({
      inet: "ok",
      inet6: "ok",
      unix: "ok",
      netlink_route: "ok",
      netlink_audit: "EAFNOSUPPORT",
      vsock: "EAFNOSUPPORT", // not confined by any network namespace: it reaches the hypervisor
      packet: "EAFNOSUPPORT",
      alg: "EAFNOSUPPORT",
      inet_high_bits: "EAFNOSUPPORT",
      persona_query: "ok",
      persona_linux: "ok",
      read_implies_exec: "EPERM",
      mmap_page_zero: "EPERM",
      fionread: "ok",
      tiocsti: "EPERM",
      getpid: "ok",
    });
  });

  it("are filtered for servers with network too", async () => {
    const sandbox = await suite.provider.create({
      argv: [
        "/usr/bin/python3",
        "-c",
        `${PRELUDE}\nprint("RESULT", call("add_key", b"user", b"x", b"y", 1, -2), call("socket", 40, 1, 0), file=sys.stderr)`,
      ],
      env: {},
      network: true,
      timeoutSeconds: 30,
      owner: owner("account-syscalls"),
    });
    await withTimeout(sandbox.exited, 15_000, "the server to finish");
    expect(sandbox.stderrTail()).toContain("RESULT EPERM EAFNOSUPPORT");
  });

  it("uses the filters that scripts/seccomp/generate.py makes from the policy", () => {
    const out = tempDir("berth-seccomp-");
    try {
      execFileSync("/usr/bin/python3", [path.join(PROJECT, "scripts/seccomp/generate.py"), out], { stdio: "pipe" });
      for (const arch of ["x86_64", "aarch64"]) {
        const made = fs.readFileSync(path.join(out, `${arch}.bpf`));
        expect(made.equals(fs.readFileSync(path.join(POLICY_DIR, `${arch}.bpf`))), `${arch}.bpf is stale`).toBe(true);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
