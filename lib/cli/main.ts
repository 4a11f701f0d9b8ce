import { parseArgs } from "node:util";
import { hashPassword } from "@/lib/auth/password";
import { ConfigError, loadConfig } from "@/lib/config";
import { BerthError } from "@/lib/core/errors";
import { createCredentialsCipher } from "@/lib/crypto/credentials-cipher";
import { openStore } from "@/lib/node";
import { type CliInvocation, runCommand, USAGE } from "./commands";
import { sendToServer } from "./socket";

/** `npx berth …`: with --json exactly one JSON document on stdout; messages on stderr. */
async function main(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      name: { type: "string" },
      "owner-email": { type: "string" },
      "owner-password": { type: "string" },
      account: { type: "string" },
      "user-id": { type: "string" },
      email: { type: "string" },
      role: { type: "string" },
      file: { type: "string" },
      id: { type: "string" },
      slug: { type: "string" },
    },
  });
  if (values.help || positionals.length < 2) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const { json, help: _, ...options } = values;
  const invocation: CliInvocation = { command: positionals.slice(0, 2).join(" "), options };
  const config = loadConfig();
  const result = await runHere(config, invocation);
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const owner = (result as { owner_password?: string }).owner_password;
  if (owner) process.stderr.write("A password was generated for the owner; it is shown once (owner_password).\n");
  return 0;
}

async function runHere(config: ReturnType<typeof loadConfig>, invocation: CliInvocation) {
  if (!config.databaseUrl) {
    const viaServer = await sendToServer(config.dataDir, invocation);
    if (viaServer !== undefined) return viaServer;
  }
  const store = await openStore(config);
  for (const w of store.warnings) process.stderr.write(`warning: ${w}\n`);
  try {
    return await runCommand(
      { db: store.db, hashPassword, cipher: await createCredentialsCipher(store.keyring.keys) },
      invocation,
    );
  } finally {
    await store.db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError || err instanceof BerthError) process.stderr.write(`berth: ${err.message}\n`);
    else process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof BerthError && err.code !== "internal_error" ? 2 : 1);
  },
);
