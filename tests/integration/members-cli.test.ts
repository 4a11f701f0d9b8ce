import { execFile } from "node:child_process";
import fs from "node:fs";
import type http from "node:http";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "@/lib/auth/password";
import { listenForCli } from "@/lib/cli/socket";
import { createCredentialsCipher } from "@/lib/crypto/credentials-cipher";
import { loadKeyring } from "@/lib/crypto/keyring";
import { type DbHandle, openDb } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";
import { createPostgresDatabase } from "../support/databases";
import { tempDir } from "../support/temp-dirs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

type Cli = (args: string[]) => Promise<{ code: number; json?: any; stderr: string }>;
type Setup = { cli: Cli; db: DbHandle; close(): Promise<void> };

/** `bin/berth.mjs … --json`, as `BerthServer.cli` runs it, keeping the exit code and stderr of failures. */
function cliWith(env: Record<string, string>): Cli {
  return async (args) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, "bin/berth.mjs"), ...args, "--json"], {
        cwd: ROOT,
        env: { ...process.env, LOG_LEVEL: "warn", ...env },
      });
      return { code: 0, json: JSON.parse(stdout), stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      if (typeof e.code !== "number") throw err;
      return { code: e.code, stderr: e.stderr ?? "" };
    }
  };
}

/**
 * Both ways the CLI reaches a database: handing the command to a running embedded Berth over
 * its Unix socket (the listener is the one server.ts starts, here on a PGlite the test reads),
 * and opening PostgreSQL itself (DATABASE_URL).
 */
const setups: Record<string, () => Promise<Setup>> = {
  "an embedded Berth (Unix socket)": async () => {
    const dataDir = tempDir("berth-members-");
    const db = await openDb({ dataDir });
    await migrate(db);
    const cipher = await createCredentialsCipher(loadKeyring({ dataDir, allowGenerate: true }).keys);
    const listener: http.Server = await listenForCli({ db, cipher, hashPassword }, dataDir);
    return {
      cli: cliWith({ BERTH_DATA_DIR: dataDir }),
      db,
      async close() {
        await new Promise((resolve) => listener.close(resolve));
        await db.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
  PostgreSQL: async () => {
    const pg = await createPostgresDatabase();
    const dataDir = tempDir("berth-members-");
    const db = await openDb({ databaseUrl: pg.url, dataDir });
    await migrate(db);
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
    return {
      cli: cliWith({ DATABASE_URL: pg.url, BERTH_ENCRYPTION_KEYS: `k1:${key}`, BERTH_DATA_DIR: dataDir }),
      db,
      async close() {
        await db.close();
        await pg.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

describe.each(Object.keys(setups))("berth members add, through %s", (name) => {
  let t: Setup;
  let accountId: string;
  let ownerId: string;

  beforeAll(async () => {
    t = await (setups[name] as () => Promise<Setup>)();
    const created = await t.cli(["accounts", "create", "--name", "Crew", "--owner-email", "Owner@Example.com"]);
    expect(created.code).toBe(0);
    accountId = created.json.account_id;
    const [owner] = await t.db.query<{ id: string }>("select id from users where email = 'owner@example.com'");
    ownerId = owner?.id as string;
    expect(ownerId).toBeTruthy();
  });
  afterAll(async () => {
    await t?.close();
  });

  const members = () =>
    t.db.query<{ user_id: string; role: string }>(
      "select user_id, role from memberships where account_id = $1 order by created_at",
      [accountId],
    );
  const user = async (id: string) =>
    (await t.db.query<{ id: string; email: string | null }>("select id, email from users where id = $1", [id]))[0];

  it("adds a Supabase user by id as a member, creating the user without an email", async () => {
    const supabaseUser = crypto.randomUUID();
    expect(await user(supabaseUser)).toBeUndefined();
    const r = await t.cli(["members", "add", "--account", accountId, "--user-id", supabaseUser]);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ account_id: accountId, user_id: supabaseUser, role: "member" });
    expect(await user(supabaseUser)).toEqual({ id: supabaseUser, email: null });
    expect(await members()).toContainEqual({ user_id: supabaseUser, role: "member" });

    // Again, with a role: the same membership changes its role; nothing is added.
    const before = (await members()).length;
    const again = await t.cli(["members", "add", "--account", accountId, "--user-id", supabaseUser, "--role", "admin"]);
    expect(again.json).toEqual({ account_id: accountId, user_id: supabaseUser, role: "admin" });
    expect(await members()).toHaveLength(before);
    expect((await members()).filter((m) => m.user_id === supabaseUser)).toEqual([
      { user_id: supabaseUser, role: "admin" },
    ]);
  });

  it("generates a password for a new owner only: an existing user's stays, so none is printed for them", async () => {
    const fresh = await t.cli(["accounts", "create", "--name", "New", "--owner-email", "new-owner@example.com"]);
    expect(fresh.json.owner_password).toEqual(expect.any(String));
    const again = await t.cli(["accounts", "create", "--name", "Second", "--owner-email", "NEW-owner@example.com"]);
    expect(again.code).toBe(0);
    expect(again.json).not.toHaveProperty("owner_password");
  });

  it("makes a user an operator of the catalogue and back", async () => {
    const granted = await t.cli(["operators", "grant", "--email", "owner@example.com"]);
    expect(granted.json).toEqual({ user_id: ownerId, email: "owner@example.com", operator: true });
    expect((await t.cli(["operators", "list"])).json).toEqual([{ user_id: ownerId, email: "owner@example.com" }]);
    const revoked = await t.cli(["operators", "revoke", "--user-id", ownerId]);
    expect(revoked.json.operator).toBe(false);
    expect((await t.cli(["operators", "list"])).json).toEqual([]);
    const nobody = await t.cli(["operators", "grant", "--email", "nobody@example.com"]);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain("No user has the email nobody@example.com.");
  });

  it("rotates the credentials key, reporting counts", async () => {
    const r = await t.cli(["keys", "rotate"]);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ key_id: expect.any(String), rotated: 0, changed_meanwhile: 0, failed: [], by_key: {} });
  });

  it("links an existing user by email (any case) and keeps an existing user's email when added by id", async () => {
    const byEmail = await t.cli(["members", "add", "--account", accountId, "--email", "OWNER@example.com"]);
    expect(byEmail.code).toBe(0);
    expect(byEmail.json).toEqual({ account_id: accountId, user_id: ownerId, role: "member" });

    const byId = await t.cli(["members", "add", "--account", accountId, "--user-id", ownerId, "--role", "owner"]);
    expect(byId.json).toEqual({ account_id: accountId, user_id: ownerId, role: "owner" });
    expect(await user(ownerId)).toEqual({ id: ownerId, email: "owner@example.com" });
  });

  it("refuses bad invocations with clear messages and changes nothing", async () => {
    const stranger = crypto.randomUUID();
    const unknownAccount = crypto.randomUUID();
    const before = await members();
    const cases: [string[], string][] = [
      [["--account", unknownAccount, "--user-id", stranger], `No such account: ${unknownAccount}.`],
      [["--account", accountId, "--email", "nobody@example.com"], "No user has the email nobody@example.com."],
      [["--account", accountId, "--user-id", stranger, "--email", "owner@example.com"], "Give exactly one of"],
      [["--account", accountId], "Give exactly one of --user-id or --email."],
      [["--account", accountId, "--user-id", stranger, "--role", "captain"], "--role must be owner, admin or member"],
      [["--account", accountId, "--user-id", "not-a-uuid"], "--user-id must be a UUID"],
      [["--account", accountId, "--email", "not-an-email"], "--email must be an email address"],
      [["--user-id", stranger], "--account must be an account id"],
    ];
    const results = await Promise.all(cases.map(([args]) => t.cli(["members", "add", ...args])));
    results.forEach((r, i) => {
      const [args, message] = cases[i] as [string[], string];
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
    });
    expect(await members()).toEqual(before);
    expect(await user(stranger)).toBeUndefined();
  });
});

it("berth --help lists members add, the api-keys, operators and keys commands", async () => {
  const { stderr } = await run(process.execPath, [path.join(ROOT, "bin/berth.mjs"), "--help"], { cwd: ROOT });
  expect(stderr).toContain(
    "berth members add --account <account_id> (--user-id <uuid> | --email <email>) [--role owner|admin|member]",
  );
  expect(stderr).toContain("berth api-keys list --account <account_id>");
  expect(stderr).toContain("berth api-keys revoke --id <api_key_id>");
  expect(stderr).toContain("berth operators grant (--user-id <uuid> | --email <email>)");
  expect(stderr).toContain("berth servers remove --slug <slug>");
  expect(stderr).toContain("berth keys rotate");
});
