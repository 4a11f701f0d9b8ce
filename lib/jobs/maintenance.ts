import type { Deps } from "@/lib/core/context";
import { deployConnection } from "@/lib/core/services/connections/deploy";
import { getConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import {
  claimAgedSandboxes,
  claimExpired,
  claimKeepAlive,
  claimRestarts,
  claimStuckDeploys,
  currentSandboxes,
} from "@/lib/db/queries/maintenance";
import type { NodeSandboxRuntime } from "@/lib/sandbox/runtime";
import { type RestartPolicy, scheduleRestart, systemCtx } from "./supervisor";

/** A deploy still `deploying` after this long has lost its Berth. */
const STUCK_DEPLOY_SECONDS = 120;
/** Replace a sandbox this long before the provider's lifetime cap. */
const LIFETIME_MARGIN_SECONDS = 300;

export type Maintenance = { deps: Deps; runtime: NodeSandboxRuntime; policy: RestartPolicy };

/**
 * One pass of the maintenance loop. Every step claims its rows in the database (exactly once
 * across instances), records the change with its event in the same transaction, and only then
 * calls the provider.
 */
export async function runMaintenance(m: Maintenance) {
  const { deps, runtime } = m;
  const extended = await deps.db.transaction(async (tx) => {
    const rows = await claimKeepAlive(tx);
    for (const row of rows) {
      const data = {
        seconds: row.timeout_seconds,
        expires_at: new Date(row.expires_at).toISOString(),
        by: "keep_alive",
      };
      await addConnectionEvent(tx, { accountId: row.account_id, connectionId: row.id, type: "extended", data });
    }
    return rows;
  });
  for (const row of extended) {
    if (!row.sandbox_id) continue;
    await runtime
      .setExpiry(row.id, row.sandbox_id, new Date(row.expires_at))
      .catch((err) => deps.log.error({ err, connectionId: row.id }, "keep-alive could not extend the sandbox"));
  }

  const expired = await deps.db.transaction(async (tx) => {
    const rows = await claimExpired(tx);
    for (const row of rows) {
      const data = { expires_at: new Date(row.expires_at).toISOString() };
      await addConnectionEvent(tx, { accountId: row.account_id, connectionId: row.id, type: "expired", data });
    }
    return rows;
  });
  for (const row of expired) await runtime.stop(row.id, row.sandbox_id).catch(() => {});

  const restarts = await deps.db.transaction(async (tx) => {
    const rows = await claimRestarts(tx);
    for (const row of rows) {
      await addConnectionEvent(tx, {
        accountId: row.account_id,
        connectionId: row.id,
        type: "deploying",
        data: { reason: "crash_restart" },
      });
    }
    return rows;
  });
  const stuck = await deps.db.transaction(async (tx) => {
    const rows = await claimStuckDeploys(tx, { seconds: STUCK_DEPLOY_SECONDS });
    for (const row of rows) {
      const data = { reason: "deploy_abandoned" };
      await addConnectionEvent(tx, { accountId: row.account_id, connectionId: row.id, type: "deploying", data });
    }
    return rows;
  });
  const aged = runtime.maxLifetimeSeconds
    ? await deps.db.transaction(async (tx) => {
        const rows = await claimAgedSandboxes(tx, {
          seconds: Math.max(60, (runtime.maxLifetimeSeconds as number) - LIFETIME_MARGIN_SECONDS),
        });
        for (const row of rows) {
          await addConnectionEvent(tx, {
            accountId: row.account_id,
            connectionId: row.id,
            type: "restarted",
            data: { by: "system", reason: "sandbox_lifetime" },
          });
        }
        return rows;
      })
    : [];
  for (const row of aged) await runtime.stop(row.id, row.sandbox_id).catch(() => {});
  for (const row of [...restarts, ...stuck, ...aged]) void redeploy(m, row.account_id, row.id);

  await stopWhatIsNoLongerRunning(m);
  return {
    extended: extended.length,
    expired: expired.length,
    restarted: restarts.length + stuck.length + aged.length,
  };
}

/** Deploys again; a crash-restart that fails to start counts as one more crash in the series. */
async function redeploy(m: Maintenance, accountId: string, id: string) {
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

/** Local sandboxes live in the instance that made them: it stops those whose connection moved on. */
async function stopWhatIsNoLongerRunning({ deps, runtime }: Maintenance) {
  const live = runtime.liveSandboxes();
  const current = await currentSandboxes(deps.db, { sandboxes: live });
  for (const s of live)
    if (!current.has(s.connectionId)) await runtime.stop(s.connectionId, s.sandboxId).catch(() => {});
}

/** Runs `runMaintenance` every `intervalMs` until stopped; passes never overlap. */
export function startMaintenanceLoop(m: Maintenance, intervalMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = runMaintenance(m)
      .catch((err) => m.deps.log.error({ err }, "maintenance pass failed"))
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
