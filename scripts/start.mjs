#!/usr/bin/env node
// `npm start`: build the app when the build is missing or older than the sources, then run
// Berth's server in this same process (so signals reach it directly).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { register } from "tsx/esm/api";
import { ensureDebianPackages, SANDBOX_PACKAGES } from "./debian-packages.mjs";

const root = path.resolve(import.meta.dirname, "..");
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Berth needs Node.js 20.19 or newer; this is ${process.version}.`);
  process.exit(1);
}

// The default sandboxes need bubblewrap (and pasta + nftables for servers with network); Berth
// itself refuses to start without bubblewrap and names the way out (SANDBOX_PROVIDER=process).
if (!process.env.SANDBOX_PROVIDER || process.env.SANDBOX_PROVIDER === "local") {
  ensureDebianPackages(SANDBOX_PACKAGES, "Berth's local sandboxes");
}

if (buildIsStale()) {
  console.log("Building the app (next build)…");
  const r = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

process.env.NODE_ENV = "production";
register({ tsconfig: path.join(root, "tsconfig.json") });
await import(path.join(root, "server.ts"));

function buildIsStale() {
  const buildId = path.join(root, ".next/BUILD_ID");
  if (!fs.existsSync(buildId)) return true;
  const built = fs.statSync(buildId).mtimeMs;
  const newer = (p) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return false;
    if (!st.isDirectory()) return st.mtimeMs > built;
    return fs.readdirSync(p).some((name) => newer(path.join(p, name)));
  };
  return ["app", "components", "lib", "proxy.ts", "next.config.ts", "package.json"].some((p) =>
    newer(path.join(root, p)),
  );
}
