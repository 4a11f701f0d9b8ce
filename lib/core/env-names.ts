/**
 * Which environment variables a server definition or a credential may set. Servers get their
 * environment only inside their sandbox, so these names could do no harm there; they are refused
 * anyway, as a second wall: were any of them ever to reach a program outside a sandbox (the start
 * chain, a helper), the dynamic loader, libc or a runtime would run the tenant's code with it.
 */

/** glibc's "unsecure" variables (ignored for setuid programs, honoured by everything else). */
const LOADER = [
  "GCONV_PATH",
  "GETCONF_DIR",
  "GLIBC_TUNABLES",
  "HOSTALIASES",
  "LOCALDOMAIN",
  "LOCPATH",
  "NIS_PATH",
  "NLSPATH",
  "RESOLV_HOST_CONF",
  "RES_OPTIONS",
  "TZDIR",
];
/** Runtimes and shells that run code named in their environment. */
const RUNTIME = [
  "NODE_OPTIONS", // also Berth's own heap cap for Node servers
  "NODE_PATH",
  "BASH_ENV",
  "ENV",
  "SHELLOPTS",
  "BASHOPTS",
  "PS4",
  "IFS",
  "PERL5OPT",
  "PERL5LIB",
  "PYTHONSTARTUP",
  "PYTHONPATH",
  "PYTHONHOME",
  "RUBYOPT",
];
const RESERVED = new Set([...LOADER, ...RUNTIME]);
const RESERVED_PREFIXES = ["LD_", "MALLOC_", "BASH_FUNC_", "DYLD_"];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why `name` cannot be a server's environment variable, or undefined when it can. */
export function envNameProblem(name: string): string | undefined {
  if (!NAME.test(name)) return "Must be an environment variable name (letters, digits and _).";
  const upper = name.toUpperCase();
  if (RESERVED.has(upper) || RESERVED_PREFIXES.some((p) => upper.startsWith(p))) {
    return "Reserved: it changes how programs load and run, so Berth never sets it for a server.";
  }
  return undefined;
}

/** Why `value` cannot be an environment value: the kernel ends strings at NUL, and so do argument lists. */
export function envValueProblem(value: string): string | undefined {
  return value.includes("\0") ? "Must not contain a NUL character." : undefined;
}

/** Throws on the first variable a sandbox must not be started with: the last check before a start. */
export function assertSafeEnv(env: Record<string, string>) {
  for (const [name, value] of Object.entries(env)) {
    const problem = envNameProblem(name) ?? envValueProblem(value);
    if (problem) throw new Error(`The server's environment is refused: ${name}: ${problem}`);
  }
}
