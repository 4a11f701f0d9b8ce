import fs from "node:fs";
import path from "node:path";

const ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: "x86_64", arm64: "aarch64" };

/**
 * The seccomp filter of local sandboxes for this architecture (BPF, as bwrap's --seccomp reads
 * it), generated from seccomp/policy.json by scripts/seccomp/generate.py; undefined where there
 * is none.
 */
export function seccompProgram(arch: NodeJS.Architecture = process.arch): Buffer | undefined {
  const name = ARCH[arch];
  if (!name) return undefined;
  try {
    return fs.readFileSync(path.join(import.meta.dirname, "seccomp", `${name}.bpf`));
  } catch {
    return undefined;
  }
}
