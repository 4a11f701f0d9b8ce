import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  type CgroupLayout,
  createCgroup,
  type HostReport,
  INNER_UID,
  killCgroup,
  PASTA_ARGS,
  releaseCgroup,
  removeCgroup,
  rootLinks,
  SANDBOX_FLAGS,
  SANDBOX_UID_BASE,
  SANDBOX_UID_SPAN,
  setprivDrop,
} from "./host-probe";
import type { Confined, Confinement, LocalBox } from "./local";

/**
 * Real isolation for local sandboxes with bubblewrap (docs/SECURITY.md says what it amounts to
 * on the running host). What Berth spawns, as root, for one sandbox (all one process, each step
 * exec'ing the next, until pasta or bwrap forks the sandbox):
 *
 *   setpriv --pdeathsig KILL --                        killed when Berth dies, from here on
 *   unshare --mount -- sh -c BRIDGE …                  root, in a private mount namespace:
 *     echo $$ > <cgroup>/cgroup.procs                    enter the sandbox's cgroups, then
 *     mount --bind …; mount --rbind <box dir> /tmp       "the bridge", see below
 *   setpriv --pdeathsig KILL --reuid U --regid U         the account's uid, no groups, no
 *           --clear-groups --inh-caps=-all               capabilities, empty bounding set;
 *           --bounding-set=-all --                       and again after the uid change
 *   [pasta -f --config-net -q -t none … --no-map-gw --]  only for `network: true`
 *   bwrap --unshare-user --unshare-pid … --cap-drop ALL  the sandbox proper, unprivileged
 *         --ro-bind /usr /usr … --bind /tmp/home /home/sandbox … --die-with-parent
 *   node /opt/berth/node_modules/<pkg>/<bin> …           the server, uid 1000 inside
 *
 * Why the bridge: the sandbox's bwrap runs as uid U, so it can only bind what U can reach, and
 * Berth's files usually cannot be reached by other uids: the data dir is 0700 (and stays so), the
 * project may live under /root (0700), node may be under ~/.nvm. Rather than loosening host
 * permissions or copying the packages, root binds the sandbox's own dir over /tmp in a mount
 * namespace of the chain's own (the host's /tmp is untouched; nothing in the chain needs it),
 * and Berth's packages and node onto mount points inside it. U only needs to traverse /tmp (the
 * box dir, 0711) to bind them again, at neutral paths: /home/sandbox, /opt/berth/node_modules,
 * /opt/berth/node. Nothing in the sandbox sees a host path; start commands are rewritten to
 * these paths. `unshare` + two `mount`s cost ~5 ms; entering the cgroups ~10 ms (the kernel's
 * cgroup migration); bwrap itself ~5 ms. (A root bwrap as the bridge would be a little cheaper
 * but sets no_new_privs, after which pasta cannot start bwrap.) The script is fixed text: paths
 * reach it as arguments, never inside it.
 *
 * Without root (a developer's machine) the chain is `setpriv --pdeathsig KILL -- bwrap …` as
 * Berth's own uid, binding Berth's paths directly; no per-account uid, cgroups or network.
 */

export type BubblewrapOptions = {
  /** Memory of a sandbox (cgroup), MiB. Node servers also get --max-old-space-size = 3/4 of it. */
  memoryMiB?: number;
  /** Processes and threads of a sandbox (cgroup pids.max). */
  pids?: number;
  /** Size of the sandbox's private /tmp (tmpfs, counted in its memory too), MiB. */
  tmpMiB?: number;
  /** Berth's prepared packages, bound read-only at /opt/berth/node_modules. */
  preparedRoot?: string;
};

const DEFAULTS = { memoryMiB: 512, pids: 256, tmpMiB: 128 };
const MIB = 1024 * 1024;

/** Same directory start-command.ts resolves prepared packages in. */
const PREPARED_ROOT = path.resolve(import.meta.dirname, "../../node_modules");

/** Inside the sandbox. */
export const SANDBOX_HOME = "/home/sandbox";
const SANDBOX_MODULES = "/opt/berth/node_modules";
const SANDBOX_NODE = "/opt/berth/node";
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
 * Root's part of the chain: `BRIDGE berth-sandbox <mount> <cgroup.procs…> -- <box dir> <packages>
 * <node prefix or ""> <the rest of the chain…>`. Enters the cgroups, binds the packages (and
 * node) onto mount points in the box dir, then the box dir over /tmp (last: any source may itself
 * be under /tmp), execs the rest. Every program is named by absolute path, never looked up through
 * PATH (which is the server's, and theirs to set).
 */
const BRIDGE = [
  "m=$1; shift",
  'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done',
  '"$m" --bind -- "$3" "$2/modules" || exit 125',
  'if [ -n "$4" ]; then "$m" --bind -- "$4" "$2/node" || exit 125; fi',
  '"$m" --rbind -- "$2" /tmp || exit 125',
  "shift 4",
  'exec "$@"',
].join("\n");

/** The host uid of an account's sandboxes: stable, in [BASE+1, BASE+SPAN). */
export function sandboxUid(accountId: string): number {
  const n = createHash("sha256").update(accountId).digest().readUInt32BE(0);
  return SANDBOX_UID_BASE + 1 + (n % (SANDBOX_UID_SPAN - 1));
}

export class BubblewrapConfinement implements Confinement {
  readonly name = "local" as const;
  readonly isolated = true;
  private readonly limits: Required<Omit<BubblewrapOptions, "preparedRoot">>;
  private readonly preparedRoot: string;
  /** node's install prefix when it is outside /usr (bound at /opt/berth/node), else undefined. */
  private readonly nodePrefix: string | undefined;
  private readonly nodeInside: string;
  private readonly nodeHost: string;
  /** Absolute paths of the programs in the chain ("" when absent: then never used). */
  private readonly tools: { bwrap: string; setpriv: string; unshare: string; mount: string; pasta: string };
  private readonly cgroups: CgroupLayout | undefined;
  private readonly fixedInner: string[];

  constructor(
    readonly report: HostReport,
    opts: BubblewrapOptions = {},
  ) {
    if (!report.bwrap.ok || !report.bwrap.path) throw new Error(`bubblewrap is not usable: ${report.bwrap.detail}`);
    if (report.root && !report.bridge.ok) throw new Error(`the mount bridge is not usable: ${report.bridge.detail}`);
    this.limits = {
      memoryMiB: opts.memoryMiB ?? DEFAULTS.memoryMiB,
      pids: opts.pids ?? DEFAULTS.pids,
      tmpMiB: opts.tmpMiB ?? DEFAULTS.tmpMiB,
    };
    this.preparedRoot = opts.preparedRoot ?? PREPARED_ROOT;
    this.tools = {
      bwrap: report.bwrap.path,
      setpriv: (report.setpriv.ok && report.setpriv.path) || "",
      unshare: report.bridge.unshare ?? "",
      mount: report.bridge.mount ?? "",
      pasta: (report.network.ok && report.pasta.path) || "",
    };
    this.cgroups = report.cgroups.ok ? report.cgroups.layout : undefined;
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

  describe() {
    const r = this.report;
    const protections = [
      "own mount namespace: only /usr, a few /etc files, node, Berth's packages (read-only) and its own home",
      "own pid, ipc, uts and cgroup namespaces; a new session (no terminal injection)",
      r.root
        ? "one unprivileged host uid per account, no groups, every capability dropped, no new privileges"
        : "Berth's own uid (Berth is not root), every capability dropped",
      "no network unless the server needs it",
      "dies with Berth, even on SIGKILL (pdeathsig, --die-with-parent)",
    ];
    const missing: string[] = [];
    if (r.disableUserns.ok) protections.push("no user namespaces inside the sandbox");
    else missing.push(`nested user namespaces: ${r.disableUserns.detail}`);
    if (this.cgroups) protections.push(`limits: ${this.limits.memoryMiB} MiB memory, ${this.limits.pids} processes`);
    else missing.push(`memory and process limits: ${r.cgroups.detail}`);
    if (r.network.ok) protections.push(`network servers: ${r.network.detail}`);
    else missing.push(`network for servers that need it (they fail to deploy): ${r.network.detail}`);
    if (!r.root) missing.push("uid per account: Berth is not root");
    const notCovered = ["CPU time", "disk space of the home", "system calls (no seccomp filter)"];
    return { isolated: true, protections, missing, notCovered, limits: this.limits, host: r };
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
    if (uid !== undefined) fs.chownSync(box.home, uid, uid);
    const passwd = path.join(box.dir, "passwd");
    const group = path.join(box.dir, "group");
    fs.writeFileSync(passwd, PASSWD, { mode: 0o644 });
    fs.writeFileSync(group, GROUP, { mode: 0o644 });

    const cgroupName = box.id;
    let procs: string[] = [];
    if (root && this.cgroups) {
      try {
        procs = createCgroup(this.cgroups, cgroupName, {
          memoryBytes: this.limits.memoryMiB * MIB,
          pids: this.limits.pids,
        });
      } catch (err) {
        removeCgroup(this.cgroups, cgroupName);
        throw new Error(`could not create the sandbox's cgroup: ${(err as Error).message}`);
      }
    }

    // Sources of the sandbox's own binds: in the bridge (root) or Berth's own paths (no root).
    const src = root
      ? { home: "/tmp/home", passwd: "/tmp/passwd", group: "/tmp/group", modules: "/tmp/modules", node: "/tmp/node" }
      : { home: box.home, passwd, group, modules: this.preparedRoot, node: this.nodePrefix ?? "" };

    const prefix: string[] = [];
    if (root) {
      fs.chmodSync(box.dir, 0o711); // U traverses it (as /tmp in the bridge); owner.json stays 0600
      fs.mkdirSync(path.join(box.dir, "modules"), { mode: 0o755 });
      if (this.nodePrefix) fs.mkdirSync(path.join(box.dir, "node"), { mode: 0o755 });
      // pdeathsig from the first exec on: should Berth die while the bridge runs, so does the chain.
      prefix.push(tools.setpriv, "--pdeathsig", "KILL", "--");
      prefix.push(
        tools.unshare,
        "--mount",
        "--",
        "/bin/sh",
        "-c",
        BRIDGE,
        "berth-sandbox",
        tools.mount,
        ...procs,
        "--",
      );
      prefix.push(box.dir, this.preparedRoot, this.nodePrefix ?? "");
      prefix.push(tools.setpriv, "--pdeathsig", "KILL", ...setprivDrop(uid as number), "--");
    } else if (tools.setpriv) {
      prefix.push(tools.setpriv, "--pdeathsig", "KILL", "--");
    }
    if (box.network) prefix.push(tools.pasta, ...PASTA_ARGS, "--");

    const inner = [tools.bwrap, ...(box.network ? [] : ["--unshare-net"]), ...this.fixedInner];
    inner.push("--ro-bind", src.passwd, "/etc/passwd", "--ro-bind", src.group, "/etc/group");
    inner.push("--ro-bind", src.modules, SANDBOX_MODULES);
    if (this.nodePrefix) inner.push("--ro-bind", src.node, SANDBOX_NODE);
    inner.push("--bind", src.home, SANDBOX_HOME, "--remount-ro", "/", "--chdir", SANDBOX_HOME, "--");

    const layout = this.cgroups;
    return {
      command: (argv) => [...prefix, ...inner, ...argv.map((a) => this.insidePath(a))],
      home: SANDBOX_HOME,
      env: {
        PATH: `${path.dirname(this.nodeInside)}:/usr/local/bin:/usr/bin:/bin`,
        TMPDIR: "/tmp",
        NODE_OPTIONS: `--max-old-space-size=${Math.floor((this.limits.memoryMiB * 3) / 4)}`,
      },
      kill: async () => {
        if (procs.length && layout) await killCgroup(layout, cgroupName);
      },
      release: async () => {
        if (procs.length && layout) await releaseCgroup(layout, cgroupName);
      },
    };
  }

  /**
   * Leftovers of a Berth that died: their processes died with it (pdeathsig), bar any that
   * slipped through a start-up window; kill what is in their cgroups, then remove those.
   */
  async reap(sandboxId: string) {
    const layout = this.cgroups;
    if (!layout || !this.report.root) return;
    await killCgroup(layout, sandboxId);
    await releaseCgroup(layout, sandboxId);
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
    args.push("--proc", "/proc", "--dev", "/dev", "--size", String(this.limits.tmpMiB * MIB), "--tmpfs", "/tmp");
    return args;
  }
}
