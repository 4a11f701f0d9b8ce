import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCatalogue } from "@/lib/catalogue/seed";
import { holderOfBearer } from "@/lib/core/services/accounts/authenticate";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import { markDeleted, markFailed, markRunning } from "@/lib/core/services/connections/status";
import { createCredentialsCipher } from "@/lib/crypto/credentials-cipher";
import { migrate } from "@/lib/db/migrate";
import { getConnection, listConnections } from "@/lib/db/queries/connections";
import { addConnectionEvent, listConnectionEvents } from "@/lib/db/queries/events";
import { getServer, upsertServer } from "@/lib/db/queries/servers";
import { insertTestConnection } from "../support/connections";
import { openTestDb, type TestDb } from "../support/databases";

describe.each(["pglite", "postgres"] as const)("data layer on %s", (kind) => {
  let t: TestDb;
  const cipherP = createCredentialsCipher([{ id: "k1", raw: crypto.getRandomValues(new Uint8Array(32)) }]);

  beforeAll(async () => {
    t = await openTestDb(kind);
    await seedCatalogue(t.db);
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function newConnection(accountId: string, secret = "s3cr3t-token-value") {
    const cipher = await cipherP;
    const id = crypto.randomUUID();
    const memory = await getServer(t.db, { idOrSlug: "memory" });
    const { keyId, ciphertext } = await cipher.encrypt({ TOKEN: secret }, id);
    return insertTestConnection(t.db, {
      id,
      accountId,
      serverId: memory?.id as string,
      name: "m",
      credentialsCiphertext: ciphertext,
      credentialsKeyId: keyId,
    });
  }

  it("applies migrations once; running them again changes nothing", async () => {
    expect(await migrate(t.db)).toEqual([]);
    const tables = await t.db.query<{ n: number }>(
      "select count(*)::int as n from information_schema.tables where table_name in ('accounts','users','memberships','api_keys','mcp_servers','mcp_connections','connection_events')",
    );
    expect(tables[0]?.n).toBe(7);
  });

  it("seeds the catalogue once, keeping an operator's edits", async () => {
    const memory = await getServer(t.db, { idOrSlug: "memory" });
    await upsertServer(t.db, { ...(memory as NonNullable<typeof memory>), title: "Edited" });
    await seedCatalogue(t.db);
    expect((await getServer(t.db, { idOrSlug: "memory" }))?.title).toBe("Edited");
    const slugs = (await t.db.query<{ slug: string }>("select slug from mcp_servers")).map((r) => r.slug);
    expect(slugs).toEqual(
      expect.arrayContaining([
        "memory",
        "everything",
        "filesystem",
        "sequential-thinking",
        "github",
        "brave-search",
        "slack",
      ]),
    );
  });

  it("scopes every connection query by account", async () => {
    const a = await createAccount(t, { name: "A" });
    const b = await createAccount(t, { name: "B" });
    const conn = await newConnection(a.account.id);
    expect(await getConnection(t.db, { accountId: a.account.id, id: conn.id })).toBeDefined();
    expect(await getConnection(t.db, { accountId: b.account.id, id: conn.id })).toBeUndefined();
    expect((await listConnections(t.db, { accountId: b.account.id })).length).toBe(0);
    expect(
      await markFailed(t.db, { accountId: b.account.id, id: conn.id }, { from: ["deploying"], error: "no" }),
    ).toBeUndefined();
    expect((await getConnection(t.db, { accountId: a.account.id, id: conn.id }))?.status).toBe("deploying");
    await addConnectionEvent(t.db, { accountId: a.account.id, connectionId: conn.id, type: "installed" });
    expect(await listConnectionEvents(t.db, { accountId: b.account.id, connectionId: conn.id })).toEqual([]);
    expect((await listConnectionEvents(t.db, { accountId: a.account.id, connectionId: conn.id })).length).toBe(1);
  });

  it("only moves a connection out of the statuses it is expected in", async () => {
    const a = await createAccount(t, { name: "A2" });
    const conn = await newConnection(a.account.id);
    const key = { accountId: a.account.id, id: conn.id };
    await markDeleted(t.db, key, { by: "system" });
    const running = { sandbox_id: "s", host: "h", started_at: new Date(), expires_at: new Date() };
    expect(await markRunning(t.db, key, running)).toBeUndefined();
    expect(await listConnectionEvents(t.db, { accountId: a.account.id, connectionId: conn.id })).toEqual([
      expect.objectContaining({ type: "deleted", data: { by: "system" } }),
    ]);
    expect(await getConnection(t.db, key)).toBeUndefined(); // deleted rows are invisible
  });

  it("keeps credentials encrypted at rest: the raw table holds no plaintext", async () => {
    const a = await createAccount(t, { name: "Crypto" });
    const secret = `plain-${crypto.randomUUID()}`;
    const conn = await newConnection(a.account.id, secret);
    const dump = await t.db.query<{ row: string }>("select t::text as row from mcp_connections t");
    expect(dump.length).toBeGreaterThan(0);
    expect(dump.map((r) => r.row).join("\n")).not.toContain(secret);
    expect(conn.credentials_key_id).toBe("k1");
    const cipher = await cipherP;
    const stored = { keyId: conn.credentials_key_id, ciphertext: conn.credentials_ciphertext };
    expect(await cipher.decrypt(stored, conn.id)).toEqual({ TOKEN: secret });
    await expect(cipher.decrypt(stored, crypto.randomUUID())).rejects.toThrow(); // bound to its row
  });

  it("stores API keys as hashes only and resolves them to their account", async () => {
    const { account, apiKey } = await createAccount(t, { name: "Keys" });
    const raw = await t.db.query<{ row: string }>("select t::text as row from api_keys t where account_id = $1", [
      account.id,
    ]);
    expect(raw[0]?.row).not.toContain(apiKey);
    expect((await holderOfBearer(t.db, `Bearer ${apiKey}`))?.accountId).toBe(account.id);
    expect(await holderOfBearer(t.db, `Bearer ${apiKey}x`)).toBeUndefined();
    expect(await holderOfBearer(t.db, null)).toBeUndefined();
  });

  it("guards account tables with row level security for roles other than the owner", async () => {
    const a = await createAccount(t, { name: "RLS-A" });
    const b = await createAccount(t, { name: "RLS-B" });
    await newConnection(a.account.id);
    await newConnection(b.account.id);
    const role = `berth_rls_${Math.random().toString(36).slice(2, 8)}`;
    await t.db.exec(`create role ${role}; grant select on mcp_connections to ${role};`);
    const seen = await t.db.transaction(async (tx) => {
      await tx.exec(`set local role ${role}`);
      await tx.query("select set_config('berth.account_id', $1, true)", [a.account.id]);
      const rows = await tx.query<{ account_id: string }>("select account_id from mcp_connections");
      await tx.exec("reset role");
      return rows;
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen.map((r) => r.account_id))).toEqual(new Set([a.account.id]));
    await t.db.exec(`revoke all on mcp_connections from ${role}; drop role ${role};`);
  });
});
