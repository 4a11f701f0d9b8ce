import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { getConnectionOrThrow } from "./get";
import { restartConnection } from "./restart";

const POLL_MS = 50;

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
