import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCatalogue } from "@/lib/catalogue/seed";
import { createAccount } from "@/lib/core/services/accounts/create-account";
import {
  markAuthRequired,
  markCrashed,
  markDeleted,
  markDeploying,
  markExpired,
  markFailed,
  markRunning,
  markSleeping,
} from "@/lib/core/services/connections/status";
import type { Db } from "@/lib/db/db";
import type { ConnectionStatus } from "@/lib/db/queries/connections";
import { getServer } from "@/lib/db/queries/servers";
import { insertTestConnection } from "../support/connections";
import { openTestDb, type TestDb } from "../support/databases";

type Key = { accountId: string; id: string };
const STATUSES: ConnectionStatus[] = [
  "deploying",
  "running",
  "failed",
  "expired",
  "deleted",
  "auth_required",
  "sleeping",
];
const running = { sandbox_id: "sbx", host: "h", started_at: new Date(), expires_at: new Date() };

/**
 * Each status change moves a connection only out of the statuses it names, so a change that lost
 * a race (a delete, an expiry, a crash report that came late) changes and records nothing.
 */
const CHANGES: {
  name: string;
  to: ConnectionStatus;
  from: ConnectionStatus[];
  run(db: Db, key: Key): Promise<unknown>;
}[] = [
  {
    name: "a restart",
    to: "deploying",
    from: ["running", "failed", "expired"],
    run: (db, key) =>
      markDeploying(db, key, { from: ["running", "failed", "expired"], reason: "requested", by: "api_key" }),
  },
  { name: "a deploy's success", to: "running", from: ["deploying"], run: (db, key) => markRunning(db, key, running) },
  {
    name: "a deploy's failure",
    to: "failed",
    from: ["deploying"],
    run: (db, key) => markFailed(db, key, { from: ["deploying"], error: "no" }),
  },
  {
    name: "a crash",
    to: "failed",
    from: ["running"],
    run: (db, key) =>
      markCrashed(db, key, { sandboxId: "sbx", error: "died", stderr: "", attempt: 1 }, { last_error: "died" }),
  },
  {
    name: "an expiry",
    to: "expired",
    from: ["running"],
    run: (db, key) => markExpired(db, key, { from: ["running"], expiresAt: new Date() }),
  },
  {
    name: "a delete",
    to: "deleted",
    from: ["deploying", "running", "failed", "expired", "auth_required", "sleeping"],
    run: (db, key) => markDeleted(db, key, { by: "api_key" }),
  },
  {
    name: "an idle sleep",
    to: "sleeping",
    from: ["running"],
    run: (db, key) => markSleeping(db, key, { idleSeconds: 600 }),
  },
  {
    name: "a wake",
    to: "deploying",
    from: ["sleeping"],
    run: (db, key) => markDeploying(db, key, { from: ["sleeping"], reason: "woke", by: "api_key" }),
  },
  {
    name: "an upstream authorization",
    to: "deploying",
    from: ["auth_required"],
    run: (db, key) => markDeploying(db, key, { from: ["auth_required"], reason: "authorized", by: "user" }),
  },
  {
    name: "a refused token refresh",
    to: "auth_required",
    from: ["running", "failed", "expired"],
    run: (db, key) =>
      markAuthRequired(db, key, { from: ["running", "failed", "expired"], error: "invalid_grant", by: "system" }),
  },
];

describe("status changes move a connection only out of the statuses they name", () => {
  let t: TestDb;
  let accountId: string;
  let serverId: string;

  beforeAll(async () => {
    t = await openTestDb("pglite");
    await seedCatalogue(t.db);
    accountId = (await createAccount(t, { name: "Statuses" })).account.id;
    serverId = (await getServer(t.db, { idOrSlug: "memory" }))?.id as string;
  });
  afterAll(async () => {
    await t?.drop();
  });

  /** A new connection brought to `status` through the status module itself. */
  async function connectionIn(status: ConnectionStatus): Promise<Key> {
    const inserted = status === "auth_required" ? "auth_required" : "deploying";
    const key = { accountId, id: (await insertTestConnection(t.db, { accountId, serverId, status: inserted })).id };
    if (status === "deploying" || status === "auth_required") return key;
    if (status === "failed") await markFailed(t.db, key, { from: ["deploying"], error: "no" });
    else await markRunning(t.db, key, running);
    if (status === "expired") await markExpired(t.db, key, { from: ["running"], expiresAt: new Date() });
    if (status === "sleeping") await markSleeping(t.db, key, { idleSeconds: 600 });
    if (status === "deleted") await markDeleted(t.db, key, { by: "system" });
    return key;
  }
  const statusOf = async (key: Key) =>
    (await t.db.query<{ status: string }>("select status from mcp_connections where id = $1", [key.id]))[0]?.status;
  const eventsOf = async (key: Key) =>
    (
      await t.db.query<{ n: number }>("select count(*)::int as n from connection_events where connection_id = $1", [
        key.id,
      ])
    )[0]?.n;

  for (const change of CHANGES) {
    it(`${change.name} moves a connection to ${change.to} only from ${change.from.join(", ")}`, async () => {
      for (const status of STATUSES) {
        const key = await connectionIn(status);
        expect(await statusOf(key)).toBe(status);
        const events = await eventsOf(key);
        const moved = await change.run(t.db, key);
        const allowed = change.from.includes(status);
        expect([status, Boolean(moved)]).toEqual([status, allowed]);
        expect([status, await statusOf(key)]).toEqual([status, allowed ? change.to : status]);
        expect([status, ((await eventsOf(key)) ?? 0) > (events ?? 0)]).toEqual([status, allowed]);
      }
    });
  }
});
