import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  accountCgroup,
  type CgroupLayout,
  findSandboxCgroup,
  killCgroup,
  makeCgroup,
  releaseCgroup,
  removeCgroup,
  sandboxCgroup,
  setLimits,
  sharesCpu,
} from "./cgroups";
import {
  envArgs,
  findBinary,
  type HostReport,
  handoverFlags,
  INNER_UID,
  PASTA_ARGS,
  rootLinks,
  SANDBOX_FLAGS,
  SANDBOX_UID_BASE,
  SANDBOX_UID_SPAN,
  setprivDrop,
} from "./host-probe";
import type { Confined, Confinement, LocalBox } from "./local";
import { seccompProgram } from "./seccomp";
import { restoreStage, TAR_CREATE, TAR_EXTRACT } from "./sleeping-homes";
import { HTTP_BRIDGE } from "./start-command";

/**
 * Real isolation for local sandboxes with bubblewrap (docs/SECURITY.md says what it amounts to
 * on the running host). What Berth spawns, as root, for one sandbox (all one process, each step
 * exec'ing the next, until pasta or bwrap forks the sandbox), with the environment PATH=… and
 * nothing else, and two file descriptors, 3 and 4, that only bwrap reads:
 *
 *   setpriv --pdeathsig KILL --                        killed when Berth dies, from here on
 *   unshare --mount -- bash -c BRIDGE …                root, in a private mount namespace:
 *     close every fd but 0–4                             nothing Berth inherited goes on
 *     echo $$ > <cgroup>/cgroup.procs                    enter the sandbox's cgroups, then
 *     mount -t tmpfs … <box dir>/home                    its home: size- and inode-capped
 *     mount --bind …; mount --rbind <box dir> /tmp       "the bridge", see below
 *   setpriv --pdeathsig KILL --reuid U --regid U         the account's uid, no groups, no
 *           --clear-groups --inh-caps=-all               capabilities, empty bounding set;
 *           --bounding-set=-all --                       and again after the uid change
 *   [pasta -f --config-net -q -t none … --no-map-gw --]  only for `network: true`
 *   bwrap --args 3 --seccomp 4                           the environment (fd 3) and the seccomp
 *         --unshare-user --unshare-pid … --cap-drop ALL  filter (fd 4), then the sandbox
 *         --ro-bind /usr /usr … --bind /tmp/home …       proper, unprivileged
 *   node /opt/berth/node_modules/<pkg>/<bin> …           the server, uid 1000 inside
 *
 * The server's environment (credentials included) exists only in bwrap's memory and the server's:
 * not on any command line (world-readable in /proc), not in a file, and not in the environment of
 * anything before bwrap (glibc would honour LD_PRELOAD, GCONV_PATH… there, in root's part).
 *
 * Why the bridge: the sandbox's bwrap runs as uid U, so it can only bind what U can reach, and
 * Berth's files usually cannot be reached by other uids: the data dir is 0700 (and stays so), the
 * project may live under /root (0700), node may be under ~/.nvm. Rather than loosening host
 * permissions or copying the packages, root binds the sandbox's own dir over /tmp in a mount
 * namespace of the chain's own (the host's /tmp is untouched; nothing in the chain needs it),
 * and Berth's packages and node onto mount points inside it. U only needs to traverse /tmp (the
 * box dir, 0711) to bind them again, at neutral paths: /home/sandbox, /opt/berth/node_modules,
 * /opt/berth/node. Nothing in the sandbox sees a host path; start commands are rewritten to
 * these paths. The home is a tmpfs of that namespace: nothing the server writes touches the
 * host's disk, its size and file count are capped, and it is gone with the last process of the
 * sandbox, however deep or large, without Berth removing a file. `unshare` and the mounts cost
 * ~5 ms; entering the cgroups ~10 ms (the kernel's cgroup migration); bwrap itself ~5 ms. (A root
 * bwrap as the bridge would be a little cheaper but sets no_new_privs, after which pasta cannot
 * start bwrap.) The script is fixed text: paths reach it as arguments, never inside it.
 *
 * Without root (a developer's machine) the chain is `setpriv --pdeathsig KILL -- bash -c <close
 * every fd but 0–4> -- bwrap …` as Berth's own uid, binding Berth's paths directly, with bwrap's own tmpfs as the home (size
 * capped; no inode cap, no cgroups); no per-account uid, no network.
 */

/** What one sandbox, one account's sandboxes and all of them together may use. */
export type SandboxLimits = {
  sandbox: {
    /** cgroup memory (its /tmp and home included: both are tmpfs); Node gets 3/4 as its heap cap. */
    memoryMiB: number;
    /** Processes and threads (cgroup pids.max). */
    pids: number;
    tmpMiB: number;
    homeMiB: number;
    homeInodes: number;
  };
  /** One account's sandboxes on this host, together. */
  account: { memoryMiB: number; pids: number };
  /** Every sandbox on this host, together (leaves Berth and the host their share). */
  total: { memoryMiB: number; pids: number };
};

export type BubblewrapOptions = {
  /** Berth's prepared packages (prepared-packages.ts), bound read-only at /opt/berth/node_modules. */
  preparedRoot: string;
  /** Overrides of defaultLimits(); undefined values keep the default. */
  limits?: { [K in keyof SandboxLimits]?: { [L in keyof SandboxLimits[K]]?: number | undefined } };
};

/** The defaults: a sandbox like a small container; the totals leave a quarter of the host. */
export function defaultLimits(): SandboxLimits {
  return {
    sandbox: { memoryMiB: 512, pids: 256, tmpMiB: 128, homeMiB: 256, homeInodes: 65_536 },
    account: { memoryMiB: 2048, pids: 1024 },
    total: { memoryMiB: Math.floor((os.totalmem() / MIB) * 0.75), pids: Math.floor(pidMax() / 2) },
  };
}

const MIB = 1024 * 1024;

/** Where the chain's prefix names the last fd it keeps: stdio, the inputs, a restore's two. */
const LAST_FD_SLOT = "berth-last-fd";

/** Inside the sandbox. */
export const SANDBOX_HOME = "/home/sandbox";
const SANDBOX_MODULES = "/opt/berth/node_modules";
const SANDBOX_NODE = "/opt/berth/node";
/** What root's part of the chain runs with: nothing of the server's. */
const CHAIN_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
/** Host /etc entries a server may need; nothing else of /etc (no shadow, ssh keys, db configs). */
const ETC = [
  "/etc/ssl/certs",
  "/etc/ssl/openssl.cnf",
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/host.conf",
  "/etc/nsswitch.conf",
  "/etc/gai.conf",
  "/etc/services",
  "/etc/protocols",
  "/etc/localtime",
  "/etc/timezone",
  "/etc/os-release",
  "/etc/alternatives",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
];

const PASSWD = [
  "root:x:0:0:root:/root:/usr/sbin/nologin",
  `sandbox:x:${INNER_UID}:${INNER_UID}:sandbox:${SANDBOX_HOME}:/bin/sh`,
  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
  "",
].join("\n");
const GROUP = ["root:x:0:", `sandbox:x:${INNER_UID}:`, "nogroup:x:65534:", ""].join("\n");

/**
 * Closes every file descriptor above the script's first argument: stdio and those for bwrap (3,
 * 4) and a home's restore (the next two) stay. Node passes its children whatever it inherited
 * without close-on-exec (a process manager's IPC channel, a supervisor's pipe…), and bwrap would
 * pass them on into the sandbox. bash, because dash cannot name fds above 9.
 */
const CLOSE_INHERITED =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  'for f in /proc/$$/fd/*; do n=${f##*/}; if [ "$n" -gt "$1" ]; then { exec {n}>&-; } 2>/dev/null; fi; done; shift';

/**
 * bash running a script: no startup files, not even the ~/.bashrc it reads when its stdin is a
 * socket (it takes that for a remote shell daemon; Berth's stdio pipes are sockets).
 */
const bash = (path: string) => [path, "--norc", "--noprofile", "-c"];

/**
 * Root's part of the chain: `BRIDGE berth-sandbox <mount> <cgroup.procs…> -- <box dir> <packages>
 * <node prefix or ""> <home tmpfs options> <the rest of the chain…>`. Enters the cgroups, mounts
 * the home, binds the packages (and node) onto mount points in the box dir, then the box dir over
 * /tmp (last: any source may itself be under /tmp), execs the rest. Every program is named by
 * absolute path, never looked up through PATH.
 */
const BRIDGE = [
  CLOSE_INHERITED,
  "m=$1; shift",
  'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done',
  '"$m" -t tmpfs -o "$5" -- berth-home "$2/home" || exit 125',
  '"$m" --bind -- "$3" "$2/modules" || exit 125',
  'if [ -n "$4" ]; then "$m" --bind -- "$4" "$2/node" || exit 125; fi',
  '"$m" --rbind -- "$2" /tmp || exit 125',
  "shift 5",
  'exec "$@"',
].join("\n");

/** The host uid of an account's sandboxes: stable, in [BASE+1, BASE+SPAN). */
export function sandboxUid(accountId: string): number {
  const n = createHash("sha256").update(accountId).digest().readUInt32BE(0);
  return SANDBOX_UID_BASE + 1 + (n % (SANDBOX_UID_SPAN - 1));
}

/** The name of an account's cgroup: a hash, so account ids stay off the host's cgroup tree. */
export function accountKey(accountId: string): string {
  return createHash("sha256").update(accountId).digest("hex").slice(0, 16);
}

export class BubblewrapConfinement implements Confinement {
  readonly name = "local" as const;
  readonly isolated = true;
  readonly limits: SandboxLimits;
  readonly preparedRoot: string;
  readonly httpBridge: string;
  /** node's install prefix when it is outside /usr (bound at /opt/berth/node), else undefined. */
  private readonly nodePrefix: string | undefined;
  private readonly nodeInside: string;
  private readonly nodeHost: string;
  /** Absolute paths of the programs in the chain ("" when absent: then never used). */
  private readonly tools: {
    bwrap: string;
    setpriv: string;
    unshare: string;
    mount: string;
    pasta: string;
    bash: string;
    nsenter: string;
    tar: string;
  };
  private readonly cgroups: CgroupLayout | undefined;
  private readonly seccomp: Buffer | undefined;
  private readonly fixedInner: string[];

  constructor(
    readonly report: HostReport,
    opts: BubblewrapOptions,
  ) {
    if (!report.bwrap.ok || !report.bwrap.path) throw new Error(`bubblewrap is not usable: ${report.bwrap.detail}`);
    if (report.root && !report.bridge.ok) throw new Error(`the mount bridge is not usable: ${report.bridge.detail}`);
    const d = defaultLimits();
    const l = opts.limits ?? {};
    this.limits = {
      sandbox: { ...d.sandbox, ...defined(l.sandbox) },
      account: { ...d.account, ...defined(l.account) },
      total: { ...d.total, ...defined(l.total) },
    };
    this.preparedRoot = opts.preparedRoot;
    this.httpBridge = path.join(opts.preparedRoot, HTTP_BRIDGE.prepared);
    this.tools = {
      bwrap: report.bwrap.path,
      setpriv: (report.setpriv.ok && report.setpriv.path) || "",
      unshare: report.bridge.unshare ?? "",
      mount: report.bridge.mount ?? "",
      pasta: (report.network.ok && report.pasta.path) || "",
      bash: findBinary("bash") ?? "",
      nsenter: findBinary("nsenter") ?? "",
      tar: findBinary("tar") ?? "",
    };
    if (!this.tools.bash) throw new Error("bash is not installed (the sandbox's start chain needs it)");
    this.cgroups = report.root && report.cgroups.ok ? report.cgroups.layout : undefined;
    if (this.cgroups) setLimits(this.cgroups, "", bytes(this.limits.total));
    this.seccomp = report.seccomp.ok ? seccompProgram() : undefined;
    const node = fs.realpathSync(process.execPath);
    this.nodeHost = node;
    if (node.startsWith("/usr/")) {
      this.nodePrefix = undefined;
      this.nodeInside = node;
    } else {
      this.nodePrefix = path.dirname(path.dirname(node)); // …/bin/node → … (with lib/node_modules/npm)
      this.nodeInside = path.join(SANDBOX_NODE, path.relative(this.nodePrefix, node));
    }
    this.fixedInner = this.innerFixedArgs();
  }

  get archiveBytes() {
    return this.limits.sandbox.homeMiB * MIB + this.limits.sandbox.homeInodes * 1024;
  }

  /**
   * Homes are kept while a sandbox sleeps only as root: the home is a tmpfs of the chain's mount
   * namespace, reached by entering it (then as the account's uid). Without root it is bwrap's own.
   */
  get keepsHomes() {
    return this.report.root && Boolean(this.tools.nsenter && this.tools.tar && findBinary("zstd"));
  }

  describe() {
    const r = this.report;
    const { sandbox, account, total } = this.limits;
    const protections = [
      "own mount namespace: only /usr, a few /etc files, node, the catalogue's packages (read-only) and its own home",
      "own pid, ipc, uts and cgroup namespaces; a new session (no terminal injection)",
      r.root
        ? "one unprivileged host uid per account, no groups, every capability dropped, no new privileges"
        : "Berth's own uid (Berth is not root), every capability dropped",
      "the server's environment reaches only the sandbox (never the start chain, a command line or a file)",
      "no network unless the server needs it",
      "dies with Berth, even on SIGKILL (pdeathsig, --die-with-parent)",
    ];
    const missing: string[] = [];
    if (r.disableUserns.ok) protections.push("no user namespaces inside the sandbox");
    else missing.push(`nested user namespaces: ${r.disableUserns.detail}`);
    if (this.seccomp) protections.push("seccomp filter: no keyrings, io_uring, bpf, perf, ptrace, vsock…");
    else missing.push(`seccomp filter: ${r.seccomp.detail}`);
    if (this.cgroups) {
      protections.push(
        `limits: ${sandbox.memoryMiB} MiB memory and ${sandbox.pids} processes a sandbox, ` +
          `${account.memoryMiB} MiB and ${account.pids} an account, ${total.memoryMiB} MiB and ${total.pids} in all`,
      );
    } else missing.push(`memory and process limits: ${r.cgroups.detail}`);
    const cpu = this.cgroups !== undefined && sharesCpu(this.cgroups);
    if (cpu) protections.push("CPU: equal shares for competing accounts; all sandboxes together weigh as Berth does");
    protections.push(
      r.root
        ? `home: tmpfs of ${sandbox.homeMiB} MiB and ${sandbox.homeInodes} files, gone with the sandbox`
        : `home: tmpfs of ${sandbox.homeMiB} MiB, gone with the sandbox`,
    );
    if (r.network.ok) protections.push(`network servers: ${r.network.detail}`);
    else missing.push(`network for servers that need it (they fail to deploy): ${r.network.detail}`);
    if (this.keepsHomes)
      protections.push("a sleeping server's home is kept, archived and restored as the account's uid");
    else missing.push(`homes kept while asleep: ${r.root ? "nsenter, tar or zstd is missing" : "Berth is not root"}`);
    if (!r.root) missing.push("uid per account: Berth is not root");
    const notCovered = cpu ? ["CPU time of an account with the host to itself"] : ["CPU time"];
    return { isolated: true, protections, missing, notCovered, limits: this.limits };
  }

  async prepare(box: LocalBox): Promise<Confined> {
    if (box.network && !this.tools.pasta) {
      throw new Error(
        this.report.root
          ? `this server needs network access, and sandbox networking is not available on this host (${this.report.network.detail}); ` +
              "install passt and nftables (apt-get install passt nftables) and restart Berth"
          : "this server needs network access, and sandbox networking needs Berth to run as root " +
              "(a uid of the sandbox's own, which the nftables rule keeps off this host's addresses)",
      );
    }
    const root = this.report.root;
    const tools = this.tools;
    const uid = root ? sandboxUid(box.owner.accountId) : undefined;
    const passwd = path.join(box.dir, "passwd");
    const group = path.join(box.dir, "group");
    fs.writeFileSync(passwd, PASSWD, { mode: 0o644 });
    fs.writeFileSync(group, GROUP, { mode: 0o644 });

    const layout = this.cgroups;
    const cgroup = sandboxCgroup(accountKey(box.owner.accountId), box.id);
    const procs = layout ? this.enterableCgroup(layout, box.owner.accountId, cgroup) : [];
    const { sandbox } = this.limits;

    // Sources of the sandbox's own binds: in the bridge (root) or Berth's own paths (no root).
    const src = root
      ? { passwd: "/tmp/passwd", group: "/tmp/group", modules: "/tmp/modules", node: "/tmp/node" }
      : { passwd, group, modules: this.preparedRoot, node: this.nodePrefix ?? "" };

    const prefix: string[] = [];
    if (root) {
      fs.chmodSync(box.dir, 0o711); // U traverses it (as /tmp in the bridge); owner.json stays 0600
      for (const dir of ["home", "modules", ...(this.nodePrefix ? ["node"] : [])]) {
        fs.mkdirSync(path.join(box.dir, dir), { mode: 0o755 });
      }
      const home = [
        `size=${sandbox.homeMiB * MIB}`,
        `nr_inodes=${sandbox.homeInodes}`,
        "mode=0700",
        `uid=${uid}`,
        `gid=${uid}`,
        "nosuid",
        "nodev",
      ].join(",");
      // pdeathsig from the first exec on: should Berth die while the bridge runs, so does the chain.
      prefix.push(tools.setpriv, "--pdeathsig", "KILL", "--");
      prefix.push(
        tools.unshare,
        "--mount",
        "--",
        ...bash(tools.bash),
        BRIDGE,
        "berth-sandbox",
        LAST_FD_SLOT,
        tools.mount,
        ...procs,
        "--",
      );
      prefix.push(box.dir, this.preparedRoot, this.nodePrefix ?? "", home);
      prefix.push(tools.setpriv, "--pdeathsig", "KILL", ...setprivDrop(uid as number), "--");
    } else {
      if (tools.setpriv) prefix.push(tools.setpriv, "--pdeathsig", "KILL", "--");
      prefix.push(...bash(tools.bash), `${CLOSE_INHERITED}; exec "$@"`, "berth-sandbox", LAST_FD_SLOT);
    }
    if (box.network) prefix.push(tools.pasta, ...PASTA_ARGS, "--");

    const inner = [tools.bwrap, ...handoverFlags(Boolean(this.seccomp))];
    inner.push(...(box.network ? [] : ["--unshare-net"]), ...this.fixedInner);
    inner.push("--ro-bind", src.passwd, "/etc/passwd", "--ro-bind", src.group, "/etc/group");
    inner.push("--ro-bind", src.modules, SANDBOX_MODULES);
    if (this.nodePrefix) inner.push("--ro-bind", src.node, SANDBOX_NODE);
    if (root) inner.push("--bind", "/tmp/home", SANDBOX_HOME);
    else inner.push("--perms", "0700", "--size", String(sandbox.homeMiB * MIB), "--tmpfs", SANDBOX_HOME);
    inner.push("--remount-ro", "/", "--chdir", SANDBOX_HOME, "--");

    const inputs = (env: Record<string, string>) => [envArgs(env), ...(this.seccomp ? [this.seccomp] : [])];
    // As the account's uid, in the chain's mount namespace (where the home is /tmp/home), before pasta.
    const restore = () => restoreStage(tools.bash, 3 + inputs({}).length, this.homeTar(true, TAR_EXTRACT));
    let init: number | undefined; // found once: it stays the same process for the sandbox's life
    return {
      launch: (argv, env, restoring) => {
        const restores = restoring && this.keepsHomes;
        const fds = inputs(env);
        const last = String(2 + fds.length + (restores ? 2 : 0));
        return {
          argv: [
            ...prefix.map((a) => (a === LAST_FD_SLOT ? last : a)),
            ...(restores ? restore() : []),
            ...inner,
            ...argv.map((a) => this.insidePath(a)),
          ],
          env: CHAIN_ENV,
          cwd: box.dir, // what marks the chain's processes as this sandbox's on the host
          inputs: fds,
        };
      },
      archiveHome: this.keepsHomes
        ? (pid) => {
            // Pinned by this fd: neither the server's exit nor a reused pid can change what tar reads.
            const ns = fs.openSync(`/proc/${pid}/ns/mnt`, "r");
            if (fs.fstatSync(ns).ino === fs.statSync("/proc/self/ns/mnt").ino) {
              fs.closeSync(ns);
              throw new Error("the sandbox's chain has no mount namespace of its own yet");
            }
            const argv = [tools.nsenter, `--mount=/proc/${process.pid}/fd/${ns}`, "--", tools.setpriv];
            argv.push("--pdeathsig", "KILL", ...setprivDrop(uid as number), "--", ...this.homeTar(false, TAR_CREATE));
            return { argv, env: CHAIN_ENV, done: () => fs.closeSync(ns) };
          }
        : undefined,
      home: SANDBOX_HOME,
      env: {
        PATH: `${path.dirname(this.nodeInside)}:/usr/local/bin:/usr/bin:/bin`,
        TMPDIR: "/tmp",
        NODE_OPTIONS: `--max-old-space-size=${Math.floor((sandbox.memoryMiB * 3) / 4)}`,
      },
      kill: async () => {
        if (procs.length && layout) await killCgroup(layout, cgroup);
      },
      stuck: (pid) => {
        init ??= bwrapInit(pid);
        return init !== undefined && isStopped(init) ? "the sandbox's init was stopped" : undefined;
      },
      release: async () => {
        if (procs.length && layout) await releaseCgroup(layout, cgroup);
      },
    };
  }

  /**
   * Leftovers of a Berth that died: their processes died with it (pdeathsig), bar any that
   * slipped through a start-up window; kill what is in their cgroups, then remove those.
   */
  async reap(sandboxId: string) {
    const layout = this.cgroups;
    const cgroup = layout && findSandboxCgroup(layout, sandboxId);
    if (!layout || !cgroup) return;
    await killCgroup(layout, cgroup);
    await releaseCgroup(layout, cgroup);
  }

  /** The sandbox's cgroup inside its account's (made or updated first); the cgroup.procs to enter. */
  private enterableCgroup(layout: CgroupLayout, accountId: string, cgroup: string): string[] {
    const { account, sandbox } = this.limits;
    // Twice at most: another Berth of this host may sweep the account's empty cgroup meanwhile.
    for (let attempt = 1; ; attempt++) {
      try {
        makeCgroup(layout, accountCgroup(accountKey(accountId)), bytes(account), { shared: true });
        return makeCgroup(layout, cgroup, bytes(sandbox));
      } catch (err) {
        removeCgroup(layout, cgroup);
        if (attempt < 2 && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw new Error(`could not create the sandbox's cgroup: ${(err as Error).message}`);
      }
    }
  }

  /**
   * tar on the sandbox's home, run as the account's uid in the chain's mount namespace, in a
   * bwrap of its own: what a server sees (no network), minus Berth's packages, plus the home
   * (read-only to archive it). A symlink in the home leads nowhere but there; the only place tar
   * can write, when it unpacks, is the home, whose tmpfs caps size and files.
   */
  private homeTar(writable: boolean, args: string[]): string[] {
    const bind = writable ? "--bind" : "--ro-bind";
    return [this.tools.bwrap, "--unshare-net", ...this.fixedInner, bind, "/tmp/home", SANDBOX_HOME].concat(
      "--remount-ro",
      "/",
      "--chdir",
      SANDBOX_HOME,
      "--",
      this.tools.tar,
      ...args,
    );
  }

  /** Berth's node and prepared packages as the sandbox sees them (resolved start commands). */
  private insidePath(arg: string): string {
    if (arg === process.execPath || arg === this.nodeHost) return this.nodeInside;
    if (arg.startsWith(`${this.preparedRoot}/`)) return SANDBOX_MODULES + arg.slice(this.preparedRoot.length);
    return arg;
  }

  private innerFixedArgs(): string[] {
    const args = [
      ...SANDBOX_FLAGS,
      ...(this.report.disableUserns.ok ? ["--disable-userns"] : []),
      "--hostname",
      "sandbox",
      "--ro-bind",
      "/usr",
      "/usr",
    ];
    for (const l of rootLinks()) {
      args.push(...(l.link ? ["--symlink", l.link, `/${l.name}`] : ["--ro-bind", `/${l.name}`, `/${l.name}`]));
    }
    for (const e of ETC) args.push("--ro-bind-try", e, e);
    const tmp = String(this.limits.sandbox.tmpMiB * MIB);
    args.push("--proc", "/proc", "--dev", "/dev", "--size", tmp, "--tmpfs", "/tmp");
    return args;
  }
}

/**
 * The sandbox's init (pid 1 inside), from the process Berth spawned: bwrap's child of bwrap's
 * monitor, one or two generations down (pasta goes first for network servers).
 */
function bwrapInit(pid: number): number | undefined {
  let generation = [pid];
  for (let depth = 0; depth < 3; depth++) {
    for (const p of generation) if (comm(p) === "bwrap" && comm(parentOf(p)) === "bwrap") return p;
    generation = generation.flatMap(childrenOf);
  }
  return undefined;
}

/** Stopped or stopped by a tracer: it runs nothing until someone lets it go. */
function isStopped(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "T" || state === "t";
  } catch {
    return false; // gone: it will be seen exiting
  }
}

function comm(pid: number | undefined): string {
  try {
    return pid ? fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() : "";
  } catch {
    return "";
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) =>
        fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ").filter(Boolean).map(Number),
      );
  } catch {
    return [];
  }
}

/** The entries of `o` that are set, so that an unset one keeps its default when spread. */
function defined<T extends object>(o: T | undefined): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as never;
}

const bytes = (l: { memoryMiB: number; pids: number }) => ({ memoryBytes: l.memoryMiB * MIB, pids: l.pids });

function pidMax(): number {
  try {
    return Number(fs.readFileSync("/proc/sys/kernel/pid_max", "utf8")) || 32_768;
  } catch {
    return 32_768;
  }
}
