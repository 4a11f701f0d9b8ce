import { describe, expect, it } from "vitest";
import { owner, useSandboxes } from "./helpers";

/** The cgroup limits hold: a server cannot take the host's memory or fill its process table. */
describe("a sandboxed server's limits", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge", "cgroups"], {
    limits: { sandbox: { memoryMiB: 96, pids: 32, tmpMiB: 16 } },
  });

  const exec = (argv: string[]) =>
    suite.provider.exec({ argv, timeoutSeconds: 30, maxOutputBytes: 1 << 20, owner: owner("account-limits") });

  it("is killed when it takes more memory than its cgroup allows (off the V8 heap too)", async () => {
    const r = await exec([
      "node",
      "-e",
      "const a=[];for(let i=1;i<=40;i++){a.push(Buffer.alloc(16<<20,1));console.log(i*16)}console.log('SURVIVED')",
    ]);
    expect(r.stdout).not.toContain("SURVIVED");
    expect(r.exit_code).toBe(137); // SIGKILL by the OOM killer, as bwrap reports it
    const reached = Math.max(0, ...r.stdout.split("\n").filter(Boolean).map(Number));
    expect(reached).toBeLessThan(96);
  });

  it("caps the V8 heap below the memory limit (NODE_OPTIONS)", async () => {
    const r = await exec([
      "node",
      "-e",
      "console.log(process.env.NODE_OPTIONS, Math.round(require('v8').getHeapStatistics().heap_size_limit/1048576))",
    ]);
    const [opts, limit] = r.stdout.trim().split(" ");
    expect(opts).toBe("--max-old-space-size=72");
    // Old space 72 MiB plus the young generation; node's own default would be gigabytes.
    expect(Number(limit)).toBeLessThan(160);
  });

  it("cannot start more processes than its cgroup allows", async () => {
    const r = await exec([
      "/bin/sh",
      "-c",
      "n=0; while [ $n -lt 100 ]; do sleep 5 & n=$((n+1)); done; echo STARTED-ALL",
    ]);
    expect(r.stdout).not.toContain("STARTED-ALL");
    expect(r.stderr).toMatch(/fork|Resource temporarily unavailable/i);
  });

  it("has a private /tmp of bounded size", async () => {
    const r = await exec(["/bin/sh", "-c", "dd if=/dev/zero of=/tmp/big bs=1M count=64 2>&1; ls -l /tmp/big"]);
    expect(r.stdout).toMatch(/No space left on device/);
  });
});
