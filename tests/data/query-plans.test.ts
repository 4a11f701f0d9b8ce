import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCatalogue } from "@/lib/catalogue/seed";
import { encodeCursor } from "@/lib/core/pagination";
import type { Db } from "@/lib/db/db";
import { getConnection, listConnections } from "@/lib/db/queries/connections";
import { listConnectionEvents } from "@/lib/db/queries/events";
import {
  claimKeepAlive,
  lockAgedSandboxes,
  lockExpired,
  lockRestarts,
  lockStuckDeploys,
} from "@/lib/db/queries/maintenance";
import { pruneToolCalls, toolCallMedians } from "@/lib/db/queries/tool-calls";
import { openTestDb, type TestDb } from "../support/databases";
import { type ScaleSeed, seedScale } from "../support/scale-seed";

type PlanNode = { "Node Type": string; "Relation Name"?: string; "Index Name"?: string; Plans?: PlanNode[] };

/**
 * The queries Berth runs on every list, get, maintenance pass and retention sweep, as PostgreSQL
 * plans them over 100,000 connections (10,000 in one account) and their events: none reads
 * mcp_connections or connection_events whole. The SQL is the query modules' own: they run against
 * a Db that answers each statement with its EXPLAIN instead.
 */
describe("query plans at 100,000 connections on PostgreSQL", () => {
  let t: TestDb;
  let seed: ScaleSeed;

  beforeAll(async () => {
    t = await openTestDb("postgres");
    await seedCatalogue(t.db);
    seed = await seedScale(t.db, { big: 10_000, accounts: 900, perAccount: 100 });
  }, 300_000);
  afterAll(async () => {
    await t?.drop();
  });

  /** The plans of every statement `run` makes, instead of running them. */
  async function plansOf(run: (db: Db) => Promise<unknown>) {
    const plans: { sql: string; plan: PlanNode }[] = [];
    const explaining: Db = {
      async query<T>(sql: string, params?: unknown[]) {
        const [row] = await t.db.query<{ "QUERY PLAN": unknown }>(`explain (format json) ${sql}`, params);
        const raw = row?.["QUERY PLAN"];
        const doc = (typeof raw === "string" ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
        plans.push({ sql, plan: (doc[0] as { Plan: PlanNode }).Plan });
        return [] as T[];
      },
      exec: (sql) => t.db.exec(sql),
      transaction: (fn) => fn(explaining),
    };
    await run(explaining);
    expect(plans.length).toBeGreaterThan(0);
    return plans;
  }

  const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];
  const BIG_TABLES = new Set(["mcp_connections", "connection_events"]);

  /** Asserts that no plan reads a big table sequentially; the indexes the plans use. */
  async function expectIndexed(run: (db: Db) => Promise<unknown>) {
    const plans = await plansOf(run);
    for (const { sql, plan } of plans) {
      const seqScans = nodes(plan).filter(
        (n) => n["Node Type"] === "Seq Scan" && BIG_TABLES.has(n["Relation Name"] ?? ""),
      );
      expect(seqScans, `${sql}\n${JSON.stringify(plan, null, 1)}`).toEqual([]);
    }
    return plans.flatMap(({ plan }) => nodes(plan).flatMap((n) => (n["Index Name"] ? [n["Index Name"]] : [])));
  }

  it("seeded what it says", () => {
    expect(seed.connections).toBe(100_000);
    expect(seed.events).toBeGreaterThanOrEqual(200_000);
  });

  it("lists a page of the big account, first and deep, by the keyset index", async () => {
    const accountId = seed.bigAccountId;
    const first = await expectIndexed((db) => listConnections(db, { accountId, page: { limit: 51 } }));
    expect(first).toContain("mcp_connections_account_page_idx");
    const [deep] = await t.db.query<{ at: string; id: string }>(
      `select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, id from mcp_connections
       where account_id = $1 and status <> 'deleted' order by created_at desc, id desc offset 9000 limit 1`,
      [accountId],
    );
    const after: [string, string] = [deep?.at as string, deep?.id as string];
    expect(await expectIndexed((db) => listConnections(db, { accountId, page: { limit: 51, after } }))).toContain(
      "mcp_connections_account_page_idx",
    );
    // The cursor is the same sort key the service would encode.
    expect(encodeCursor(["connections", ...after])).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("gets one connection, and the tool-call medians of a page, by index", async () => {
    const accountId = seed.bigAccountId;
    await expectIndexed((db) => getConnection(db, { accountId, id: seed.busyConnectionId }));
    const ids = (await listConnections(t.db, { accountId, page: { limit: 50 } })).map((c) => c.id);
    expect(await expectIndexed((db) => toolCallMedians(db, { accountId, connectionIds: ids }))).toContain(
      "connection_events_tool_calls_idx",
    );
  });

  it("pages a connection's events by index", async () => {
    const q = { accountId: seed.bigAccountId, connectionId: seed.busyConnectionId };
    await expectIndexed((db) => listConnectionEvents(db, { ...q, page: { limit: 201 } }));
    await expectIndexed((db) => listConnectionEvents(db, { ...q, page: { limit: 51, after: ["150000"] } }));
  });

  it("claims the maintenance loop's due work by index: keep-alive, expiry, restarts, stuck deploys, aged sandboxes", async () => {
    const used = [
      ...(await expectIndexed((db) => claimKeepAlive(db))),
      ...(await expectIndexed((db) => lockExpired(db))),
      ...(await expectIndexed((db) => lockRestarts(db))),
      ...(await expectIndexed((db) => lockStuckDeploys(db, { seconds: 120 }))),
      ...(await expectIndexed((db) => lockAgedSandboxes(db, { seconds: 3300 }))),
    ];
    expect(used.length).toBeGreaterThanOrEqual(5);
  });

  it("finds the tool calls past the retention by index", async () => {
    const before = new Date(Date.now() - 30 * 86_400_000);
    expect(await expectIndexed((db) => pruneToolCalls(db, { before, limit: 1000 }))).toContain(
      "connection_events_tool_call_age_idx",
    );
  });
});
