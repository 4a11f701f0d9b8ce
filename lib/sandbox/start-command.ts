import fs from "node:fs";
import path from "node:path";

/** Berth's own node_modules, where the catalogue's packages are installed with it. */
export const PROJECT_MODULES = path.resolve(import.meta.dirname, "../../node_modules");

/**
 * The bridge that runs a Streamable HTTP server in a local sandbox (http-bridge.mjs): its source,
 * where it goes among the prepared packages, and the package it needs there.
 */
export const HTTP_BRIDGE = {
  source: path.join(import.meta.dirname, "http-bridge.mjs"),
  prepared: ".berth/http-bridge.mjs",
  packages: ["@modelcontextprotocol/sdk"],
};

/** What Berth spawns for a server serving HTTP on `http`: the bridge, which starts `argv` itself. */
export function bridgedCommand(bridge: string, http: { port: number; path: string }, argv: string[]) {
  return [process.execPath, bridge, String(http.port), http.path, ...argv];
}

/** The package an `npx -y pkg@version args…` start command runs, and where its own arguments start. */
export function npxPackage(argv: string[]): { name: string; version?: string; argsAt: number } | undefined {
  if (argv[0] !== "npx") return undefined;
  let i = 1;
  while (argv[i] === "-y" || argv[i] === "--yes") i++;
  const spec = argv[i];
  if (!spec || spec.startsWith("-")) return undefined;
  const at = spec.lastIndexOf("@");
  const [name, version] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
  if (!NPM_NAME.test(name)) return undefined;
  return { name, version, argsAt: i + 1 };
}

const NPM_NAME = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i;

/**
 * `npx -y pkg@version args…` → `node <pkg's bin> args…` when that exact version is prepared
 * under `root` (installed with Berth), so catalogue servers start in ~0.2 s without the network.
 * Anything else is returned unchanged.
 */
export function resolvePreparedCommand(argv: string[], root: string, nodePath = process.execPath): string[] {
  const npx = npxPackage(argv);
  const bin = npx && preparedBin(root, npx.name, npx.version);
  return npx && bin ? [nodePath, bin, ...argv.slice(npx.argsAt)] : argv;
}

function preparedBin(root: string, name: string, version: string | undefined): string | undefined {
  const dir = path.join(root, name);
  let pkg: { version?: string; bin?: string | Record<string, string> };
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  } catch {
    return undefined;
  }
  if (version && version !== "latest" && pkg.version !== version) return undefined;
  const bins = typeof pkg.bin === "string" ? { [name]: pkg.bin } : (pkg.bin ?? {});
  const own = bins[name.split("/").pop() as string] ?? Object.values(bins)[0];
  return own ? path.join(dir, own) : undefined;
}
