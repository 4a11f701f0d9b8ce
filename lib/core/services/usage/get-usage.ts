import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import type { Usage, UsageQuery } from "@/lib/core/schemas/usage";
import { accountUsage } from "@/lib/db/queries/sandbox-usage";
import { assertOwnAccount } from "../scope";

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * An account's metered use over a period, for billing: sandbox-seconds (a sandbox still running
 * counts up to now) and tool calls, in total and per connection (deleted ones included).
 */
export async function getUsage(ctx: Ctx, query: UsageQuery): Promise<Usage> {
  assertOwnAccount(ctx, query.account_id);
  const now = new Date(ctx.now());
  const to = query.to ?? now;
  const from = query.from ?? new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), 1));
  if (from >= to)
    throw new BerthError("bad_request", "The period is empty.", [
      { path: "from", message: "Must be before `to` (default: now)." },
    ]);
  const rows = await accountUsage(ctx.db, { accountId: ctx.accountId, from, to });
  const connections = rows.flatMap(({ connection_id, ...r }) => (connection_id ? [{ connection_id, ...r }] : []));
  const oneOff = rows.find((r) => r.connection_id === null)?.sandbox_seconds ?? 0;
  return {
    account_id: ctx.accountId,
    from: from.toISOString(),
    to: to.toISOString(),
    sandbox_seconds: round(rows.reduce((sum, r) => sum + r.sandbox_seconds, 0)),
    tool_calls: rows.reduce((sum, r) => sum + r.tool_calls, 0),
    tool_errors: rows.reduce((sum, r) => sum + r.tool_errors, 0),
    connections,
    one_off: { sandbox_seconds: oneOff },
  };
}
