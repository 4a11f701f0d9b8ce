import type { Ctx } from "@/lib/core/context";
import { toConnectionJson } from "@/lib/core/schemas/connection";
import type { ConnectionRow } from "@/lib/db/queries/connections";
import { toolCallMedians } from "@/lib/db/queries/tool-calls";

/** Connections as the API and the dashboard show them: with their URL and tool-call median. */
export async function presentConnections(ctx: Ctx, rows: ConnectionRow[]) {
  const medians = await toolCallMedians(ctx.db, { accountId: ctx.accountId, connectionIds: rows.map((r) => r.id) });
  const opts = { publicUrl: ctx.publicUrl, isolated: ctx.runtime.isolated };
  return rows.map((row) => toConnectionJson(row, { ...opts, p50: medians.get(row.id) }));
}

export async function presentConnection(ctx: Ctx, row: ConnectionRow) {
  return (await presentConnections(ctx, [row]))[0] as ReturnType<typeof toConnectionJson>;
}
