import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCatalogue } from "@/lib/catalogue/seed";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import type { Db } from "@/lib/db/db";
import { addMembership } from "@/lib/db/queries/accounts";
import { insertConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { getServer } from "@/lib/db/queries/servers";
import { openTestDb, type TestDb } from "../support/databases";

/**
 * Row level security as Supabase's PostgREST applies it: `set local role authenticated` (or anon)
 * and the JWT's claims in `request.jwt.claims`, inside one transaction. Berth itself connects as
 * the tables' owner, which RLS does not apply to, so every fixture below is written that way.
 */
const ACCOUNT_TABLES = ["memberships", "api_keys", "mcp_connections", "connection_events"] as const;
/** Server-only tables: no policy, nothing granted; not even a user of the account reads them. */
const SERVER_ONLY = ["berth_settings", "member_invites"] as const;
const ALL_TABLES = ["accounts", "users", ...ACCOUNT_TABLES, "mcp_servers", ...SERVER_ONLY] as const;

describe.each(["pglite", "postgres"] as const)("row level security on %s", (kind) => {
  let t: TestDb;
  // Two accounts, one user each: A signed up with Berth (email), B is a Supabase user linked by
  // id only (no email). Each has a connection, events and an API key.
  const fixture = { a: { account: "", user: "" }, b: { account: "", user: "" } };

  beforeAll(async () => {
    t = await openTestDb(kind);
    await seedCatalogue(t.db);
    const a = await createAccount(t, { name: "RLS A", ownerEmail: `a-${crypto.randomUUID()}@example.com` });
    fixture.a = { account: a.account.id, user: a.userId as string };
    const b = await createAccount(t, { name: "RLS B" });
    const bUser = crypto.randomUUID();
    await t.db.query("insert into users (id) values ($1)", [bUser]);
    await addMembership(t.db, { accountId: b.account.id, userId: bUser, role: "owner" });
    fixture.b = { account: b.account.id, user: bUser };
    const memory = await getServer(t.db, { idOrSlug: "memory" });
    for (const { account } of [fixture.a, fixture.b]) {
      const id = crypto.randomUUID();
      await insertConnection(t.db, {
        id,
        accountId: account,
        serverId: memory?.id as string,
        name: "m",
        provider: "local",
        credentialsCiphertext: "ciphertext-not-for-clients",
        credentialsKeyId: "k1",
        keepAlive: true,
        timeoutSeconds: 60,
        expiresAt: new Date(Date.now() + 60_000),
        host: "test",
      });
      await addConnectionEvent(t.db, { accountId: account, connectionId: id, type: "installed" });
      await addConnectionEvent(t.db, { accountId: account, connectionId: id, type: "running" });
    }
  });
  afterAll(async () => {
    await t?.drop();
  });

  /** Runs `fn` as `role` with the given JWT claims (none: no setting at all), as PostgREST would. */
  function as<T>(role: "authenticated" | "anon", claims: Record<string, unknown> | null, fn: (tx: Db) => Promise<T>) {
    return t.db.transaction(async (tx) => {
      await tx.exec(`set local role ${role}`);
      if (claims) await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
      const result = await fn(tx);
      await tx.exec("reset role");
      return result;
    });
  }
  const userClaims = (user: string) => ({ sub: user, role: "authenticated" });

  /** The account ids of a table's rows `tx` can see, and how many rows. */
  async function visible(tx: Db, table: string) {
    const column = table === "accounts" ? "id" : "account_id";
    const rows = await tx.query<{ account_id: string }>(`select ${column} as account_id from ${table}`);
    return { accounts: new Set(rows.map((r) => r.account_id)), count: rows.length };
  }
  async function ownerCount(table: string, accountId: string) {
    const column = table === "accounts" ? "id" : "account_id";
    const rows = await t.db.query<{ n: number }>(`select count(*)::int as n from ${table} where ${column} = $1`, [
      accountId,
    ]);
    return rows[0]?.n;
  }

  const permissionDenied = { code: "42501" };

  it("shows each user exactly the rows of their own account, in every account table", async () => {
    for (const [self, other] of [
      [fixture.a, fixture.b],
      [fixture.b, fixture.a],
    ] as const) {
      for (const table of ["accounts", ...ACCOUNT_TABLES]) {
        const seen = await as("authenticated", userClaims(self.user), (tx) => visible(tx, table));
        expect(seen.accounts, table).toEqual(new Set([self.account]));
        expect(seen.count, table).toBe(await ownerCount(table, self.account));
        expect(seen.accounts.has(other.account), table).toBe(false);
      }
      const users = await as("authenticated", userClaims(self.user), (tx) =>
        tx.query<{ id: string }>("select id from users"),
      );
      expect(users.map((u) => u.id)).toEqual([self.user]);
    }
  });

  it("shows nothing to a user without claims, to a user who is no member, and to anon", async () => {
    for (const table of ["accounts", "users", ...ACCOUNT_TABLES]) {
      const column = table === "users" ? "id" : table === "accounts" ? "id" : "account_id";
      const noClaims = await as("authenticated", null, (tx) => tx.query(`select ${column} from ${table}`));
      expect(noClaims, table).toEqual([]);
      const stranger = await as("authenticated", userClaims(crypto.randomUUID()), (tx) =>
        tx.query(`select ${column} from ${table}`),
      );
      expect(stranger, table).toEqual([]);
    }
    for (const table of ALL_TABLES) {
      await expect(
        as("anon", { role: "anon" }, (tx) => tx.query(`select 1 from ${table}`)),
        table,
      ).rejects.toMatchObject(permissionDenied);
    }
  });

  it("keeps secrets unreadable even on a user's own rows", async () => {
    const claims = userClaims(fixture.a.user);
    for (const sql of [
      "select credentials_ciphertext from mcp_connections",
      "select key_hash from api_keys",
      "select password_hash from users",
      "select * from mcp_connections",
    ]) {
      await expect(
        as("authenticated", claims, (tx) => tx.query(sql)),
        sql,
      ).rejects.toMatchObject(permissionDenied);
    }
    // The rest of those rows stays readable by naming the columns.
    const own = await as("authenticated", claims, (tx) =>
      tx.query<{ id: string }>("select id, status, credentials_key_id from mcp_connections"),
    );
    expect(own.length).toBe(1);
  });

  it("lets signed-in users read the catalogue, and nobody but the owner read the server-only tables", async () => {
    const slugs = await as("authenticated", userClaims(fixture.a.user), (tx) =>
      tx.query<{ slug: string }>("select slug from mcp_servers"),
    );
    expect(slugs.map((s) => s.slug)).toEqual(expect.arrayContaining(["memory", "github"]));
    await expect(
      as("authenticated", userClaims(fixture.a.user), (tx) => tx.query("select value from berth_settings")),
    ).rejects.toMatchObject(permissionDenied);
    // Invitations (token hashes) are Berth's alone, even for the invited account's own users.
    const invites = await t.db.query<{ n: number }>(
      "select (select relrowsecurity from pg_class where oid = 'member_invites'::regclass)::int as n",
    );
    expect(invites[0]?.n).toBe(1);
    for (const sql of ["select token_hash from member_invites", "select account_id from member_invites"]) {
      await expect(
        as("authenticated", userClaims(fixture.a.user), (tx) => tx.query(sql)),
        sql,
      ).rejects.toMatchObject(permissionDenied);
    }
  });

  it("refuses every write, even to a user's own account", async () => {
    const claims = userClaims(fixture.a.user);
    const a = fixture.a.account;
    for (const sql of [
      `insert into api_keys (account_id, prefix, key_hash) values ('${a}', 'brt_', 'x')`,
      `insert into memberships (account_id, user_id, role) values ('${a}', '${fixture.b.user}', 'member')`,
      `update mcp_connections set name = 'renamed' where account_id = '${a}'`,
      `update accounts set name = 'renamed' where id = '${a}'`,
      `update accounts set default_timeout = 600 where id = '${a}'`,
      `insert into member_invites (account_id, user_id, token_hash, expires_at) values ('${a}', '${fixture.a.user}', 'x', now())`,
      `delete from connection_events where account_id = '${a}'`,
      "insert into mcp_servers (slug, title, start_command, default_timeout) values ('evil', 'Evil', 'sh', 60)",
      `update users set email = 'x@example.com' where id = '${fixture.a.user}'`,
    ]) {
      await expect(
        as("authenticated", claims, (tx) => tx.query(sql)),
        sql,
      ).rejects.toMatchObject(permissionDenied);
    }
    expect((await t.db.query<{ name: string }>("select name from accounts where id = $1", [a]))[0]?.name).toBe("RLS A");
  });

  it("still honours berth.account_id for Berth's own non-owner sessions", async () => {
    const seen = await t.db.transaction(async (tx) => {
      await tx.exec("set local role authenticated");
      await tx.query("select set_config('berth.account_id', $1, true)", [fixture.b.account]);
      const rows = await visible(tx, "mcp_connections");
      await tx.exec("reset role");
      return rows;
    });
    expect(seen.accounts).toEqual(new Set([fixture.b.account]));
  });

  it("gives auth.uid() and auth.jwt() Supabase's semantics", async () => {
    const read = (claims: string | null) =>
      t.db.transaction(async (tx) => {
        if (claims !== null) await tx.query("select set_config('request.jwt.claims', $1, true)", [claims]);
        return (await tx.query<{ uid: string | null; jwt: unknown }>("select auth.uid() as uid, auth.jwt() as jwt"))[0];
      });
    const sub = crypto.randomUUID();
    expect(await read(JSON.stringify({ sub, role: "authenticated" }))).toEqual({
      uid: sub,
      jwt: { sub, role: "authenticated" },
    });
    expect(await read("")).toEqual({ uid: null, jwt: null });
    expect(await read(JSON.stringify({ role: "anon" }))).toEqual({ uid: null, jwt: { role: "anon" } });
  });
});
