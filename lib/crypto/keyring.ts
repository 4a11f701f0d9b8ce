import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseKeySpec } from "./credentials-cipher";

export type Keyring = { keys: { id: string; raw: Uint8Array }[]; generated: boolean; file?: string };

/**
 * The encryption keys: BERTH_ENCRYPTION_KEYS when set, else the key file in the data dir,
 * created with mode 0600 on first use (embedded mode only).
 */
export function loadKeyring(opts: { spec?: string; dataDir: string; allowGenerate: boolean }): Keyring {
  if (opts.spec) return { keys: parseKeySpec(opts.spec), generated: false };
  const file = path.join(opts.dataDir, "encryption-keys");
  if (fs.existsSync(file)) return { keys: parseKeySpec(fs.readFileSync(file, "utf8").trim()), generated: false, file };
  if (!opts.allowGenerate) {
    throw new Error("BERTH_ENCRYPTION_KEYS is required when DATABASE_URL is set (keys must not live on one host only)");
  }
  const spec = `k${Date.now().toString(36)}:${crypto.randomBytes(32).toString("base64")}`;
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${spec}\n`, { mode: 0o600, flag: "wx" });
  return { keys: parseKeySpec(spec), generated: true, file };
}

/** A secret kept in the data dir (0600), made on first use: e.g. the session cookie password. */
export function loadOrCreateSecret(dataDir: string, name: string): string {
  const file = path.join(dataDir, name);
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = crypto.randomBytes(32).toString("base64url");
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return secret;
  } catch {
    return fs.readFileSync(file, "utf8").trim(); // another process made it first
  }
}
