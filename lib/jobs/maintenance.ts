import pLimit, { type LimitFunction } from "p-limit";
import type { Config } from "@/lib/config";
import type { Deps } from "@/lib/core/context";
import { persistently } from "@/lib/core/retry";
import { deployConnection } from "@/lib/core/services/connections/deploy";
import { type DeployReason, markDeploying, markExpired, markSleeping } from "@/lib/core/services/connections/status";
import { refreshDueTokens } from "@/lib/core/services/connections/upstream-oauth";
import type { Db } from "@/lib/db/db";
import { type ConnectionStatus, countSleepingLocked, getConnection } from "@/lib/db/queries/connections";
import { addConnectionEvents } from "@/lib/db/queries/events";
import {
  type Claimed,
  claimKeepAlive,
  currentSandboxes,
  type KeepAliveClaim,
  keepPausedSandbox,
  lockAgedSandboxes,
  lockExpired,
  lockRestarts,
  lockSleepers,
  lockStuckDeploys,
  noteSleepProblem,
  restoreUnconfirmedExpiries,
} from "@/lib/db/queries/maintenance";
import { pruneToolCalls } from "@/lib/db/queries/tool-calls";
import type { BerthMetrics } from "@/lib/metrics/metrics";
import type { NodeSandboxRuntime } from "@/lib/sandbox/runtime";
import { type RestartPolicy, scheduleRestart, systemCtx } from "./supervisor";

/** A deploy still `deploying` after this long has lost its Berth. */
const STUCK_DEPLOY_SECONDS = 120;
/** Replace a sandbox this long before the provider's lifetime cap. */
const LIFETIME_MARGIN_SECONDS = 300;
/** Sandboxes put to sleep at once: each is a provider call (E2B's pause) or a local stop. */
const SLEEP_CONCURRENCY = 8;
/**
 * Old tool calls pruned per statement, and statements per pass: short transactions that leave the
 * gateway's inserts alone, a backlog (retention just turned on) spread over the passes that follow.
 */
const PRUNE_BATCH = 1000;
const PRUNE_BATCHES_PER_PASS = 10;
/** Due rows claimed per transaction: short transactions, and few of them for 10,000 rows. */
const CLAIM_BATCH = 500;
/**
 * Provider calls (a sandbox's timeout, a kill) in flight at once in one pass: E2B rate-limits a
 * team's API calls, so a sweep over thousands of connections must not send them all at once; E2B
 * sees at most this many per Berth instance (docs/PERFORMANCE.md, a sweep over 10,000).
 */
export const MAINTENANCE_PROVIDER_CONCURRENCY = 16;

type Key = { accountId: string; id: string };

/** The maintenance loop's settings from Berth's configuration (server.ts, lib/node.ts, the Edge Function). */
export function maintenanceSettings(config: Config) {
  return {
    policy: config.restartPolicy,
    idleSleepMs: config.idleSleepMs,
    eventRetentionDays: config.eventRetentionDays,
  };
}

export type Maintenance = {
  deps: Deps;
  runtime: NodeSandboxRuntime;
  policy: RestartPolicy;
  /** Keep-alive connections without an MCP request this long are put to sleep; 0: never. */
  idleSleepMs?: number;
  /** Where the loop reports each pass's duration and completion (the operator's metrics). */
  metrics?: Pick<BerthMetrics, "maintenancePass">;
  /** Tool-call events older than this many days are pruned, counted per day first; 0 or absent: never. */
  eventRetentionDays?: number;
};

/**
 * One pass of the maintenance loop: everything due when it runs. Every step claims its rows in the
 * database in batches (exactly once across instances) and records the change, then calls the
 * provider, at most `MAINTENANCE_PROVIDER_CONCURRENCY` calls at once for the whole pass (each
 * tried again, after a backoff, while E2B answers 429: lib/sandbox/e2b.ts).
 */
export async function runMaintenance(m: Maintenance) {
  const { deps, runtime } = m;
  const provider = pLimit(MAINTENANCE_PROVIDER_CONCURRENCY);
  const keepAlive = await extendKeepAlive(m, provider);

  const expired = await sweep(
    () =>
      claim(
        deps.db,
        (tx) => lockExpired(tx, { limit: CLAIM_BATCH }),
        (tx, key, row) => markExpired(tx, key, { from: ["running"], expiresAt: row.expires_at }),
      ),
    (rows) => stopAll(m, provider, rows),
  );

  const toDeploying =
    (reason: DeployReason, from: ConnectionStatus[], changes = {}) =>
    (tx: Db, key: Key) =>
      markDeploying(tx, key, { from, reason, by: "system", changes });
  const restarts = await claim(
    deps.db,
    lockRestarts,
    toDeploying("crash_restart", ["failed"], { next_restart_at: null }),
  );
  const stuck = await claim(
    deps.db,
    (tx) => lockStuckDeploys(tx, { seconds: STUCK_DEPLOY_SECONDS }),
    toDeploying("deploy_abandoned", ["deploying"]),
  );
  const maxLifetime = runtime.maxLifetimeSeconds;
  const aged = maxLifetime
    ? await claim(
        deps.db,
        (tx) => lockAgedSandboxes(tx, { seconds: Math.max(60, maxLifetime - LIFETIME_MARGIN_SECONDS) }),
        toDeploying("sandbox_lifetime", ["running"]),
      )
    : [];
  await stopAll(m, provider, aged);
  for (const row of [...restarts, ...stuck, ...aged]) void deployAgain(m, row.account_id, row.id);

  await stopWhatIsNoLongerRunning(m);
  const slept = await sleepIdle(m);
  const tokensRefreshed = await refreshDueTokens(deps, (accountId) => systemCtx(deps, accountId));
  const pruned = await pruneOldToolCalls(m);
  return {
    extended: keepAlive.extended,
    extensions_left_due: keepAlive.leftDue,
    expired: expired.length,
    restarted: restarts.length + stuck.length + aged.length,
    tokens_refreshed: tokensRefreshed,
    slept,
    tool_calls_pruned: pruned,
  };
}

/** Tool-call events past the retention, in bounded batches; lifecycle events stay. */
async function pruneOldToolCalls({ deps, eventRetentionDays }: Maintenance) {
  if (!eventRetentionDays) return 0;
  const before = new Date(deps.now() - eventRetentionDays * 86_400_000);
  let pruned = 0;
  for (let i = 0; i < PRUNE_BATCHES_PER_PASS; i++) {
    const n = await pruneToolCalls(deps.db, { before, limit: PRUNE_BATCH });
    pruned += n;
    if (n < PRUNE_BATCH) break;
  }
  return pruned;
}

/**
 * Extends every due keep-alive connection. The claim moves the row's expiry (so no other instance
 * takes it); its `extended` event is written once the provider has moved the sandbox's timeout. A
 * row whose sandbox could not be extended gets its old expiry back after the sweep, due for the
 * next pass: not within this one, which would only ask a failing provider again and again.
 */
async function extendKeepAlive({ deps, runtime }: Maintenance, provider: LimitFunction) {
  const unconfirmed: KeepAliveClaim[] = [];
  let extended = 0;
  await sweep(
    () => claimKeepAlive(deps.db, { limit: CLAIM_BATCH }),
    async (rows) => {
      const outcomes = await Promise.all(
        rows.map((row) =>
          provider(async () => {
            if (!row.sandbox_id) return true;
            try {
              await runtime.setExpiry(row.id, row.sandbox_id, new Date(row.expires_at));
              return true;
            } catch (err) {
              deps.log.error({ err, connectionId: row.id }, "keep-alive could not extend the sandbox");
              return false;
            }
          }),
        ),
      );
      const confirmed = rows.filter((_, i) => outcomes[i]);
      unconfirmed.push(...rows.filter((_, i) => !outcomes[i]));
      const events = confirmed.map((row) => ({
        accountId: row.account_id,
        connectionId: row.id,
        type: "extended" as const,
        data: { seconds: row.timeout_seconds, expires_at: new Date(row.expires_at).toISOString(), by: "keep_alive" },
      }));
      // The sandboxes have moved: the record must follow even if the database blinks.
      await persistently(() => addConnectionEvents(deps.db, events));
      extended += confirmed.length;
    },
  );
  await persistently(() => restoreUnconfirmedExpiries(deps.db, unconfirmed));
  return { extended, leftDue: unconfirmed.length };
}

/**
 * Claims batch after batch while batches come full, each batch's provider calls running while the
 * next is claimed (one batch ahead at most, so little is claimed but not yet done should this
 * instance die). A batch short of CLAIM_BATCH was all that was due: claiming again would take a
 * connection whose claim left it due still (a keep-alive timeout under a minute) round and round.
 */
async function sweep<R>(claimBatch: () => Promise<R[]>, work: (rows: R[]) => Promise<void>) {
  const all: R[] = [];
  let working = Promise.resolve();
  for (;;) {
    const rows = await claimBatch();
    await working;
    if (!rows.length) return all;
    all.push(...rows);
    working = work(rows);
    if (rows.length < CLAIM_BATCH) {
      await working;
      return all;
    }
  }
}

/** Stops the sandboxes of rows whose status already says so; a failed stop is logged (E2B's own timeout still ends it). */
async function stopAll({ deps, runtime }: Maintenance, provider: LimitFunction, rows: Claimed[]) {
  await Promise.all(
    rows.map((row) =>
      provider(() =>
        runtime
          .stop(row.id, row.sandbox_id)
          .catch((err) => deps.log.error({ err, connectionId: row.id }, "could not stop the sandbox")),
      ),
    ),
  );
}

/**
 * Locks the due rows and changes each one's status, in one transaction: the rows it changed
 * (another instance's change meanwhile leaves a row out).
 */
async function claim<R extends Claimed>(
  db: Db,
  lock: (tx: Db) => Promise<R[]>,
  mark: (tx: Db, key: Key, row: R) => Promise<unknown>,
) {
  return db.transaction(async (tx) => {
    const changed: R[] = [];
    for (const row of await lock(tx))
      if (await mark(tx, { accountId: row.account_id, id: row.id }, row)) changed.push(row);
    return changed;
  });
}

/** Deploys again; a crash-restart that fails to start counts as one more crash in the series. */
async function deployAgain(m: Maintenance, accountId: string, id: string) {
  const ctx = systemCtx(m.deps, accountId);
  try {
    const conn = await getConnection(ctx.db, { accountId, id });
    if (conn?.status !== "deploying") return;
    const after = await deployConnection(ctx, { ...conn, sandbox_id: null });
    if (after.status !== "failed" || after.restart_attempts === 0) return;
    await ctx.db.transaction((tx) =>
      scheduleRestart(tx, ctx, m.policy, {
        accountId,
        id,
        attempt: after.restart_attempts + 1,
        detail: after.last_error ?? "",
      }),
    );
  } catch (err) {
    ctx.log.error({ err, connectionId: id }, "redeploy failed");
  }
}

/**
 * Local sandboxes live in the instance that made them: it stops those whose connection moved on.
 * An E2B sandbox another instance took over is left to it: this one only lets its session go, so
 * that it never takes that sandbox's pause (a sleep) for its server's end.
 */
async function stopWhatIsNoLongerRunning({ deps, runtime }: Maintenance) {
  const live = runtime.liveSandboxes();
  const current = await currentSandboxes(deps.db, { sandboxes: live });
  for (const s of live) {
    const host = current.get(s.connectionId);
    if (host === undefined) await runtime.stop(s.connectionId, s.sandboxId).catch(() => {});
    else if (host && host !== deps.host && runtime.sandboxesOutliveBerth) await runtime.release(s.connectionId);
  }
}

/**
 * Puts this instance's idle keep-alive connections to sleep. Only the instance hosting a
 * connection knows when it last had a request (in memory: no write per request), so each instance
 * sleeps its own; the row changes first, then the sandbox is paused (E2B) or stopped (local, its
 * home kept by the provider).
 */
async function sleepIdle({ deps, runtime, idleSleepMs }: Maintenance) {
  if (!idleSleepMs) return 0;
  const idle = runtime.idleSandboxes(idleSleepMs);
  if (!idle.length) return 0;
  const asleep = await deps.db.transaction(async (tx) => {
    const changed: Claimed[] = [];
    for (const row of await lockSleepers(tx, { host: deps.host, sandboxes: idle })) {
      const key = { accountId: row.account_id, id: row.id };
      const full = (await countSleepingLocked(tx, key)) >= (deps.maxSleepingPerAccount ?? Number.POSITIVE_INFINITY);
      if (full) continue; // it stays awake, within its account's sandbox cap
      if (await markSleeping(tx, key, { idleSeconds: Math.round(idleSleepMs / 1000) })) changed.push(row);
    }
    return changed;
  });
  const limit = pLimit(SLEEP_CONCURRENCY);
  await Promise.all(
    asleep.map((row) =>
      limit(async () => {
        const sandboxId = row.sandbox_id as string;
        try {
          await runtime.sleep(row.id, sandboxId, async ({ kept, problem }) => {
            if (kept && !(await keepPausedSandbox(deps.db, { id: row.id, sandboxId })))
              await runtime.killSandbox(sandboxId).catch(() => {});
            if (problem) {
              deps.log.error({ connectionId: row.id, problem }, "a sandbox went to sleep badly");
              await noteSleepProblem(deps.db, { id: row.id, problem });
            }
          });
        } catch (err) {
          deps.log.error({ err, connectionId: row.id }, "could not put the sandbox to sleep");
        }
      }),
    ),
  );
  return asleep.length;
}

/** Runs `runMaintenance` every `intervalMs` until stopped; passes never overlap. */
export function startMaintenanceLoop(m: Maintenance, intervalMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    const started = performance.now();
    const passed = (ok: boolean) => m.metrics?.maintenancePass((performance.now() - started) / 1000, ok);
    current = runMaintenance(m)
      .then(
        () => passed(true),
        (err) => {
          passed(false);
          m.deps.log.error({ err }, "maintenance pass failed");
        },
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await current;
  };
}
