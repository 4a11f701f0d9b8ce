import fs from "node:fs";
import path from "node:path";

const PREPARED_ROOT = path.resolve(import.meta.dirname, "../../node_modules");

/**
 * `npx -y pkg@version args…` → `node <pkg's bin> args…` when that exact version is prepared
 * (installed with Berth), so catalogue servers start in ~0.2 s without the network.
 * Anything else is returned unchanged.
 */
export function resolvePreparedCommand(argv: string[], nodePath = process.execPath): string[] {
  if (argv[0] !== "npx") return argv;
  let i = 1;
  while (argv[i] === "-y" || argv[i] === "--yes") i++;
  const spec = argv[i];
  if (!spec || spec.startsWith("-")) return argv;
  const at = spec.lastIndexOf("@");
  const [name, version] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
  const bin = preparedBin(name, version);
  return bin ? [nodePath, bin, ...argv.slice(i + 1)] : argv;
}

function preparedBin(name: string, version: string | undefined): string | undefined {
  const dir = path.join(PREPARED_ROOT, name);
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
