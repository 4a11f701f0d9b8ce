import fs from "node:fs";
import path from "node:path";

/**
 * The cgroups of local sandboxes, three levels deep under Berth's own parent:
 *
 *   berth/                      every sandbox of this host together (BERTH_SANDBOXES_*)
 *     acct-<hash>/              one account's sandboxes together (BERTH_ACCOUNT_*)
 *       lcl-<uuid>/             one sandbox (BERTH_SANDBOX_*); its processes live here
 *
 * Each level caps memory and processes (pids), so a tenant's many sandboxes cannot together
 * take the host, and all tenants together leave Berth and the host their share. Where the cpu
 * controller is there too, each level is also one CPU share among its siblings, with the
 * default weight: accounts get equal shares of the CPU when they compete, however many sandboxes
 * each runs, and all sandboxes together weigh as much as one busy thread of Berth's own cgroup,
 * so its event loop is never starved. Paths below are relative to `berth/` ("" is Berth's
 * parent itself).
 */

/** Where the `berth` parent is: v1 one per controller (cpu where mounted), v2 one. */
export type CgroupLayout = { version: 1; memory: string; pids: string; cpu?: string } | { version: 2; dir: string };

export type CgroupLimits = { memoryBytes: number; pids: number };

/** The directories of a cgroup (one per controller on v1). */
export function cgroupDirs(layout: CgroupLayout, rel: string): string[] {
  if (layout.version === 2) return [path.join(layout.dir, rel)];
  return [layout.memory, layout.pids, ...(layout.cpu ? [layout.cpu] : [])].map((d) => path.join(d, rel));
}

/** The cgroup of an account's sandboxes, named by a hash of the account id (ids stay off the host). */
export function accountCgroup(accountKey: string) {
  return `acct-${accountKey}`;
}

/** A sandbox's cgroup, inside its account's. */
export function sandboxCgroup(accountKey: string, sandboxId: string) {
  return `${accountCgroup(accountKey)}/${sandboxId}`;
}

/** Whether sandboxes' cgroups share the CPU too (the cpu controller is there). */
export function sharesCpu(layout: CgroupLayout): boolean {
  if (layout.version === 1) return Boolean(layout.cpu);
  try {
    return fs.readFileSync(path.join(layout.dir, "cgroup.subtree_control"), "utf8").split(/\s+/).includes("cpu");
  } catch {
    return false;
  }
}

/** Writes the limits of an existing cgroup; writing the same values again is harmless. */
export function setLimits(layout: CgroupLayout, rel: string, limits: CgroupLimits) {
  if (layout.version === 2) {
    const dir = path.join(layout.dir, rel);
    fs.writeFileSync(path.join(dir, "memory.max"), String(limits.memoryBytes));
    tryWrite(path.join(dir, "memory.swap.max"), "0");
    fs.writeFileSync(path.join(dir, "pids.max"), String(limits.pids));
    return;
  }
  const mem = path.join(layout.memory, rel);
  const memory = path.join(mem, "memory.limit_in_bytes");
  const memsw = path.join(mem, "memory.memsw.limit_in_bytes"); // memory + swap: no swapping past it
  try {
    fs.writeFileSync(memory, String(limits.memoryBytes));
  } catch (err) {
    // v1 wants memory <= memory+swap at every step: raising an existing limit goes memsw first.
    if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
    tryWrite(memsw, String(limits.memoryBytes));
    fs.writeFileSync(memory, String(limits.memoryBytes));
  }
  tryWrite(memsw, String(limits.memoryBytes));
  fs.writeFileSync(path.join(layout.pids, rel, "pids.max"), String(limits.pids));
}

/**
 * Makes a cgroup with its limits and returns the cgroup.procs files to enter. Its parent must
 * exist (never recreated here without its limits). A `shared` one (an account's) may exist
 * already: then only its limits are written, and on v2 its children get the memory and pids
 * controllers.
 */
export function makeCgroup(layout: CgroupLayout, rel: string, limits: CgroupLimits, opts: { shared?: boolean } = {}) {
  for (const dir of cgroupDirs(layout, rel)) {
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if (!opts.shared || (err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  setLimits(layout, rel, limits);
  if (layout.version === 2 && opts.shared) enableControllers(path.join(layout.dir, rel));
  return cgroupDirs(layout, rel).map((d) => path.join(d, "cgroup.procs"));
}

/** v2: lets a cgroup's children use the memory and pids controllers, and cpu where it has it. */
export function enableControllers(dir: string) {
  const control = path.join(dir, "cgroup.subtree_control");
  const on = fs.readFileSync(control, "utf8").split(/\s+/);
  const available = fs.readFileSync(path.join(dir, "cgroup.controllers"), "utf8").split(/\s+/);
  const wanted = ["memory", "pids", ...(available.includes("cpu") ? ["cpu"] : [])];
  const missing = wanted.filter((c) => !on.includes(c));
  if (missing.length) fs.writeFileSync(control, missing.map((c) => `+${c}`).join(" "));
}

/**
 * SIGKILLs every process in a sandbox's cgroup, including any that escaped bwrap's own teardown
 * (its init, should bwrap's monitor die before the init armed its parent-death signal).
 */
export async function killCgroup(layout: CgroupLayout, rel: string) {
  const dir = layout.version === 2 ? path.join(layout.dir, rel) : path.join(layout.pids, rel);
  if (layout.version === 2 && fs.existsSync(path.join(dir, "cgroup.kill"))) {
    tryWrite(path.join(dir, "cgroup.kill"), "1");
    return;
  }
  for (let round = 0; round < 50; round++) {
    let pids: number[];
    try {
      pids = fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return; // no such cgroup
    }
    if (!pids.length) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Removes a cgroup; it must be empty (its sandbox gone). Harmless if absent. */
export function removeCgroup(layout: CgroupLayout, rel: string): boolean {
  let done = true;
  for (const dir of cgroupDirs(layout, rel)) {
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") done = false;
    }
  }
  return done;
}

/** Removes a sandbox's cgroups once it is gone: at once, and again in the background while busy. */
export async function releaseCgroup(layout: CgroupLayout, rel: string) {
  for (let i = 0; i < 10; i++) {
    if (removeCgroup(layout, rel)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  // Its last processes are zombies nobody has reaped yet (orphans wait for pid 1): keep trying
  // for a while without holding anyone up; sweepCgroups catches what is left at the next start.
  let tries = 0;
  const retry = () => {
    if (removeCgroup(layout, rel) || ++tries > 60) return;
    setTimeout(retry, 1000).unref();
  };
  setTimeout(retry, 1000).unref();
}

/** The cgroup of sandbox `sandboxId`, whichever account's it is (leftovers know only their id). */
export function findSandboxCgroup(layout: CgroupLayout, sandboxId: string): string | undefined {
  const parent = cgroupDirs(layout, "")[0] as string;
  for (const name of readdir(parent)) {
    if (name.startsWith("acct-") && fs.existsSync(path.join(parent, name, sandboxId))) return `${name}/${sandboxId}`;
  }
  return undefined;
}

/**
 * Removes the empty cgroups of sandboxes gone without their Berth cleaning up (killed, or their
 * processes reaped too late), and then the empty account cgroups. Only those older than a
 * minute: one that new is being set up by a Berth on this host right now. A live sandbox's
 * cgroup is never empty, and rmdir refuses one that is not.
 */
export function sweepCgroups(layout: CgroupLayout) {
  const old = Date.now() - 60_000;
  const removeIfOld = (dir: string) => {
    try {
      if (fs.statSync(dir).mtimeMs < old) fs.rmdirSync(dir);
    } catch {
      // busy (live) or gone
    }
  };
  for (const parent of cgroupDirs(layout, "")) {
    for (const account of readdir(parent).filter((n) => n.startsWith("acct-"))) {
      for (const box of readdir(path.join(parent, account)).filter((n) => n.startsWith("lcl-"))) {
        removeIfOld(path.join(parent, account, box));
      }
      removeIfOld(path.join(parent, account));
    }
  }
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function tryWrite(file: string, value: string) {
  try {
    fs.writeFileSync(file, value);
  } catch {
    // optional knob (no swap accounting on this host)
  }
}
