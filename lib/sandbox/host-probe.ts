import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { type CgroupLayout, cgroupDirs, enableControllers, makeCgroup, removeCgroup, sweepCgroups } from "./cgroups";
import { seccompProgram } from "./seccomp";

/**
 * What this host can do for local sandboxes, found out once when Berth starts (a few tens of
 * milliseconds, plus one real pasta start when pasta is installed): bubblewrap as an
 * unprivileged uid, setpriv, cgroups, pasta, nftables, /dev/net/tun. bubblewrap.ts builds its
 * sandboxes from this report, `describe()` shows it in the start-up banner, `localWarnings()` turns the
 * gaps into start-up warnings.
 */

/**
 * Sandbox uids: one per account, derived from the account id into [BASE+1, BASE+SPAN).
 * Far above the usual ranges: regular users (< 60000) and the /etc/subuid ranges that rootless
 * containers use (100000–165535 and up). Below 2^31 because some tools read uids as int32.
 * BASE itself is the probe's uid and never an account's.
 */
export const SANDBOX_UID_BASE = 2_000_000_000;
export const SANDBOX_UID_SPAN = 100_000_000;
export const PROBE_UID = SANDBOX_UID_BASE;

/** The nftables table Berth owns: it rejects traffic from every sandbox uid to this host. */
export const NFT_TABLE = "berth_sandbox";

export type Check = { ok: boolean; detail: string };

export type HostReport = {
  /** Berth runs as root: sandboxes get their own uids, the nft rule and cgroups can be set up. */
  root: boolean;
  kernel: string;
  bwrap: Check & { path?: string; version?: string };
  setpriv: Check & { path?: string };
  /** As root: `unshare --mount` + `mount --bind`, which hand Berth's files to the sandbox's bwrap. */
  bridge: Check & { unshare?: string; mount?: string };
  /** `--disable-userns`: the sandbox cannot make user namespaces of its own. */
  disableUserns: Check;
  /** bwrap loads Berth's seccomp filter (lib/sandbox/seccomp/) for this architecture. */
  seccomp: Check;
  cgroups: Check & { layout?: CgroupLayout };
  tun: Check;
  pasta: Check & { path?: string };
  nft: Check & { path?: string };
  /** Outbound network for `network: true` servers: hardened pasta plus the nft rule. */
  network: Check;
  probeMs: number;
};

const SYSTEM_DIRS = ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin"];

/** A system binary by absolute path (never looked up through Berth's own PATH). */
export function findBinary(name: string): string | undefined {
  for (const dir of SYSTEM_DIRS) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The /bin, /lib… entries of `/`: symlinks into /usr on merged-/usr systems, else directories. */
export function rootLinks(): { name: string; link?: string }[] {
  return ["bin", "sbin", "lib", "lib32", "lib64", "libx32"].flatMap((name) => {
    const p = `/${name}`;
    try {
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) return [{ name, link: fs.readlinkSync(p) }];
      if (st.isDirectory()) return [{ name }];
    } catch {
      // absent
    }
    return [];
  });
}

/** The minimal bwrap arguments the probes use: /usr and the root links, nothing else. */
function minimalView(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const l of rootLinks())
    args.push(...(l.link ? ["--symlink", l.link, `/${l.name}`] : ["--ro-bind", `/${l.name}`, `/${l.name}`]));
  return [...args, "--proc", "/proc", "--dev", "/dev"];
}

const PROBE_ENV: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" };

/**
 * Runs a probe. `fds` are handed to it as file descriptors 3, 4… as a sandbox's start chain
 * gets them (spawnSync cannot write to extra pipes: they go through files of a private temp dir).
 */
function run(argv: string[], opts: { input?: string; timeoutMs?: number; fds?: Buffer[] } = {}) {
  const files = opts.fds?.length ? fs.mkdtempSync(path.join(os.tmpdir(), "berth-probe-")) : undefined;
  const fds = (opts.fds ?? []).map((data, i) => {
    const file = path.join(files as string, String(i));
    fs.writeFileSync(file, data, { mode: 0o600 });
    return fs.openSync(file, "r");
  });
  try {
    const r = spawnSync(argv[0] as string, argv.slice(1), {
      input: opts.input,
      encoding: "utf8",
      timeout: opts.timeoutMs ?? 10_000,
      env: PROBE_ENV as NodeJS.ProcessEnv,
      cwd: "/",
      stdio: ["pipe", "pipe", "pipe", ...fds],
    });
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`
      .split("\n")
      .filter((l) => l && !l.startsWith("Failed to send")) // pasta's complaints about a missing syslog
      .join("; ");
    return {
      ok: r.status === 0,
      all: out,
      out: r.error ? r.error.message : out.slice(0, 300) || `exit ${r.status ?? r.signal}`,
    };
  } finally {
    for (const fd of fds) fs.closeSync(fd);
    if (files) fs.rmSync(files, { recursive: true, force: true });
  }
}

let cached: HostReport | undefined;

/** Probes the host once per process; later calls answer the same report. */
export function probeHost(opts: { fresh?: boolean } = {}): HostReport {
  if (!cached || opts.fresh) cached = probe();
  return cached;
}

function probe(): HostReport {
  const started = performance.now();
  const root = process.getuid?.() === 0;
  const setprivPath = findBinary("setpriv");
  const bwrapPath = findBinary("bwrap");
  const setpriv: HostReport["setpriv"] = !setprivPath
    ? { ok: false, detail: "setpriv not found (util-linux)" }
    : run([setprivPath, "--help"]).all.includes("--pdeathsig")
      ? { ok: true, detail: "setpriv with --pdeathsig", path: setprivPath }
      : { ok: false, detail: "setpriv is too old (no --pdeathsig; util-linux >= 2.33 needed)", path: setprivPath };
  // Everything that runs as a sandbox uid starts like this (as root: switch to the probe uid).
  const asSandboxUid = root && setpriv.ok ? [setprivPath as string, ...setprivDrop(PROBE_UID), "--"] : [];

  const bridge = root ? probeBridge() : { ok: false, detail: "not needed: Berth is not root" };

  let bwrap: HostReport["bwrap"];
  let disableUserns: Check = { ok: false, detail: "not probed: bubblewrap is not usable" };
  let seccomp: Check = { ok: false, detail: "not probed: bubblewrap is not usable" };
  const program = seccompProgram();
  if (!bwrapPath) bwrap = { ok: false, detail: "bwrap not found" };
  else if (root && !setpriv.ok) bwrap = { ok: false, detail: `cannot start it unprivileged: ${setpriv.detail}` };
  else if (root && !bridge.ok) bwrap = { ok: false, detail: `cannot hand it Berth's files: ${bridge.detail}` };
  else {
    const version = run([bwrapPath, "--version"]).out.replace(/^bubblewrap\s*/, "");
    const base = [bwrapPath, ...SANDBOX_FLAGS, "--unshare-net"];
    // As every sandbox starts: its environment through --args, never inherited nor on argv.
    const r = run([...asSandboxUid, ...base, ...handoverFlags(false), ...minimalView(), "--", ...HANDOVER_CHECK, ""], {
      fds: [PROBE_ARGS],
    });
    bwrap = r.ok
      ? {
          ok: true,
          detail: `bubblewrap ${version} works as an unprivileged uid (user namespaces)`,
          path: bwrapPath,
          version,
        }
      : { ok: false, detail: `bwrap as an unprivileged uid failed: ${r.out}`, path: bwrapPath, version };
    if (bwrap.ok) {
      const d = run([...asSandboxUid, ...base, "--disable-userns", ...minimalView(), "--", "/usr/bin/true"]);
      disableUserns = d.ok
        ? { ok: true, detail: "nested user namespaces disabled inside sandboxes" }
        : { ok: false, detail: `--disable-userns unsupported (bubblewrap >= 0.8 needed): ${d.out}` };
      if (!program) seccomp = { ok: false, detail: `no seccomp filter for this architecture (${process.arch})` };
      else {
        const f = run(
          [...asSandboxUid, ...base, ...handoverFlags(true), ...minimalView(), "--", ...HANDOVER_CHECK, "filtered"],
          { fds: [PROBE_ARGS, program] },
        );
        seccomp = f.ok
          ? { ok: true, detail: `seccomp filter loaded (${program.length / 8} BPF instructions)` }
          : { ok: false, detail: `bwrap could not load the seccomp filter: ${f.out}` };
      }
    }
  }

  const cgroups = root ? probeCgroups() : { ok: false, detail: "Berth is not root: cannot create cgroups" };
  const tun = probeTun(root);

  const pastaPath = findBinary("pasta");
  let pasta: HostReport["pasta"];
  if (!pastaPath) pasta = { ok: false, detail: "pasta not found (Debian package passt)" };
  else if (!bwrap.ok) pasta = { ok: false, detail: "not probed: bubblewrap is not usable", path: pastaPath };
  else if (!root) pasta = { ok: false, detail: "not used: without root there is no nft rule to go with it" };
  else if (!tun.ok) pasta = { ok: false, detail: `needs /dev/net/tun: ${tun.detail}`, path: pastaPath };
  else {
    // A real start, as the sandboxes use it: pasta as a sandbox uid, bwrap inside its namespace,
    // the environment and filter handed through pasta as file descriptors.
    const filtered = seccomp.ok && program;
    const r = run(
      [
        ...asSandboxUid,
        pastaPath,
        ...PASTA_ARGS,
        "--",
        bwrapPath as string,
        ...SANDBOX_FLAGS,
        ...handoverFlags(Boolean(filtered)),
        ...(disableUserns.ok ? ["--disable-userns"] : []),
        ...minimalView(),
        "--",
        ...HANDOVER_CHECK,
        filtered ? "filtered" : "",
      ],
      { timeoutMs: 15_000, fds: filtered ? [PROBE_ARGS, program] : [PROBE_ARGS] },
    );
    pasta = r.ok
      ? { ok: true, detail: "pasta works as a sandbox uid (no port forwarding, no gateway mapping)", path: pastaPath }
      : {
          ok: false,
          detail: `pasta failed (or did not pass the sandbox's file descriptors on): ${r.out}`,
          path: pastaPath,
        };
  }

  const nftPath = findBinary("nft");
  let nft: HostReport["nft"];
  if (!nftPath) nft = { ok: false, detail: "nft not found (Debian package nftables)" };
  else if (!root) nft = { ok: false, detail: "Berth is not root: cannot install the nftables rule", path: nftPath };
  else {
    const r = run([nftPath, "-f", "-"], { input: nftRuleset(hostResolvers(), hostSubnets()) });
    nft = r.ok
      ? {
          ok: true,
          detail: `table inet ${NFT_TABLE}: sandbox uids ${SANDBOX_UID_BASE}-${SANDBOX_UID_BASE + SANDBOX_UID_SPAN - 1} reach only the public internet (and DNS to this host's resolvers)`,
          path: nftPath,
        }
      : { ok: false, detail: `installing the nftables rule failed: ${r.out}`, path: nftPath };
  }
  const network: Check =
    pasta.ok && nft.ok
      ? {
          ok: true,
          detail:
            "the public internet through pasta; this host, its networks, private ranges and multicast rejected by nftables",
        }
      : {
          ok: false,
          detail: [pasta, nft]
            .filter((c) => !c.ok)
            .map((c) => c.detail)
            .join("; "),
        };

  return {
    root,
    kernel: os.release(),
    bwrap,
    setpriv,
    bridge,
    disableUserns,
    seccomp,
    cgroups,
    tun,
    pasta,
    nft,
    network,
    probeMs: Math.round(performance.now() - started),
  };
}

/** The uid inside every sandbox (mapped to the account's host uid). */
export const INNER_UID = 1000;

/** The sandbox's own bwrap: new namespaces, a new session, no capabilities, uid 1000 inside. */
export const SANDBOX_FLAGS = [
  "--unshare-user",
  "--unshare-pid",
  "--unshare-ipc",
  "--unshare-uts",
  "--unshare-cgroup-try",
  "--die-with-parent",
  "--new-session",
  "--cap-drop",
  "ALL",
  "--uid",
  String(INNER_UID),
  "--gid",
  String(INNER_UID),
];

/**
 * bwrap's first arguments in every sandbox: the sandbox's whole environment comes from fd 3
 * (`envArgs`), and its seccomp filter from fd 4. Everything before bwrap, root's part of the
 * chain included, runs with a fixed environment of its own: the loader and libc honour
 * LD_PRELOAD, GCONV_PATH… in any program that is not setuid, so a server's environment must
 * never reach them; and an fd, unlike argv, is not readable in /proc by other users.
 */
export function handoverFlags(seccomp: boolean): string[] {
  return ["--args", "3", ...(seccomp ? ["--seccomp", "4"] : [])];
}

/** `--args` data (NUL-separated): start from an empty environment, then set `env`. */
export function envArgs(env: Record<string, string>): Buffer {
  const args = ["--clearenv"];
  for (const [name, value] of Object.entries(env)) {
    // A NUL would end the value and start another bwrap option: never let one through.
    if (name.includes("\0") || value.includes("\0")) throw new Error(`NUL in the environment variable ${name}`);
    args.push("--setenv", name, value);
  }
  return Buffer.from(`${args.join("\0")}\0`);
}

const PROBE_ARGS = envArgs({ BERTH_PROBE: "ok", PATH: "/usr/bin:/bin" });

/** Inside a probe sandbox: exits 0 when the environment arrived (and, given an argument, the filter is on). */
const HANDOVER_CHECK = [
  "/bin/sh",
  "-c",
  'test "$BERTH_PROBE" = ok || exit 3; [ -z "$1" ] && exit 0; ' +
    'while read -r k v; do if [ "$k" = Seccomp: ]; then [ "$v" = 2 ]; exit; fi; done < /proc/self/status; exit 4',
  "probe",
];

/**
 * setpriv's switch to a sandbox uid: no supplementary groups, no inheritable capabilities, an
 * empty bounding set. Not --no-new-privs: pasta must exec bwrap with the capabilities of its own
 * namespace to map uids; bwrap sets no_new_privs for the sandbox itself.
 */
export function setprivDrop(uid: number): string[] {
  return ["--reuid", String(uid), "--regid", String(uid), "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"];
}

/**
 * pasta hardened as measured (docs/SECURITY.md): no port forwarding in either direction, the
 * gateway address not mapped to the host; `-f` keeps it in the foreground as the sandbox's parent.
 */
export const PASTA_ARGS = [
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
];

/**
 * Rules for the whole uid range, installed at start and replaced atomically (other Berth
 * instances on this host install the same table). They apply to pasta too, which runs as the
 * sandbox's uid and makes the host-side connections. Only the public internet's unicast
 * addresses pass, and DNS to this host's resolvers (`resolvers`, from /etc/resolv.conf), which
 * pasta forwards the sandbox's lookups to. Rejected: this host's own addresses (loopback
 * included); broadcast, multicast and anycast, which reach this host's wildcard-bound services
 * (UDP above all); link-local (cloud metadata at 169.254.169.254); private and shared networks
 * (the LAN, the cloud's internal services: AWS's IPv6 metadata at fd00:ec2::254, Alibaba's at
 * 100.100.100.200, Azure's platform endpoint 168.63.129.16); the networks this host is on
 * (`subnets`: its neighbours, whatever their addresses); reserved ranges.
 */
export function nftRuleset(resolvers: string[] = [], subnets: string[] = []): string {
  const uids = `meta skuid ${SANDBOX_UID_BASE}-${SANDBOX_UID_BASE + SANDBOX_UID_SPAN - 1}`;
  const dns = (family: "ip" | "ip6", list: string[]) =>
    list.length
      ? [`    ${uids} ${family} daddr { ${list.join(", ")} } meta l4proto { tcp, udp } th dport 53 accept`]
      : [];
  return [
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    "  chain output {",
    "    type filter hook output priority 0; policy accept;",
    ...dns("ip", v4(resolvers)),
    ...dns("ip6", v6(resolvers)),
    `    ${uids} fib daddr type { local, broadcast, anycast, multicast } reject`,
    `    ${uids} ip daddr { ${[...BLOCKED_V4, ...v4(subnets)].join(", ")} } reject`,
    `    ${uids} ip6 daddr { ${[...BLOCKED_V6, ...v6(subnets)].join(", ")} } reject`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The IPv4 (or IPv6) ones of addresses and `address/prefix` networks. */
const v4 = (list: string[]) => list.filter((a) => net.isIPv4(a.split("/")[0] as string));
const v6 = (list: string[]) => list.filter((a) => net.isIPv6(a.split("/")[0] as string));

const BLOCKED_V4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "168.63.129.16",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
];
const BLOCKED_V6 = ["::/127", "64:ff9b:1::/48", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8"];

/** The networks of this host's interfaces (loopback aside), as `address/prefix` (nft masks them). */
export function hostSubnets(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .flatMap((a) => (a && !a.internal && a.cidr ? [a.cidr] : []));
}

/** The nameservers of /etc/resolv.conf, which sandboxes' DNS goes to through pasta. */
export function hostResolvers(file = "/etc/resolv.conf"): string[] {
  try {
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .map((l) => /^\s*nameserver\s+([0-9a-fA-F.:]+)(%\S+)?\s*$/.exec(l)?.[1])
      .filter((a): a is string => a !== undefined && net.isIP(a) !== 0);
  } catch {
    return [];
  }
}

function probeBridge(): HostReport["bridge"] {
  const unshare = findBinary("unshare");
  const mount = findBinary("mount");
  if (!unshare || !mount) return { ok: false, detail: "unshare or mount not found (util-linux, mount)" };
  // The same steps as a sandbox's start: a private mount namespace, a bind over /tmp in it.
  const r = run([unshare, "--mount", "--", mount, "--bind", "--", "/usr", "/tmp"]);
  return r.ok
    ? { ok: true, detail: "private mount namespaces (unshare --mount, mount --bind)", unshare, mount }
    : { ok: false, detail: `unshare --mount + mount --bind failed: ${r.out}`, unshare, mount };
}

function probeTun(root: boolean): Check {
  const dev = "/dev/net/tun";
  let st: fs.Stats;
  try {
    st = fs.statSync(dev);
  } catch {
    return { ok: false, detail: `${dev} does not exist` };
  }
  if ((st.mode & 0o006) === 0o006) return { ok: true, detail: `${dev} usable by sandbox uids` };
  if (!root) return { ok: false, detail: `${dev} is not usable by other uids (mode ${(st.mode & 0o777).toString(8)})` };
  // pasta runs as the sandbox's uid and must open it. 0666 is the default on Debian and Ubuntu;
  // opening it grants nothing by itself (a tap needs CAP_NET_ADMIN in the namespace that owns it).
  try {
    fs.chmodSync(dev, 0o666);
    return { ok: true, detail: `${dev} made 0666 (was ${(st.mode & 0o777).toString(8)}) so pasta can use it` };
  } catch (err) {
    return { ok: false, detail: `${dev} is not usable by other uids and chmod failed: ${(err as Error).message}` };
  }
}

type Mount = { point: string; type: string; options: string[] };

function mounts(): Mount[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .flatMap((line) => {
      const [left, right] = line.split(" - ");
      if (!left || !right) return [];
      const point = left.split(" ")[4] ?? "";
      const [type = "", , superOpts = ""] = right.split(" ");
      return [{ point: point.replace(/\\040/g, " "), type, options: superOpts.split(",") }];
    });
}

/** This process's cgroup path per v1 controller ("memory" → "/a/b") and for v2 ("" → "/x"). */
function ownCgroups(): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of fs.readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) for (const c of (m[1] as string).split(",")) own.set(c, m[2] as string);
  }
  return own;
}

/**
 * Finds where per-sandbox cgroups can be made, and checks it by making one. v2 (with memory and
 * pids controllers): under `<mount>/berth`, controllers enabled down to it. v1: a `berth` child
 * of Berth's own cgroup in the memory and pids hierarchies, so whatever limits Berth itself runs
 * under also bound its sandboxes.
 */
function probeCgroups(): HostReport["cgroups"] {
  let all: Mount[];
  try {
    all = mounts();
  } catch (err) {
    return { ok: false, detail: `cannot read mounts: ${(err as Error).message}` };
  }
  const own = ownCgroups();
  const problems: string[] = [];
  const v2 = all.find((m) => m.type === "cgroup2");
  if (v2) {
    try {
      const controllers = fs.readFileSync(path.join(v2.point, "cgroup.controllers"), "utf8").split(/\s+/);
      if (!controllers.includes("memory") || !controllers.includes("pids")) {
        throw new Error(`controllers here: ${controllers.join(" ").trim() || "none"}`);
      }
      const dir = path.join(v2.point, "berth");
      enableControllers(v2.point);
      fs.mkdirSync(dir, { recursive: true });
      enableControllers(dir);
      const layout: CgroupLayout = { version: 2, dir };
      checkLayout(layout);
      sweepCgroups(layout);
      const cpu = fs.readFileSync(path.join(dir, "cgroup.subtree_control"), "utf8").includes("cpu");
      return { ok: true, detail: `cgroup v2 under ${dir}: memory.max, pids.max${cpu ? ", cpu.weight" : ""}`, layout };
    } catch (err) {
      problems.push(`v2 at ${v2.point}: ${(err as Error).message}`);
    }
  }
  const memory = all.find((m) => m.type === "cgroup" && m.options.includes("memory"));
  const pids = all.find((m) => m.type === "cgroup" && m.options.includes("pids"));
  if (memory && pids) {
    try {
      const parent = (m: Mount, c: string) => {
        const mine = path.join(m.point, own.get(c) ?? "/");
        return path.join(fs.existsSync(mine) ? mine : m.point, "berth");
      };
      const cpu = all.find((m) => m.type === "cgroup" && m.options.includes("cpu"));
      const layout: CgroupLayout = {
        version: 1,
        memory: parent(memory, "memory"),
        pids: parent(pids, "pids"),
        ...(cpu ? { cpu: parent(cpu, "cpu") } : {}),
      };
      for (const dir of cgroupDirs(layout, "")) fs.mkdirSync(dir, { recursive: true });
      checkLayout(layout);
      sweepCgroups(layout);
      return {
        ok: true,
        detail: `cgroup v1 under ${cgroupDirs(layout, "").join(", ")}: memory.limit_in_bytes, pids.max${cpu ? ", cpu shares" : ""}`,
        layout,
      };
    } catch (err) {
      problems.push(`v1: ${(err as Error).message}`);
    }
  } else if (!v2) problems.push("no cgroup hierarchy with the memory and pids controllers");
  return { ok: false, detail: problems.join("; ") };
}

function checkLayout(layout: CgroupLayout) {
  const name = `probe-${process.pid}`;
  const made = makeCgroup(layout, name, { memoryBytes: 64 << 20, pids: 16 });
  removeCgroup(layout, name);
  if (!made.length) throw new Error("no cgroup.procs");
}

/** Start-up warnings for what the local sandboxes of this host lack. */
export function localWarnings(report: HostReport): string[] {
  const w: string[] = [];
  if (!report.bwrap.ok) {
    w.push(`Sandboxes are NOT isolated: ${report.bwrap.detail}.`);
    return w;
  }
  if (!report.root) {
    w.push(
      "Berth is not running as root: every sandbox runs as Berth's own uid (no uid per account), " +
        "without cgroup limits and without network (no nftables rule).",
    );
  }
  if (!report.disableUserns.ok) w.push(`Sandboxes can create user namespaces: ${report.disableUserns.detail}.`);
  if (!report.seccomp.ok) {
    w.push(`Sandboxes run WITHOUT the seccomp filter (keyrings, io_uring, ptrace… allowed): ${report.seccomp.detail}.`);
  }
  if (report.root && !report.cgroups.ok) {
    w.push(`Sandbox memory and process limits are NOT enforced (no usable cgroups): ${report.cgroups.detail}.`);
  }
  if (report.root && !report.network.ok) {
    w.push(
      `Servers that need the network (network: true) will fail to deploy: ${report.network.detail}. ` +
        "Install passt and nftables (apt-get install passt nftables) and restart Berth.",
    );
  }
  return w;
}
