import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { splitCommand } from "@/lib/core/command-line";
import { HTTP_BRIDGE, npxPackage, PROJECT_MODULES } from "./start-command";

/**
 * The packages local sandboxes see at /opt/berth/node_modules: the catalogue's servers and what
 * they need, nothing else of Berth's own node_modules (its framework, database drivers, the E2B
 * SDK…: no use to a server, and each one more thing to read for flaws). Made once per set of
 * versions under `<data dir>/packages/<hash>/node_modules` from hard links into Berth's
 * node_modules (a copy where they are on different filesystems), and reused while it matches.
 */
export function preparePackages(opts: {
  modules: string;
  dataDir: string;
  packages: string[];
  /** Berth's own scripts sandboxes run (the HTTP bridge): path under node_modules → source file. */
  files?: Record<string, string>;
}): string {
  const closure = dependencyClosure(opts.modules, opts.packages);
  const files = Object.entries(opts.files ?? {}).map(([to, from]) => ({ to, text: fs.readFileSync(from) }));
  const hash = createHash("sha256").update(closure.map((p) => `${p.name}@${p.version}`).join("\n"));
  for (const f of files) hash.update(`\n${f.to}\n`).update(f.text);
  const stamp = hash.digest("hex").slice(0, 16);
  const parent = path.join(opts.dataDir, "packages");
  const target = path.join(parent, stamp, "node_modules");
  const complete = path.join(parent, stamp, ".complete");
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(complete)) {
    const building = path.join(parent, `${stamp}.building-${process.pid}`);
    fs.rmSync(building, { recursive: true, force: true });
    const modules = path.join(building, "node_modules");
    fs.mkdirSync(modules, { recursive: true, mode: 0o755 });
    for (const [scope, names] of groupByScope(closure)) {
      const into = path.join(modules, scope);
      fs.mkdirSync(into, { recursive: true, mode: 0o755 });
      const sources = names.map((n) => path.join(opts.modules, n));
      try {
        execFileSync("cp", ["-al", "--", ...sources, into], { stdio: "pipe" });
      } catch {
        execFileSync("cp", ["-a", "--", ...sources, into], { stdio: "pipe" }); // another filesystem
      }
    }
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(modules, f.to)), { recursive: true, mode: 0o755 });
      fs.writeFileSync(path.join(modules, f.to), f.text, { mode: 0o644 });
    }
    fs.rmSync(path.join(parent, stamp), { recursive: true, force: true });
    fs.renameSync(building, path.join(parent, stamp));
    fs.writeFileSync(complete, `${closure.length} packages\n`);
  }
  for (const old of fs.readdirSync(parent)) {
    if (old !== stamp) fs.rmSync(path.join(parent, old), { recursive: true, force: true });
  }
  return target;
}

/** The npm packages that `npx -y pkg@version …` start commands run (the catalogue's servers). */
export function packagesOf(definitions: { start_command: string }[]): string[] {
  return definitions.flatMap((d) => {
    const npx = npxPackage(splitCommand(d.start_command));
    return npx ? [npx.name] : [];
  });
}

type Found = { name: string; version: string };

/**
 * The top-level packages of `modules` that `roots` need, resolved as Node resolves them (from
 * each package's dir upwards). Packages nested in a package's own node_modules come with it.
 */
export function dependencyClosure(modules: string, roots: string[]): Found[] {
  const found = new Map<string, Found>();
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const rel = path.relative(modules, dir);
    if (!rel.includes(`node_modules${path.sep}`)) found.set(rel, { name: rel, version: String(pkg.version) });
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const at = resolveFrom(dir, dep, modules);
      if (at) visit(at);
    }
  };
  for (const name of roots) {
    const dir = path.join(modules, name);
    if (!fs.existsSync(path.join(dir, "package.json"))) throw new Error(`${name} is not installed in ${modules}`);
    visit(dir);
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Where `dep` is found from `dir`, looking in node_modules folders upwards but not above `modules`. */
function resolveFrom(dir: string, dep: string, modules: string): string | undefined {
  for (let d = dir; d.startsWith(modules); d = path.dirname(d)) {
    const candidate = path.join(d, d === modules ? "" : "node_modules", dep);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (d === modules) break;
  }
  return undefined; // an optional dependency not installed here
}

function groupByScope(packages: Found[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { name } of packages) {
    const scope = name.startsWith("@") ? (name.split("/")[0] as string) : "";
    groups.set(scope, [...(groups.get(scope) ?? []), name]);
  }
  return groups;
}

/**
 * What Berth's local sandboxes get: the catalogue's packages (of the definitions given) and the
 * HTTP bridge with what it needs.
 */
export function prepareServerPackages(dataDir: string, definitions: { start_command: string }[]) {
  return preparePackages({
    modules: PROJECT_MODULES,
    dataDir,
    packages: [...packagesOf(definitions), ...HTTP_BRIDGE.packages],
    files: { [HTTP_BRIDGE.prepared]: HTTP_BRIDGE.source },
  });
}
