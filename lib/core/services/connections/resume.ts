import pLimit from "p-limit";
import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { type ConnectionRow, getConnectionForUpdate } from "@/lib/db/queries/connections";
import { assertSandboxCapacity, takeSandboxStart } from "./capacity";
import { deployWithin } from "./deploy";
import { getConnectionOrThrow } from "./get";
import { restartConnection } from "./restart";
import { markDeploying } from "./status";

const POLL_MS = 50;
/**
 * Connections this process wakes at once, in all and per account. Each wake is a sandbox start
 * (local: a server's boot, ~0.2 s of both cores; E2B: a resume call): a hundred agents coming back
 * together queue rather than start a hundred servers at once, which would make each of them slow;
 * and one account's hundred queue behind each other, not in front of another account's one.
 */
const WAKES = 8;
const WAKES_PER_ACCOUNT = 2;
const wakes = pLimit(WAKES);
const accountWakes = new Map<string, ReturnType<typeof pLimit>>();

function queueWake<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
  let mine = accountWakes.get(accountId);
  if (!mine) {
    mine = pLimit(WAKES_PER_ACCOUNT);
    accountWakes.set(accountId, mine);
  }
  const limit = mine;
  return limit(() => wakes(fn)).finally(() => {
    if (!limit.activeCount && !limit.pendingCount && accountWakes.get(accountId) === limit)
      accountWakes.delete(accountId);
  });
}

/**
 * For the MCP endpoint: a running connection as it is; a keep-alive one whose server expired or
 * crashed (restart pending) is brought back first. A crash loop Berth gave up on stays down.
 */
export async function resumeConnection(ctx: Ctx, id: string) {
  const deadline = ctx.now() + ctx.installWaitMs;
  // A server that just died is recorded as crashed first, so the timeline says what happened.
  await ctx.runtime.crashRecorded(id);
  for (;;) {
    const conn = await getConnectionOrThrow(ctx, id);
    if (conn.status === "running" && ctx.runtime.isLive(id)) return conn;
    if (conn.status === "deploying" && ctx.now() < deadline) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    if (conn.status === "running" && conn.host !== ctx.host && conn.sandbox_id && ctx.runtime.sandboxesOutliveBerth) {
      const adopted = await adoptConnection(ctx, conn);
      if (adopted.status === "running") return adopted;
      continue; // another request took it over meanwhile, or it failed: look again
    }
    if (conn.status === "sleeping") {
      const woken = await queueWake(ctx.accountId, () => wakeConnection(ctx, conn.id));
      if (woken?.status === "running") return woken;
      continue; // another request woke it meanwhile (it is deploying or running), or the wake failed
    }
    if (conn.status === "auth_required") {
      throw new BerthError(
        "connection_not_running",
        `The connection needs an admin to connect it to its provider again: ${conn.last_error ?? "not authorized"}`,
      );
    }
    const crashedAndPending = conn.status === "failed" && conn.next_restart_at !== null;
    const lost = conn.status === "running"; // its server died and the crash is not recorded yet
    if (!conn.keep_alive || !(conn.status === "expired" || crashedAndPending || lost)) {
      throw new BerthError("connection_not_running", `The connection is ${conn.status}.`);
    }
    const back = await restartConnection(ctx, id, "resumed_by_request");
    if (back.status !== "running") throw new BerthError("connection_not_running", `The connection is ${back.status}.`);
    return back;
  }
}

/**
 * Wakes a sleeping connection for a request: its paused sandbox resumed (E2B; a new one if that is
 * gone), or its server started again in a new sandbox with its home (local). The row is claimed
 * first, so one request wakes it and the others wait for `running`. Asleep, it held no sandbox slot:
 * waking takes one, and one of the account's sandbox starts (429 when the account is full or has
 * started its share for now). Its lifetime counts afresh from now (a resumed E2B sandbox gets it
 * with the resume: E2BProvider.attach).
 */
async function wakeConnection(ctx: Ctx, id: string): Promise<ConnectionRow | undefined> {
  const key = { accountId: ctx.accountId, id };
  let counted = false;
  const claimed = await ctx.db.transaction(async (tx) => {
    const row = await getConnectionForUpdate(tx, key);
    if (row?.status !== "sleeping") return undefined;
    // A sandbox start like any other: counted against the account's pace (once, should this be tried again).
    if (!counted) takeSandboxStart(ctx);
    counted = true;
    await assertSandboxCapacity(ctx, tx, id);
    return markDeploying(tx, key, {
      from: ["sleeping"],
      reason: "woke",
      by: ctx.actor.kind,
      changes: { host: ctx.host, last_error: null, expires_at: new Date(ctx.now() + row.timeout_seconds * 1000) },
      data: { paused: row.sandbox_id !== null },
    });
  });
  if (!claimed) return undefined;
  const started = performance.now();
  const woken = await deployWithin(ctx, claimed, ctx.installWaitMs);
  if (woken.status === "running") ctx.observe?.woke((performance.now() - started) / 1000, woken.provider);
  return woken;
}

/**
 * A connection running in a sandbox that outlives its deployer (E2B), deployed by another
 * instance or by the Edge Function, whose session with it is not this process's: this instance
 * takes it over, reattaching to the same sandbox (a new one only if that one is gone), keeping its
 * expiry. Keep-alive or not, the connection is running: nothing is restarted.
 */
async function adoptConnection(ctx: Ctx, conn: ConnectionRow): Promise<ConnectionRow> {
  const key = { accountId: ctx.accountId, id: conn.id };
  const claimed = await ctx.db.transaction(async (tx) => {
    return markDeploying(tx, key, {
      from: ["running"],
      reason: "adopted",
      by: ctx.actor.kind,
      changes: { host: ctx.host },
      data: { from_host: conn.host, reattach: true },
    });
  });
  if (!claimed) return (await getConnectionOrThrow(ctx, conn.id)) as ConnectionRow;
  return deployWithin(ctx, claimed, ctx.installWaitMs);
}
