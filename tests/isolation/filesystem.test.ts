import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "@/lib/sandbox/provider";
import { tempDir } from "../support/temp-dirs";
import {
  attack,
  bubblewrapProvider,
  DENIED,
  homeOf,
  owner,
  PROJECT,
  serverProcess,
  sleeper,
  useSandboxes,
  waitFor,
} from "./helpers";

/** What an attacker's server sees of the host's files: only /usr, a few /etc files, node, its home. */
describe("a sandboxed server and the host's files", () => {
  const suite = useSandboxes(["bwrap", "setpriv", "bridge"]);
  let victim: Sandbox;
  let victimHome: string;

  beforeAll(async () => {
    // Another account's server, keeping a secret in its home.
    victim = await sleeper(
      suite.provider,
      "account-victim",
      "victim-marker",
      `require("fs").writeFileSync("secret.txt", "VICTIM-SECRET")`,
    );
    // On the host the victim's home is only a mount point: its tmpfs lives in the sandbox's namespace.
    victimHome = path.join(suite.data.dir, "sandboxes", victim.id, "home");
    const pid = (await waitFor("the victim", () => serverProcess("victim-marker"))).pid;
    await waitFor("the victim's secret", () =>
      fs.existsSync(path.join(homeOf(pid), "secret.txt")) ? true : undefined,
    );
  });

  it("cannot read the data dir, the keys, pgdata or other sandboxes, by any path", async () => {
    const targets = [
      suite.data.dir,
      path.join(suite.data.dir, "encryption-keys"),
      path.join(suite.data.dir, "session-secret"),
      path.join(suite.data.dir, "pgdata", "PG_VERSION"),
      path.join(suite.data.dir, "sandboxes"),
      path.join(victimHome, "secret.txt"),
      victimHome,
      "/root",
      "/root/.bashrc",
      PROJECT,
      path.join(PROJECT, "lib/node.ts"),
      path.join(PROJECT, ".env"),
      "/work",
      "/etc/shadow",
      "/etc/ssh",
      "/etc/postgresql",
      "/etc/ssl/private",
      "/etc/npmrc",
      "/run",
      "/var/run/postgresql",
      "/var/lib/postgresql",
      "/sys/fs/cgroup",
      "/proc/1/root/root",
      "/home/sandbox/../../root",
      "/opt/berth/node_modules/../../../root",
    ];
    const seen = await attack(
      suite.provider,
      "account-attacker",
      `return Object.fromEntries(input.targets.map((p) => [p, fs.existsSync(p) && fs.statSync(p).isDirectory() ? list(p) : read(p)]));`,
      { targets },
    );
    for (const t of targets) expect.soft(DENIED, `${t}: ${seen[t]}`).toContain(seen[t]);
  });

  it("cannot read another sandbox of the same account either (same uid, separate mounts)", async () => {
    const seen = await attack(
      suite.provider,
      "account-victim",
      `return { file: read(input.file), home: list(input.home), mine: list("/home") };`,
      { file: path.join(victimHome, "secret.txt"), home: victimHome },
    );
    expect(DENIED).toContain(seen.file);
    expect(DENIED).toContain(seen.home);
    expect(seen.mine).toBe("LISTED:sandbox");
  });

  it("sees only /usr, the /bin… links, a few /etc files, node's packages and its own home", async () => {
    const seen = await attack(
      suite.provider,
      "account-attacker",
      `return { root: fs.readdirSync("/").sort(), etc: fs.readdirSync("/etc").sort(), opt: list("/opt/berth"),
        passwd: fs.readFileSync("/etc/passwd", "utf8"), modules: fs.existsSync("/opt/berth/node_modules/@modelcontextprotocol/server-memory/package.json") };`,
    );
    expect(seen.root).toEqual(expect.arrayContaining(["usr", "etc", "home", "opt", "proc", "dev", "tmp"]));
    for (const name of seen.root)
      expect([
        "bin",
        "dev",
        "etc",
        "home",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "opt",
        "proc",
        "sbin",
        "tmp",
        "usr",
      ]).toContain(name);
    for (const name of seen.etc) {
      expect([
        "alternatives",
        "gai.conf",
        "group",
        "host.conf",
        "hosts",
        "ld.so.cache",
        "ld.so.conf",
        "ld.so.conf.d",
        "localtime",
        "nsswitch.conf",
        "os-release",
        "passwd",
        "protocols",
        "resolv.conf",
        "services",
        "ssl",
        "timezone",
      ]).toContain(name);
    }
    expect(seen.passwd).not.toContain("postgres");
    expect(seen.passwd).toContain("sandbox:x:1000:1000:sandbox:/home/sandbox");
    expect(seen.opt).toBe("LISTED:node_modules");
    expect(seen.modules).toBe(true);
  });

  it("has a writable home as HOME and cwd, a private /tmp, and everything else read-only", async () => {
    const seen = await attack(
      suite.provider,
      "account-attacker",
      `return { home: process.env.HOME, cwd: process.cwd(), tmpdir: process.env.TMPDIR, uid: process.getuid(),
        user: require("os").userInfo().username, writeHome: write("/home/sandbox/note.txt"), writeTmp: write("/tmp/x"),
        writeUsr: write("/usr/x"), writeModules: write("/opt/berth/node_modules/x"), writeEtc: write("/etc/passwd"),
        writeRoot: write("/x"), tmp: list("/tmp") };`,
    );
    expect(seen).toMatchObject({
      home: "/home/sandbox",
      cwd: "/home/sandbox",
      tmpdir: "/tmp",
      uid: 1000,
      user: "sandbox",
      writeHome: "WROTE",
      writeTmp: "WROTE",
      tmp: "LISTED:x",
    });
    for (const k of ["writeUsr", "writeModules", "writeEtc", "writeRoot"]) expect(DENIED).toContain(seen[k]);
  });

  it("works wherever Berth's files live, e.g. under /root (0700): nothing on the host is opened up", async () => {
    // A project and a data dir no other uid can reach, as under /root.
    const hidden = tempDir("berth-private-");
    fs.chmodSync(hidden, 0o700);
    const modules = path.join(hidden, "project", "node_modules");
    fs.mkdirSync(path.join(modules, "private-pkg"), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(modules, "private-pkg", "index.js"), "console.log('PRIVATE-PKG-RAN', process.cwd())");
    const dataDir = path.join(hidden, "data");
    fs.mkdirSync(dataDir, { mode: 0o700 });
    const p = bubblewrapProvider(dataDir, { preparedRoot: modules });
    try {
      const r = await p.exec({
        argv: [process.execPath, path.join(modules, "private-pkg", "index.js")], // as start-command.ts resolves it
        timeoutSeconds: 30,
        maxOutputBytes: 4096,
        owner: owner("account-private"),
      });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("PRIVATE-PKG-RAN /home/sandbox");
      expect(fs.statSync(hidden).mode & 0o777).toBe(0o700);
      expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    } finally {
      await p.shutdown();
      fs.rmSync(hidden, { recursive: true, force: true });
    }
  });

  it("leaves the data dir's permissions as they were", () => {
    expect(fs.statSync(suite.data.dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(suite.data.dir, "encryption-keys")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(suite.data.dir, "pgdata")).mode & 0o777).toBe(0o700);
  });
});
