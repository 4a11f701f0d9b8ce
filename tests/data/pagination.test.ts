import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCatalogue } from "@/lib/catalogue/seed";
import type { Ctx } from "@/lib/core/context";
import { encodeCursor } from "@/lib/core/pagination";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import { listApiKeys } from "@/lib/core/services/api-keys";
import { listAccountConnections, listEventsOfConnection } from "@/lib/core/services/connections/list";
import { markDeleted } from "@/lib/core/services/connections/status";
import { listDefinitions } from "@/lib/core/services/definitions/definitions";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { getServer } from "@/lib/db/queries/servers";
import { insertToolCalls, pruneToolCalls } from "@/lib/db/queries/tool-calls";
import { insertTestConnection } from "../support/connections";
import { openTestDb, type TestDb } from "../support/databases";

/**
 * Keyset pages through the services, as the routes and the dashboard call them: every row once,
 * in the whole list's order, never another account's, and a cursor that is not one answers 400.
 * Then the retention's pruning of old tool calls. PGlite and PostgreSQL.
 */
describe.each(["pglite", "postgres"] as const)("pages and retention on %s", (kind) => {
  let t: TestDb;
  let a: string;
  let b: string;
  let serverId: string;

  const ctxOf = (accountId: string) =>
    ({
      db: t.db,
      accountId,
      actor: { kind: "api_key", scope: "admin" },
      role: "admin",
      publicUrl: "http://berth.test",
      runtime: { isolated: true },
      now: Date.now,
      log: { info() {}, warn() {}, error() {} },
    }) as unknown as Ctx;

  /** Walks a list page by page; the pages' rows, in order. */
  async function walk<T>(list: (cursor?: string) => Promise<{ data: T[]; next_cursor?: string | null }>) {
    const rows: T[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await list(cursor);
      rows.push(...page.data);
      if (page.next_cursor === null) return { rows, pages: pages + 1 };
      expect(page.next_cursor).toEqual(expect.any(String));
      cursor = page.next_cursor as string;
    }
    throw new Error("the pages never ended");
  }

  beforeAll(async () => {
    t = await openTestDb(kind);
    await seedCatalogue(t.db);
    a = (await createAccount(t, { name: "Paged A" })).account.id;
    b = (await createAccount(t, { name: "Paged B" })).account.id;
    serverId = (await getServer(t.db, { idOrSlug: "memory" }))?.id as string;
    // Seven made in one transaction share created_at to the microsecond: only the id orders them.
    await t.db.transaction(async (tx) => {
      for (let i = 0; i < 7; i++) await insertTestConnection(tx, { accountId: a, serverId, name: `same-${i}` });
    });
    for (let i = 0; i < 4; i++) await insertTestConnection(t.db, { accountId: a, serverId, name: `later-${i}` });
    for (let i = 0; i < 3; i++) await insertTestConnection(t.db, { accountId: b, serverId, name: `b-${i}` });
    const gone = await insertTestConnection(t.db, { accountId: a, serverId, name: "deleted" });
    await markDeleted(t.db, { accountId: a, id: gone.id }, { by: "system" });
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("pages through an account's connections: each once, in the whole list's order, ties included", async () => {
    const all = await listAccountConnections(ctxOf(a), {});
    expect(all.next_cursor).toBeUndefined(); // without limit: v1's answer, the whole list
    expect(all.data).toHaveLength(11);
    expect(all.data.map((c) => c.name)).not.toContain("deleted");
    for (const limit of [1, 3, 7, 11, 200]) {
      const { rows, pages } = await walk((cursor) => listAccountConnections(ctxOf(a), { limit, cursor }));
      expect(rows.map((c) => c.id)).toEqual(all.data.map((c) => c.id));
      expect(pages).toBe(Math.ceil(11 / limit)); // one row more than shown tells the last page: no empty page
    }
  });

  it("never reaches another account's rows, whatever the cursor says", async () => {
    const bPage = await listAccountConnections(ctxOf(b), { limit: 1 });
    const bIds = (await listAccountConnections(ctxOf(b), {})).data.map((c) => c.id);
    const fromB = await listAccountConnections(ctxOf(a), { limit: 200, cursor: bPage.next_cursor as string });
    for (const c of fromB.data) expect(c.account_id).toBe(a);
    expect(fromB.data.map((c) => c.id).filter((id) => bIds.includes(id))).toEqual([]);
    // A cursor forged to start before everything still lists only A's.
    const forged = encodeCursor(["connections", "9999-12-31T00:00:00.000000Z", "ffffffff-ffff-4fff-bfff-ffffffffffff"]);
    const all = await listAccountConnections(ctxOf(a), { limit: 200, cursor: forged });
    expect(all.data).toHaveLength(11);
    expect(new Set(all.data.map((c) => c.account_id))).toEqual(new Set([a]));
  });

  it.each([
    ["not base64url", "%%%"],
    ["not JSON", "bm90IGpzb24"],
    ["another list's", encodeCursor(["api_keys", "2026-01-01T00:00:00.000000Z", crypto.randomUUID()])],
    ["an impossible date", encodeCursor(["connections", "2026-02-30T00:00:00.000000Z", crypto.randomUUID()])],
    ["no uuid", encodeCursor(["connections", "2026-01-01T00:00:00.000000Z", "1; drop table x"])],
    ["too long a key", encodeCursor(["connections", "2026-01-01T00:00:00.000000Z", crypto.randomUUID(), 1])],
  ])("answers 400 to a cursor that is %s", async (_what, cursor) => {
    await expect(listAccountConnections(ctxOf(a), { limit: 5, cursor })).rejects.toMatchObject({
      code: "bad_request",
      details: [{ path: "cursor", message: expect.any(String) }],
    });
  });

  it("pages a connection's events by their order of writing; without limit, the newest 200", async () => {
    const conn = await insertTestConnection(t.db, { accountId: a, serverId, name: "chatty" });
    await insertToolCalls(
      t.db,
      Array.from({ length: 250 }, (_, i) => ({
        accountId: a,
        connectionId: conn.id,
        tool: `t${i}`,
        durationMs: 1,
        outcome: "ok" as const,
        requestBytes: 1,
        responseBytes: 1,
      })),
    );
    await addConnectionEvent(t.db, { accountId: a, connectionId: conn.id, type: "installed" });
    const newest = await listEventsOfConnection(ctxOf(a), conn.id);
    expect(newest.data).toHaveLength(200);
    expect(newest.next_cursor).toBeUndefined();
    expect(newest.data[0]?.type).toBe("installed");
    const { rows } = await walk((cursor) => listEventsOfConnection(ctxOf(a), conn.id, { limit: 64, cursor }));
    expect(rows).toHaveLength(251);
    expect(rows.slice(0, 200)).toEqual(newest.data);
    expect(rows.at(-1)?.data).toMatchObject({ tool: "t0" });
    await expect(
      listEventsOfConnection(ctxOf(a), conn.id, { limit: 5, cursor: encodeCursor(["events", "99999999999999999999"]) }),
    ).rejects.toMatchObject({ code: "bad_request" });
    await expect(listEventsOfConnection(ctxOf(b), conn.id, { limit: 5 })).rejects.toMatchObject({ code: "not_found" });
  });

  it("pages the catalogue and the API keys the same way", async () => {
    const catalogue = await listDefinitions({ db: t.db }, {});
    const paged = await walk((cursor) => listDefinitions({ db: t.db }, { limit: 2, cursor }));
    expect(paged.rows.map((d) => d.slug)).toEqual(catalogue.data.map((d) => d.slug));
    const keys = await listApiKeys(ctxOf(a), {});
    expect(keys.data.length).toBeGreaterThan(0);
    expect((await walk((cursor) => listApiKeys(ctxOf(a), { limit: 1, cursor }))).rows).toEqual(keys.data);
  });

  it("prunes tool calls past the retention in batches, counted per day first; lifecycle events stay", async () => {
    const conn = await insertTestConnection(t.db, { accountId: b, serverId, name: "old" });
    const call = (outcome: "ok" | "error", durationMs: number) => ({
      accountId: b,
      connectionId: conn.id,
      tool: "search",
      durationMs,
      outcome,
      requestBytes: 1,
      responseBytes: 1,
    });
    await insertToolCalls(t.db, [call("ok", 10), call("ok", 20), call("error", 30), call("ok", 5)]);
    await addConnectionEvent(t.db, { accountId: b, connectionId: conn.id, type: "installed" });
    // Three calls and the lifecycle event 40 days old, on two days; one call recent.
    await t.db.query(
      `update connection_events set created_at = case when data->>'duration_ms' = '30' or type = 'installed'
         then timestamptz '2026-01-02 12:00Z' else timestamptz '2026-01-01 12:00Z' end
       where connection_id = $1 and (type = 'installed' or (data->>'duration_ms')::float > 5)`,
      [conn.id],
    );
    const before = new Date("2026-02-01T00:00:00Z");
    expect(await pruneToolCalls(t.db, { before, limit: 2 })).toBe(2);
    expect(await pruneToolCalls(t.db, { before, limit: 2 })).toBe(1);
    expect(await pruneToolCalls(t.db, { before, limit: 2 })).toBe(0);
    const left = await t.db.query<{ type: string; data: { duration_ms?: number } }>(
      "select type, data from connection_events where connection_id = $1 order by seq",
      [conn.id],
    );
    expect(left.map((e) => [e.type, e.data.duration_ms])).toEqual([
      ["tool_call", 5],
      ["installed", undefined],
    ]);
    const days = await t.db.query<{ day: string; calls: string; errors: string; duration_ms: number }>(
      "select to_char(day, 'YYYY-MM-DD') as day, calls, errors, duration_ms from tool_call_days where connection_id = $1 order by day",
      [conn.id],
    );
    expect(days.map((d) => [d.day, Number(d.calls), Number(d.errors), Number(d.duration_ms)])).toEqual([
      ["2026-01-01", 2, 0, 30],
      ["2026-01-02", 1, 1, 30],
    ]);
    // The connection's running totals are not derived from the events: pruning leaves them.
    const [totals] = await t.db.query<{ tool_calls: string; tool_errors: string }>(
      "select tool_calls, tool_errors from mcp_connections where id = $1",
      [conn.id],
    );
    expect([Number(totals?.tool_calls), Number(totals?.tool_errors)]).toEqual([4, 1]);
  });
});
