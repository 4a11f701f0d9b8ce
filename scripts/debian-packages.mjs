import { execFileSync } from "node:child_process";
import fs from "node:fs";

/** What local sandboxes use: bubblewrap always; zstd for sleeping homes; pasta and nftables for servers with network. */
export const SANDBOX_PACKAGES = {
  bubblewrap: "/usr/bin/bwrap",
  zstd: "/usr/bin/zstd",
  passt: "/usr/bin/pasta",
  nftables: "/usr/sbin/nft",
};

/**
 * Installs the Debian packages whose files are missing, when running as root; otherwise names
 * them and returns false (the caller decides whether that is fatal).
 */
export function ensureDebianPackages(packages, purpose) {
  const missing = Object.entries(packages)
    .filter(([, file]) => !fs.existsSync(file))
    .map(([pkg]) => pkg);
  if (!missing.length) return true;
  if (process.getuid?.() !== 0 || !fs.existsSync("/usr/bin/apt-get")) {
    console.error(
      `${purpose} needs these Debian packages: ${missing.join(" ")}\nInstall them with: sudo apt-get install -y ${missing.join(" ")}`,
    );
    return false;
  }
  console.log(`Installing ${missing.join(", ")} from Debian (${purpose})…`);
  const apt = { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } };
  execFileSync("apt-get", ["update", "-q"], apt);
  execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], apt);
  return true;
}
