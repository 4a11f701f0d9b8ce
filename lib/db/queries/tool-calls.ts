import type { Db } from "../db";

export type ToolCallRecord = {
  accountId: string;
  connectionId: string;
  tool: string;
  durationMs: number;
  outcome: "ok" | "tool_error" | "error";
  errorCode?: number;
  requestBytes: number;
  responseBytes: number;
};

/**
 * A client names its tool calls; PostgreSQL's jsonb takes no NUL and no lone surrogate (a name
 * cut in the middle of an emoji holds one): both become U+FFFD rather than fail the batch.
 */
const storable = (text: string) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  text.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");

/** Writes a batch of tool-call events and bumps the connections' counters, in one transaction. */
export async function insertToolCalls(db: Db, records: ToolCallRecord[]) {
  if (!records.length) return;
  await db.transaction(async (tx) => {
    await tx.query(
      `insert into connection_events (account_id, connection_id, type, data)
       select a, c, 'tool_call', d from unnest($1::uuid[], $2::uuid[], $3::jsonb[]) as t(a, c, d)`,
      [
        records.map((r) => r.accountId),
        records.map((r) => r.connectionId),
        records.map((r) =>
          JSON.stringify({
            tool: storable(r.tool),
            duration_ms: Math.round(r.durationMs * 100) / 100,
            outcome: r.outcome,
            ...(r.errorCode === undefined ? {} : { error_code: r.errorCode }),
            request_bytes: r.requestBytes,
            response_bytes: r.responseBytes,
          }),
        ),
      ],
    );
    const totals = new Map<string, { calls: number; errors: number }>();
    for (const r of records) {
      const t = totals.get(r.connectionId) ?? { calls: 0, errors: 0 };
      t.calls++;
      if (r.outcome !== "ok") t.errors++;
      totals.set(r.connectionId, t);
    }
    await tx.query(
      `update mcp_connections m set tool_calls = m.tool_calls + t.calls, tool_errors = m.tool_errors + t.errors
       from unnest($1::uuid[], $2::int[], $3::int[]) as t(id, calls, errors) where m.id = t.id`,
      [[...totals.keys()], [...totals.values()].map((t) => t.calls), [...totals.values()].map((t) => t.errors)],
    );
  });
}

/**
 * Median duration of each connection's last 200 tool calls: 200 index entries per connection
 * (connection_events_tool_calls_idx), however many events it has.
 */
export async function toolCallMedians(
  db: Db,
  { accountId, connectionIds }: { accountId: string; connectionIds: string[] },
) {
  if (!connectionIds.length) return new Map<string, number>();
  const rows = await db.query<{ connection_id: string; p50: number }>(
    `select ids.id as connection_id,
       percentile_cont(0.5) within group (order by (recent.data->>'duration_ms')::float) as p50
     from unnest($2::uuid[]) as ids(id)
     cross join lateral (
       select data from connection_events
       where account_id = $1 and connection_id = ids.id and type = 'tool_call' order by seq desc limit 200) recent
     group by ids.id`,
    [accountId, connectionIds],
  );
  return new Map(rows.map((r) => [r.connection_id, Math.round(Number(r.p50) * 100) / 100]));
}

/**
 * Deletes up to `limit` tool-call events older than `before`, the oldest first, adding them to
 * their connection's day in tool_call_days in the same statement, so no call is both kept and
 * counted or lost. Lifecycle events are never pruned. Returns how many were deleted.
 */
export async function pruneToolCalls(db: Db, { before, limit }: { before: Date; limit: number }) {
  const [row] = await db.query<{ pruned: number }>(
    `with old as (
       select id from connection_events where type = 'tool_call' and created_at < $1
       order by created_at limit $2 for update skip locked),
     gone as (
       delete from connection_events e using old where e.id = old.id
       returning e.account_id, e.connection_id, e.created_at, e.data),
     rolled as (
       insert into tool_call_days (account_id, connection_id, day, calls, errors, duration_ms)
       select account_id, connection_id, (created_at at time zone 'UTC')::date, count(*),
         count(*) filter (where data->>'outcome' is distinct from 'ok'),
         coalesce(sum((data->>'duration_ms')::float), 0)
       from gone group by account_id, connection_id, (created_at at time zone 'UTC')::date
       on conflict (connection_id, day) do update set calls = tool_call_days.calls + excluded.calls,
         errors = tool_call_days.errors + excluded.errors,
         duration_ms = tool_call_days.duration_ms + excluded.duration_ms)
     select count(*)::int as pruned from gone`,
    [before, limit],
  );
  return row?.pruned ?? 0;
}
