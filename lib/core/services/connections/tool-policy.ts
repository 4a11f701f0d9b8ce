import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { OPEN_POLICY, type ToolPolicy } from "@/lib/core/schemas/tool-policy";
import { policyKey, viewTools } from "@/lib/core/tool-view";
import { type ConnectionRow, setToolPolicyRow } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { requireAdmin } from "../scope";
import { getConnectionOrThrow } from "./get";
import { resumeConnection } from "./resume";

/**
 * The connection's tool policy, and what it makes of each of the server's tools while the
 * connection runs (`tools` is null otherwise: a stopped server is not started to list them).
 */
export async function getToolPolicy(ctx: Ctx, id: string) {
  return answer(ctx, await getConnectionOrThrow(ctx, id), { takeOver: true });
}

/**
 * Sets which tools the connection's MCP endpoint offers, at once on every Berth holding a session
 * with its server (clients get `notifications/tools/list_changed`); recorded on its timeline.
 * Admins only: the policy is what keeps an agent from a tool.
 */
export async function setToolPolicy(ctx: Ctx, id: string, input: ToolPolicy) {
  requireAdmin(ctx);
  const conn = await getConnectionOrThrow(ctx, id);
  const policy = isOpen(input) ? null : input;
  if (policyKey(policy) === policyKey(conn.tool_policy)) return answer(ctx, conn, { takeOver: false });
  const row = await ctx.db.transaction(async (tx) => {
    const row = await setToolPolicyRow(tx, { accountId: ctx.accountId, id }, policy);
    if (row) {
      const data = {
        by: ctx.actor.kind,
        allowed: input.allow?.length ?? null,
        denied: input.deny.length,
        read_only: input.read_only,
        overridden: Object.keys(input.tools).length,
      };
      await addConnectionEvent(tx, { accountId: ctx.accountId, connectionId: id, type: "tool_policy_changed", data });
    }
    return row;
  });
  if (!row) throw new BerthError("not_found", "No such connection.");
  ctx.runtime.setToolPolicy(id, policy ?? undefined); // other instances hear it from the database
  return answer(ctx, row, { takeOver: false });
}

/**
 * The policy, with the server's tools when it runs. `takeOver`: a sandbox another Berth holds
 * (E2B) is taken over to ask it, as the inspector does; without it (setting a policy, which the
 * Edge Function also serves) only a server this process holds is asked.
 */
async function answer(ctx: Ctx, conn: ConnectionRow, { takeOver }: { takeOver: boolean }) {
  const policy = conn.tool_policy ?? OPEN_POLICY;
  if (conn.status !== "running" || !(takeOver || ctx.runtime.isLive(conn.id))) return { policy, tools: null };
  try {
    if (takeOver) await resumeConnection(ctx, conn.id);
    return { policy, tools: viewTools(await ctx.runtime.serverTools(conn.id), policy).verdicts };
  } catch (err) {
    ctx.log.warn({ err, connectionId: conn.id }, "the server's tools could not be listed for its tool policy");
    return { policy, tools: null };
  }
}

const isOpen = (p: ToolPolicy) => p.allow === null && !p.deny.length && !p.read_only && !Object.keys(p.tools).length;
