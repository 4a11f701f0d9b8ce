import type { Deps } from "@/lib/core/context";
import { type ConnectionRow, listConnectionsInStatus, updateConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { expireConnection, systemCtx } from "./supervisor";

/**
 * One pass of the maintenance loop: keep-alive connections are extended by their timeout
 * whenever less than a third of it (or less than 60 s) is left; others expire at expires_at.
 */
export async function runMaintenance(deps: Deps) {
  const now = deps.now();
  const running = await listConnectionsInStatus(deps.db, { statuses: ["running"] });
  let extended = 0;
  let expired = 0;
  for (const row of running) {
    const left = new Date(row.expires_at).getTime() - now;
    try {
      if (row.keep_alive) {
        if (left < Math.max((row.timeout_seconds * 1000) / 3, 60_000)) {
          await keepAlive(deps, row, now);
          extended++;
        }
      } else if (left <= 0) {
        await expireConnection(systemCtx(deps, row.account_id), row);
        expired++;
      }
    } catch (err) {
      deps.log.error({ err, connectionId: row.id }, "maintenance step failed");
    }
  }
  return { extended, expired };
}

async function keepAlive(deps: Deps, row: ConnectionRow, now: number) {
  const expiresAt = new Date(now + row.timeout_seconds * 1000);
  if (row.sandbox_id) await deps.runtime.setExpiry(row.id, row.sandbox_id, expiresAt);
  await deps.db.transaction(async (tx) => {
    const key = { accountId: row.account_id, id: row.id, fromStatus: ["running"] as ConnectionRow["status"][] };
    const updated = await updateConnection(tx, key, { expires_at: expiresAt });
    if (updated) {
      const data = { seconds: row.timeout_seconds, expires_at: expiresAt.toISOString(), by: "keep_alive" };
      await addConnectionEvent(tx, { accountId: row.account_id, connectionId: row.id, type: "extended", data });
    }
  });
}

/** Runs `runMaintenance` every `intervalMs` until stopped; passes never overlap. */
export function startMaintenanceLoop(deps: Deps, intervalMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = runMaintenance(deps)
      .catch((err) => deps.log.error({ err }, "maintenance pass failed"))
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
