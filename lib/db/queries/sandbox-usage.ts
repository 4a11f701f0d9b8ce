import type { Db } from "../db";

type ConnectionKey = { accountId: string; connectionId: string };

/**
 * Opens a connection's period of sandbox use (it became `running`). It starts when its sandbox
 * did, but never before the connection's last period ended (a sandbox taken over keeps its start)
 * and never in the future; a period left open, which cannot happen through status.ts, is closed first.
 */
export async function openSandboxUsage(
  db: Db,
  {
    accountId,
    connectionId,
    provider,
    sandboxId,
    startedAt,
  }: ConnectionKey & { provider: string; sandboxId: string | null; startedAt: Date | null },
) {
  await closeSandboxUsage(db, { accountId, connectionId });
  await db.query(
    `insert into sandbox_usage (account_id, connection_id, kind, provider, sandbox_id, started_at)
     select $1, $2, 'connection', $3, $4, least(now(), greatest(coalesce($5::timestamptz, now()),
       coalesce((select max(ended_at) from sandbox_usage where connection_id = $2), '-infinity')))`,
    [accountId, connectionId, provider, sandboxId, startedAt],
  );
}

/** Closes a connection's open period of sandbox use, if it has one (it left `running`). */
export async function closeSandboxUsage(db: Db, { accountId, connectionId }: ConnectionKey) {
  await db.query(
    `update sandbox_usage set ended_at = greatest(started_at, now())
     where connection_id = $2 and account_id = $1 and ended_at is null`,
    [accountId, connectionId],
  );
}

/** A one-off sandbox (a sandbox-run) that has ended, `durationMs` long. */
export async function recordOneOffUsage(
  db: Db,
  { accountId, provider, durationMs }: { accountId: string; provider: string; durationMs: number },
) {
  await db.query(
    `insert into sandbox_usage (account_id, kind, provider, started_at, ended_at)
     values ($1, 'one_off', $2, now() - make_interval(secs => $3::float8), now())`,
    [accountId, provider, durationMs / 1000],
  );
}

export type UsageRow = {
  connection_id: string | null;
  name: string | null;
  server_slug: string | null;
  provider: string;
  sandbox_seconds: number;
  tool_calls: number;
  tool_errors: number;
};

/**
 * An account's sandbox-seconds (each period clipped to [from, to), an open one counting up to
 * now) and tool calls recorded in [from, to), per connection; one-off sandboxes in one row
 * without a connection. Deleted connections are included: they were used.
 */
export async function accountUsage(db: Db, { accountId, from, to }: { accountId: string; from: Date; to: Date }) {
  const rows = await db.query<UsageRow>(
    `with seconds as (
       select connection_id, max(provider) as provider,
              sum(extract(epoch from least(coalesce(ended_at, now()), $3) - greatest(started_at, $2))) as s
       from sandbox_usage
       where account_id = $1 and started_at < $3 and coalesce(ended_at, 'infinity') > $2
       group by connection_id),
     calls as (
       select connection_id, count(*) as n, count(*) filter (where data->>'outcome' <> 'ok') as errors
       from connection_events
       where account_id = $1 and type = 'tool_call' and created_at >= $2 and created_at < $3
       group by connection_id),
     used as (
       select coalesce(s.connection_id, c.connection_id) as connection_id, s.provider,
              greatest(coalesce(s.s, 0), 0) as sandbox_seconds,
              coalesce(c.n, 0) as tool_calls, coalesce(c.errors, 0) as tool_errors
       from seconds s full join calls c on c.connection_id = s.connection_id)
     select u.connection_id, m.name, srv.slug as server_slug, coalesce(u.provider, m.provider) as provider,
            u.sandbox_seconds, u.tool_calls, u.tool_errors
     from used u
     left join mcp_connections m on m.id = u.connection_id and m.account_id = $1
     left join mcp_servers srv on srv.id = m.server_id
     order by u.connection_id nulls last`,
    [accountId, from, to],
  );
  return rows.map((r) => ({
    ...r,
    sandbox_seconds: Math.round(Number(r.sandbox_seconds) * 1000) / 1000,
    tool_calls: Number(r.tool_calls),
    tool_errors: Number(r.tool_errors),
  }));
}
