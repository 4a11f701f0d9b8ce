import type { Db } from "../db";
import type { PageArgs } from "../page";

export type EventType =
  | "installed"
  | "deploying"
  | "running"
  | "failed"
  | "crashed"
  | "extended"
  | "expired"
  | "restarted"
  | "credentials_updated"
  | "deleted"
  | "tool_call"
  | "tool_policy_changed"
  | "tool_approval"
  | "auth_required"
  | "authorized"
  | "token_refreshed"
  | "slept"
  | "woke";

export type EventRow = {
  id: string;
  connection_id: string;
  type: EventType;
  data: Record<string, unknown>;
  created_at: Date;
};

export async function addConnectionEvent(
  db: Db,
  e: { accountId: string; connectionId: string; type: EventType; data?: Record<string, unknown> },
) {
  await db.query("insert into connection_events (account_id, connection_id, type, data) values ($1, $2, $3, $4)", [
    e.accountId,
    e.connectionId,
    e.type,
    JSON.stringify(e.data ?? {}),
  ]);
}

/** Many events in one statement (a maintenance batch's). */
export async function addConnectionEvents(
  db: Db,
  events: { accountId: string; connectionId: string; type: EventType; data?: Record<string, unknown> }[],
) {
  if (!events.length) return;
  await db.query(
    `insert into connection_events (account_id, connection_id, type, data)
     select a, c, t, d from unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[]) as e(a, c, t, d)`,
    [
      events.map((e) => e.accountId),
      events.map((e) => e.connectionId),
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e.data ?? {})),
    ],
  );
}

/** A connection's events, newest first (keyset: seq, by connection_events_connection_idx). */
export function listConnectionEvents(
  db: Db,
  { accountId, connectionId, page }: { accountId: string; connectionId: string; page?: PageArgs<[string]> },
) {
  const after = page?.after ? "and seq < $4::bigint" : "";
  return db.query<EventRow & { page_seq: string }>(
    `select id, connection_id, type, data, created_at, seq::text as page_seq from connection_events
     where account_id = $1 and connection_id = $2 ${after} order by seq desc limit $3`,
    [accountId, connectionId, page?.limit ?? null, ...(page?.after ?? [])],
  );
}
