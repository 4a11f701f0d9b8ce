import { afterEach, describe, expect, it } from "vitest";
import { PROVIDER_RETRIES } from "@/lib/core/retry";
import type { Db } from "@/lib/db/db";
import { MAINTENANCE_PROVIDER_CONCURRENCY as POOL } from "@/lib/jobs/maintenance";
import { type FakeCall, FakeE2B } from "../fakes/e2b-server";
import { createPostgresDatabase } from "../support/databases";
import {
  newEncryptionKeys,
  openSweeper,
  type SeededConnection,
  seedRunningConnections,
} from "../support/maintenance-at-scale";

/**
 * One maintenance sweep over thousands of running E2B connections, driven through the real `e2b`
 * SDK against the fake E2B's light sandboxes (records of its REST API, no processes). Several
 * Berth instances sweep one PostgreSQL database at once: every due connection is extended or
 * expired once, by one of them, and E2B sees exactly the calls that needed making, never more
 * than the pool at once, its 429s waited out and tried again.
 */

type Sweeper = Awaited<ReturnType<typeof openSweeper>>;
type SweepResult = { extended: number; extensions_left_due: number; expired: number };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sweepers(fake: FakeE2B, n: number, databaseUrl?: string) {
  const keys = newEncryptionKeys();
  const out: Sweeper[] = [];
  // One after the other: each migrates the database as it opens.
  for (let i = 0; i < n; i++) {
    const s = await openSweeper(fake, { databaseUrl, keys });
    cleanups.push(() => s.close());
    out.push(s);
  }
  return out;
}

async function startFake() {
  // A few milliseconds per API call, like a round trip: calls overlap, so the pool is what bounds them.
  const fake = await FakeE2B.start({ apiLatencyMs: 3 });
  cleanups.push(() => fake.close());
  return fake;
}

/** Successful calls per sandbox since `from`, of one REST route. */
function succeeded(fake: FakeE2B, from: number, method: string, pathEnd: RegExp) {
  const per = new Map<string, number>();
  for (const c of fake.calls.slice(from)) {
    if (c.api !== "rest" || c.method !== method || !pathEnd.test(c.path) || !c.sandboxId) continue;
    if ((c.status ?? 0) >= 300) continue;
    per.set(c.sandboxId, (per.get(c.sandboxId) ?? 0) + 1);
  }
  return per;
}
const timeouts = (fake: FakeE2B, from: number) => succeeded(fake, from, "POST", /^\/sandboxes\/[^/]+\/timeout$/);
const kills = (fake: FakeE2B, from: number) => succeeded(fake, from, "DELETE", /^\/sandboxes\/[^/]+$/);

/** How many events of `type` each connection has. */
async function eventCounts(db: Db, type: string) {
  const rows = await db.query<{ connection_id: string; n: number }>(
    "select connection_id, count(*)::int as n from connection_events where type = $1 group by connection_id",
    [type],
  );
  return new Map(rows.map((r) => [r.connection_id, r.n]));
}

function expectOncePerConnection(counts: Map<string, number>, wanted: SeededConnection[], key: "id" | "sandboxId") {
  expect(counts.size).toBe(wanted.length);
  for (const c of wanted) expect(counts.get(c[key]), c[key]).toBe(1);
}

describe("a maintenance sweep over thousands of running E2B connections", () => {
  it("three instances on one PostgreSQL extend and expire each due connection exactly once, 429s waited out", async () => {
    const fake = await startFake();
    const { url, drop } = await createPostgresDatabase();
    cleanups.push(drop);
    const instances = await sweepers(fake, 3, url);
    const db = (instances[0] as Sweeper).db;
    const seeded = await seedRunningConnections(db, fake, { keepAliveDue: 1500, expiring: 600, notDue: 200 });

    const from = fake.calls.length;
    fake.resetApiStats();
    // E2B's rate limiter refuses the first 60 calls, saying when to come back (the SDK waits that long).
    fake.rateLimit({ burst: 60, retryAfterSeconds: 1 });
    const started = performance.now();
    const results = (await Promise.all(instances.map((s) => s.deps.maintain()))) as SweepResult[];
    const ms = performance.now() - started;
    const stats = fake.apiStats;
    console.log(
      `[maintenance at scale] 3 instances, ${seeded.keepAliveDue.length} extended + ${seeded.expiring.length} expired in ${Math.round(ms)} ms;` +
        ` split ${results.map((r) => `${r.extended}+${r.expired}`).join(" / ")}; API: ${JSON.stringify(stats)}`,
    );

    expect(results.reduce((n, r) => n + r.extended, 0)).toBe(seeded.keepAliveDue.length);
    expect(results.reduce((n, r) => n + r.expired, 0)).toBe(seeded.expiring.length);
    expect(results.reduce((n, r) => n + r.extensions_left_due, 0)).toBe(0);

    // Exactly one event per due connection, none for the others.
    expectOncePerConnection(await eventCounts(db, "extended"), seeded.keepAliveDue, "id");
    expectOncePerConnection(await eventCounts(db, "expired"), seeded.expiring, "id");

    // E2B saw one timeout per keep-alive sandbox and one kill per expired one: none missed, none twice.
    expectOncePerConnection(timeouts(fake, from), seeded.keepAliveDue, "sandboxId");
    expectOncePerConnection(kills(fake, from), seeded.expiring, "sandboxId");
    const alive = new Set(fake.sandboxIds());
    for (const c of seeded.expiring) expect(alive.has(c.sandboxId)).toBe(false);
    for (const c of [...seeded.keepAliveDue, ...seeded.notDue]) expect(alive.has(c.sandboxId)).toBe(true);

    // Each 429 was followed, at least Retry-After later, by the call that succeeded.
    const refused = fake.calls.slice(from).filter((c) => c.status === 429);
    expect(refused.length).toBe(60);
    expect(stats.rateLimited).toBe(60);
    for (const r of refused) {
      const next = fake.calls
        .slice(from)
        .find((c: FakeCall) => c.sandboxId === r.sandboxId && c.path === r.path && c.at >= r.at && c.status === 204);
      expect(next, `a retry of ${r.method} ${r.path}`).toBeDefined();
      expect((next as FakeCall).at - r.at).toBeGreaterThanOrEqual(950);
    }
    // Three pools of at most POOL calls each.
    expect(stats.maxInFlight).toBeLessThanOrEqual(3 * POOL);

    // The rows agree: extended by their timeout, expired, the others as they were.
    const rows = await db.query<{ id: string; status: string; expires_at: Date }>(
      "select id, status, expires_at from mcp_connections",
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const c of seeded.keepAliveDue) {
      const row = byId.get(c.id);
      expect(row?.status).toBe("running");
      expect(new Date(row?.expires_at as Date).getTime()).toBeGreaterThan(Date.now() + 500_000);
    }
    for (const c of seeded.expiring) expect(byId.get(c.id)?.status).toBe("expired");
    for (const c of seeded.notDue) expect(new Date(byId.get(c.id)?.expires_at as Date)).toEqual(c.expiresAt);
  }, 60_000);

  it("one instance keeps at most its pool in flight; what E2B still refuses stays due for the next pass (PGlite)", async () => {
    const fake = await startFake();
    const [instance] = await sweepers(fake, 1);
    const { db, deps } = instance as Sweeper;
    const seeded = await seedRunningConnections(db, fake, { keepAliveDue: 400, expiring: 0, notDue: 0 });

    const from = fake.calls.length;
    fake.resetApiStats();
    // 429s without Retry-After (so Berth's own backoff, not the SDK's): every call on ten
    // sandboxes, and a burst too short to refuse any other call on every try.
    const refusedEveryTime = seeded.keepAliveDue.slice(100, 110);
    const burst = POOL + 2;
    fake.rateLimit({ sandboxIds: refusedEveryTime.map((c) => c.sandboxId), burst, retryAfterSeconds: null });
    const first = (await deps.maintain()) as SweepResult;
    const stats = fake.apiStats;
    console.log(
      `[maintenance at scale] one instance, first pass: ${JSON.stringify(first)}; API: ${JSON.stringify(stats)}`,
    );

    expect(stats.rateLimited).toBe(refusedEveryTime.length * PROVIDER_RETRIES.attempts + burst);
    expect(stats.maxInFlight).toBeLessThanOrEqual(POOL);
    expect(stats.maxInFlight).toBeGreaterThanOrEqual(POOL / 2); // the pool is used, not one call at a time
    expect(first).toMatchObject({ extended: 400 - 10, extensions_left_due: 10 });

    const extendedOnce = timeouts(fake, from);
    expect(extendedOnce.size).toBe(400 - 10);
    for (const c of refusedEveryTime) {
      expect(extendedOnce.has(c.sandboxId)).toBe(false);
      const tries = fake.calls.slice(from).filter((x) => x.sandboxId === c.sandboxId && x.status === 429);
      expect(tries.length).toBe(PROVIDER_RETRIES.attempts);
    }
    // No event and no extension on the row for what E2B did not confirm: its old expiry is back.
    const events = await eventCounts(db, "extended");
    expect(events.size).toBe(400 - 10);
    for (const c of refusedEveryTime) expect(events.has(c.id)).toBe(false);
    const rows = await db.query<{ id: string; expires_at: Date }>(
      "select id, expires_at from mcp_connections where id = any($1::uuid[])",
      [refusedEveryTime.map((c) => c.id)],
    );
    for (const r of rows) {
      const seededAt = refusedEveryTime.find((c) => c.id === r.id)?.expiresAt as Date;
      expect(Math.abs(new Date(r.expires_at).getTime() - seededAt.getTime())).toBeLessThan(1);
    }

    // The next pass, E2B no longer refusing, extends exactly those.
    fake.rateLimit({});
    const before = fake.calls.length;
    const next = (await deps.maintain()) as SweepResult;
    expect(next).toMatchObject({ extended: 10, extensions_left_due: 0 });
    expectOncePerConnection(timeouts(fake, before), refusedEveryTime, "sandboxId");
    expectOncePerConnection(timeouts(fake, from), seeded.keepAliveDue, "sandboxId");
    expectOncePerConnection(await eventCounts(db, "extended"), seeded.keepAliveDue, "id");
  }, 60_000);
});
