import type { Ctx } from "@/lib/core/context";
import { persistently } from "@/lib/core/retry";
import { toConnectionJson } from "@/lib/core/schemas/connection";
import type { ConnectionRow } from "@/lib/db/queries/connections";
import { toolCallMedians } from "@/lib/db/queries/tool-calls";

/** Connections as the API and the dashboard show them: with their URL and tool-call median. */
export async function presentConnections(ctx: Ctx, rows: ConnectionRow[], { persistent = false } = {}) {
  const read = () => toolCallMedians(ctx.db, { accountId: ctx.accountId, connectionIds: rows.map((r) => r.id) });
  const medians = await (persistent ? persistently(read) : read());
  const opts = { publicUrl: ctx.publicUrl, isolated: ctx.runtime.isolated };
  return rows.map((row) => toConnectionJson(row, { ...opts, p50: medians.get(row.id) }));
}

/**
 * One connection, often just changed (installed, restarted): its answer outlasts the database
 * dropping for a moment, since a 503 here would tell the client that what was done was not.
 */
export async function presentConnection(ctx: Ctx, row: ConnectionRow) {
  return (await presentConnections(ctx, [row], { persistent: true }))[0] as ReturnType<typeof toConnectionJson>;
}
